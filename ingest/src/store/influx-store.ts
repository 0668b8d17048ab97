/**
 * The InfluxDB store: line protocol writes, InfluxQL reads over `/query`.
 *
 * InfluxDB 1.x (`/write?db=`, as in Debian's influxd 1.6.7, which has no /api/v2/write) is written with fetch;
 * 2.x and 3.x (`/api/v2/write?bucket=`, token auth) through @influxdata/influxdb-client's WriteApi with its own
 * buffering and retries off. Reads always use InfluxQL on `/query` because 2.x (through a
 * DBRP mapping) and 3.x answer it too, so there is one query dialect to get right.
 *
 * Schema: measurement `reading`, tags station / param / period (seconds), fields value (float; absent when null),
 * status and qc (integers). A point's identity in InfluxDB is (measurement, tag set, time), which is exactly our
 * (station, param, period_s, time): replays overwrite instead of doubling.
 *
 * Known divergence from the SQLite store: InfluxDB merges the fields of a rewritten point, so rewriting a reading
 * that had a value with one whose value is null keeps the old value (status and qc do change). Deleting a single
 * field is not possible in InfluxQL; replays of identical data, the case idempotence is for, are unaffected.
 */
import { HttpError, InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import type { DeviceStatus } from '@envmon/protocol';
import type { LatestQuery, Series, SeriesPoint, SeriesQuery, Store, StoredReading } from './store.ts';
import { checkReading, normaliseQuery } from './check.ts';
import { encodeLines, toLine } from './line-protocol.ts';

export interface InfluxStoreOptions {
  /** Base URL, e.g. http://127.0.0.1:8086 */
  url: string;
  /** 1.x database; with `bucket` set, the DBRP-mapped database name used for /query (default: the bucket). */
  database?: string;
  /** 2.x/3.x: bucket, organisation and API token. Setting `bucket` switches writes to /api/v2/write. */
  bucket?: string;
  org?: string;
  /** Sent as `Authorization: Token <token>` (2.x/3.x tokens; 1.8+ also takes `user:password`). */
  token?: string;
  /** 1.x only: retention policy for writes and reads (default: the database's default policy). */
  retentionPolicy?: string;
  /** Per-request timeout; a timed-out request fails with status 0 (retryable). Default 30 s. */
  timeoutMs?: number;
  /** Lines per POST: bounds request size; each chunk is idempotent, so a retry after a partial failure is safe. */
  maxLinesPerWrite?: number;
}

export interface InfluxStore extends Store {
  readonly kind: 'influx';
  /** 1.x: CREATE DATABASE when it does not exist. 2.x/3.x (bucket mode): nothing, buckets are made by their admin. */
  ensureDatabase(): Promise<void>;
}

/**
 * An HTTP-level failure. `status` is the HTTP status, or 0 when no response came (connection refused, timeout):
 * the ingest writer splits a batch on 400 (bad point, e.g. field type conflict — the rest of the batch *was*
 * written) and retries on 0 / 5xx.
 */
export class InfluxError extends Error {
  readonly status: number;
  /** The server's message (its JSON `error`, or the raw body). */
  readonly serverMessage: string;
  /** From a Retry-After header (429/503), when the server sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(operation: string, status: number, serverMessage: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(`InfluxDB ${operation} failed (${status === 0 ? 'no response' : `HTTP ${status}`}): ${serverMessage}`, options);
    this.name = 'InfluxError';
    this.status = status;
    this.serverMessage = serverMessage;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

// ---- line protocol ------------------------------------------------------------------------------------------------

// Line protocol: escapeTag and toLine (one line as text, for the 2.x/3.x client and tests), encodeLines (the body
// of a 1.x write as bytes).
export { escapeTag, toLine } from './line-protocol.ts';

// ---- InfluxQL -----------------------------------------------------------------------------------------------------

/** A single-quoted InfluxQL string literal; the scanner knows `\\`, `\'` and `\n`, and rejects raw newlines. */
export function influxString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** A double-quoted InfluxQL identifier (database, retention policy). */
function influxIdent(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface QueryResponse {
  results?: { statement_id: number; series?: QuerySeries[]; error?: string }[];
  error?: string;
}

/** Reads a column by name: InfluxDB orders `SELECT *` columns alphabetically, so never rely on positions. */
function columnReader(s: QuerySeries): (row: unknown[], name: string) => unknown {
  const index = new Map(s.columns.map((c, i) => [c, i]));
  return (row, name) => {
    const i = index.get(name);
    return i === undefined ? undefined : row[i];
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

// ---- the store ----------------------------------------------------------------------------------------------------

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfter(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export function openInfluxStore(opts: InfluxStoreOptions): InfluxStore {
  const base = opts.url.replace(/\/+$/, '');
  const v2 = opts.bucket !== undefined && opts.bucket !== '';
  const database = opts.database ?? opts.bucket ?? 'envmon';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxLines = opts.maxLinesPerWrite ?? 5000;
  const headers: Record<string, string> = opts.token ? { Authorization: `Token ${opts.token}` } : {};
  // `FROM "db"."rp".reading` only when a retention policy is chosen, else the database default.
  const from = opts.retentionPolicy && !v2 ? `${influxIdent(opts.retentionPolicy)}.reading` : 'reading';
  let closed = false;

  const writeUrl = (): string => {
    const p = new URLSearchParams({ precision: 'ms' });
    if (v2) {
      p.set('bucket', opts.bucket ?? '');
      if (opts.org) p.set('org', opts.org);
      return `${base}/api/v2/write?${p}`;
    }
    p.set('db', database);
    if (opts.retentionPolicy) p.set('rp', opts.retentionPolicy);
    return `${base}/write?${p}`;
  };

  // 2.x/3.x writes go through the official client's WriteApi, with its own buffering and retries switched off:
  // the ingest's WAL is the buffer and its writer owns retries, so a failure must surface here, at once, with the
  // server's status (and Retry-After) for the writer to classify. One flush per chunk keeps chunks idempotent.
  const v2Writer: WriteApi | undefined = v2
    ? new InfluxDB({ url: base, ...(opts.token ? { token: opts.token } : {}), timeout: timeoutMs }).getWriteApi(opts.org ?? '', opts.bucket ?? '', 'ms', {
        batchSize: maxLines + 1,
        flushInterval: 0,
        maxRetries: 0,
        maxBufferLines: maxLines + 1,
        gzipThreshold: Number.MAX_SAFE_INTEGER,
        // Returning the rejection ourselves keeps the client from logging to the console: the writer logs it.
        writeFailed: (error: Error) => Promise.reject(error),
      })
    : undefined;

  async function writeV2(api: WriteApi, lines: string[]): Promise<void> {
    if (closed) throw new Error('InfluxDB store is closed');
    api.writeRecords(lines);
    try {
      await api.flush();
    } catch (err) {
      if (err instanceof HttpError) {
        // HttpError has already parsed a JSON body's `message`; retryAfter() is the header's seconds.
        const retryAfterS = err.retryAfter();
        throw new InfluxError('write', err.statusCode, err.message, retryAfterS > 0 ? { cause: err, retryAfterMs: retryAfterS * 1000 } : { cause: err });
      }
      throw new InfluxError('write', 0, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  async function request(operation: string, url: string, init: RequestInit): Promise<Response> {
    if (closed) throw new Error('InfluxDB store is closed');
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new InfluxError(operation, 0, err instanceof Error ? err.message : String(err), { cause: err });
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text.trim();
      try {
        const body = JSON.parse(text) as { error?: unknown; message?: unknown };
        // 1.x answers {"error": …}; 2.x/3.x {"code": …, "message": …}.
        if (typeof body.error === 'string') message = body.error;
        else if (typeof body.message === 'string') message = body.message;
      } catch {
        // not JSON: keep the raw text
      }
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      throw new InfluxError(operation, res.status, message || res.statusText, retryAfterMs === undefined ? {} : { retryAfterMs });
    }
    return res;
  }

  /** Runs one InfluxQL statement and returns its series; a statement-level error becomes an InfluxError too. */
  async function query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<QuerySeries[]> {
    const p = new URLSearchParams({ q, epoch: 'ms' });
    if (!/^\s*CREATE\s+DATABASE/i.test(q)) p.set('db', database);
    if (opts.retentionPolicy && !v2) p.set('rp', opts.retentionPolicy);
    // 1.x refuses CREATE/DROP over GET; SELECT/SHOW are fine either way. POST sends the query as a form body.
    const res =
      method === 'GET'
        ? await request('query', `${base}/query?${p}`, { method: 'GET' })
        : await request('query', `${base}/query`, { method: 'POST', body: p });
    const body = (await res.json()) as QueryResponse;
    if (body.error) throw new InfluxError('query', res.status, body.error);
    const result = body.results?.[0];
    if (result?.error) throw new InfluxError('query', 400, result.error);
    return result?.series ?? [];
  }

  return {
    kind: 'influx',

    async ensureDatabase() {
      if (v2) return;
      const dbs = await query('SHOW DATABASES');
      const names = new Set((dbs[0]?.values ?? []).map((row) => row[0]));
      if (!names.has(database)) await query(`CREATE DATABASE ${influxIdent(database)}`, 'POST');
    },

    async write(readings) {
      // Build every line first: a bad reading fails the call before any chunk is sent.
      for (const r of readings) checkReading(r);
      if (v2Writer) {
        const lines = readings.map(toLine);
        for (let i = 0; i < lines.length; i += maxLines) await writeV2(v2Writer, lines.slice(i, i + maxLines));
        return;
      }
      const bodies: Buffer[] = [];
      for (let i = 0; i < readings.length; i += maxLines) bodies.push(encodeLines(readings, i, Math.min(i + maxLines, readings.length)));
      const url = writeUrl();
      for (const body of bodies) {
        await request('write', url, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          body: body as unknown as BodyInit, // a Buffer is a Uint8Array; DOM's BodyInit type does not say so
        });
      }
    },

    async latest(q: LatestQuery = {}) {
      // `SELECT *` with ORDER BY time DESC LIMIT 1 per series returns one whole point, so value, status and qc
      // belong together (last(value), last(status) could come from different points when value is null).
      const where = ["period = '0'"];
      if (q.station !== undefined) where.push(`station = ${influxString(q.station)}`);
      if (q.param !== undefined) where.push(`param = ${influxString(q.param)}`);
      const series = await query(
        `SELECT value, status, qc FROM ${from} WHERE ${where.join(' AND ')} GROUP BY station, param ORDER BY time DESC LIMIT 1`,
      );
      const out: StoredReading[] = [];
      for (const s of series) {
        const col = columnReader(s);
        const row = s.values[0];
        if (!row || !s.tags?.station || !s.tags.param) continue;
        out.push({
          station: s.tags.station,
          param: s.tags.param,
          time: Number(col(row, 'time')),
          value: num(col(row, 'value')),
          status: (num(col(row, 'status')) ?? 0) as DeviceStatus,
          qc_flags: num(col(row, 'qc')) ?? 0,
          period_s: 0,
        });
      }
      // Same order as the SQLite store: by station, then param.
      out.sort((a, b) => (a.station < b.station ? -1 : a.station > b.station ? 1 : a.param < b.param ? -1 : a.param > b.param ? 1 : 0));
      return out;
    },

    async series(sq: SeriesQuery): Promise<Series> {
      const q = normaliseQuery(sq);
      const where =
        `station = ${influxString(q.station)} AND param = ${influxString(q.param)} AND period = '${q.period_s}'` +
        ` AND time >= ${q.from}ms AND time < ${q.to}ms`;
      let points: SeriesPoint[] = [];
      if (q.to > q.from) {
        if (q.agg === 'raw') {
          const [s] = await query(`SELECT value, status, qc FROM ${from} WHERE ${where}`);
          if (s) {
            const col = columnReader(s);
            points = s.values.map((row) => {
              const value = num(col(row, 'value'));
              return {
                time: Number(col(row, 'time')),
                value,
                count: value === null ? 0 : 1,
                status: (num(col(row, 'status')) ?? 0) as DeviceStatus,
                qc_flags: num(col(row, 'qc')) ?? 0,
              };
            });
          }
        } else {
          const fn = { mean: 'mean', min: 'min', max: 'max', last: 'last', count: 'count' }[q.agg];
          // fill(none): buckets without a value are omitted, as in the SQLite store; the API layer fills gaps.
          const [s] = await query(
            `SELECT ${fn}(value) AS v, count(value) AS n FROM ${from} WHERE ${where} GROUP BY time(${q.every}ms) fill(none)`,
          );
          if (s) {
            const col = columnReader(s);
            // fill(none) already drops value-less buckets in 1.x; the filter keeps that promise should a server
            // (3.x's InfluxQL runs on a columnar engine with explicit nulls) emit a bucket whose count is 0.
            points = s.values
              .map((row) => ({ time: Number(col(row, 'time')), value: num(col(row, 'v')), count: num(col(row, 'n')) ?? 0 }))
              .filter((p) => p.count > 0);
          }
        }
      }
      const observed = points.reduce((sum, p) => sum + p.count, 0);
      return { station: q.station, param: q.param, from: q.from, to: q.to, every: q.every, agg: q.agg, points, observed };
    },

    async count(station?: string) {
      // status is written on every point, so counting it counts points (value may be absent).
      const where = station === undefined ? '' : ` WHERE station = ${influxString(station)}`;
      const [s] = await query(`SELECT count(status) FROM ${from}${where}`);
      return num(s?.values[0]?.[s.columns.indexOf('count')]) ?? 0;
    },

    async close() {
      closed = true;
    },
  };
}
