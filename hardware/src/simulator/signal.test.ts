import { describe, expect, it } from 'vitest';
import type { SimSpec } from '../profile/schema.ts';
import { episodeLevel, simulatedValue, uniform } from './signal.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1); // 07:00 local (UTC+7)

const spec = (over: Partial<SimSpec> = {}): SimSpec => ({
  base: 50,
  diurnal_amplitude: 0,
  peak_hour: 8,
  noise: 0,
  episode: undefined,
  min: 0,
  max: 1000,
  ...over,
});

describe('signal model', () => {
  it('is a pure function of seed, parameter and time', () => {
    const s = spec({ noise: 5, diurnal_amplitude: 10, episode: { peak: 300, probability_per_hour: 0.2, duration_min: 60 } });
    for (let t = T0; t < T0 + DAY; t += 17 * 60_000) {
      expect(simulatedValue(s, 1, 'PM10', t)).toBe(simulatedValue(s, 1, 'PM10', t));
    }
    const a = Array.from({ length: 50 }, (_, i) => simulatedValue(s, 1, 'PM10', T0 + i * 60_000));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => simulatedValue(s, 2, 'PM10', T0 + i * 60_000)));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => simulatedValue(s, 1, 'PM2_5', T0 + i * 60_000)));
  });

  it('peaks at peak_hour local time (UTC+7) and bottoms out twelve hours later', () => {
    const s = spec({ diurnal_amplitude: 20, peak_hour: 14 });
    const at = (localHour: number) => simulatedValue(s, 1, 'O3', Date.UTC(2026, 0, 2, localHour - 7));
    expect(at(14)).toBeCloseTo(70, 6);
    expect(at(2)).toBeCloseTo(30, 6);
    expect(at(8)).toBeCloseTo(50, 6);
  });

  it('keeps noise constant within a second, varying between seconds, with about the given spread', () => {
    const s = spec({ noise: 4 });
    expect(simulatedValue(s, 3, 'SO2', T0 + 100)).toBe(simulatedValue(s, 3, 'SO2', T0 + 900));
    const xs = Array.from({ length: 4000 }, (_, i) => simulatedValue(s, 3, 'SO2', T0 + i * 1000) - 50);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.3);
    expect(sd).toBeGreaterThan(3.6);
    expect(sd).toBeLessThan(4.4);
  });

  it('clamps to min and max', () => {
    const s = spec({ noise: 100, min: 40, max: 60 });
    for (let i = 0; i < 500; i++) {
      const v = simulatedValue(s, 9, 'NO2', T0 + i * 1000);
      expect(v).toBeGreaterThanOrEqual(40);
      expect(v).toBeLessThanOrEqual(60);
    }
  });

  it('has episodes about as often as asked, reaching the peak and lasting duration_min', () => {
    const ep = { peak: 400, probability_per_hour: 0.05, duration_min: 120 };
    const s = spec({ episode: ep });
    const days = 200;
    let starts = 0;
    let maxV = 0;
    let inEpisode = false;
    let longest = 0;
    let run = 0;
    // Sample each minute over 200 simulated days.
    for (let t = T0; t < T0 + days * DAY; t += 60_000) {
      const v = simulatedValue(s, 11, 'SO2', t);
      maxV = Math.max(maxV, v);
      const on = v > 50.001;
      if (on && !inEpisode) starts++;
      run = on ? run + 1 : 0;
      longest = Math.max(longest, run);
      inEpisode = on;
    }
    const expected = days * 24 * ep.probability_per_hour; // 240; overlapping episodes merge, so a few fewer
    expect(starts).toBeGreaterThan(expected * 0.7);
    expect(starts).toBeLessThan(expected * 1.2);
    expect(maxV).toBeGreaterThan(395);
    expect(longest).toBeGreaterThanOrEqual(118);
  });

  it('never starts an episode when the probability is 0', () => {
    const ep = { peak: 400, probability_per_hour: 0, duration_min: 60 };
    for (let t = T0; t < T0 + 30 * DAY; t += 10 * 60_000) expect(episodeLevel(ep, 5, t)).toBe(0);
  });

  it('draws uniform numbers spread over [0, 1)', () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const u = uniform(42, 1, 1_700_000_000 + i);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      buckets[Math.floor(u * 10)]!++;
    }
    for (const b of buckets) expect(Math.abs(b - 2000)).toBeLessThan(200);
  });
});
