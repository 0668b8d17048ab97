/**
 * `/aggregates`: hourly and daily mean, min and max per parameter, each bucket with its coverage — how many
 * readings arrived (`observed`) against how many the station's sampling interval promises (`expected`,
 * from `expected_interval_s` in the station config). Days are calendar days in the given UTC offset (Vietnam,
 * +07:00, by default), built from hourly buckets, so the offset must be a whole number of hours.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Catalogue } from '@envmon/protocol';
import type { StationConfig } from '../config/config.ts';
import type { SeriesPoint, Store } from '../store/store.ts';
import { parseTime } from './readings.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Hourly over a bit more than a year, daily over 20 years: beyond that a response would be megabytes. */
const MAX_BUCKETS = { '1h': 24 * 400, '1d': 366 * 20 } as const;
export const DEFAULT_TZ = '+07:00';

export interface AggregateBucket {
  /** Bucket start, Unix ms (an hour, or local midnight for days). */
  time: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Readings with a value in the bucket. */
  observed: number;
  /** Readings the station should have sent in the part of the bucket inside [from, min(to, now)). */
  expected: number;
  /** observed / expected, capped at 1; null when nothing was expected (a bucket in the future). */
  coverage: number | null;
}

export interface AggregateSeries {
  param: string;
  unit: string | null;
  buckets: AggregateBucket[];
  observed: number;
  expected: number;
  coverage: number | null;
}

export interface AggregatesQuery {
  station: string;
  params: string[];
  from: number;
  to: number;
  every: '1h' | '1d';
  /** Minutes east of UTC (Vietnam: 420); days only. */
  tzOffsetMin: number;
  expectedIntervalS: number;
  now: number;
}

export const floorTo = (t: number, step: number, offset = 0): number => t + offset - ((((t + offset) % step) + step) % step) - offset;

/** `+07:00`, `-03:00`, `Z`: whole hours only (days are built from hourly buckets). */
export function parseTzOffset(v: string | undefined): number {
  if (v === undefined || v === '') return 7 * 60;
  if (v === 'Z' || v === 'UTC') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(v);
  if (!m || m[3] !== '00' || Number(m[2]) > 14) {
    throw new HTTPException(400, { message: `"tz" must be a whole-hour UTC offset like +07:00 or Z, got ${JSON.stringify(v.slice(0, 20))}` });
  }
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * 60;
}

/** Comma-separated `param` (or `params`), de-duplicated, in the order given. */
export function parseParams(q: Record<string, string>): string[] {
  const raw = [q.param, q.params].filter(Boolean).join(',');
  const list = [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
  if (list.length === 0) throw new HTTPException(400, { message: 'query parameter "param" is required (one code, or several separated by commas)' });
  if (list.length > 32) throw new HTTPException(400, { message: 'at most 32 parameters per request' });
  return list;
}

/** Expected readings in [start, end) at one per `intervalMs`. */
function expectedIn(start: number, end: number, intervalMs: number): number {
  return end > start ? Math.floor((end - start) / intervalMs) : 0;
}

export async function computeAggregates(store: Store, catalogue: Catalogue | undefined, q: AggregatesQuery): Promise<AggregateSeries[]> {
  const step = q.every === '1h' ? HOUR : DAY;
  const offset = q.every === '1d' ? q.tzOffsetMin * 60_000 : 0;
  const first = floorTo(q.from, step, offset);
  const n = Math.ceil((q.to - first) / step);
  if (n > MAX_BUCKETS[q.every]) {
    throw new HTTPException(400, { message: `too many ${q.every} buckets (${n} > ${MAX_BUCKETS[q.every]}): shorten the range${q.every === '1h' ? ' or use every=1d' : ''}` });
  }
  const intervalMs = q.expectedIntervalS * 1000;
  const end = Math.min(q.to, q.now);

  const out: AggregateSeries[] = [];
  for (const param of q.params) {
    const base = { station: q.station, param, from: q.from, to: q.to, every: HOUR, period_s: 0 };
    const [mean, min, max] = await Promise.all([
      store.series({ ...base, agg: 'mean' }),
      store.series({ ...base, agg: 'min' }),
      store.series({ ...base, agg: 'max' }),
    ]);
    const byTime = (pts: SeriesPoint[]) => new Map(pts.map((p) => [p.time, p]));
    const minAt = byTime(min.points);
    const maxAt = byTime(max.points);

    const buckets: AggregateBucket[] = [];
    for (let i = 0; i < n; i++) {
      const t = first + i * step;
      buckets.push({ time: t, mean: null, min: null, max: null, observed: 0, expected: expectedIn(Math.max(t, q.from), Math.min(t + step, end), intervalMs), coverage: null });
    }
    // Hourly points fold into their bucket: the mean weighted by count, min of mins, max of maxes.
    const sums = new Float64Array(n);
    for (const p of mean.points) {
      const i = Math.floor((floorTo(p.time, step, offset) - first) / step);
      const b = buckets[i];
      if (!b || p.value === null || p.count === 0) continue;
      sums[i] = sums[i]! + p.value * p.count;
      b.observed += p.count;
      const lo = minAt.get(p.time)?.value ?? null;
      const hi = maxAt.get(p.time)?.value ?? null;
      if (lo !== null) b.min = b.min === null ? lo : Math.min(b.min, lo);
      if (hi !== null) b.max = b.max === null ? hi : Math.max(b.max, hi);
    }
    let observed = 0;
    let expected = 0;
    buckets.forEach((b, i) => {
      if (b.observed > 0) b.mean = sums[i]! / b.observed;
      b.coverage = b.expected > 0 ? Math.min(1, b.observed / b.expected) : null;
      observed += b.observed;
      expected += b.expected;
    });
    out.push({
      param,
      unit: catalogue?.get(param)?.unit ?? null,
      buckets,
      observed,
      expected,
      coverage: expected > 0 ? Math.min(1, observed / expected) : null,
    });
  }
  return out;
}

export function aggregateRoutes(store: Store, stations: ReadonlyMap<string, StationConfig>, catalogue?: Catalogue): Hono {
  const app = new Hono();
  app.get('/aggregates', async (c) => {
    const q = c.req.query();
    const station = q.station;
    if (!station) throw new HTTPException(400, { message: 'query parameter "station" is required' });
    const cfg = stations.get(station);
    if (!cfg) throw new HTTPException(404, { message: `no station "${station}"` });
    const params = parseParams(q);
    const every = q.every ?? '1h';
    if (every !== '1h' && every !== '1d') throw new HTTPException(400, { message: '"every" must be 1h or 1d' });
    const now = Date.now();
    const to = q.to ? parseTime(q.to, 'to') : now;
    const from = q.from ? parseTime(q.from, 'from') : to - (every === '1h' ? DAY : 30 * DAY);
    if (from >= to) throw new HTTPException(400, { message: '"from" must be before "to"' });
    const tzOffsetMin = parseTzOffset(q.tz);
    const series = await computeAggregates(store, catalogue, { station, params, from, to, every, tzOffsetMin, expectedIntervalS: cfg.expected_interval_s, now });
    return c.json({ station, from, to, every, tz: formatOffset(tzOffsetMin), expected_interval_s: cfg.expected_interval_s, series });
  });
  return app;
}

export function formatOffset(min: number): string {
  if (min === 0) return 'Z';
  const a = Math.abs(min);
  return `${min < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}
