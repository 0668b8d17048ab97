import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { OUTBOX_FILE, rowToReading, type ArchiveRow } from './outbox.ts';

/** An archived reading as the wire carries it, minus qc_flags (source flags such as HUMIDITY stay in the archive table; REPLAYED is per batch). */
export interface ArchivedReading {
  param: string;
  time: number;
  value: number | null;
  status: number;
  period_s: number;
}

export interface ArchiveQuery {
  param?: string;
  from: number;
  to: number;
  period_s?: number;
  /** At most this many rows (default 100000). */
  limit?: number;
}

export interface ArchiveReader {
  station: string;
  /** Every archived reading, oldest first. */
  readings(): ArchivedReading[];
  /** Readings still waiting in the outbox (not acknowledged by the broker), oldest first. */
  pending(): ArchivedReading[];
  /** The next seq the gateway will assign (one more than the last batch ever recorded). */
  nextSeq(): number;
  /** Seqs of batches recorded (and perhaps sent) but not acknowledged: a restart resends exactly these. */
  openBatches(): number[];
  /** Archived readings in [from, to), oldest first; by parameter and period (0 raw, 60, 300) when given. */
  query(q: ArchiveQuery): (ArchivedReading & { samples?: number; coverage?: number })[];
  /** Readings dropped unsent by the outbox bounds, ever. */
  dropped(): number;
  close(): void;
}

/**
 * Opens a gateway's archive read-only, from its data_dir or the database file itself. Safe while the gateway
 * runs (WAL readers do not block the writer); used by tests and support tools to compare what the station
 * kept with what reached the central store.
 */
export function openArchive(dataDirOrDbPath: string): ArchiveReader {
  const path = existsSync(dataDirOrDbPath) && statSync(dataDirOrDbPath).isDirectory() ? join(dataDirOrDbPath, OUTBOX_FILE) : dataDirOrDbPath;
  if (!existsSync(path)) throw new Error(`no gateway archive at ${path}; is this the gateway's data_dir?`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const meta = (key: string): string | undefined => db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`).get(key)?.value;
  const all = db.prepare<[], ArchiveRow>(`SELECT param, time, value, status, qc_flags, period_s FROM archive ORDER BY id`);
  // Waiting: the open batches' rowid ranges and the queue from meta queue_from on (see outbox.ts).
  const waiting = db.prepare<[], ArchiveRow>(
    `WITH q(from_id) AS (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'queue_from')
     SELECT param, time, value, status, qc_flags, period_s FROM archive a, q
     WHERE a.id >= min(q.from_id, coalesce((SELECT min(first_id) FROM batches), q.from_id))
       AND (a.id >= q.from_id OR EXISTS (SELECT 1 FROM batches b WHERE a.id BETWEEN b.first_id AND b.last_id))
     ORDER BY a.id`,
  );
  const strip = (r: ArchiveRow): ArchivedReading => {
    const { param, time, value, status, period_s } = rowToReading(r);
    return { param, time, value, status, period_s };
  };
  return {
    station: meta('station') ?? '',
    readings: () => all.all().map(strip),
    pending: () => waiting.all().map(strip),
    nextSeq: () => Number(meta('next_seq') ?? 1),
    openBatches: () => db.prepare<[], { seq: number }>(`SELECT seq FROM batches ORDER BY seq`).all().map((r) => r.seq),
    query(q) {
      const where = ['time >= ?', 'time < ?'];
      const args: (string | number)[] = [q.from, q.to];
      if (q.param !== undefined) {
        where.unshift('param = ?');
        args.unshift(q.param);
      }
      if (q.period_s !== undefined) {
        where.push('period_s = ?');
        args.push(q.period_s);
      }
      const cols = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('archive')`).all().map((c) => c.name);
      const extra = cols.includes('samples') ? ', samples, coverage' : '';
      const rows = db.prepare<(string | number)[], ArchiveRow>(`SELECT param, time, value, status, qc_flags, period_s${extra} FROM archive WHERE ${where.join(' AND ')} ORDER BY time, id LIMIT ?`).all(...args, q.limit ?? 100_000);
      return rows.map((r) => {
        const x = rowToReading(r);
        return { param: x.param, time: x.time, value: x.value, status: x.status, period_s: x.period_s, ...(x.period_s > 0 ? { samples: x.samples ?? 0, coverage: x.coverage ?? 0 } : {}) };
      });
    },
    dropped: () => Number(meta('dropped') ?? 0),
    close: () => db.close(),
  };
}
