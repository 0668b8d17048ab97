import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { QcFlag, type Batch, type DeviceStatus, type Reading } from '@envmon/protocol';

/**
 * The station's durable outbox and local archive: one SQLite file (WAL, synchronous=FULL, so a commit survives
 * power loss, not only a process crash).
 *
 *   archive  every reading, kept `archiveDays` (TT10/2021: ≥ 60 days at the station); rowids only grow
 *   queue    the archive rows from meta `queue_from` on: archived, not yet in a batch nor dropped
 *   batches  a batch is a range of archive rowids [first_id, last_id] recorded (seq, sent_at, range, replay cut-off)
 *            BEFORE its first send, so a resend after a crash carries the same seq and the same content
 *   meta     station id, next_seq (the per-station counter that increases across restarts), queue_from, dropped
 *
 * A reading leaves the outbox only when its batch is acknowledged (MQTT PUBACK). The queue and the batches are
 * rowid ranges, not a row per reading: a reading costs its archive row alone (≈ 3 B-tree writes with its two
 * indexes), where a queue row per reading added an insert, an update of its batch and a delete, each with an index.
 * Ranges stay exact because nothing below the top of the archive is deleted while it waits (prune keeps waiting
 * rows and the newest row, so SQLite never hands out a rowid twice), and drops take from the front of the queue.
 */

export const OUTBOX_FILE = 'outbox.sqlite';

export interface OutboxBatch {
  seq: number;
  sentAt: number;
  readings: Reading[];
}

export interface Outbox {
  /** Archives a poll's readings and queues them for sending: one transaction. */
  insert(readings: readonly Reading[]): void;
  /** Seqs of batches recorded but not yet acknowledged, oldest first. */
  openBatches(): number[];
  /**
   * Assigns the next seq to up to `max` oldest unbatched readings and records the batch; undefined if none.
   * Readings taken before `historicalBefore` (they waited out an outage) are flagged QcFlag.REPLAYED in the batch.
   */
  createBatch(max: number, sentAt: number, historicalBefore?: number): number | undefined;
  /**
   * Enforces the bounds, dropping from the front (drop-oldest): while more than `maxReadings` wait, or the oldest
   * waiting reading is older than `before`, the oldest are dropped unsent (an open batch goes whole; the archive
   * keeps every reading). Returns how many were dropped now; `dropped()` counts them across restarts.
   */
  enforceBounds(maxReadings: number, before: number): number;
  /** Readings dropped unsent by enforceBounds, ever. */
  dropped(): number;
  /** A recorded batch with its readings in insertion order; undefined once acknowledged. */
  batch(seq: number): OutboxBatch | undefined;
  /** How many readings a recorded batch holds (0 once acknowledged). */
  batchSize(seq: number): number;
  /** Deletes an acknowledged batch's readings from the outbox (the archive keeps them). Idempotent. */
  ack(seq: number): void;
  /** Readings waiting to be acknowledged (batched or not). */
  depth(): number;
  /** Time of the oldest waiting reading, 0 when empty. */
  oldest(): number;
  /** Deletes archived readings older than `before` that are no longer waiting; returns how many. */
  prune(before: number): number;
  close(): void;
  readonly station: string;
  readonly path: string;
}

