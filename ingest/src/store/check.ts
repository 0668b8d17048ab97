import type { Aggregate, SeriesQuery, StoredReading } from './store.ts';

/**
 * Invariants both stores rely on, checked before anything is written so that one bad reading fails the call
 * loudly instead of landing as a wrong key (a fractional time would never match its replay) or, in InfluxDB,
 * as a line that poisons the whole batch.
 */
export function checkReading(r: StoredReading): void {
  if (typeof r.station !== 'string' || r.station === '') throw new TypeError(`${where(r)}: station must be a non-empty string`);
  if (typeof r.param !== 'string' || r.param === '') throw new TypeError(`${where(r)}: param must be a non-empty string`);
  if (!Number.isSafeInteger(r.time)) throw new TypeError(`${where(r)}: time must be integer Unix milliseconds`);
  if (!Number.isSafeInteger(r.period_s) || r.period_s < 0) throw new TypeError(`${where(r)}: period_s must be an integer ≥ 0`);
  if (r.value !== null && (typeof r.value !== 'number' || !Number.isFinite(r.value))) {
    throw new TypeError(`${where(r)}: value must be a finite number or null`);
  }
  if (!Number.isInteger(r.status)) throw new TypeError(`${where(r)}: status must be an integer`);
  if (!Number.isSafeInteger(r.qc_flags)) throw new TypeError(`${where(r)}: qc_flags must be an integer`);
}

// Module level, not a closure per call: checkReading runs for every reading written.
function where(r: StoredReading): string {
  return `reading ${JSON.stringify(r)}`;
}

export interface NormalQuery {
  station: string;
  param: string;
  from: number;
  to: number;
  every: number;
  agg: Aggregate | 'raw';
  period_s: number;
}

/** Defaults and sanity of a series query, shared so both stores read the same request the same way. */
export function normaliseQuery(q: SeriesQuery): NormalQuery {
  const every = q.every ?? 0;
  if (!Number.isSafeInteger(q.from) || !Number.isSafeInteger(q.to)) throw new TypeError('series: from and to must be integer Unix ms');
  if (!Number.isSafeInteger(every) || every < 0) throw new TypeError('series: every must be an integer number of ms ≥ 0');
  const period_s = q.period_s ?? 0;
  if (!Number.isSafeInteger(period_s) || period_s < 0) throw new TypeError('series: period_s must be an integer ≥ 0');
  return {
    station: q.station,
    param: q.param,
    from: q.from,
    to: q.to,
    every,
    // A bucketed query without agg means the mean: the common case for charts.
    agg: every === 0 ? 'raw' : (q.agg ?? 'mean'),
    period_s,
  };
}
