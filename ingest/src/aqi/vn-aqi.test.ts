import { describe, expect, it } from 'vitest';
import { category, dailyAqi, dailyInputFromHours, hourlyAqi, nowcast, rollingMeans, roundHalfUp, subIndex } from './vn-aqi.ts';

const comma = (s: string): number[] => s.split(';').map((x) => Number(x.trim().replace(',', '.')));

describe('QĐ 1459/QĐ-TCMT §2.3 worked example', () => {
  // PM2.5 hourly means 09:00 … 20:00 as printed; c1 is the current hour (20:00).
  const pm25 = comma('26,9; 24,7; 20,5; 23,5; 19,5; 16,5; 19,0; 16,5; 20,3; 22,4; 19,6; 20,6').reverse();

  it('NowCast: w* = 16,5/26,9 = 0,61 > 1/2, NowCast = 20,3', () => {
    const n = nowcast(pm25)!;
    expect(n.toFixed(1)).toBe('20.3');
    // The weights are w^(i-1) with w = w* (not 1/2): with w = 1/2 the value would be 20.0.
    expect(n).not.toBeCloseTo(20.0, 1);
  });

  it('hourly: O3 43, PM2.5 41, NO2 59 (the Decision prints 60; the formula gives 59.35) → AQI^h 59', () => {
    const r = hourlyAqi({ O3: [136.1], NO2: [118.7], PM2_5: pm25 });
    const by = Object.fromEntries(r.pollutants.map((p) => [p.param, p]));
    expect(by.O3!.aqi).toBe(43);
    expect(by.PM2_5!.aqi).toBe(41);
    expect(by.PM2_5!.basis).toBe('nowcast');
    expect(by.NO2!.aqi_exact).toBeCloseTo(59.35, 10);
    expect(by.NO2!.aqi).toBe(59);
    expect(r.aqi).toBe(59);
    expect(r.dominant).toBe('NO2');
    expect(r.category!.key).toBe('moderate');
    expect(r.category!.name.vi).toBe('Trung bình');
    expect(r.category!.colour).toEqual({ vi: 'Vàng', rgb: [255, 255, 0], hex: '#ffff00' });
  });

  it('daily: O3 8h 45, O3 1h 36, NO2 65, PM2.5 110 → AQI^d 110, PM2.5 dominant', () => {
    const r = dailyAqi({ O3_8h_max: 89.3, O3_1h_max: 114.6, NO2_1h_max: 130.8, PM2_5_24h: 55.7 });
    const by = Object.fromEntries(r.pollutants.map((p) => [p.param, p]));
    expect(by.O3!.parts!.map((p) => p.aqi)).toEqual([36, 45]);
    expect(by.O3!.aqi).toBe(45);
    expect(by.O3!.basis).toBe('max_8h');
    expect(by.NO2!.aqi).toBe(65);
    // 109.5 exactly: half-up gives 110 as printed.
    expect(by.PM2_5!.aqi_exact).toBeCloseTo(109.5, 10);
    expect(by.PM2_5!.aqi).toBe(110);
    expect(r.aqi).toBe(110);
    expect(r.dominant).toBe('PM2_5');
    expect(r.category!.key).toBe('poor');
    expect(r.category!.colour.hex).toBe('#ff7e00');
  });

  it('8 h means of the O3 example (§2.2.2.a): 24 values per day, maximum 74,4', () => {
    // 18:00 … 00:00 of the day before, then 01:00 … 00:00 of the day.
    const hours = comma('15,7; 14,2; 17,7; 18,9; 19,3; 15,7; 19,7; 22,6; 27,1; 29,0; 31,9; 25,3; 34,7; 35,2; 41,6; 45,7; 49,2; 55,8; 69,6; 78,3; 91,5; 97,7; 81,2; 71,8; 43,5; 34,3; 21,5; 20,5; 19,4; 20,4; 21,3');
    const printed = comma('18,0; 19,4; 21,2; 23,0; 23,8; 25,8; 28,2; 30,9; 33,8; 36,6; 39,9; 44,7; 51,3; 58,4; 66,2; 71,1; 74,4; 73,7; 71,0; 65,0; 57,8; 48,7; 39,1; 31,6');
    // The Decision computed its table from unrounded hourly means: from the printed (rounded) hours two of the 24
    // come out one digit apart (03:00 21.25 vs 21,2; 12:00 44.64 vs 44,7); all are within 0.1.
    const means = rollingMeans(hours, 8, 24, 8);
    means.forEach((m, i) => expect(Math.abs(m! - printed[i]!)).toBeLessThanOrEqual(0.1));
    expect(means.filter((m, i) => Number(m!.toFixed(1)) === printed[i]).length).toBe(22);
    const d = dailyInputFromHours({ O3: hours.slice(7) }, hours.slice(0, 7));
    expect(d.O3_8h_max!.toFixed(1)).toBe('74.4');
    expect(d.O3_1h_max).toBe(97.7);
  });
});

