import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startPureFtpd, type PureFtpd } from '../../test/support/pure-ftpd.ts';
import { parseGatewayConfig } from '../config.ts';
import { OUTBOX_FILE, openOutbox } from '../outbox/outbox.ts';
import { createTt10Exporter, type Tt10Exporter } from './exporter.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const at = (local: string): number => Date.parse(`${local}+07:00`);
const r = (param: string, time: string, value: number | null, status: 0 | 1 | 2 = 0): Reading => ({ param, time: at(time), value, status, qc_flags: 0, period_s: 0 });

function configText(ftpPort: number, ftpsPort: number, ftp: PureFtpd | { user: string; password: string }): string {
  return `
station: GW1
broker: { url: "mqtt://127.0.0.1:1883", password: x }
devices:
  - { id: aqm, profile: generic-ambient-air, transport: { kind: tcp, host: 127.0.0.1, port: 5020 } }
tt10:
  province: HN
  facility: ABCD
  station_code: KK001
  params:
    PM2_5:
    PM10: { decimals: 2 }
    SO2:
    NO2: { unit: "ug/m3" }
  receivers:
    - { name: so-ftp, protocol: ftp, host: 127.0.0.1, port: ${ftpPort}, username: ${ftp.user}, password_env: TT10_PW, remote_dir: "yyyy/MM/dd" }
    - { name: so-ftps, protocol: ftps, host: 127.0.0.1, port: ${ftpsPort}, username: ${ftp.user}, password_env: TT10_PW, remote_dir: "{station}/yyyyMMdd", tls_verify: false }
`;
}

