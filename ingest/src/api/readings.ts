import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Aggregate, Store } from '../store/store.ts';

const AGGREGATES: readonly Aggregate[] = ['mean', 'min', 'max', 'last', 'count'];
/** A raw query may not return more than this many points: ask for buckets (every=) instead. */
const MAX_RAW_SPAN_MS = 31 * 24 * 3600_000;

/** `/latest` and `/series`: the store's contract, with parameters checked and errors that say what to send. */
export function readingsRoutes(store: Store): Hono {
  const app = new Hono();

  app.get('/latest', async (c) => {
    const station = c.req.query('station') || undefined;
    const param = c.req.query('param') || undefined;
    const readings = await store.latest({ ...(station ? { station } : {}), ...(param ? { param } : {}) });
    return c.json({ readings });
  });

  app.get('/series', async (c) => {
    const q = c.req.query();
    const station = required(q.station, 'station');
    const param = required(q.param, 'param');
    const now = Date.now();
    const to = q.to ? parseTime(q.to, 'to') : now;
    const from = q.from ? parseTime(q.from, 'from') : to - 3600_000;
    if (from >= to) throw new HTTPException(400, { message: '"from" must be before "to"' });
    const every = q.every ? parseDurationMs(q.every) : 0;
    const agg = (q.agg ?? 'mean') as Aggregate;
    if (!AGGREGATES.includes(agg)) throw new HTTPException(400, { message: `"agg" must be one of ${AGGREGATES.join(', ')}` });
    if (every === 0 && to - from > MAX_RAW_SPAN_MS) {
      throw new HTTPException(400, { message: 'raw series are limited to 31 days: add every= (e.g. every=1h) for longer ranges' });
    }
    const period_s = q.period_s ? Number(q.period_s) : 0;
    const series = await store.series({ station, param, from, to, every, agg, period_s });
    return c.json(series);
  });

  return app;
}

function required(v: string | undefined, name: string): string {
  if (!v) throw new HTTPException(400, { message: `query parameter "${name}" is required` });
  return v;
}

/** Unix milliseconds or an ISO 8601 time. */
export function parseTime(v: string, name: string): number {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new HTTPException(400, { message: `"${name}" must be Unix milliseconds or an ISO 8601 time, got ${JSON.stringify(v.slice(0, 40))}` });
  return t;
}

/** `60000`, `30s`, `5m`, `1h`, `1d`. */
export function parseDurationMs(v: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v);
  if (!m) throw new HTTPException(400, { message: `"every" must be milliseconds or a duration like 30s, 5m, 1h, 1d; got ${JSON.stringify(v.slice(0, 40))}` });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}
