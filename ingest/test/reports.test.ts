import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIngestConfig } from '../src/config/config.ts';
import type { StoredReading } from '../src/store/store.ts';
import { startTestIngest, VIEWER_TOKEN, viewerHeaders } from './helpers.ts';

const H = 3_600_000;
const D0 = Date.parse('2025-03-10T00:00:00+07:00');
const D1 = Date.parse('2026-01-05T00:00:00+07:00');

let ingest: Awaited<ReturnType<typeof startTestIngest>>;
const get = async (path: string): Promise<{ status: number; body: any; text: string; type: string | null }> => {
  const res = await fetch(`${ingest.httpUrl}api/v1/${path}`, { headers: viewerHeaders });
  const text = Buffer.from(await res.arrayBuffer()).toString('utf8'); // keeps the BOM (res.text() drops it)
  return { status: res.status, text, type: res.headers.get('content-type'), body: text.startsWith('{') ? JSON.parse(text) : undefined };
};
/** Twelve 5-minute readings in hour `h` (start ms), all `v`. */
const hour = (station: string, param: string, h: number, v: number, status: 0 | 1 | 2 = 0): StoredReading[] =>
  Array.from({ length: 12 }, (_, i) => ({ station, param, time: h + i * 300_000, value: v, status, qc_flags: 0, period_s: 0 }));

beforeAll(async () => {
  const config = parseIngestConfig(`
stations:
  - { id: S1, medium: air, params: [PM2_5, NO2, O3, SO2], expected_interval_s: 300, secret_hash: "scrypt$unused" }
  - { id: S2, medium: water, params: [PH, COD], expected_interval_s: 300, secret_hash: "scrypt$unused" }
  - { id: S3, medium: air, params: [PM10], secret_hash: "scrypt$unused" }
api:
  tokens:
    - { name: v, role: viewer, token_hash: "sha256$${createHash('sha256').update(VIEWER_TOKEN).digest('hex')}" }
reports:
  stations:
    S1: { profile: qcvn-05-2023 }
    S2: { profile: qcvn-40-2011, column: B, kq: 0.9, kf: 1.1 }
`);
  ingest = await startTestIngest({ config });
  const r: StoredReading[] = [];
  for (let i = 0; i < 20; i++) r.push(...hour('S1', 'PM2_5', D0 + i * H, 60));
  r.push(...hour('S1', 'PM2_5', D0 + 20 * H, 900, 1)); // calibration: received, not valid, not judged
  for (let i = 0; i < 24; i++) r.push(...hour('S1', 'NO2', D0 + i * H, i === 5 ? 250 : 50));
  for (let i = 0; i < 24; i++) r.push(...hour('S1', 'O3', D0 + i * H, i >= 10 && i < 18 ? 130 : 20));
  for (let i = 0; i < 24; i++) r.push(...hour('S1', 'PM2_5', D1 + i * H, 47));
  r.push(
    { station: 'S2', param: 'COD', time: D0 + 3600_000, value: 149, status: 0, qc_flags: 0, period_s: 0 },
    { station: 'S2', param: 'COD', time: D0 + 7200_000, value: 148, status: 0, qc_flags: 0, period_s: 0 },
    { station: 'S2', param: 'PH', time: D0 + 3600_000, value: 5.0, status: 0, qc_flags: 0, period_s: 0 },
    { station: 'S2', param: 'PH', time: D0 + 7200_000, value: 7.0, status: 0, qc_flags: 0, period_s: 0 },
  );
  await ingest.store.write(r);
}, 30_000);
afterAll(async () => ingest?.cleanup());