describe('TT10 exporter → real FTP and FTPS servers (pure-ftpd on loopback)', () => {
  let dataDir: string;
  let ftp: PureFtpd | undefined;
  let ftps: PureFtpd | undefined;
  const exporters: Tt10Exporter[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'envmon-tt10-'));
  });
  afterAll(async () => {
    for (const e of exporters) await e.stop();
    await ftp?.stop();
    await ftps?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('queues files while the receivers are down, then sends them in order after a restart', async () => {
    const [ftpPort, ftpsPort] = [await freePort(), await freePort()];
    const env = { TT10_PW: 'ftp-test-secret-1' };
    const config = parseGatewayConfig(configText(ftpPort, ftpsPort, { user: 'tt10', password: env.TT10_PW }), 'gw.yaml', { env }).tt10!;
    expect(config.params.map((p) => `${p.symbol}|${p.unit}|${p.decimals}`)).toEqual(['PM2,5|ug/Nm3|1', 'PM10|ug/Nm3|2', 'SO2|ug/Nm3|1', 'NO2|ug/m3|1']);

    const dbPath = join(dataDir, OUTBOX_FILE);
    const outbox = openOutbox(dbPath, 'GW1');
    let clock = at('2025-03-10T10:02:00');
    const sent: string[] = [];
    const make = (): Tt10Exporter => {
      const e = createTt10Exporter({ config, dbPath, dir: join(dataDir, 'tt10'), archiveDays: 60, log, now: () => clock, onSent: (rc, name) => sent.push(`${rc} ${name}`) });
      exporters.push(e);
      return e;
    };
    const first = make();
    expect(first.produce()).toEqual([]); // the first start begins with the current window (10:00-10:05)

    outbox.insert([
      r('PM2_5', '2025-03-10T10:00:10', 10), r('PM2_5', '2025-03-10T10:02:10', 20), r('PM2_5', '2025-03-10T10:03:10', 500, 1),
      r('PM10', '2025-03-10T10:01:00', 40, 1), r('PM10', '2025-03-10T10:04:00', 42.5, 1),
      r('SO2', '2025-03-10T10:01:00', null, 2),
      r('PM2_5', '2025-03-10T10:05:00', 7.25), r('PM10', '2025-03-10T10:09:59', 30), r('SO2', '2025-03-10T10:06:00', 4), r('NO2', '2025-03-10T10:07:00', 18),
      // 10:10-10:15: the gateway was off, no file. 10:15-10:20: one value.
      r('PM2_5', '2025-03-10T10:19:59', 1.04),
      // Not yet due at 10:20:10 (the window ends 10:25).
      r('PM2_5', '2025-03-10T10:20:05', 99),
    ]);
    clock = at('2025-03-10T10:20:10'); // 10 s after 10:20: still inside delay_s (15 s) for the 10:15-10:20 window
    expect(first.produce()).toEqual(['HN_ABCD_KK001_20250310100500.txt', 'HN_ABCD_KK001_20250310101000.txt']);
    clock = at('2025-03-10T10:20:20');
    expect(first.produce()).toEqual(['HN_ABCD_KK001_20250310102000.txt']);

    await first.sendNow(); // nobody listens on either port yet
    const names = ['HN_ABCD_KK001_20250310100500.txt', 'HN_ABCD_KK001_20250310101000.txt', 'HN_ABCD_KK001_20250310102000.txt'];
    expect(first.queued('so-ftp')).toEqual(names);
    expect(first.queued('so-ftps')).toEqual(names);
    await first.stop();

    ftp = await startPureFtpd({ tls: 'off', port: ftpPort });
    ftps = await startPureFtpd({ tls: 'required', port: ftpsPort });
    const second = make(); // a restart: the queues are on disk
    expect(second.queued('so-ftp')).toEqual(names);
    expect(second.produce()).toEqual([]);
    await second.sendNow();
    expect(second.queued('so-ftp')).toEqual([]);
    expect(second.queued('so-ftps')).toEqual([]);
    expect(sent.filter((s) => s.startsWith('so-ftp ')).map((s) => s.split(' ')[1])).toEqual(names);
    expect(sent.filter((s) => s.startsWith('so-ftps ')).map((s) => s.split(' ')[1])).toEqual(names);

    const day = join(ftp.root, '2025', '03', '10');
    expect(readdirSync(day).sort()).toEqual(names); // no .tmp left behind
    expect(readFileSync(join(day, names[0]!), 'utf8')).toBe(
      'PM2,5\t15.0\tug/Nm3\t20250310100500\t00\n' +
        'PM10\t41.25\tug/Nm3\t20250310100500\t01\n' +
        'SO2\t\tug/Nm3\t20250310100500\t02\n' +
        'NO2\t\tug/m3\t20250310100500\t02\n',
    );
    expect(readFileSync(join(day, names[1]!), 'utf8')).toBe(
      'PM2,5\t7.3\tug/Nm3\t20250310101000\t00\nPM10\t30.00\tug/Nm3\t20250310101000\t00\nSO2\t4.0\tug/Nm3\t20250310101000\t00\nNO2\t18.0\tug/m3\t20250310101000\t00\n',
    );
    // FTPS receiver: its own folder template; the server refuses plain FTP (-Y 2), so these went over TLS.
    expect(readFileSync(join(ftps.root, 'KK001', '20250310', names[2]!), 'utf8')).toMatch(/^PM2,5\t1.0\tug\/Nm3\t20250310102000\t00\n/);
    outbox.close();
  });

  it('keeps a 60-day local archive and prunes what is older', () => {
    const e = exporters[exporters.length - 1]!;
    expect(e.archived()).toHaveLength(3);
    expect(e.prune()).toBe(0);
    const config = parseGatewayConfig(configText(1, 1, { user: 'u', password: 'p' }), 'gw.yaml', { env: { TT10_PW: 'x' } }).tt10!;
    const later = createTt10Exporter({ config, dbPath: join(dataDir, OUTBOX_FILE), dir: join(dataDir, 'tt10'), archiveDays: 60, log, now: () => at('2025-05-09T12:00:00') });
    expect(later.prune()).toBe(0); // part of 2025-03-10 is less than 60 days old: the day stays
    const muchLater = createTt10Exporter({ config, dbPath: join(dataDir, OUTBOX_FILE), dir: join(dataDir, 'tt10'), archiveDays: 60, log, now: () => at('2025-05-10T00:00:00') });
    expect(muchLater.prune()).toBe(3); // all of 2025-03-10 is 60 days old or more
    expect(existsSync(join(dataDir, 'tt10', 'archive', '20250310'))).toBe(false);
  });

  it('rejects a bad tt10 section with the line and the fix', () => {
    const text = configText(21, 21, { user: 'u', password: 'p' });
    expect(() => parseGatewayConfig(text.replace('protocol: ftps', 'protocol: scp'), 'gw.yaml', { env: { TT10_PW: 'x' } })).toThrow(/gw\.yaml:17 tt10\.receivers\[1\]\.protocol: .*"ftps"/);
    let msg = '';
    try {
      parseGatewayConfig(text.replace('PM10: { decimals: 2 }', 'PM1O: { decimals: 2 }'), 'gw.yaml', { env: {} });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/gw\.yaml:\d+ tt10\.params\.PM1O: PM1O is not a code in protocol\/parameters\.yaml/);
    expect(msg).toMatch(/gw\.yaml:16 tt10\.receivers\[0\]\.password_env: environment variable TT10_PW is not set/);
  });
});

