import Database from 'better-sqlite3';
import type { StoredReading } from '../store/store.ts';
import { decodeReadings, encodeReadings } from './wal-codec.ts';

/**
 * The write-ahead log between the broker and the stores. A batch is appended here, fsync'd, and only then does
 * Aedes send the PUBACK (see broker/durable-publish.ts). The writer drains it into the store and deletes what the
 * store confirmed. SQLite in WAL mode with synchronous=FULL: a commit is on disk when it returns.
 *
 * Appends are group-committed: every append in the same turn of the event loop shares one transaction and one
 * fsync, so a flood of small messages costs one disk flush per turn, not one per message.
 *
 * Rows hold the readings in a compact binary form (wal-codec.ts). Committed rows also stay in memory (up to
 * `memoryReadings`, ~30 bytes each), so the writer takes them from there instead of reading back what was just
 * written; the disk copy is what survives a crash, and rows beyond the memory bound (a store outage) are read back
 * from disk. Deletes of written entries are committed without their own fsync: a delete lost in a crash only
 * means those readings are written to the store again, which is idempotent.
 */
export interface WalEntry {
  id: number;
  station: string;
  seq: number;
  readings: StoredReading[];
}

export interface WalStats {
  /** Entries (batches) waiting. */
  entries: number;
  /** Readings waiting. */
  readings: number;
  /** Receive time of the oldest waiting entry, or null when empty. */
  oldestReceivedAt: number | null;
}

