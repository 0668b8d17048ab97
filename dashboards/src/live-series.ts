/**
 * The points of one chart: history from `/series` merged with readings from the live stream, kept sorted by time
 * and trimmed to a sliding window. Pure data, no DOM, so the window logic is unit-tested under Node.
 */
import type { SeriesPoint } from './api.ts';

export type WindowId = '15m' | '1h' | '24h';

export interface ChartWindow {
  id: WindowId;
  spanMs: number;
  /** Bucket width asked of `/series`; 0 = raw readings. */
  everyMs: number;
}

const MIN = 60_000;

/**
 * Raw readings for the short windows; a day of raw 10-second readings would be 8,640 points per parameter, more
 * than a phone needs to draw a line, so 24 h asks the ingest for 1-minute means (1,440 points).
 */
export const WINDOWS: readonly ChartWindow[] = [
  { id: '15m', spanMs: 15 * MIN, everyMs: 0 },
  { id: '1h', spanMs: 60 * MIN, everyMs: 0 },
  { id: '24h', spanMs: 24 * 60 * MIN, everyMs: MIN },
];

export function findWindow(id: string): ChartWindow | undefined {
  return WINDOWS.find((w) => w.id === id);
}

export class LiveSeries {
  /** Unix ms, ascending, unique. Raw mode: reading times; bucket mode: bucket starts. */
  readonly times: number[] = [];
  readonly values: (number | null)[] = [];
  /** How many readings a value stands for (1 in raw mode); lets live readings extend a bucket's mean. */
  readonly counts: number[] = [];

  constructor(readonly window: ChartWindow) {}

  /**
   * Points from `/series`. A point at a time already present replaces it: the store is authoritative, and writes
   * are idempotent on (station, param, time), so a repeated time is the same reading, not a second one.
   */
  load(points: readonly SeriesPoint[]): void {
    for (const p of points) {
      const i = this.indexOf(p.time);
      if (i.found) {
        this.values[i.at] = p.value;
        this.counts[i.at] = p.count;
      } else {
        this.insertAt(i.at, p.time, p.value, p.count);
      }
    }
  }

  /**
   * One live reading. Raw mode: inserted in time order (a late or replayed reading lands where it belongs), a
   * repeated time replaces the value, and null is kept so the line shows a gap where the device gave nothing.
   * Bucket mode: folded into the mean of its bucket. A replayed duplicate would be counted twice in that mean
   * until the next reload; that error is bounded to one bucket and accepted to keep the browser simple.
   */
  add(time: number, value: number | null): void {
    const every = this.window.everyMs;
    if (every === 0) {
      const i = this.indexOf(time);
      if (i.found) this.values[i.at] = value;
      else this.insertAt(i.at, time, value, 1);
      return;
    }
    if (value === null || !Number.isFinite(value)) return; // a missing value does not move a mean
    const bucket = Math.floor(time / every) * every; // epoch-aligned, as InfluxQL GROUP BY time() aligns buckets
    const i = this.indexOf(bucket);
    if (!i.found) {
      this.insertAt(i.at, bucket, value, 1);
      return;
    }
    const n = this.counts[i.at] ?? 0;
    const mean = this.values[i.at];
    if (mean === null || mean === undefined || n <= 0) {
      this.values[i.at] = value;
      this.counts[i.at] = 1;
    } else {
      this.values[i.at] = mean + (value - mean) / (n + 1);
      this.counts[i.at] = n + 1;
    }
  }

  /** Start of the visible window at `now`. */
  from(now: number): number {
    return now - this.window.spanMs;
  }

  /**
   * Drops what has slid out of the window: raw points older than its start, buckets that end at or before it
   * (a bucket straddling the start still holds readings inside the window). Returns how many were dropped.
   */
  trim(now: number): number {
    const start = this.from(now);
    const every = this.window.everyMs;
    const outside = every === 0 ? (t: number) => t < start : (t: number) => t + every <= start;
    let n = 0;
    while (n < this.times.length && outside(this.times[n] as number)) n++;
    if (n > 0) {
      this.times.splice(0, n);
      this.values.splice(0, n);
      this.counts.splice(0, n);
    }
    return n;
  }

  get length(): number {
    return this.times.length;
  }

  /**
   * The columns uPlot draws: seconds on x, and a null inserted wherever readings are missing for clearly longer
   * than the usual interval. Without it uPlot joins the last point before an outage to the first after it with a
   * straight line, which reads as data that never arrived.
   */
  aligned(): [x: number[], y: (number | null)[]] {
    const every = this.window.everyMs;
    const step = every > 0 ? every : typicalStep(this.times);
    // Buckets: any missing bucket is a gap. Raw: allow jitter and one lost reading before breaking the line.
    const maxGap = every > 0 ? 1.5 * every : 3 * step;
    const xs: number[] = [];
    const ys: (number | null)[] = [];
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i] as number;
      const prev = this.times[i - 1];
      if (prev !== undefined && step > 0 && t - prev > maxGap) {
        xs.push((prev + step) / 1000);
        ys.push(null);
      }
      xs.push(t / 1000);
      ys.push(this.values[i] ?? null);
    }
    return [xs, ys];
  }

  /** Binary search: where `time` is, or where it would go. */
  private indexOf(time: number): { found: boolean; at: number } {
    // Live readings almost always come last; check the end first to keep appends O(1).
    const last = this.times[this.times.length - 1];
    if (last === undefined || time > last) return { found: false, at: this.times.length };
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] as number) < time) lo = mid + 1;
      else hi = mid;
    }
    return { found: this.times[lo] === time, at: lo };
  }

  private insertAt(at: number, time: number, value: number | null, count: number): void {
    this.times.splice(at, 0, time);
    this.values.splice(at, 0, value);
    this.counts.splice(at, 0, count);
  }
}

/** The median interval between consecutive times: the station's sampling period, robust to a few gaps. 0 if unknown. */
export function typicalStep(times: readonly number[]): number {
  if (times.length < 3) return 0; // two points say nothing about what is missing
  const diffs: number[] = [];
  for (let i = 1; i < times.length; i++) diffs.push((times[i] as number) - (times[i - 1] as number));
  diffs.sort((a, b) => a - b);
  return diffs[diffs.length >> 1] as number;
}