describe('compliance report', () => {
  it('judges each QCVN 05:2023 limit on its own averaging period', async () => {
    const { status, body } = await get('reports/compliance?station=S1&day=2025-03-10');
    expect(status).toBe(200);
    const rep = body.reports[0];
    expect(rep).toMatchObject({ station: 'S1', day: '2025-03-10', from: '2025-03-10T00:00:00+07:00', profile: { id: 'qcvn-05-2023' } });
    const row = (p: string, period: string) => rep.rows.find((x: any) => x.param === p && x.period === period);
    // 20 valid hours of 60 ≥ 18: the 24 h mean 60 exceeds 50 (the value in force in 2025).
    expect(row('PM2_5', '24h')).toMatchObject({ limit: { max: 50 }, evaluated: 1, exceedances: 1, worst: 60, status: 'exceeded' });
    expect(row('NO2', '1h')).toMatchObject({ limit: { max: 200 }, evaluated: 24, expected: 24, exceedances: 1, worst: 250, status: 'exceeded' });
    expect(row('NO2', '1h').exceeded_at).toEqual([{ time: '2025-03-10T05:00:00+07:00', value: 250 }]);
    expect(row('NO2', '24h')).toMatchObject({ exceedances: 0, status: 'compliant' });
    expect(row('NO2', '24h').worst).toBeCloseTo((23 * 50 + 250) / 24, 9);
    // O3: 8 hours of 130 → the 8 h mean ending 18:00 is 130 > 120; no hour exceeds the 1 h limit of 200.
    expect(row('O3', '8h')).toMatchObject({ exceedances: 1, worst: 130, status: 'exceeded', exceeded_at: [{ time: '2025-03-10T18:00:00+07:00', value: 130 }] });
    expect(row('O3', '1h')).toMatchObject({ exceedances: 0, status: 'compliant' });
    expect(row('SO2', '1h')).toMatchObject({ evaluated: 0, status: 'no_data' });
    expect(rep.skipped).toContainEqual({ param: 'PM2_5', period: 'annual', reason: 'annual limits are not judged by a daily report' });
  });

  it('uses the limit in force on the day (PM2.5 24 h: 45 from 2026-01-01)', async () => {
    const { body } = await get('reports/compliance?station=S1&day=2026-01-05');
    expect(body.reports[0].rows.find((x: any) => x.param === 'PM2_5' && x.period === '24h')).toMatchObject({ limit: { max: 45 }, worst: 47, status: 'exceeded' });
  });

  it('QCVN 40: instant values, the station column, Cmax = C × Kq × Kf, and pH lower limit', async () => {
    const { body } = await get('reports/compliance?station=S2&day=2025-03-10');
    const rows = body.reports[0].rows;
    const cod = rows.find((x: any) => x.param === 'COD');
    expect(cod).toMatchObject({ period: 'instant', column: 'B', evaluated: 2, exceedances: 1, status: 'exceeded' });
    expect(cod.limit.max).toBeCloseTo(148.5, 9);
    expect(cod.limit.note).toMatch(/150 × 0.9 × 1.1/);
    expect(rows.find((x: any) => x.param === 'PH')).toMatchObject({ limit: { min: 5.5, max: 9 }, exceedances: 1, worst: 5, status: 'exceeded' });
  });

  it('says why a station without a profile has no judgement; CSV for download', async () => {
    expect((await get('reports/compliance?station=S3&day=2025-03-10')).body.reports[0].note).toMatch(/reports\.stations\.S3\.profile/);
    const csv = await get('reports/compliance.csv?station=S1&from=2025-03-10&to=2025-03-11');
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('\ufeffday,station,profile,param,period,column,limit_min,limit_max,unit,evaluated,expected,exceedances,worst,status,first_exceeded_at,limit_source,note');
    expect(lines).toContain('2025-03-10,S1,qcvn-05-2023,NO2,1h,,,200,µg/Nm³,24,24,1,250,exceeded,2025-03-10T05:00:00+07:00,"QCVN 05:2023 Bảng 1, NO2 trung bình 1 giờ",');
    // The next day has no data of its own, but its first 8 h O3 windows reach back into 2025-03-10.
    const next = lines.filter((l) => l.startsWith('2025-03-11,S1,qcvn-05-2023,'));
    expect(next.filter((l) => !l.includes(',O3,8h,')).every((l) => l.includes(',no_data,'))).toBe(true);
    expect(next.find((l) => l.includes(',O3,8h,'))).toMatch(/,2,24,0,35.714,compliant,/); // windows ending 01:00 (7 of 8 hours) and 02:00 (6 of 8)
  });
});

describe('completeness report', () => {
  it('counts received and valid records against expected_interval_s, per parameter', async () => {
    const { body } = await get('reports/completeness?station=S1&day=2025-03-10');
    const rep = body.reports[0];
    expect(rep.expected_interval_s).toBe(300);
    const by = Object.fromEntries(rep.rows.map((x: any) => [x.param, x]));
    expect(by.PM2_5).toEqual({ param: 'PM2_5', expected: 288, received: 252, valid: 240, calibrating: 12, device_error: 0, received_pct: 87.5, valid_pct: 83.3, valid_hours: 20 });
    expect(by.NO2).toMatchObject({ received: 288, valid_pct: 100, valid_hours: 24 });
    expect(by.SO2).toMatchObject({ received: 0, valid_pct: 0 });
    const csv = await get('reports/completeness.csv?station=S1&day=2025-03-10');
    expect(csv.text.split('\r\n')).toContain('2025-03-10,S1,PM2_5,288,252,240,12,0,87.5,83.3,20,300');
  });

  it('answers bad requests with what to send, and needs a token', async () => {
    expect((await get('reports/completeness?day=2025-03-10')).status).toBe(400);
    expect((await get('reports/completeness?station=NOPE')).status).toBe(404);
    expect((await get('reports/completeness?station=S1&from=2025-01-01&to=2025-03-01')).body.error).toMatch(/at most 31 days/);
    expect((await fetch(`${ingest.httpUrl}api/v1/reports/completeness?station=S1&day=2025-03-10`)).status).toBe(401);
  });
});
