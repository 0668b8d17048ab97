/**
 * A rolling mean over a fixed window, kept as epoch-aligned buckets (sum, count) so memory stays bounded
 * (at most `buckets` + 1 entries) whatever the reading rate. The mean at time t covers the bucket holding t and
 * the buckets before it, `window` long in all: the window's start is exact to one bucket width (window / 240 by
 * default: 15 s for 1 h, 6 min for 24 h).
 */
export class RollingMean {
  readonly bucketMs: number;
  private readonly n: number;
  private readonly sums = new Map<number, { sum: number; count: number }>();

  constructor(readonly windowMs: number, buckets = 240) {
    this.bucketMs = Math.max(1, Math.floor(windowMs / buckets));
    this.n = Math.max(1, Math.round(windowMs / this.bucketMs));
  }

  private key(time: number): number {
    return Math.floor(time / this.bucketMs) * this.bucketMs;
  }

  /** The first bucket start counted in the mean at `time`. */
  startFor(time: number): number {
    return this.key(time) - (this.n - 1) * this.bucketMs;
  }

  add(time: number, value: number): void {
    this.addBucket(this.key(time), value, 1);
  }

  /** Adds a pre-aggregated bucket (a store `series` point: mean × count). */
  addBucket(bucketStart: number, sum: number, count: number): void {
    const k = this.key(bucketStart);
    const b = this.sums.get(k);
    if (b) {
      b.sum += sum;
      b.count += count;
    } else this.sums.set(k, { sum, count });
  }

  /** Mean and sample count at `time`; drops buckets that fell out of the window. */
  at(time: number): { mean: number | null; count: number } {
    const start = this.startFor(time);
    let sum = 0;
    let count = 0;
    for (const [k, b] of this.sums) {
      if (k < start) {
        this.sums.delete(k);
        continue;
      }
      if (k > this.key(time)) continue;
      sum += b.sum;
      count += b.count;
    }
    return { mean: count > 0 ? sum / count : null, count };
  }
}