describe("TT10 files from the gateway's means", () => {
  const m = (param: string, time: string, periodS: number, value: number | null, status: 0 | 1 | 2, samples: number): Reading => ({
    param, time: at(time), value, status, qc_flags: 0, period_s: periodS, samples, coverage: Math.min(1, samples / (periodS / 10)),
  });

  function setup(meanPeriodsS: number[] | (() => number[]) | undefined, extra: Reading[] = [], beforeProduce?: () => void) {
    const dataDir = mkdtempSync(join(tmpdir(), 'envmon-tt10-means-'));
    const config = parseGatewayConfig(configText(1, 1, { user: 'u', password: 'p' }), 'gw.yaml', { env: { TT10_PW: 'x' } }).tt10!;
    const dbPath = join(dataDir, OUTBOX_FILE);
    const outbox = openOutbox(dbPath, 'GW1');
    let clock = at('2025-03-10T10:02:00');
    const e = createTt10Exporter({ config, dbPath, dir: join(dataDir, 'tt10'), archiveDays: 60, log, now: () => clock, ...(meanPeriodsS ? { meanPeriodsS } : {}) });
    expect(e.produce()).toEqual([]);
    outbox.insert([
      // Raw readings of 10:00-10:05: PM2_5 averages 15, PM10 41, SO2 5 (00), NO2 null/02.
      r('PM2_5', '2025-03-10T10:00:10', 10), r('PM2_5', '2025-03-10T10:02:10', 20),
      r('PM10', '2025-03-10T10:01:00', 40), r('PM10', '2025-03-10T10:04:00', 42),
      r('SO2', '2025-03-10T10:01:00', 5), r('NO2', '2025-03-10T10:01:00', null, 2),
      // The gateway's 5-minute means of the same window (stamped with its start), as it published them.
      m('PM2_5', '2025-03-10T10:00:00', 300, 16.5, 0, 30), m('SO2', '2025-03-10T10:00:00', 300, 0.8, 1, 12), m('NO2', '2025-03-10T10:00:00', 300, null, 2, 0),
      // 1-minute means: PM2_5 00 in minutes 0 and 2 (weights 6 and 3), 01 in minute 1; SO2 01 only.
      m('PM2_5', '2025-03-10T10:00:00', 60, 12, 0, 6), m('PM2_5', '2025-03-10T10:01:00', 60, 500, 1, 6), m('PM2_5', '2025-03-10T10:02:00', 60, 24, 0, 3),
      m('SO2', '2025-03-10T10:01:00', 60, 0.5, 1, 2), m('SO2', '2025-03-10T10:03:00', 60, 1, 1, 6),
      m('NO2', '2025-03-10T10:01:00', 60, null, 2, 0),
      // A mean of the next window is not part of this one.
      m('PM2_5', '2025-03-10T10:05:00', 300, 99, 0, 30), m('PM2_5', '2025-03-10T10:05:00', 60, 99, 0, 6),
      ...extra,
    ]);
    clock = at('2025-03-10T10:05:20');
    beforeProduce?.();
    const [name] = e.produce();
    expect(name).toBe('HN_ABCD_KK001_20250310100500.txt');
    const text = readFileSync(join(dataDir, 'tt10', 'archive', '20250310', name!), 'utf8');
    outbox.close();
    rmSync(dataDir, { recursive: true, force: true });
    return text;
  }

  it('uses the 5-minute mean of the window with its status; a parameter without a mean falls back to its raw readings', () => {
    expect(setup([60, 300])).toBe(
      'PM2,5\t16.5\tug/Nm3\t20250310100500\t00\n' + // the gateway's mean, not the raw 15.0
        'PM10\t41.00\tug/Nm3\t20250310100500\t00\n' + // no PM10 mean in the archive (not closed yet): raw readings
        'SO2\t0.8\tug/Nm3\t20250310100500\t01\n' + // the mean's own status
        'NO2\t\tug/m3\t20250310100500\t02\n',
    );
  });

  it('combines 1-minute means by sample count (00 first, then 01) when there are no 5-minute means', () => {
    expect(setup([60])).toBe(
      `PM2,5\t${((12 * 6 + 24 * 3) / 9).toFixed(1)}\tug/Nm3\t20250310100500\t00\n` +
        'PM10\t41.00\tug/Nm3\t20250310100500\t00\n' +
        `SO2\t${((0.5 * 2 + 1 * 6) / 8).toFixed(1)}\tug/Nm3\t20250310100500\t01\n` +
        'NO2\t\tug/m3\t20250310100500\t02\n',
    );
  });

  it('follows a reload that turns means on: the next file uses them', () => {
    let periods: number[] = [];
    const text = setup(() => periods, [], () => (periods = [60, 300]));
    expect(text.split('\n')[0]).toBe('PM2,5\t16.5\tug/Nm3\t20250310100500\t00');
  });

  it('averages the raw readings when means are off, or none divides the window', () => {
    const raw = 'PM2,5\t15.0\tug/Nm3\t20250310100500\t00\nPM10\t41.00\tug/Nm3\t20250310100500\t00\nSO2\t5.0\tug/Nm3\t20250310100500\t00\nNO2\t\tug/m3\t20250310100500\t02\n';
    expect(setup(undefined)).toBe(raw);
    expect(setup([])).toBe(raw);
    expect(setup([3600])).toBe(raw);
  });
});
