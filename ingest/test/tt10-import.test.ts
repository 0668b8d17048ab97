import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIngestConfig } from '../src/config/config.ts';
import { eventually, startTestIngest, VIEWER_TOKEN, viewerHeaders } from './helpers.ts';

/** yyyyMMddHHmmss in Vietnam time. */
const stamp = (t: number): string => new Date(t + 7 * 3_600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);

describe('TT10 import: drop folder → the same pipeline as MQTT', () => {
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let drop: string;
  const t = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
  const s = stamp(t);

  beforeAll(async () => {
    drop = mkdtempSync(join(tmpdir(), 'envmon-drop-'));
    const config = parseIngestConfig(`
stations:
  - { id: S1, medium: air, params: [PM2_5, PM10, SO2], secret_hash: "scrypt$unused" }
  - { id: S2, medium: water, secret_hash: "scrypt$unused" }
api:
  tokens:
    - { name: v, role: viewer, token_hash: "sha256$${createHash('sha256').update(VIEWER_TOKEN).digest('hex')}" }
tt10_import:
  dir: ${drop}
  poll_ms: 100
  settle_ms: 0
  stations:
    - { file_prefix: HN_ABCD_KK001, station: S1 }
    - { file_prefix: BN_KCN_NUOC01, station: S2 }
`);
    ingest = await startTestIngest({ config });
  }, 30_000);
  afterAll(async () => {
    await ingest?.cleanup();
    rmSync(drop, { recursive: true, force: true });
  });

  it('imports a file with CRLF, BOM and comma decimals; bad readings are quarantined like MQTT ones', async () => {
    const name = `HN_ABCD_KK001_${s}.txt`;
    writeFileSync(
      join(drop, name),
      `\ufeffPM2,5\t12,5\tug/Nm3\t${s}\t00\r\nPM10\t99999\tug/Nm3\t${s}\t00\r\nSO2\t\tug/Nm3\t${s}\t02\r\nNH3\t4\tug/Nm3\t${s}\t00\r\n`,
    );
    await eventually(() => existsSync(join(drop, 'done', name)), 10_000, 'the file in done/');
    expect(existsSync(join(drop, name))).toBe(false);
    const latest = await eventually(async () => {
      const r = await ingest.store.latest({ station: 'S1' });
      return r.length >= 2 ? r : undefined;
    }, 10_000, 'imported readings in the store');
    expect(latest.find((r) => r.param === 'PM2_5')).toMatchObject({ time: t, value: 12.5, status: 0, period_s: 0 });
    expect(latest.find((r) => r.param === 'SO2')).toMatchObject({ time: t, value: null, status: 2 });
    const rejects = (await (await fetch(`${ingest.httpUrl}api/v1/rejects?station=S1`, { headers: viewerHeaders })).json()) as { items: { reason: string; topic: string }[] };
    expect(rejects.items.map((r) => `${r.reason} ${r.topic}`).sort()).toEqual([`out_of_range tt10/${name}`, `unknown_param tt10/${name}`]);
  });

  it('maps Temp to water temperature for a water station, LF line ends', async () => {
    const name = `BN_KCN_NUOC01_${s}.txt`;
    writeFileSync(join(drop, name), `Temp\t28.5\toC\t${s}\t00\npH\t7,25\t\t${s}\t00\nCOD\t41.2\tmg/L\t${s}\t01\n`);
    const latest = await eventually(async () => {
      const r = await ingest.store.latest({ station: 'S2' });
      return r.length >= 3 ? r : undefined;
    }, 10_000, 'S2 readings');
    expect(Object.fromEntries(latest.map((r) => [r.param, [r.value, r.status]]))).toEqual({ WTEMP: [28.5, 0], PH: [7.25, 0], COD: [41.2, 1] });
  });

  it('moves malformed files and unknown stations to rejected/ with a reason file', async () => {
    const bad = `HN_ABCD_KK001_${stamp(t + 60_000)}.txt`;
    const stranger = `HN_XYZ_KK009_${s}.txt`;
    writeFileSync(join(drop, bad), `PM2,5\t1\tug/Nm3\t${s}\t00\nPM10\t2\tug/Nm3\n`);
    writeFileSync(join(drop, stranger), `PM2,5\t1\tug/Nm3\t${s}\t00\n`);
    await eventually(() => existsSync(join(drop, 'rejected', `${stranger}.reason.txt`)) && existsSync(join(drop, 'rejected', `${bad}.reason.txt`)), 10_000, 'reason files');
    expect(readFileSync(join(drop, 'rejected', `${bad}.reason.txt`), 'utf8')).toMatch(/line 2: expected 5 TAB-separated fields/);
    expect(readFileSync(join(drop, 'rejected', `${stranger}.reason.txt`), 'utf8')).toMatch(/no station is mapped to the file prefix "HN_XYZ_KK009"/);
    expect(readdirSync(join(drop, 'rejected')).sort()).toEqual([bad, `${bad}.reason.txt`, stranger, `${stranger}.reason.txt`].sort());
    // Nothing of the malformed file reached the store (its first line was fine).
    const series = await ingest.store.series({ station: 'S1', param: 'PM2_5', from: t, to: t + 120_000 });
    expect(series.points.map((p) => p.value)).toEqual([12.5]);
  });
});