export function openOutbox(path: string, station: string): Outbox {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Page cache 512 KiB instead of SQLite's 2 MiB default: the writes touch a small set of pages (the right edge of the
  // archive and its time index, one leaf per parameter in the (param, period_s, time) index), and a miss is a read
  // from the OS page cache. Bench: RSS −1.5 MB, CPU unchanged (gateway/README.md, Performance).
  db.pragma('cache_size = -512');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS archive (
      id INTEGER PRIMARY KEY,
      param TEXT NOT NULL,
      time INTEGER NOT NULL,
      value REAL,
      status INTEGER NOT NULL,
      qc_flags INTEGER NOT NULL,
      period_s INTEGER NOT NULL,
      samples INTEGER,
      coverage REAL
    );
    CREATE INDEX IF NOT EXISTS archive_time ON archive (time);
    CREATE INDEX IF NOT EXISTS archive_param_time ON archive (param, period_s, time);
  `);
  const owner = db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'station'`).get();
  if (owner && owner.value !== station) {
    db.close();
    throw new Error(`${path} holds the outbox of station ${owner.value}, not ${station}; give each station its own data_dir`);
  }
  migrate(db);
  db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('station', ?), ('next_seq', '1'), ('dropped', '0'), ('queue_from', '1')`).run(station);

  const insArchive = db.prepare(`INSERT INTO archive (param, time, value, status, qc_flags, period_s, samples, coverage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const getMeta = db.prepare<[string], string>(`SELECT value FROM meta WHERE key = ?`).pluck();
  const setMeta = db.prepare<[string, string]>(`UPDATE meta SET value = ? WHERE key = ?`);
  const metaNumber = (key: string): number => Number(getMeta.get(key));
  const setMetaNumber = (key: string, n: number): void => void setMeta.run(String(n), key);
  const selOpen = db.prepare<[], { seq: number }>(`SELECT seq FROM batches ORDER BY seq`);
  const insBatch = db.prepare(`INSERT INTO batches (seq, sent_at, first_id, last_id, readings, replay_before, min_time) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const selBatch = db.prepare<[number], BatchRow>(`SELECT seq, sent_at, first_id, last_id, readings, replay_before FROM batches WHERE seq = ?`);
  const selOldestBatch = db.prepare<[], BatchRow>(`SELECT seq, sent_at, first_id, last_id, readings, replay_before FROM batches ORDER BY seq LIMIT 1`);
  const delBatch = db.prepare(`DELETE FROM batches WHERE seq = ?`);
  // Walks along rowids from a start (OFFSET steps through the rowid B-tree); `+time` keeps SQLite off the time
  // index, which would visit the whole archive.
  const selNth = db.prepare<[number, number], number>(`SELECT id FROM archive WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?`).pluck();
  const selFirstAtOrAfter = db.prepare<[number, number], number>(`SELECT id FROM archive WHERE id >= ? AND +time >= ? ORDER BY id LIMIT 1`).pluck();
  const selTimeOf = db.prepare<[number], number>(`SELECT time FROM archive WHERE id >= ? ORDER BY id LIMIT 1`).pluck();
  const countRange = db.prepare<[number, number], number>(`SELECT count(*) FROM archive WHERE id >= ? AND id <= ?`).pluck();
  const minTimeOf = db.prepare<[number, number], number | null>(`SELECT min(+time) FROM archive WHERE id >= ? AND id <= ?`).pluck();
  const selBatchesMin = db.prepare<[], number | null>(`SELECT min(min_time) FROM batches`).pluck();
  // The queue in chunks of rowids with each chunk's earliest time and size, for a file opened with a queue in it.
  const selQueueChunks = db.prepare<[number, number], Segment & { n: number }>(
    `SELECT min(id) AS first, max(id) AS last, min(+time) AS min, count(*) AS n FROM archive WHERE id >= ? GROUP BY (id - CAST(? AS INTEGER)) / 4096 ORDER BY first`,
  );
  const selBatchedCount = db.prepare<[], number>(`SELECT coalesce(sum(readings), 0) FROM batches`).pluck();
  const selMaxId = db.prepare<[], number | null>(`SELECT max(id) FROM archive`).pluck();
  const selBatchReadings = db.prepare<[number, number, number, number], ArchiveRow>(
    `SELECT param, time, value, status, qc_flags | (CASE WHEN time < ? THEN ? ELSE 0 END) AS qc_flags, period_s, samples, coverage
     FROM archive WHERE id >= ? AND id <= ? ORDER BY id`,
  );
  // Archive rows older than `before` (found through the time index) below every waiting row; never the newest row
  // (its rowid keeps new ones above the queue's start even when everything was acknowledged and is old).
  const delOld = db.prepare(`DELETE FROM archive INDEXED BY archive_time WHERE time < ? AND id < ? AND id < (SELECT max(id) FROM archive)`);

  // What the database says, kept in memory (read again after a transaction that failed: see `guarded`).
  let queueFrom = 0;
  let lastId = 0;
  let depth = 0;
  // The queue as the insert transactions appended it, each segment with its earliest time, oldest first: the oldest
  // waiting reading is the least of these and of the open batches' `min_time`, without reading every waiting row
  // (after a long outage there are millions, and a status message every minute would scan them on the event loop).
  let segments: Segment[] = [];
  const load = (): void => {
    queueFrom = metaNumber('queue_from');
    lastId = selMaxId.get() ?? 0;
    const chunks = selQueueChunks.all(queueFrom, queueFrom); // one pass over the queue gives its size as well
    segments = chunks.map(({ first, last, min }) => ({ first, last, min }));
    depth = selBatchedCount.get()! + chunks.reduce((sum, c) => sum + c.n, 0);
  };
  load();
  /** The queue now starts at `to`: segments wholly before it go, one cut by it has its earliest time read again. */
  const trimSegments = (to: number): void => {
    while (segments.length > 0 && segments[0]!.last < to) segments.shift();
    const head = segments[0];
    if (head && head.first < to) {
      head.first = to;
      head.min = minTimeOf.get(to, head.last) ?? Number.POSITIVE_INFINITY;
    }
  };
  /** A transaction that failed leaves the database as it was; the memory is read again from it. */
  const guarded =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (err) {
        load();
        throw err;
      }
    };

  const insert = db.transaction((readings: readonly Reading[]) => {
    let last = lastId;
    let min = Number.POSITIVE_INFINITY;
    for (const r of readings) {
      last = Number(insArchive.run(r.param, r.time, r.value, r.status, r.qc_flags, r.period_s, r.samples ?? null, r.coverage ?? null).lastInsertRowid);
      if (r.time < min) min = r.time;
    }
    if (last - readings.length < queueFrom - 1) throw new Error(`outbox: archived rowids up to ${last}, below the queue's start ${queueFrom}; rolled back`);
    segments.push({ first: last - readings.length + 1, last, min });
    lastId = last;
    depth += readings.length;
  });

  const createBatch = db.transaction((max: number, sentAt: number, historicalBefore: number): number | undefined => {
    if (max < 1 || queueFrom > lastId) return undefined;
    const last = selNth.get(queueFrom, Math.floor(max) - 1) ?? lastId;
    const n = countRange.get(queueFrom, last)!;
    const seq = metaNumber('next_seq');
    setMetaNumber('next_seq', seq + 1);
    // -Infinity (no replay cut-off) as the smallest integer SQLite compares with a time exactly.
    insBatch.run(seq, sentAt, queueFrom, last, n, Number.isFinite(historicalBefore) ? historicalBefore : Number.MIN_SAFE_INTEGER, minTimeOf.get(queueFrom, last));
    setMetaNumber('queue_from', last + 1);
    queueFrom = last + 1;
    trimSegments(queueFrom);
    return seq;
  });

  const ack = db.transaction((seq: number) => {
    const b = selBatch.get(seq);
    if (!b) return;
    delBatch.run(seq);
    depth -= b.readings;
  });

  // Moves the queue's start to `to`, counting the readings passed over as dropped.
  const dropQueueTo = (to: number): number => {
    const n = countRange.get(queueFrom, to - 1)!;
    setMetaNumber('queue_from', to);
    queueFrom = to;
    trimSegments(to);
    return n;
  };

  const enforceBounds = db.transaction((maxReadings: number, before: number): number => {
    let n = 0;
    // Open batches are the oldest readings: drop them whole (their seq is then never sent; the ingest sees the gap).
    for (let b = selOldestBatch.get(); b && (depth - n > maxReadings || selTimeOf.get(b.first_id)! < before); b = selOldestBatch.get()) {
      delBatch.run(b.seq);
      n += b.readings;
    }
    if (depth - n > maxReadings && queueFrom <= lastId) n += dropQueueTo((selNth.get(queueFrom, depth - n - maxReadings) ?? lastId + 1));
    if (queueFrom <= lastId && selTimeOf.get(queueFrom)! < before) n += dropQueueTo(selFirstAtOrAfter.get(queueFrom, before) ?? lastId + 1);
    if (n > 0) {
      depth -= n;
      setMetaNumber('dropped', metaNumber('dropped') + n);
    }
    return n;
  });

  const selLowestBatched = db.prepare<[], number | null>(`SELECT min(first_id) FROM batches`).pluck();
  const lowWater = (): number => Math.min(queueFrom, selLowestBatched.get() ?? queueFrom);

  return {
    station,
    path,
    insert: guarded((readings) => {
      if (readings.length > 0) insert(readings);
    }),
    openBatches: () => selOpen.all().map((r) => r.seq),
    createBatch: guarded((max, sentAt, historicalBefore = -Infinity) => createBatch(max, sentAt, historicalBefore)),
    enforceBounds: guarded((maxReadings, before) => enforceBounds(maxReadings, before)),
    dropped: () => metaNumber('dropped'),
    batch(seq) {
      const b = selBatch.get(seq);
      if (!b) return undefined;
      return { seq: b.seq, sentAt: b.sent_at, readings: selBatchReadings.all(b.replay_before, QcFlag.REPLAYED, b.first_id, b.last_id).map(rowToReading) };
    },
    batchSize: (seq) => selBatch.get(seq)?.readings ?? 0,
    ack: guarded((seq) => ack(seq)),
    depth: () => depth,
    oldest() {
      if (depth === 0) return 0;
      const t = segments.reduce((m, g) => Math.min(m, g.min), selBatchesMin.get() ?? Number.POSITIVE_INFINITY);
      return Number.isFinite(t) ? t : 0;
    },
    prune: (before) => delOld.run(before, lowWater()).changes,
    close: () => db.close(),
  };
}