describe('NowCast rules', () => {
  it('needs at least 2 of c1, c2, c3', () => {
    expect(nowcast([30, null, null, 40, 40])).toBeNull();
    expect(nowcast([null, null, 30, 30])).toBeNull();
    expect(nowcast([30, null, 30])).toBe(30);
    expect(nowcast([null, 30, 30])).toBe(30);
    expect(nowcast([])).toBeNull();
  });

  it('w* ≤ 1/2 gives w = 1/2 and a missing hour weighs 0', () => {
    expect(nowcast([10, 40])).toBeCloseTo((10 + 0.5 * 40) / 1.5, 12);
    expect(nowcast([10, 40, null, 40])).toBeCloseTo((10 + 0.5 * 40 + 0.125 * 40) / (1 + 0.5 + 0.125), 12);
  });

  it('uses only the last 12 hours, and all-zero hours give 0', () => {
    expect(nowcast([20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 1000])).toBe(20);
    expect(nowcast([0, 0, 0])).toBe(0);
  });
});

describe('sub-indices, rounding, categories', () => {
  it('interpolates on shared end-points and caps above the top breakpoint at 500', () => {
    expect(subIndex('PM2_5', 25)).toBe(50);
    expect(subIndex('PM2_5', 50)).toBe(100);
    expect(subIndex('PM10', 420)).toBe(300);
    expect(subIndex('CO', 10_000)).toBe(50);
    expect(subIndex('SO2', 2630)).toBe(500);
    expect(subIndex('PM2_5', 800)).toBe(500);
    expect(subIndex('PM2_5', -1)).toBeNull();
    expect(subIndex('PM2_5', null)).toBeNull();
    expect(subIndex('PM2_5', Number.NaN)).toBeNull();
  });

  it('rounds half-up, not half-even, and ignores float noise', () => {
    expect(roundHalfUp(0.5)).toBe(1);
    expect(roundHalfUp(2.5)).toBe(3);
    expect(roundHalfUp(59.35)).toBe(59);
    expect(roundHalfUp(109.49999999999)).toBe(110);
    expect(hourlyAqi({ PM2_5: [0.25, 0.25] }).aqi).toBe(1);
  });

  it('maps AQI to the Bảng 1 categories and colours', () => {
    expect([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500].map((a) => category(a).key)).toEqual([
      'good', 'good', 'moderate', 'moderate', 'poor', 'poor', 'bad', 'bad', 'very_bad', 'very_bad', 'hazardous', 'hazardous',
    ]);
    expect(category(0).colour.hex).toBe('#00e400');
    expect(category(250).colour).toEqual({ vi: 'Tím', rgb: [143, 63, 151], hex: '#8f3f97' });
    expect(category(400).name).toEqual({ vi: 'Nguy hại', en: 'Hazardous' });
    expect(category(160).advice.health).toMatch(/^Những người bình thường bắt đầu/);
  });
});

describe('AQI rules', () => {
  it('is not computed without PM2.5 or PM10, however high the gases', () => {
    const h = hourlyAqi({ O3: [900], NO2: [500], PM2_5: [40, null, null] });
    expect(h.aqi).toBeNull();
    expect(h.category).toBeNull();
    expect(h.reason).toMatch(/PM2.5 or PM10/);
    expect(h.pollutants.find((p) => p.param === 'O3')!.aqi).toBe(350);
    expect(dailyAqi({ SO2_1h_max: 400 }).aqi).toBeNull();
    expect(hourlyAqi({ PM10: [60, 60] }).aqi).toBe(55);
  });

  it('drops the O3 8 h index above 400 µg/m³ and uses the 1 h index', () => {
    const r = dailyAqi({ PM10_24h: 20, O3_1h_max: 450, O3_8h_max: 401 });
    const o3 = r.pollutants.find((p) => p.param === 'O3')!;
    expect(o3.parts![1]).toMatchObject({ basis: 'max_8h', aqi: null });
    expect(o3.parts![1]!.note).toMatch(/400/);
    expect(o3).toMatchObject({ basis: 'max_1h', aqi: 213 });
    expect(r).toMatchObject({ aqi: 213, dominant: 'O3' });
    // At exactly 400 the 8 h index is still computed (level 6 = 300).
    expect(dailyAqi({ PM10_24h: 20, O3_1h_max: 100, O3_8h_max: 400 })).toMatchObject({ aqi: 300, dominant: 'O3' });
  });

  it('daily means need 18 of 24 hours; maxima take what there is', () => {
    const pm: (number | null)[] = Array.from({ length: 24 }, (_, i) => (i < 17 ? 30 : null));
    expect(dailyInputFromHours({ PM2_5: pm }).PM2_5_24h).toBeNull();
    pm[17] = 48;
    expect(dailyInputFromHours({ PM2_5: pm }).PM2_5_24h).toBe((17 * 30 + 48) / 18);
    expect(dailyInputFromHours({ PM2_5: pm }, [], { minHoursPerDay: 24 }).PM2_5_24h).toBeNull();
    expect(dailyInputFromHours({ NO2: [null, 120, 80] }).NO2_1h_max).toBe(120);
  });

  it('prefers PM2.5, then PM10 … when sub-indices tie', () => {
    expect(hourlyAqi({ PM10: [50, 50], PM2_5: [25, 25] }).dominant).toBe('PM2_5');
    expect(hourlyAqi({ PM10: [50.1, 50.1], PM2_5: [25, 25] }).dominant).toBe('PM10');
  });
});
