import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Reading } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { openArchive } from './archive.ts';
import { openOutbox } from './outbox.ts';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'envmon-outbox-')), 'outbox.sqlite');
const poll = (time: number, n = 3): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ param: `P${i}`, time, value: i === 1 ? null : time / 1000 + i, status: i === 1 ? 2 : 0, qc_flags: 0, period_s: 0 }) as Reading);

describe('outbox', () => {
  it('leaves the file in WAL mode (the setting persists in the file; synchronous is per connection)', () => {
    const path = tmp();
    openOutbox(path, 'ST1').close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('archives and queues each poll, batches oldest first, and forgets a batch only on ack', () => {
    const o = openOutbox(tmp(), 'ST1');
    o.insert(poll(1000));
    o.insert(poll(2000));
    expect(o.depth()).toBe(6);
    expect(o.oldest()).toBe(1000);
    const s1 = o.createBatch(4, 5000)!;
    const s2 = o.createBatch(4, 5001)!;
    expect([s1, s2]).toEqual([1, 2]);
    expect(o.createBatch(4, 5002)).toBeUndefined();
    expect(o.openBatches()).toEqual([1, 2]);
    expect(o.batch(1)).toEqual({ seq: 1, sentAt: 5000, readings: [...poll(1000), poll(2000)[0]] });
    expect(o.batch(2)!.readings).toEqual(poll(2000).slice(1));
    o.ack(1);
    o.ack(1); // a second PUBACK for a resent batch is harmless
    expect(o.batch(1)).toBeUndefined();
    expect(o.openBatches()).toEqual([2]);
    expect(o.depth()).toBe(2);
    expect(o.oldest()).toBe(2000);
    o.ack(2);
    expect(o.depth()).toBe(0);
    expect(o.oldest()).toBe(0);
    o.close();
  });

  it('keeps seq increasing, and a recorded batch identical, across a reopen', () => {
    const path = tmp();
    let o = openOutbox(path, 'ST1');
    o.insert(poll(1000));
    o.createBatch(10, 7000);
    o.ack(o.createBatch(10, 7000) ?? 1);
    o.insert(poll(2000));
    const seq = o.createBatch(10, 8000)!;
    const before = o.batch(seq);
    o.close();
    o = openOutbox(path, 'ST1');
    expect(o.openBatches()).toEqual([seq]);
    expect(o.batch(seq)).toEqual(before);
    o.insert(poll(3000));
    expect(o.createBatch(10, 9000)).toBe(seq + 1);
    o.close();
  });

  it('refuses a data_dir that belongs to another station', () => {
    const path = tmp();
    openOutbox(path, 'ST1').close();
    expect(() => openOutbox(path, 'ST2')).toThrow(/holds the outbox of station ST1, not ST2/);
  });

  it('prunes old archive rows but never one still waiting to be sent', () => {
    const o = openOutbox(tmp(), 'ST1');
    o.insert(poll(1000));
    o.insert(poll(2000));
    o.ack(o.createBatch(3, 0)!); // the 1000 poll was delivered
    expect(o.prune(5000)).toBe(3);
    expect(o.depth()).toBe(3);
    const a = openArchive(o.path);
    expect(a.readings().map((r) => r.time)).toEqual([2000, 2000, 2000]);
    a.close();
    o.close();
  });

  it('is readable through openArchive from the data dir while open', () => {
    const path = tmp();
    const o = openOutbox(path, 'ST9');
    o.insert(poll(1000));
    o.ack(o.createBatch(2, 0)!);
    const a = openArchive(join(path, '..'));
    expect(a.station).toBe('ST9');
    expect(a.readings()).toEqual(poll(1000).map(({ param, time, value, status, period_s }) => ({ param, time, value, status, period_s })));
    expect(a.pending().map((r) => r.param)).toEqual(['P2']);
    expect(a.nextSeq()).toBe(2);
    a.close();
    o.close();
    expect(() => openArchive('/nonexistent/dir')).toThrow(/no gateway archive/);
  });

  it('flags readings that waited out an outage as REPLAYED, in the batch only', () => {
    const o = openOutbox(tmp(), 'ST1');
    o.insert(poll(1000));
    o.insert(poll(50_000));
    const seq = o.createBatch(10, 61_000, 60_000 - 30_000)!; // readings older than 30 s at batching time
    const b = o.batch(seq)!;
    expect(b.readings.map((r) => [r.time, r.qc_flags])).toEqual([[1000, 16], [1000, 16], [1000, 16], [50_000, 0], [50_000, 0], [50_000, 0]]);
    // A resend carries the same flags (they are stored with the batch).
    expect(o.batch(seq)).toEqual(b);
    o.close();
  });

  it('drops the oldest unsent readings beyond the size and age bounds, counts them across restarts, keeps the archive', () => {
    const path = tmp();
    let o = openOutbox(path, 'ST1');
    for (let t = 1; t <= 10; t++) o.insert(poll(t * 1000)); // 30 readings
    const open = o.createBatch(4, 11_000)!; // the 4 oldest are in flight
    expect(o.enforceBounds(25, 0)).toBe(5); // the open batch goes whole (4), then the oldest unbatched (1)
    expect(o.depth()).toBe(25);
    expect(o.batch(open)).toBeUndefined();
    expect(o.openBatches()).toEqual([]);
    expect(o.enforceBounds(1000, 8000)).toBe(16); // older than 8 s: what is left of 2000, and 3000..7000
    expect(o.depth()).toBe(9);
    expect(o.oldest()).toBe(8000);
    o.close();
    o = openOutbox(path, 'ST1');
    expect(o.dropped()).toBe(21);
    expect(o.depth()).toBe(9);
    const a = openArchive(path);
    expect(a.readings()).toHaveLength(30);
    expect(a.dropped()).toBe(21);
    expect(a.query({ param: 'P1', from: 2000, to: 5000 }).map((r) => r.time)).toEqual([2000, 3000, 4000]);
    a.close();
    o.close();
  });

  it('never hands out a rowid twice: a prune of everything old keeps the newest row, so new readings still queue', () => {
    const path = tmp();
    const o = openOutbox(path, 'ST1');
    o.insert(poll(1000));
    o.insert(poll(2000));
    o.ack(o.createBatch(10, 3000)!);
    // Everything was delivered and is old: all but the newest row go. Had the newest gone too, SQLite would give the
    // next reading rowid 1 again, below the queue's start, and it would never be sent.
    expect(o.prune(10_000)).toBe(5);
    o.insert(poll(20_000));
    expect(o.depth()).toBe(3);
    const seq = o.createBatch(10, 21_000)!;
    expect(o.batch(seq)!.readings).toEqual(poll(20_000));
    o.close();
  });

  it('acknowledgements out of order: each batch leaves alone, depth and oldest stay exact', () => {
    const o = openOutbox(tmp(), 'ST1');
    for (let t = 1; t <= 3; t++) o.insert(poll(t * 1000));
    const [s1, s2, s3] = [o.createBatch(3, 0)!, o.createBatch(3, 0)!, o.createBatch(3, 0)!];
    o.ack(s2);
    expect(o.openBatches()).toEqual([s1, s3]);
    expect(o.depth()).toBe(6);
    expect(o.oldest()).toBe(1000);
    o.ack(s1);
    expect(o.oldest()).toBe(3000);
    const a = openArchive(o.path);
    expect(a.pending().map((r) => r.time)).toEqual([3000, 3000, 3000]);
    a.close();
    expect(o.prune(10_000)).toBe(6);
    expect(o.batch(s3)!.readings).toEqual(poll(3000));
    o.close();
  });

  it('takes over a file of the earlier layout (a queue row per reading): same batches, same flags, same queue', () => {
    const path = tmp();
    // The layout before rowid ranges, as that gateway left it: 4 polls archived; batch 7 (the first two, the first
    // one flagged REPLAYED) open; the third poll unbatched; the fourth's second reading dropped by the age bound.
    const db = new Database(path);
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE archive (id INTEGER PRIMARY KEY, param TEXT NOT NULL, time INTEGER NOT NULL, value REAL, status INTEGER NOT NULL,
                            qc_flags INTEGER NOT NULL, period_s INTEGER NOT NULL, samples INTEGER, coverage REAL);
      CREATE TABLE batches (seq INTEGER PRIMARY KEY, sent_at INTEGER NOT NULL);
      CREATE TABLE outbox (reading_id INTEGER PRIMARY KEY REFERENCES archive (id), batch_seq INTEGER REFERENCES batches (seq), flags INTEGER NOT NULL DEFAULT 0);
      INSERT INTO meta VALUES ('station', 'ST1'), ('next_seq', '8'), ('dropped', '1');
      INSERT INTO batches VALUES (7, 5000);
    `);
    const ins = db.prepare(`INSERT INTO archive (param, time, value, status, qc_flags, period_s) VALUES (?, ?, ?, ?, ?, ?)`);
    for (const t of [1000, 2000, 3000, 4000]) for (const r of poll(t)) ins.run(r.param, r.time, r.value, r.status, r.qc_flags, r.period_s);
    db.exec(`INSERT INTO outbox VALUES (1, 7, 16), (2, 7, 16), (3, 7, 16), (4, 7, 0), (5, 7, 0), (6, 7, 0), (7, NULL, 0), (8, NULL, 0), (9, NULL, 0), (10, NULL, 0), (12, NULL, 0)`);
    db.close();

    const o = openOutbox(path, 'ST1');
    expect(o.openBatches()).toEqual([7]);
    expect(o.batch(7)).toEqual({ seq: 7, sentAt: 5000, readings: [...poll(1000).map((r) => ({ ...r, qc_flags: 16 })), ...poll(2000)] });
    // The queue starts at the third poll; the reading the age bound had dropped (rowid 11) is sent again.
    expect(o.depth()).toBe(12);
    expect(o.dropped()).toBe(1);
    const next = o.createBatch(100, 6000)!;
    expect(next).toBe(8);
    expect(o.batch(next)!.readings).toEqual([...poll(3000), ...poll(4000)]);
    o.insert(poll(5000));
    expect(o.batch(o.createBatch(100, 7000)!)!.readings).toEqual(poll(5000));
    o.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all()).toEqual(['archive', 'batches', 'meta']);
    raw.close();
  });

  it('oldest() and depth() agree with the waiting rows themselves through random inserts, batches, acks, drops and reopens', () => {
    const path = tmp();
    let o = openOutbox(path, 'ST1');
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const open: number[] = [];
    let clock = 1_000_000;
    const sizes = new Set<number>();
    for (let step = 0; step < 400; step++) {
      const op = rnd(10);
      if (op < 4) {
        // A poll: raw readings at the clock, sometimes a mean stamped with its window's start (earlier), sometimes
        // a reading stamped far back (a device clock gone wrong).
        clock += 1000;
        const rs: Reading[] = Array.from({ length: 1 + rnd(5) }, (_, i) => ({ param: `P${i}`, time: clock, value: i, status: 0, qc_flags: 0, period_s: 0 }) as Reading);
        if (rnd(3) === 0) rs.push({ param: 'P0', time: clock - 300_000, value: 1, status: 0, qc_flags: 0, period_s: 300, samples: 300, coverage: 1 } as Reading);
        if (rnd(25) === 0) rs.push({ param: 'P9', time: clock - 86_400_000, value: 1, status: 0, qc_flags: 0, period_s: 0 } as Reading);
        o.insert(rs);
      } else if (op < 6) {
        const seq = o.createBatch(1 + rnd(12), clock);
        if (seq !== undefined) open.push(seq);
      } else if (op < 8 && open.length > 0) {
        o.ack(open.splice(rnd(open.length), 1)[0]!); // in any order
      } else if (op === 8) {
        const dropped = o.enforceBounds(10 + rnd(60), clock - rnd(400_000));
        if (dropped > 0) open.splice(0, open.length, ...o.openBatches());
      } else {
        o.close();
        o = openOutbox(path, 'ST1');
      }
      const a = openArchive(path);
      const waiting = a.pending();
      a.close();
      expect(o.depth(), `depth after step ${step}`).toBe(waiting.length);
      expect(o.oldest(), `oldest after step ${step}`).toBe(waiting.length === 0 ? 0 : Math.min(...waiting.map((r) => r.time)));
      sizes.add(waiting.length);
    }
    expect(sizes.size).toBeGreaterThan(20); // the walk went through many states, not one
    o.close();
  });
});

