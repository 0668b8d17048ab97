import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '../src/store/store.ts';
import { startTestIngest } from './helpers.ts';

const H = 3_600_000;
// 2025-03-10 in Vietnam (UTC+7) starts at 2025-03-09T17:00Z.
const DAY = '2025-03-10';
const DAY_START = Date.parse('2025-03-10T00:00:00+07:00');

let ingest: Awaited<ReturnType<typeof startTestIngest>>;
const get = async (q: string): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${ingest.httpUrl}api/v1/aqi?${q}`);
  return { status: res.status, body: await res.json() };
};
/** Three raw readings inside hour `h` (start ms) whose valid mean is `v`. */
const hour = (param: string, h: number, v: number, status: 0 | 1 | 2 = 0): StoredReading[] =>
  [v - 1, v, v + 1].map((x, i) => ({ station: 'S1', param, time: h + (i + 1) * 600_000 + status * 60_000, value: x, status, qc_flags: 0, period_s: 0 }));

beforeAll(async () => {
  ingest = await startTestIngest();
  const r: StoredReading[] = [];
  // Hourly example of QĐ 1459 §2.3 for the hour 19:00-20:00 local (c1 = "20:00").
  const pm = [26.9, 24.7, 20.5, 23.5, 19.5, 16.5, 19.0, 16.5, 20.3, 22.4, 19.6, 20.6];
  pm.forEach((v, i) => r.push(...hour('PM2_5', DAY_START + (8 + i) * H, v)));
  r.push(...hour('O3', DAY_START + 19 * H, 136.1), ...hour('NO2', DAY_START + 19 * H, 118.7));
  // A calibration run in the same hour must not count (QA/QC: status 01 is not a measurement).
  r.push(...hour('NO2', DAY_START + 19 * H, 5000, 1));
  // Daily example: PM2.5 24 h mean 55.7 and NO2 max 1 h 130.8 on the next day.
  const next = DAY_START + 24 * H;
  for (let i = 0; i < 24; i++) r.push(...hour('PM2_5', next + i * H, i % 2 === 0 ? 50.7 : 60.7));
  r.push(...hour('NO2', next + 5 * H, 130.8), ...hour('NO2', next + 6 * H, 90));
  await ingest.store.write(r);
}, 30_000);
afterAll(async () => ingest?.cleanup());

describe('GET /api/v1/aqi', () => {
  it('hourly: reproduces the Decision example from stored readings (NO2 59.35 → 59)', async () => {
    const { status, body } = await get(`station=S1&kind=hourly&at=${encodeURIComponent('2025-03-10T20:30:00+07:00')}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ station: 'S1', kind: 'hourly', method: 'VN_AQI', aqi: 59, dominant: 'NO2' });
    expect(body.period).toMatchObject({ from: '2025-03-10T19:00:00+07:00', to: '2025-03-10T20:00:00+07:00' });
    expect(body.category).toMatchObject({ key: 'moderate', name: { vi: 'Trung bình' }, colour: { hex: '#ffff00' } });
    const by = Object.fromEntries(body.pollutants.map((p: any) => [p.param, p]));
    expect(by.PM2_5).toMatchObject({ basis: 'nowcast', aqi: 41 });
    expect(by.PM2_5.concentration.toFixed(1)).toBe('20.3');
    expect(by.O3).toMatchObject({ basis: 'mean_1h', aqi: 43 });
    expect(by.NO2.concentration).toBeCloseTo(118.7, 9);
    expect(by.SO2).toMatchObject({ concentration: null, aqi: null });
    expect(body.hours).toMatchObject({ PM2_5: 12, NO2: 1, SO2: 0 });
  });

  it('hourly: no PM in the last 3 hours means no AQI, with the reason', async () => {
    const { body } = await get(`station=S1&kind=hourly&at=${DAY_START + 23 * H}`);
    expect(body.aqi).toBeNull();
    expect(body.category).toBeNull();
    expect(body.reason).toMatch(/PM2.5 or PM10/);
  });

  it('daily: 24 h PM mean and maximum hourly NO2 of the local day', async () => {
    const { status, body } = await get('station=S1&kind=daily&at=2025-03-11');
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'daily', aqi: 110, dominant: 'PM2_5', period: { day: '2025-03-11', from: '2025-03-11T00:00:00+07:00' } });
    const by = Object.fromEntries(body.pollutants.map((p: any) => [p.param, p]));
    expect(by.PM2_5.concentration).toBeCloseTo(55.7, 9);
    expect(by.NO2).toMatchObject({ basis: 'max_1h', aqi: 65 });
    expect(body.hours.PM2_5).toBe(24);
    expect(body.category.colour.hex).toBe('#ff7e00');
  });

  it('answers bad requests with what to send', async () => {
    expect((await get('kind=hourly')).status).toBe(400);
    expect((await get('station=NOPE')).status).toBe(404);
    expect((await get('station=S1&kind=weekly')).body.error).toMatch(/hourly or daily/);
    expect((await get('station=S1&kind=daily&at=2025-02-30')).status).toBe(400);
  });
});
