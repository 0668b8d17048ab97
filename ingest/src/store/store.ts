import type { DeviceStatus } from '@envmon/protocol';

/**
 * A reading as the stores keep it: one value of one parameter of one station at one source time.
 * (station, param, time, period_s) is the identity: writing the same identity twice keeps one row (the last write
 * wins), so a replayed or duplicated batch never doubles a value.
 */
export interface StoredReading {
  station: string;
  param: string;
  /** Unix milliseconds UTC, from the source. */
  time: number;
  /** null when the device gave no usable value; status says why. */
  value: number | null;
  status: DeviceStatus;
  qc_flags: number;
  /** 0 = raw sample, 60 / 300 = gateway means. */
  period_s: number;
}

export type Aggregate = 'mean' | 'min' | 'max' | 'last' | 'count';

export interface SeriesQuery {
  station: string;
  param: string;
  /** Inclusive start, Unix ms. */
  from: number;
  /** Exclusive end, Unix ms. */
  to: number;
  /** Bucket width in ms; 0 or undefined = raw points. Buckets are aligned to the Unix epoch. */
  every?: number;
  agg?: Aggregate;
  /** Which period of reading to read: 0 = raw (default). */
  period_s?: number;
}

export interface SeriesPoint {
  /** Bucket start (or the point's time when raw), Unix ms. */
  time: number;
  value: number | null;
  /** Number of readings with a value in the bucket (1 for raw points). */
  count: number;
  /** Raw points only: status and flags of the reading. */
  status?: DeviceStatus;
  qc_flags?: number;
}

export interface Series {
  station: string;
  param: string;
  from: number;
  to: number;
  every: number;
  agg: Aggregate | 'raw';
  points: SeriesPoint[];
  /** Readings with a value in [from, to), over all buckets. */
  observed: number;
}

export interface LatestQuery {
  station?: string;
  param?: string;
}

/**
 * The storage contract. Two implementations pass one contract test suite (`store.contract.ts`):
 * the embedded SQLite store (default) and InfluxDB (line protocol writes, InfluxQL reads over /query).
 */
export interface Store {
  readonly kind: string;
  /** Durable when the promise resolves. Idempotent on (station, param, time, period_s). */
  write(readings: readonly StoredReading[]): Promise<void>;
  /** The newest raw reading per (station, param), filtered. */
  latest(query?: LatestQuery): Promise<StoredReading[]>;
  series(query: SeriesQuery): Promise<Series>;
  /** Number of stored readings of a station (all params, all periods): used by tests and the API. */
  count(station?: string): Promise<number>;
  close(): Promise<void>;
}
