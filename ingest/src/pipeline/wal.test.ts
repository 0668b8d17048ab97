import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredReading } from '../store/store.ts';
import { Wal } from './wal.ts';
import { decodeReadings, encodeReadings } from './wal-codec.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function walPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'envmon-wal-'));
  dirs.push(dir);
  return join(dir, 'wal.sqlite');
}

const r = (i: number, extra: Partial<StoredReading> = {}): StoredReading => ({
  station: 'S1',
  param: i % 2 ? 'PM10' : 'PM2_5',
  time: 1_700_000_000_000 + i * 1000,
  value: i + 0.1,
  status: 0,
  qc_flags: 0,
  period_s: 0,
  ...extra,
});

describe('WAL row codec', () => {
  it('round-trips every field exactly, null values and the counts of means included', () => {
    const readings = [
      r(1),
      r(2, { value: null, status: 2, qc_flags: 0b1011 }),
      r(3, { value: -1e-300, period_s: 300, station: 'Trạm_Ω' }),
      { ...r(4, { period_s: 60, value: 12.5 }), samples: 58, coverage: 0.9666666666666667 },
      r(5, { value: Number.MAX_VALUE, time: 8_640_000_000_000_000 }),
    ];
    const buf = encodeReadings(readings)!;
    expect(buf).toBeInstanceOf(Buffer);
    expect(decodeReadings(buf)).toEqual(readings);
    // Smaller than the JSON it replaces.
    expect(buf.length).toBeLessThan(JSON.stringify(readings).length / 2);
    // Many long distinct strings: the string table outgrows the scratch space of the readings.
    const distinct = Array.from({ length: 50 }, (_, i) => r(i, { param: `P_${'x'.repeat(60)}_${i}`, value: null }));
    expect(decodeReadings(encodeReadings(distinct)!)).toEqual(distinct);
  });

  it('declines what it cannot hold exactly; such rows stay JSON text and still decode', () => {
    expect(encodeReadings([r(1, { status: 300 as never })])).toBeUndefined();
    expect(encodeReadings([r(1, { qc_flags: -1 })])).toBeUndefined();
    expect(encodeReadings([r(1, { period_s: 1.5 })])).toBeUndefined();
    const readings = [r(1)];
    expect(decodeReadings(JSON.stringify(readings))).toEqual(readings);
  });
});

describe('Wal', () => {
  it('hands committed entries to the writer from memory and from disk after a restart, in order', async () => {
    const path = walPath();
    const wal = new Wal(path);
    await wal.append('S1', 1, [r(1), r(2)]);
    await wal.append('S1', 2, [r(3)]);
    const fromMemory = wal.peek(10);
    expect(fromMemory.map((e) => e.seq)).toEqual([1, 2]);
    expect(fromMemory[0]!.readings).toEqual([r(1), r(2)]);
    expect(wal.stats()).toMatchObject({ entries: 2, readings: 3 });
    wal.close();

    const again = new Wal(path);
    expect(again.stats()).toMatchObject({ entries: 2, readings: 3 });
    await again.append('S1', 3, [r(4)]);
    // Rows from before the restart come first (from disk), then the new one (from memory).
    const first = again.peek(2);
    expect(first.map((e) => e.seq)).toEqual([1]);
    const rest = again.peek(10, first[0]!.id);
    expect(rest.map((e) => e.seq)).toEqual([2]);
    expect(again.peek(10, rest[0]!.id).map((e) => e.readings)).toEqual([[r(4)]]);
    again.remove([...first, ...rest]);
    expect(again.stats()).toMatchObject({ entries: 1, readings: 1 });
    expect(again.peek(10).map((e) => e.seq)).toEqual([3]);
    again.close();
  });

  it('beyond its memory bound reads entries back from disk, none lost or repeated', async () => {
    const wal = new Wal(walPath(), 5);
    for (let i = 0; i < 12; i++) await wal.append('S1', i, [r(2 * i), r(2 * i + 1)]);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const entries = wal.peek(3, after);
      if (entries.length === 0) break;
      for (const e of entries) seen.push(e.seq);
      after = entries[entries.length - 1]!.id;
    }
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i));
    for (let i = 0; i < 12; i++) {
      const [e] = wal.peek(1);
      expect(e!.readings).toEqual([r(2 * i), r(2 * i + 1)]);
      wal.remove([e!]);
    }
    expect(wal.stats()).toEqual({ entries: 0, readings: 0, oldestReceivedAt: null });
    // Drained: new rows are handed on from memory again, in order after anything still on disk.
    for (let i = 12; i < 16; i++) await wal.append('S1', i, [r(2 * i), r(2 * i + 1)]);
    const again = wal.peek(100);
    expect(again.map((e) => e.seq)).toEqual([12, 13]); // memory holds 5 readings: two rows, the rest from disk
    expect(wal.peek(100, again[1]!.id).map((e) => e.seq)).toEqual([14, 15]);
    wal.close();
  });

  it('drains JSON rows of WAL files written before the binary format', async () => {
    const path = walPath();
    new Wal(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO wal (station, seq, received_at, n, readings) VALUES (?, ?, ?, ?, ?)').run('S1', 7, Date.now(), 1, JSON.stringify([r(1)]));
    db.close();
    const wal = new Wal(path);
    expect(wal.peek(10).map((e) => e.readings)).toEqual([[r(1)]]);
    wal.close();
  });
});