export class Wal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly del: Database.Statement;
  private readonly selectFrom: Database.Statement;
  private readonly selectAfter: Database.Statement;
  private readonly oldest: Database.Statement;
  private pending: { station: string; seq: number; readings: StoredReading[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushScheduled = false;
  private depth = 0;
  private entries = 0;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  /**
   * Committed rows in id order, as written. Every row with memFrom <= id < diskFrom is here; rows below memFrom
   * (from before a restart) and from diskFrom on (committed while memory was at its bound) are on disk only.
   */
  private readonly memory = new Map<number, { id: number; station: string; seq: number; n: number; column: Buffer | string }>();
  private memoryHeld = 0;
  private memFrom: number;
  private diskFrom: number | undefined;

  constructor(
    path: string,
    private readonly memoryReadings = 1_000_000,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS wal (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      station TEXT NOT NULL,
      seq INTEGER NOT NULL,
      received_at INTEGER NOT NULL,
      n INTEGER NOT NULL,
      readings TEXT NOT NULL
    )`);
    this.insert = this.db.prepare('INSERT INTO wal (station, seq, received_at, n, readings) VALUES (?, ?, ?, ?, ?)');
    this.del = this.db.prepare('DELETE FROM wal WHERE id = ?');
    this.selectFrom = this.db.prepare('SELECT id, station, seq, n, readings FROM wal WHERE id > ? AND id < ? ORDER BY id LIMIT 1000');
    this.selectAfter = this.db.prepare('SELECT id, station, seq, n, readings FROM wal WHERE id > ? ORDER BY id LIMIT 1000');
    this.oldest = this.db.prepare('SELECT received_at FROM wal ORDER BY id LIMIT 1').pluck();
    const row = this.db.prepare('SELECT COALESCE(SUM(n), 0) AS d, COUNT(*) AS c, COALESCE(MAX(id), 0) AS m FROM wal').get() as { d: number; c: number; m: number };
    this.depth = row.d;
    this.entries = row.c;
    // Rows left from before a restart are on disk only; new ids are always larger (AUTOINCREMENT).
    this.memFrom = row.m + 1;
  }

  /** Resolves once the batch is committed to disk. */
  append(station: string, seq: number, readings: StoredReading[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    // Counted at once, not at commit: many messages arrive in one turn, and the admission check (backpressure)
    // must see the ones already queued for this group commit.
    this.depth += readings.length;
    return new Promise((resolve, reject) => {
      this.pending.push({ station, seq, readings, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const now = Date.now();
    const ids: number[] = new Array(batch.length);
    const columns: (Buffer | string)[] = new Array(batch.length);
    try {
      this.db.transaction(() => {
        for (let i = 0; i < batch.length; i++) {
          const b = batch[i]!;
          const column = (columns[i] = encodeReadings(b.readings) ?? JSON.stringify(b.readings));
          ids[i] = Number(this.insert.run(b.station, b.seq, now, b.readings.length, column).lastInsertRowid);
        }
      })();
    } catch (err) {
      for (const b of batch) {
        this.depth -= b.readings.length;
        b.reject(err as Error);
      }
      return;
    }
    if (this.diskFrom !== undefined && this.entries === 0) {
      // Everything written while memory was full has reached the store: back to handing rows on from memory.
      this.diskFrom = undefined;
      this.memory.clear();
      this.memoryHeld = 0;
      this.memFrom = ids[0]!;
    }
    this.entries += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i]!;
      const id = ids[i]!;
      if (this.diskFrom !== undefined) continue;
      if (this.memoryHeld + b.readings.length > this.memoryReadings) {
        // Over the bound (the store is far behind): what is held stays, this row and later ones are read back
        // from disk when their turn comes, until the backlog is gone.
        this.diskFrom = id;
        continue;
      }
      // The encoded row, not the reading objects: one buffer per batch instead of objects that would live (and be
      // copied by the garbage collector) until the store has them; the writer decodes fresh, short-lived ones.
      this.memory.set(id, { id, station: b.station, seq: b.seq, n: b.readings.length, column: columns[i]! });
      this.memoryHeld += b.readings.length;
    }
    for (const b of batch) b.resolve();
    for (const l of this.listeners) l();
  }

  /** Oldest entries after `afterId` first, up to about `maxReadings` readings (at least one entry). */
  peek(maxReadings: number, afterId = 0): WalEntry[] {
    const out: WalEntry[] = [];
    let total = 0;
    if (afterId + 1 < this.memFrom) {
      const rows = this.selectFrom.all(afterId, this.memFrom) as { id: number; station: string; seq: number; n: number; readings: Buffer | string }[];
      for (const r of rows) {
        if (out.length > 0 && total + r.n > maxReadings) break;
        out.push({ id: r.id, station: r.station, seq: r.seq, readings: decodeReadings(r.readings) });
        total += r.n;
      }
      if (out.length > 0) return out;
    }
    for (const e of this.memory.values()) {
      if (e.id <= afterId) continue;
      if (out.length > 0 && total + e.n > maxReadings) break;
      out.push({ id: e.id, station: e.station, seq: e.seq, readings: decodeReadings(e.column) });
      total += e.n;
    }
    if (out.length > 0 || this.diskFrom === undefined) return out;
    const rows = this.selectAfter.all(Math.max(afterId, this.diskFrom - 1)) as { id: number; station: string; seq: number; n: number; readings: Buffer | string }[];
    for (const r of rows) {
      if (out.length > 0 && total + r.n > maxReadings) break;
      out.push({ id: r.id, station: r.station, seq: r.seq, readings: decodeReadings(r.readings) });
      total += r.n;
    }
    return out;
  }

  /** Removes entries the store has confirmed. */
  remove(entries: readonly WalEntry[]): void {
    if (entries.length === 0) return;
    let deleted = 0;
    // No fsync of its own: the next append's commit makes it durable, and a lost delete only replays (idempotent).
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const e of entries) deleted += this.del.run(e.id).changes;
      })();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    this.entries -= deleted;
    for (const e of entries) {
      this.depth -= e.readings.length;
      const held = this.memory.get(e.id);
      if (held && this.memory.delete(e.id)) this.memoryHeld -= held.n;
    }
  }

  /** Readings waiting to reach the store, including those queued for the next commit. Kept in memory: it is
   * checked for every incoming message. */
  get depthReadings(): number {
    return this.depth;
  }

  /** Cheap enough for every /metrics scrape: counts are kept in memory, the oldest row is the first by id. */
  stats(): WalStats {
    return { entries: this.entries, readings: this.depth, oldestReceivedAt: this.entries > 0 ? ((this.oldest.get() as number | undefined) ?? null) : null };
  }

  /** Called after each commit: the writer uses it to wake up. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
