import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshd, type Sshd } from '../../test/support/sshd.ts';
import { parseGatewayConfig } from '../config.ts';
import { OUTBOX_FILE, openOutbox } from '../outbox/outbox.ts';
import { createTt10Exporter, type Tt10Exporter } from './exporter.ts';
import { sendOverSftp } from './sftp-sender.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const at = (local: string): number => Date.parse(`${local}+07:00`);
const r = (param: string, time: string, value: number | null, status: 0 | 1 | 2 = 0): Reading => ({ param, time: at(time), value, status, qc_flags: 0, period_s: 0 });

const WRONG_PIN = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function configText(port: number, keyFile: string, pin: string): string {
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
    PM10:
  receivers:
    - { name: so-sftp, protocol: sftp, host: 127.0.0.1, port: ${port}, username: root, private_key_file: "${keyFile}", host_key_sha256: "${pin}", remote_dir: "yyyy/MM/dd" }
    - { name: so-sftp-bad, protocol: sftp, host: 127.0.0.1, port: ${port}, username: root, private_key_file: "${keyFile}", host_key_sha256: "${WRONG_PIN}", remote_dir: "{station}/yyyyMMdd" }
`;
}

describe('TT10 exporter → a real SFTP server (OpenSSH sshd on loopback)', () => {
  let dataDir: string;
  let server: ReturnType<typeof createSshd>;
  let sshd: Sshd | undefined;
  const exporters: Tt10Exporter[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'envmon-tt10-sftp-'));
    server = createSshd();
  });
  afterAll(async () => {
    for (const e of exporters) await e.stop();
    await sshd?.stop();
    server?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('queues files while the server is down, sends them in order into the folder layout once it is up, refuses a wrong host key', async () => {
    // Keys are made before the server first starts: the pin is known while nobody listens yet.
    const first = await server.start();
    const { port, clientKeyFile, hostKeySha256 } = first;
    await first.stop();

    const config = parseGatewayConfig(configText(port, clientKeyFile, hostKeySha256), 'gw.yaml', { env: {} }).tt10!;
    expect(config.receivers.map((x) => [x.protocol, x.port, x.hostKeySha256 === hostKeySha256, x.privateKey?.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----')])).toEqual([
      ['sftp', port, true, true],
      ['sftp', port, false, true],
    ]);
    const dbPath = join(dataDir, OUTBOX_FILE);
    const outbox = openOutbox(dbPath, 'GW1');
    let clock = at('2025-03-10T10:02:00');
    const sent: string[] = [];
    const make = (): Tt10Exporter => {
      const e = createTt10Exporter({ config, dbPath, dir: join(dataDir, 'tt10'), archiveDays: 60, log, now: () => clock, onSent: (rc, name) => sent.push(`${rc} ${name}`) });
      exporters.push(e);
      return e;
    };
    const e1 = make();
    expect(e1.produce()).toEqual([]);
    outbox.insert([
      r('PM2_5', '2025-03-10T10:00:10', 10), r('PM2_5', '2025-03-10T10:02:10', 20), r('PM10', '2025-03-10T10:04:00', 42.5, 1),
      r('PM2_5', '2025-03-10T10:05:00', 7.25), r('PM10', '2025-03-10T10:09:59', 30),
      r('PM2_5', '2025-03-10T10:19:59', 1.04),
      r('PM2_5', '2025-03-10T23:59:00', 3), // the next local day: another folder
    ]);
    clock = at('2025-03-10T10:20:20');
    const names = ['HN_ABCD_KK001_20250310100500.txt', 'HN_ABCD_KK001_20250310101000.txt', 'HN_ABCD_KK001_20250310102000.txt'];
    expect(e1.produce()).toEqual(names);

    await e1.sendNow(); // nobody listens on the port
    expect(e1.queued('so-sftp')).toEqual(names);
    await e1.stop();

    sshd = await server.start(); // the same server (same keys) comes up on the same port
    const e2 = make(); // a gateway restart: the queues are on disk
    expect(e2.queued('so-sftp')).toEqual(names);
    await e2.sendNow();
    expect(e2.queued('so-sftp')).toEqual([]);
    expect(sent.filter((s) => s.startsWith('so-sftp ')).map((s) => s.split(' ')[1])).toEqual(names);
    const day = join(sshd.root, '2025', '03', '10');
    expect(readdirSync(day).sort()).toEqual(names); // renamed: no .tmp left
    expect(readFileSync(join(day, names[0]!), 'utf8')).toBe('PM2,5\t15.0\tug/Nm3\t20250310100500\t00\nPM10\t42.5\tug/Nm3\t20250310100500\t01\n');
    expect(readFileSync(join(day, names[2]!), 'utf8')).toBe('PM2,5\t1.0\tug/Nm3\t20250310102000\t00\nPM10\t\tug/Nm3\t20250310102000\t02\n');

    // The server goes down again: the next file waits, and goes out (into the next day's folder) when it is back.
    await sshd.stop();
    clock = at('2025-03-11T00:00:20');
    expect(e2.produce()).toEqual(['HN_ABCD_KK001_20250311000000.txt']);
    await e2.sendNow();
    expect(e2.queued('so-sftp')).toEqual(['HN_ABCD_KK001_20250311000000.txt']);
    sshd = await server.start();
    await e2.sendNow();
    expect(e2.queued('so-sftp')).toEqual([]);
    expect(readdirSync(join(sshd.root, '2025', '03', '11'))).toEqual(['HN_ABCD_KK001_20250311000000.txt']);

    // The receiver pinned to another host key sent nothing and keeps everything queued.
    expect(sent.some((s) => s.startsWith('so-sftp-bad '))).toBe(false);
    expect(e2.queued('so-sftp-bad')).toEqual([...names, 'HN_ABCD_KK001_20250311000000.txt']);
    expect(existsSync(join(sshd.root, 'KK001'))).toBe(false);
    const bad = config.receivers[1]!;
    const file = { name: names[0]!, localPath: join(dataDir, 'tt10', 'queue', 'so-sftp-bad', names[0]!), remoteDir: 'KK001/20250310' };
    await expect(sendOverSftp(bad, [file], () => {}, {})).rejects.toThrow(
      `TT10 receiver so-sftp-bad (sftp://root@127.0.0.1:${port}): host key ${hostKeySha256} is not the pinned host_key_sha256 ${WRONG_PIN}; refused`,
    );
    expect(existsSync(join(sshd.root, 'KK001'))).toBe(false);
    outbox.close();
  }, 15_000);

  it('names the receiver when the login fails', async () => {
    const up = sshd!;
    const config = parseGatewayConfig(configText(up.port, up.clientKeyFile, up.hostKeySha256), 'gw.yaml', { env: {} }).tt10!;
    const noKey = { ...config.receivers[0]!, privateKey: undefined, password: 'wrong' }; // the server takes keys only
    await expect(sendOverSftp(noKey, [], () => {}, {})).rejects.toThrow(/^TT10 receiver so-sftp \(sftp:\/\/root@127\.0\.0\.1:\d+\): connect: .*authentication/i);
  });

  it('abort ends a send at once; a server that never answers times out', async () => {
    const up = sshd!;
    const config = parseGatewayConfig(configText(up.port, up.clientKeyFile, up.hostKeySha256), 'gw.yaml', { env: {} }).tt10!;
    const abort: { close?: () => void } = {};
    const t0 = Date.now();
    const p = sendOverSftp(config.receivers[0]!, [], () => {}, abort);
    expect(abort.close).toBeTypeOf('function');
    abort.close!();
    await expect(p).rejects.toThrow(/so-sftp .*connect: aborted/);
    expect(abort.close).toBeUndefined();

    const sockets: Socket[] = [];
    const silent = createServer((c) => sockets.push(c)); // accepts TCP, never speaks SSH
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      await expect(sendOverSftp({ ...config.receivers[0]!, port, timeoutMs: 1000 }, [], () => {}, {})).rejects.toThrow(`TT10 receiver so-sftp (sftp://root@127.0.0.1:${port}): connect:`);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('checks the sftp fields of the config', () => {
    const text = configText(22, '/nonexistent/key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(() => parseGatewayConfig(text, 'gw.yaml', { env: {} })).toThrow(/gw\.yaml:14 tt10\.receivers\[0\]\.private_key_file: cannot read \/nonexistent\/key/);
    expect(() => parseGatewayConfig(text.replaceAll(/host_key_sha256: "[^"]*"/g, 'host_key_sha256: "ab:cd"'), 'gw.yaml', { env: {} })).toThrow(/tt10\.receivers\[0\]\.host_key_sha256: host_key_sha256: the SHA256 fingerprint/);
    const defaults = parseGatewayConfig(
      text.replace(/port: 22, username: root, private_key_file: "[^"]*", host_key_sha256: "[^"]*"/, 'username: u, password: p').replace(/\n    - \{ name: so-sftp-bad.*\n/, '\n'),
      'gw.yaml',
      { env: {} },
    ).tt10!.receivers[0]!;
    expect([defaults.port, defaults.password, defaults.privateKey, defaults.hostKeySha256]).toEqual([22, 'p', undefined, undefined]);
    expect(() => parseGatewayConfig(text.replace('protocol: sftp, host', 'protocol: ftp, host'), 'gw.yaml', { env: {} })).toThrow(/private_key_file and host_key_sha256 are for protocol: sftp/);
  });
});
