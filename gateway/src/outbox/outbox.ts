import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Batch, DeviceStatus, Reading } from '@envmon/protocol';

/**
 * The station's durable outbox and local archive: one SQLite file (WAL, synchronous=FULL, so a commit survives
 * power loss, not only a process crash).
 *
 *   archive  every reading, kept `archiveDays` (TT10/2021: ≥ 60 days at the station)
 *   outbox   the archive ids not yet acknowledged by the broker; `batch_seq` once assigned to a batch
 *   batches  a batch is recorded (seq, sent_at, its readings via outbox.batch_seq) BEFORE its first send,
 *            so a resend after a crash carries the same seq and the same content
 *   meta     station id and next_seq, the per-station counter that increases across restarts
 *
 * A reading leaves the outbox only when its batch is acknowledged (MQTT PUBACK).
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
  /** Assigns the next seq to up to `max` oldest unbatched readings and records the batch; undefined if none. */
  createBatch(max: number, sentAt: number): number | undefined;
  /** A recorded batch with its readings in insertion order; undefined once acknowledged. */
  batch(seq: number): OutboxBatch | undefined;
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
  db.pragma('foreign_keys = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS archive (
      id INTEGER PRIMARY KEY,
      param TEXT NOT NULL,
      time INTEGER NOT NULL,
      value REAL,
      status INTEGER NOT NULL,
      qc_flags INTEGER NOT NULL,
      period_s INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS archive_time ON archive (time);
    CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, sent_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox (
      reading_id INTEGER PRIMARY KEY REFERENCES archive (id),
      batch_seq INTEGER REFERENCES batches (seq)
    );
    CREATE INDEX IF NOT EXISTS outbox_batch ON outbox (batch_seq);
  `);

  const owner = db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'station'`).get();
  if (owner && owner.value !== station) {
    db.close();
    throw new Error(`${path} holds the outbox of station ${owner.value}, not ${station}; give each station its own data_dir`);
  }
  db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('station', ?), ('next_seq', '1')`).run(station);

  const insArchive = db.prepare(`INSERT INTO archive (param, time, value, status, qc_flags, period_s) VALUES (?, ?, ?, ?, ?, ?)`);
  const insOutbox = db.prepare(`INSERT INTO outbox (reading_id) VALUES (?)`);
  const selOpen = db.prepare<[], { seq: number }>(`SELECT seq FROM batches ORDER BY seq`);
  const selNextSeq = db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'next_seq'`);
  const updNextSeq = db.prepare(`UPDATE meta SET value = ? WHERE key = 'next_seq'`);
  const selUnbatched = db.prepare<[number], { reading_id: number }>(`SELECT reading_id FROM outbox WHERE batch_seq IS NULL ORDER BY reading_id LIMIT ?`);
  const insBatch = db.prepare(`INSERT INTO batches (seq, sent_at) VALUES (?, ?)`);
  const assign = db.prepare(`UPDATE outbox SET batch_seq = ? WHERE reading_id = ?`);
  const selBatch = db.prepare<[number], { seq: number; sent_at: number }>(`SELECT seq, sent_at FROM batches WHERE seq = ?`);
  const selBatchReadings = db.prepare<[number], ArchiveRow>(
    `SELECT a.param, a.time, a.value, a.status, a.qc_flags, a.period_s FROM outbox o JOIN archive a ON a.id = o.reading_id WHERE o.batch_seq = ? ORDER BY o.reading_id`,
  );
  const delOutbox = db.prepare(`DELETE FROM outbox WHERE batch_seq = ?`);
  const delBatch = db.prepare(`DELETE FROM batches WHERE seq = ?`);
  const selDepth = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM outbox`);
  const selOldest = db.prepare<[], { t: number | null }>(`SELECT min(a.time) AS t FROM outbox o JOIN archive a ON a.id = o.reading_id`);
  const delOld = db.prepare(`DELETE FROM archive WHERE time < ? AND id NOT IN (SELECT reading_id FROM outbox)`);

  const insert = db.transaction((readings: readonly Reading[]) => {
    for (const r of readings) {
      const id = insArchive.run(r.param, r.time, r.value, r.status, r.qc_flags, r.period_s).lastInsertRowid;
      insOutbox.run(id);
    }
  });

  const createBatch = db.transaction((max: number, sentAt: number): number | undefined => {
    const ids = selUnbatched.all(max);
    if (ids.length === 0) return undefined;
    const seq = Number(selNextSeq.get()!.value);
    updNextSeq.run(String(seq + 1));
    insBatch.run(seq, sentAt);
    for (const { reading_id } of ids) assign.run(seq, reading_id);
    return seq;
  });

  const ack = db.transaction((seq: number) => {
    delOutbox.run(seq);
    delBatch.run(seq);
  });

  return {
    station,
    path,
    insert: (readings) => {
      if (readings.length > 0) insert(readings);
    },
    openBatches: () => selOpen.all().map((r) => r.seq),
    createBatch: (max, sentAt) => createBatch(max, sentAt),
    batch(seq) {
      const b = selBatch.get(seq);
      if (!b) return undefined;
      return { seq: b.seq, sentAt: b.sent_at, readings: selBatchReadings.all(seq).map(rowToReading) };
    },
    ack: (seq) => ack(seq),
    depth: () => selDepth.get()!.n,
    oldest: () => selOldest.get()!.t ?? 0,
    prune: (before) => delOld.run(before).changes,
    close: () => db.close(),
  };
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
}

function rowToReading(r: ArchiveRow): Reading {
  return { param: r.param, time: r.time, value: r.value, status: r.status as DeviceStatus, qc_flags: r.qc_flags, period_s: r.period_s };
}

export { rowToReading, type ArchiveRow };