/** A run of queued rowids and the earliest time among them. */
interface Segment {
  first: number;
  last: number;
  min: number;
}

interface BatchRow {
  seq: number;
  sent_at: number;
  first_id: number;
  last_id: number;
  readings: number;
  replay_before: number;
}

const BATCHES_DDL = `CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY,
  sent_at INTEGER NOT NULL,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  readings INTEGER NOT NULL,
  replay_before INTEGER NOT NULL,
  min_time INTEGER                    -- the earliest time among its readings (for oldest())
)`;

/**
 * Brings a file written by an earlier gateway to this layout, in one transaction. Before the rowid ranges the
 * outbox was a table with a row per waiting reading (`outbox(reading_id, batch_seq, flags)`): each open batch
 * becomes the range from its first to its last reading, its REPLAYED flags a cut-off time (they were set by one),
 * and the queue starts at the oldest unbatched reading. A range may hold readings that the old age bound had
 * dropped from the middle: they are sent again, which the ingest and the stores take as the duplicates they are
 * (same station, parameter and time), rather than lost.
 */
function migrate(db: Database.Database): void {
  const columns = (table: string): string[] => db.prepare<[string], { name: string }>(`SELECT name FROM pragma_table_info(?)`).all(table).map((c) => c.name);
  db.transaction(() => {
    if (!columns('archive').includes('samples')) db.exec(`ALTER TABLE archive ADD COLUMN samples INTEGER; ALTER TABLE archive ADD COLUMN coverage REAL;`);
    const old = columns('outbox');
    if (old.length === 0) {
      db.exec(BATCHES_DDL);
      if (!columns('batches').includes('min_time')) {
        db.exec(`ALTER TABLE batches ADD COLUMN min_time INTEGER; UPDATE batches SET min_time = (SELECT min(time) FROM archive WHERE id BETWEEN first_id AND last_id);`);
      }
      return;
    }
    if (!old.includes('flags')) db.exec(`ALTER TABLE outbox ADD COLUMN flags INTEGER NOT NULL DEFAULT 0`);
    db.exec(`ALTER TABLE batches RENAME TO batches_v1; ${BATCHES_DDL};`);
    db.prepare(
      `INSERT INTO batches (seq, sent_at, first_id, last_id, readings, replay_before, min_time)
       SELECT b.seq, b.sent_at, r.first_id, r.last_id, (SELECT count(*) FROM archive WHERE id BETWEEN r.first_id AND r.last_id),
              coalesce(r.first_plain, r.last_replayed + 1, ?), (SELECT min(time) FROM archive WHERE id BETWEEN r.first_id AND r.last_id)
       FROM batches_v1 b JOIN (
         SELECT o.batch_seq, min(o.reading_id) AS first_id, max(o.reading_id) AS last_id,
                min(CASE WHEN o.flags = 0 THEN a.time END) AS first_plain, max(CASE WHEN o.flags <> 0 THEN a.time END) AS last_replayed
         FROM outbox o JOIN archive a ON a.id = o.reading_id WHERE o.batch_seq IS NOT NULL GROUP BY o.batch_seq
       ) r ON r.batch_seq = b.seq`,
    ).run(Number.MIN_SAFE_INTEGER);
    const queueFrom = db.prepare(`SELECT coalesce((SELECT min(reading_id) FROM outbox WHERE batch_seq IS NULL), (SELECT max(id) FROM archive) + 1, 1)`).pluck().get() as number;
    db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('queue_from', ?)`).run(String(queueFrom));
    db.exec(`DROP TABLE outbox; DROP TABLE batches_v1;`);
  })();
}

/** The wire form of a recorded batch. */
export function toWireBatch(station: string, b: OutboxBatch): Batch {
  return { station, seq: b.seq, sent_at: b.sentAt, readings: b.readings };
}

interface ArchiveRow {
  param: string;
  time: number;
  value: number | null;
  status: number;
  qc_flags: number;
  period_s: number;
  samples?: number | null;
  coverage?: number | null;
}

function rowToReading(r: ArchiveRow): Reading {
  const reading: Reading = { param: r.param, time: r.time, value: r.value, status: r.status as DeviceStatus, qc_flags: r.qc_flags, period_s: r.period_s };
  if (r.period_s > 0) {
    reading.samples = r.samples ?? 0;
    reading.coverage = r.coverage ?? 0;
  }
  return reading;
}

export { rowToReading, type ArchiveRow };
