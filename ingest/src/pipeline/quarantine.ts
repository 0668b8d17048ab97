import Database from 'better-sqlite3';

/**
 * Rejected input, kept for inspection with the raw payload and a reason that names what is wrong.
 * Bounded: the oldest rows go first once `maxRows` is passed, so a flood of garbage cannot fill the disk.
 * Writes are synchronous=NORMAL: losing the last few rejects in a power cut is acceptable, slowing good data is not.
 */
export interface QuarantineItem {
  id: number;
  received_at: number;
  station: string | null;
  topic: string;
  reason: string;
  detail: string;
  /** Base64 of the raw payload (or of the offending reading's JSON). */
  payload: string;
}

const KEEP_BYTES = 4096;

export class Quarantine {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly counts = new Map<string, number>();
  private sinceTrim = 0;

  constructor(
    path: string,
    private readonly maxRows = 100_000,
  ) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS quarantine (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      received_at INTEGER NOT NULL,
      station TEXT,
      topic TEXT NOT NULL,
      reason TEXT NOT NULL,
      detail TEXT NOT NULL,
      payload BLOB NOT NULL
    )`);
    this.insert = this.db.prepare(
      'INSERT INTO quarantine (received_at, station, topic, reason, detail, payload) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const r of this.db.prepare('SELECT reason, COUNT(*) AS n FROM quarantine GROUP BY reason').all() as { reason: string; n: number }[]) {
      this.counts.set(r.reason, r.n);
    }
  }

  add(item: { station: string | null; topic: string; reason: string; detail: string; payload: Uint8Array }): void {
    // Huge payloads are kept truncated: the first 4 KiB are enough to see what a sender did wrong, and a flood of
    // large garbage must not turn into gigabytes of quarantine.
    const payload = item.payload.byteLength > KEEP_BYTES ? item.payload.subarray(0, KEEP_BYTES) : item.payload;
    this.insert.run(Date.now(), item.station, item.topic.slice(0, 256), item.reason, item.detail.slice(0, 1000), Buffer.from(payload));
    this.counts.set(item.reason, (this.counts.get(item.reason) ?? 0) + 1);
    if (++this.sinceTrim >= 1000) this.trim();
  }

  private trim(): void {
    this.sinceTrim = 0;
    this.db.prepare('DELETE FROM quarantine WHERE id <= (SELECT MAX(id) FROM quarantine) - ?').run(this.maxRows);
  }

  /** Rejects per reason: the rows kept at start-up plus everything added since (trimming does not lower them). */
  countsByReason(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  list(opts: { station?: string; reason?: string; limit?: number } = {}): QuarantineItem[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.station) (where.push('station = ?'), args.push(opts.station));
    if (opts.reason) (where.push('reason = ?'), args.push(opts.reason));
    const sql = `SELECT * FROM quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, Math.min(opts.limit ?? 100, 1000)) as (Omit<QuarantineItem, 'payload'> & {
      payload: Buffer;
    })[];
    return rows.map((r) => ({ ...r, payload: r.payload.toString('base64') }));
  }

  close(): void {
    this.db.close();
  }
}
