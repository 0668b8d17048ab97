import { describe, expect, it } from 'vitest';
import { findWindow, LiveSeries, typicalStep, WINDOWS } from './live-series.ts';

const MIN = 60_000;
const raw15 = findWindow('15m')!;
const day = findWindow('24h')!;
const pts = (...times: number[]) => times.map((time) => ({ time, value: time / 1000, count: 1 }));

describe('windows', () => {
  it('asks raw data for 15 min and 1 h, and 1-minute means for 24 h', () => {
    expect(WINDOWS.map((w) => [w.id, w.spanMs, w.everyMs])).toEqual([
      ['15m', 15 * MIN, 0],
      ['1h', 60 * MIN, 0],
      ['24h', 1440 * MIN, MIN],
    ]);
    expect(findWindow('2h')).toBeUndefined();
  });
});

describe('LiveSeries, raw', () => {
  it('keeps points sorted and unique whatever order they arrive in', () => {
    const s = new LiveSeries(raw15);
    s.load(pts(10_000, 30_000));
    s.add(40_000, 1);
    s.add(20_000, 2); // late (replayed from an outbox)
    s.add(30_000, 3); // same time: replaces, never doubles
    expect(s.times).toEqual([10_000, 20_000, 30_000, 40_000]);
    expect(s.values).toEqual([10, 2, 3, 1]);
    expect(s.counts).toEqual([1, 1, 1, 1]);
  });

  it('merges history that arrives after live readings (request in flight)', () => {
    const s = new LiveSeries(raw15);
    s.add(50_000, 5);
    s.load(pts(10_000, 20_000, 50_000));
    expect(s.times).toEqual([10_000, 20_000, 50_000]);
    expect(s.values[2]).toBe(50); // the store's value wins
  });

  it('keeps a null value as a gap', () => {
    const s = new LiveSeries(raw15);
    s.add(1000, null);
    expect(s.values).toEqual([null]);
  });

  it('drops points older than the window and keeps the edge', () => {
    const s = new LiveSeries(raw15);
    const now = 100 * MIN;
    s.load(pts(now - 20 * MIN, now - 15 * MIN - 1, now - 15 * MIN, now - 1 * MIN));
    expect(s.trim(now)).toBe(2);
    expect(s.times).toEqual([now - 15 * MIN, now - MIN]);
    expect(s.trim(now)).toBe(0);
    expect(s.trim(now + 60 * MIN)).toBe(2);
    expect(s.length).toBe(0);
  });
});

describe('LiveSeries, 1-minute means', () => {
  it('folds live readings into their epoch-aligned bucket mean, extending the bucket from /series', () => {
    const s = new LiveSeries(day);
    s.load([{ time: 10 * MIN, value: 10, count: 3 }]);
    s.add(10 * MIN + 30_000, 14); // (10*3 + 14) / 4 = 11
    expect(s.times).toEqual([10 * MIN]);
    expect(s.values[0]).toBeCloseTo(11);
    expect(s.counts[0]).toBe(4);
    s.add(11 * MIN + 5, 7); // opens the next bucket
    s.add(11 * MIN + 20_000, 9);
    expect(s.times).toEqual([10 * MIN, 11 * MIN]);
    expect(s.values[1]).toBeCloseTo(8);
  });

  it('ignores missing values in a mean, and fills an empty bucket', () => {
    const s = new LiveSeries(day);
    s.load([{ time: 0, value: null, count: 0 }]);
    s.add(1000, null);
    expect(s.values).toEqual([null]);
    s.add(2000, 5);
    expect(s.values).toEqual([5]);
    expect(s.counts).toEqual([1]);
  });

  it('keeps a bucket that straddles the window start', () => {
    const s = new LiveSeries(day);
    const now = 2000 * MIN + 30_000; // window starts half-way through bucket 560 min
    const start = now - 1440 * MIN;
    s.load([
      { time: start - 30_000 - MIN, value: 1, count: 1 }, // ends before the start: dropped
      { time: start - 30_000, value: 2, count: 1 }, // ends 30 s inside the window: kept
      { time: start + 30_000, value: 3, count: 1 },
    ]);
    expect(s.trim(now)).toBe(1);
    expect(s.values).toEqual([2, 3]);
  });
});

describe('aligned() for uPlot', () => {
  it('converts to seconds and breaks the line where raw readings stop', () => {
    const s = new LiveSeries(raw15);
    s.load(pts(0, 10_000, 20_000, 30_000, 100_000, 110_000));
    const [x, y] = s.aligned();
    expect(x).toEqual([0, 10, 20, 30, 40, 100, 110]);
    expect(y).toEqual([0, 10, 20, 30, null, 100, 110]);
  });

  it('tolerates jitter and one lost raw reading', () => {
    const s = new LiveSeries(raw15);
    s.load(pts(0, 10_000, 21_000, 30_000, 50_000));
    expect(s.aligned()[1]).not.toContain(null);
  });

  it('breaks the line at any missing 1-minute bucket', () => {
    const s = new LiveSeries(day);
    s.load([0, MIN, 3 * MIN].map((time) => ({ time, value: 1, count: 1 })));
    expect(s.aligned()).toEqual([
      [0, 60, 120, 180],
      [1, 1, null, 1],
    ]);
  });

  it('estimates the sampling period as the median interval', () => {
    expect(typicalStep([0, 10, 20, 30, 500])).toBe(10);
    expect(typicalStep([0, 10])).toBe(0);
  });
});
