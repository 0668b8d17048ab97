/**
 * `/export.csv`: any range of one station's parameters as CSV, streamed. The range is read from the store one
 * chunk of time at a time (6 h of raw readings, 2,000 buckets, or a year of days) only when the client has taken
 * the previous chunk, so a year of 1-second data costs the server one chunk of memory, and a client that goes
 * away stops the reading.
 *
 * One row per time, one column per parameter (wide, as spreadsheets want it):
 *   raw:        time, station, <P> (<unit>), <P> status, …      status = TT10 code 00 measuring, 01 calibrating, 02 error
 *   every=…:    time, station, <P> (<unit>), <P> n, …           mean of the bucket and the number of readings in it
 * Times are ISO 8601 in the `tz` offset (Vietnam, +07:00, by default). Decimal point `.`, UTF-8 with a byte-order
 * mark so that Excel shows Vietnamese and µg/m³ correctly (`bom=0` leaves it out).
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Catalogue } from '@envmon/protocol';
import type { StationConfig } from '../config/config.ts';
import type { Store } from '../store/store.ts';
import { computeAggregates, floorTo, parseParams, parseTzOffset } from './aggregates.ts';
import { parseDurationMs, parseTime } from './readings.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const RAW_CHUNK_MS = 6 * HOUR;
const BUCKETS_PER_CHUNK = 2000;

/** `2026-01-01T07:00:00+07:00` (milliseconds only when there are some). */
export function isoInOffset(ms: number, offsetMin: number): string {
  const iso = new Date(ms + offsetMin * 60_000).toISOString().replace(/\.000Z$/, 'Z');
  if (offsetMin === 0) return iso;
  const a = Math.abs(offsetMin);
  return `${iso.slice(0, -1)}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function num(v: number | null | undefined, decimals?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  return decimals === undefined ? String(v) : String(Number(v.toFixed(decimals)));
}

export interface ExportQuery {
  station: string;
  params: string[];
  from: number;
  to: number;
  /** 0 = raw; otherwise the bucket width in ms; DAY = calendar days in the tz offset. */
  every: number;
  tzOffsetMin: number;
  expectedIntervalS: number;
}

/** The CSV text in pieces, one piece per chunk of time; `next()` reads the store only when called. */
export function csvChunks(store: Store, catalogue: Catalogue | undefined, q: ExportQuery): AsyncGenerator<string> {
  const unit = (p: string) => catalogue?.get(p)?.unit;
  const decimals = (p: string) => catalogue?.get(p)?.decimals;
  const raw = q.every === 0;
  const header = ['time', 'station', ...q.params.flatMap((p) => [unit(p) ? `${p} (${unit(p)})` : p, raw ? `${p} status` : `${p} n`])];

  return (async function* () {
    yield `${header.map(csvField).join(',')}\r\n`;
    const step = raw ? RAW_CHUNK_MS : q.every === DAY ? 366 * DAY : q.every * BUCKETS_PER_CHUNK;
    const offset = q.every === DAY ? q.tzOffsetMin * 60_000 : 0;
    // Chunk edges on bucket edges, so no bucket is split between two chunks (and counted twice).
    let start = q.from;
    while (start < q.to) {
      const aligned = raw ? start + step : floorTo(start, q.every, offset) + step;
      const end = Math.min(q.to, aligned);
      const rows = new Map<number, string[]>();
      const cell = (t: number) => {
        let r = rows.get(t);
        if (!r) rows.set(t, (r = new Array<string>(q.params.length * 2).fill('')));
        return r;
      };
      if (q.every === DAY) {
        const series = await computeAggregates(store, catalogue, { station: q.station, params: q.params, from: start, to: end, every: '1d', tzOffsetMin: q.tzOffsetMin, expectedIntervalS: q.expectedIntervalS, now: Date.now() });
        series.forEach((s, i) => {
          for (const b of s.buckets) {
            if (b.observed === 0) continue;
            const r = cell(b.time);
            r[i * 2] = num(b.mean, (decimals(s.param) ?? 4) + 2);
            r[i * 2 + 1] = String(b.observed);
          }
        });
      } else {
        for (const [i, param] of q.params.entries()) {
          const s = await store.series({ station: q.station, param, from: start, to: end, every: q.every, agg: 'mean', period_s: 0 });
          for (const p of s.points) {
            const r = cell(p.time);
            if (raw) {
              r[i * 2] = num(p.value);
              r[i * 2 + 1] = String(p.status ?? 0).padStart(2, '0');
            } else {
              r[i * 2] = num(p.value, (decimals(param) ?? 4) + 2);
              r[i * 2 + 1] = String(p.count);
            }
          }
        }
      }
      if (rows.size > 0) {
        const times = [...rows.keys()].sort((a, b) => a - b);
        const station = csvField(q.station);
        yield times.map((t) => `${isoInOffset(t, q.tzOffsetMin)},${station},${rows.get(t)!.join(',')}\r\n`).join('');
      }
      start = end;
    }
  })();
}

export function exportRoutes(store: Store, stations: ReadonlyMap<string, StationConfig>, catalogue?: Catalogue): Hono {
  const app = new Hono();
  app.get('/export.csv', (c) => {
    const q = c.req.query();
    if (!q.station) throw new HTTPException(400, { message: 'query parameter "station" is required' });
    const cfg = stations.get(q.station);
    if (!cfg) throw new HTTPException(404, { message: `no station "${q.station}"` });
    const params = parseParams(q);
    const now = Date.now();
    const to = q.to ? parseTime(q.to, 'to') : now;
    const from = q.from ? parseTime(q.from, 'from') : to - DAY;
    if (from >= to) throw new HTTPException(400, { message: '"from" must be before "to"' });
    const every = !q.every || q.every === 'raw' ? 0 : parseDurationMs(q.every);
    if (every !== 0 && every !== DAY && (every < 1000 || every > 12 * HOUR || (every > HOUR && every % HOUR !== 0))) {
      throw new HTTPException(400, { message: '"every" must be raw, 1d, or a duration from 1s to 12h (whole hours above 1h)' });
    }
    const tzOffsetMin = parseTzOffset(q.tz);
    const chunks = csvChunks(store, catalogue, { station: q.station, params, from, to, every, tzOffsetMin, expectedIntervalS: cfg.expected_interval_s });
    const encoder = new TextEncoder();
    let first = q.bom !== '0';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await chunks.next();
          if (done) return controller.close();
          controller.enqueue(encoder.encode(first ? `\uFEFF${value}` : value));
          first = false;
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    const day = (t: number) => isoInOffset(t, tzOffsetMin).slice(0, 10).replace(/-/g, '');
    const name = `envmon_${q.station}_${day(from)}-${day(to - 1)}${every ? `_${q.every}` : ''}.csv`.replace(/[^A-Za-z0-9_.-]/g, '_');
    return c.body(body, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    });
  });
  return app;
}
