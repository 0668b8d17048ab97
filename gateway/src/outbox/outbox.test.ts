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
});
