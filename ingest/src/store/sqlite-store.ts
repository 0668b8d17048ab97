/**
 * The embedded store: one SQLite file, the default when no InfluxDB is configured.
 *
 * Layout, and why:
 * - `reading` is keyed by (station, param, period_s, time) WITHOUT ROWID: the key *is* the identity of a reading,
 *   so an upsert makes replays idempotent, and one station/param/period over a time range is a single contiguous
 *   range of the clustered primary-key B-tree — no secondary index to maintain or to look up through.
 * - `latest` holds the newest raw reading per (station, param), maintained on write and only moved forward in
 *   time, so the dashboard's "now" view costs one small table scan rather than a max() per series.
 * - WAL journal + synchronous=FULL: `write` resolves only after the commit is fsynced (the pipeline acknowledges
 *   upstream after that), while readers never block the writer.
 */
import Database from 'better-sqlite3';
import type { Aggregate, LatestQuery, Series, SeriesPoint, SeriesQuery, Store, StoredReading } from './store.ts';
import type { DeviceStatus } from '@envmon/protocol';
import { checkReading, normaliseQuery } from './check.ts';

export interface SqliteStore extends Store {
  readonly kind: 'sqlite';
  readonly path: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reading (
  station  TEXT    NOT NULL,
  param    TEXT    NOT NULL,
  period_s INTEGER NOT NULL,
  time     INTEGER NOT NULL,
  value    REAL,
  status   INTEGER NOT NULL,
  qc_flags INTEGER NOT NULL,
  PRIMARY KEY (station, param, period_s, time)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS latest (
  station  TEXT    NOT NULL,
  param    TEXT    NOT NULL,
  time     INTEGER NOT NULL,
  value    REAL,
  status   INTEGER NOT NULL,
  qc_flags INTEGER NOT NULL,
  PRIMARY KEY (station, param)
) WITHOUT ROWID;
`;

interface RawRow {
  time: number;
  value: number | null;
  status: number;
  qc_flags: number;
}

interface BucketRow {
  bucket: number;
  value: number | null;
  n: number;
}

interface LatestRow extends RawRow {
  station: string;
  param: string;
}

/** SQL expression of each aggregate over `value`; rows with a null value are filtered out before grouping. */
const AGG_SQL: Record<Exclude<Aggregate, 'last'>, string> = {
  mean: 'avg(value)',
  min: 'min(value)',
  max: 'max(value)',
  count: 'count(*)',
};

/** Above this many buckets (between the first and the last reading in range) series() switches to GROUP BY. */
export const PER_BUCKET_MAX = 20_000;

export interface SqliteStoreOptions {
  /** Bucket count limit of the per-bucket plan (default PER_BUCKET_MAX); 0 forces GROUP BY, for tests of that plan. */
  perBucketMax?: number;
}

export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const perBucketMax = options.perBucketMax ?? PER_BUCKET_MAX;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // A second process (e.g. an export CLI) may hold a read transaction; wait for it rather than fail at once.
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const upsert = db.prepare(`
    INSERT INTO reading (station, param, period_s, time, value, status, qc_flags)
    VALUES (@station, @param, @period_s, @time, @value, @status, @qc_flags)
    ON CONFLICT DO UPDATE SET value = excluded.value, status = excluded.status, qc_flags = excluded.qc_flags`);
  // `>=` so that a rewrite of the newest reading (same time, corrected value) also corrects `latest`.
  const upsertLatest = db.prepare(`
    INSERT INTO latest (station, param, time, value, status, qc_flags)
    VALUES (@station, @param, @time, @value, @status, @qc_flags)
    ON CONFLICT DO UPDATE SET time = excluded.time, value = excluded.value, status = excluded.status,
      qc_flags = excluded.qc_flags
    WHERE excluded.time >= latest.time`);

  const writeAll = db.transaction((readings: readonly StoredReading[]) => {
    // Only the newest raw reading of each series in this batch can move `latest`: one upsert per series, not per row.
    const newest = new Map<string, StoredReading>();
    for (const r of readings) {
      upsert.run({ station: r.station, param: r.param, period_s: r.period_s, time: r.time, value: r.value, status: r.status, qc_flags: r.qc_flags });
      if (r.period_s !== 0) continue;
      const key = `${r.station}\u0000${r.param}`;
      const seen = newest.get(key);
      // `>=`: within a batch the later of two same-time readings wins, as it does in `reading`.
      if (!seen || r.time >= seen.time) newest.set(key, r);
    }
    for (const r of newest.values()) {
      upsertLatest.run({ station: r.station, param: r.param, time: r.time, value: r.value, status: r.status, qc_flags: r.qc_flags });
    }
  });

  const latestStmt = {
    all: db.prepare<[], LatestRow>('SELECT * FROM latest ORDER BY station, param'),
    station: db.prepare<[string], LatestRow>('SELECT * FROM latest WHERE station = ? ORDER BY param'),
    param: db.prepare<[string], LatestRow>('SELECT * FROM latest WHERE param = ? ORDER BY station'),
    both: db.prepare<[string, string], LatestRow>('SELECT * FROM latest WHERE station = ? AND param = ?'),
  };

  type Range = [station: string, param: string, period_s: number, from: number, to: number];
  const rawStmt = db.prepare<Range, RawRow>(`
    SELECT time, value, status, qc_flags FROM reading
    WHERE station = ? AND param = ? AND period_s = ? AND time >= ? AND time < ?
    ORDER BY time`);

  // Bucketed series, two plans with the same result:
  // - per bucket (the common case: a chart asks for at most a few thousand buckets): walk the bucket starts with a
  //   recursive CTE and aggregate each bucket with its own primary-key range search. The rows are read in key
  //   order and never sorted: 1-minute buckets over 1M rows took ≈ 250–380 ms (mean) and ≈ 160 ms (last) here,
  //   against ≈ 500 ms with GROUP BY, which sorts every row into a temporary B-tree.
  // - GROUP BY (many buckets, e.g. 1 s buckets over weeks): a bucket costs ≈ 1 µs empty and ≈ 10 µs with data in
  //   the per-bucket plan, so past PER_BUCKET_MAX buckets one sorted pass over the rows is cheaper.
  type BucketParams = { station: string; param: string; period_s: number; from: number; to: number; every: number };
  const KEY = 'station = @station AND param = @param AND period_s = @period_s AND value IS NOT NULL';
  const extent = {
    first: db.prepare<[BucketParams], { time: number }>(`SELECT time FROM reading WHERE ${KEY} AND time >= @from AND time < @to ORDER BY time LIMIT 1`),
    last: db.prepare<[BucketParams], { time: number }>(`SELECT time FROM reading WHERE ${KEY} AND time >= @from AND time < @to ORDER BY time DESC LIMIT 1`),
  };

  // Epoch-aligned bucket start, floored also for times before 1970 (SQLite's % truncates toward zero).
  const BUCKET = '(time - (((time % @every) + @every) % @every))';
  const grouped = new Map<Aggregate, Database.Statement<[BucketParams], BucketRow>>();
  for (const [agg, expr] of Object.entries(AGG_SQL) as [Exclude<Aggregate, 'last'>, string][]) {
    grouped.set(agg, db.prepare(`
      SELECT ${BUCKET} AS bucket, ${expr} AS value, count(*) AS n FROM reading
      WHERE ${KEY} AND time >= @from AND time < @to GROUP BY bucket ORDER BY bucket`));
  }
  // SQLite documents that with a single max() aggregate the bare columns come from the row holding the maximum:
  // that row is the newest reading with a value in the bucket.
  grouped.set('last', db.prepare(`
    SELECT ${BUCKET} AS bucket, max(time) AS t, value, count(*) AS n FROM reading
    WHERE ${KEY} AND time >= @from AND time < @to GROUP BY bucket ORDER BY bucket`));

  // One bucket's rows: [max(start, from), min(start + every, to)), so the first and last buckets honour from/to.
  const IN_BUCKET = `${KEY} AND time >= max(b.start, @from) AND time < min(b.start + @every, @to)`;
  const perBucketValue: Record<Aggregate, string> = {
    mean: `(SELECT avg(value) FROM reading WHERE ${IN_BUCKET})`,
    min: `(SELECT min(value) FROM reading WHERE ${IN_BUCKET})`,
    max: `(SELECT max(value) FROM reading WHERE ${IN_BUCKET})`,
    last: `(SELECT value FROM reading WHERE ${IN_BUCKET} ORDER BY time DESC LIMIT 1)`,
    count: 'NULL', // the count is n, selected anyway
  };
  type PerBucketParams = BucketParams & { first: number; lastStart: number };
  const perBucket = new Map<Aggregate, Database.Statement<[PerBucketParams], BucketRow>>();
  for (const [agg, expr] of Object.entries(perBucketValue) as [Aggregate, string][]) {
    perBucket.set(agg, db.prepare(`
      WITH RECURSIVE b(start) AS (SELECT @first UNION ALL SELECT start + @every FROM b WHERE start < @lastStart)
      SELECT start AS bucket, ${expr} AS value, (SELECT count(*) FROM reading WHERE ${IN_BUCKET}) AS n FROM b`));
    // Empty buckets (n = 0) are dropped in JS: filtering in SQL made SQLite evaluate the count subquery twice.
  }
  const floorTo = (t: number, every: number): number => t - (((t % every) + every) % every);

  function buckets(agg: Aggregate, p: BucketParams): BucketRow[] {
    const first = extent.first.get(p);
    const last = extent.last.get(p);
    if (!first || !last) return [];
    const firstStart = floorTo(first.time, p.every);
    const lastStart = floorTo(last.time, p.every);
    const unknown = (): never => {
      throw new TypeError(`series: unknown aggregate ${JSON.stringify(agg)}`);
    };
    if ((lastStart - firstStart) / p.every + 1 <= perBucketMax) {
      return (perBucket.get(agg) ?? unknown()).all({ ...p, first: firstStart, lastStart }).filter((r) => r.n > 0);
    }
    return (grouped.get(agg) ?? unknown()).all(p);
  }

  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM reading');
  const countStation = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM reading WHERE station = ?');

  const toStored = (r: LatestRow): StoredReading => ({
    station: r.station,
    param: r.param,
    time: r.time,
    value: r.value,
    status: r.status as DeviceStatus,
    qc_flags: r.qc_flags,
    period_s: 0,
  });

  return {
    kind: 'sqlite',
    path,

    async write(readings) {
      for (const r of readings) checkReading(r);
      if (readings.length > 0) writeAll(readings);
    },

    async latest(query: LatestQuery = {}) {
      const { station, param } = query;
      const rows =
        station !== undefined && param !== undefined
          ? latestStmt.both.all(station, param)
          : station !== undefined
            ? latestStmt.station.all(station)
            : param !== undefined
              ? latestStmt.param.all(param)
              : latestStmt.all.all();
      return rows.map(toStored);
    },

    async series(query: SeriesQuery): Promise<Series> {
      const q = normaliseQuery(query);
      let points: SeriesPoint[];
      if (q.agg === 'raw') {
        points = rawStmt.all(q.station, q.param, q.period_s, q.from, q.to).map((r) => ({
          time: r.time,
          value: r.value,
          count: r.value === null ? 0 : 1,
          status: r.status as DeviceStatus,
          qc_flags: r.qc_flags,
        }));
      } else {
        const rows = buckets(q.agg, { station: q.station, param: q.param, period_s: q.period_s, from: q.from, to: q.to, every: q.every });
        points = rows.map((r) => ({ time: r.bucket, value: q.agg === 'count' ? r.n : r.value, count: r.n }));
      }
      const observed = points.reduce((sum, p) => sum + p.count, 0);
      return { station: q.station, param: q.param, from: q.from, to: q.to, every: q.every, agg: q.agg, points, observed };
    },

    async count(station?: string) {
      return (station === undefined ? countAll.get() : countStation.get(station))?.n ?? 0;
    },

    async close() {
      if (db.open) db.close();
    },
  };
}
