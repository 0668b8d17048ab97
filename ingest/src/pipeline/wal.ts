import Database from 'better-sqlite3';
import type { StoredReading } from '../store/store.ts';

/**
 * The write-ahead log between the broker and the stores. A batch is appended here, fsync'd, and only then does
 * Aedes send the PUBACK (see broker/durable-publish.ts). The writer drains it into the store and deletes what the
 * store confirmed. SQLite in WAL mode with synchronous=FULL: a commit is on disk when it returns.
 *
 * Appends are group-committed: every append in the same turn of the event loop shares one transaction and one
 * fsync, so a flood of small messages costs one disk flush per turn, not one per message.
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
  private pending: { station: string; seq: number; readings: StoredReading[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushScheduled = false;
  private depth = 0;
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(path: string) {
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
    this.depth = (this.db.prepare('SELECT COALESCE(SUM(n), 0) AS d FROM wal').get() as { d: number }).d;
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
    try {
      this.db.transaction(() => {
        for (const b of batch) this.insert.run(b.station, b.seq, now, b.readings.length, JSON.stringify(b.readings));
      })();
    } catch (err) {
      for (const b of batch) {
        this.depth -= b.readings.length;
        b.reject(err as Error);
      }
      return;
    }
    for (const b of batch) b.resolve();
    for (const l of this.listeners) l();
  }

  /** Oldest entries after `afterId` first, up to about `maxReadings` readings (at least one entry). */
  peek(maxReadings: number, afterId = 0): WalEntry[] {
    const rows = this.db.prepare('SELECT id, station, seq, n, readings FROM wal WHERE id > ? ORDER BY id LIMIT 1000').all(afterId) as {
      id: number;
      station: string;
      seq: number;
      n: number;
      readings: string;
    }[];
    const out: WalEntry[] = [];
    let total = 0;
    for (const r of rows) {
      if (out.length > 0 && total + r.n > maxReadings) break;
      out.push({ id: r.id, station: r.station, seq: r.seq, readings: JSON.parse(r.readings) as StoredReading[] });
      total += r.n;
    }
    return out;
  }

  /** Removes entries the store has confirmed. */
  remove(entries: readonly WalEntry[]): void {
    if (entries.length === 0) return;
    const del = this.db.prepare('DELETE FROM wal WHERE id = ?');
    this.db.transaction(() => {
      for (const e of entries) del.run(e.id);
    })();
    for (const e of entries) this.depth -= e.readings.length;
  }

  /** Readings waiting to reach the store, including those queued for the next commit. Kept in memory: it is
   * checked for every incoming message. */
  get depthReadings(): number {
    return this.depth;
  }

  stats(): WalStats {
    const row = this.db.prepare('SELECT COUNT(*) AS entries, MIN(received_at) AS oldest FROM wal').get() as {
      entries: number;
      oldest: number | null;
    };
    return { entries: row.entries, readings: this.depth, oldestReceivedAt: row.oldest };
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
