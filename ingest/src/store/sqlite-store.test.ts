import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, PER_BUCKET_MAX } from './sqlite-store.ts';
import { describeStoreContract, T0 } from './store.contract.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'envmon-sqlite-store-'));
}

describeStoreContract('sqlite', async () => {
  const dir = await tempDir();
  return { store: openSqliteStore(join(dir, 'store.sqlite')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

// The contract's queries span few buckets, so they take the per-bucket plan; run them again on the GROUP BY plan
// that large bucket counts use, so both plans are held to the same numbers.
describeStoreContract('sqlite, GROUP BY plan', async () => {
  const dir = await tempDir();
  return { store: openSqliteStore(join(dir, 'store.sqlite'), { perBucketMax: 0 }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('sqlite store specifics', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses a WAL journal with synchronous=FULL', async () => {
    const path = join(dir, 'store.sqlite');
    const store = openSqliteStore(path);
    await store.write([{ station: 'A', param: 'P', time: T0, value: 1, status: 0, qc_flags: 0, period_s: 0 }]);
    // journal_mode=WAL is recorded in the file, so a second connection can see it (synchronous is per connection
    // and cannot be observed from outside).
    const probe = new Database(path, { readonly: true });
    expect(probe.pragma('journal_mode', { simple: true })).toBe('wal');
    probe.close();
    expect(store.kind).toBe('sqlite');
    expect(store.path).toBe(path);
    await store.close();
  });

  it('keeps data across close and reopen, and a null can correct a value (last write wins)', async () => {
    const path = join(dir, 'store.sqlite');
    const a = openSqliteStore(path);
    await a.write([{ station: 'A', param: 'P', time: T0, value: 1, status: 0, qc_flags: 0, period_s: 0 }]);
    await a.close();
    const b = openSqliteStore(path);
    expect(await b.count()).toBe(1);
    await b.write([{ station: 'A', param: 'P', time: T0, value: null, status: 2, qc_flags: 0, period_s: 0 }]);
    expect(await b.latest()).toEqual([{ station: 'A', param: 'P', time: T0, value: null, status: 2, qc_flags: 0, period_s: 0 }]);
    const s = await b.series({ station: 'A', param: 'P', from: T0, to: T0 + 1 });
    expect(s.points).toEqual([{ time: T0, value: null, count: 0, status: 2, qc_flags: 0 }]);
    await b.close();
    await expect(b.count()).rejects.toThrow();
  });

  it.each([
    ['per-bucket', undefined],
    ['GROUP BY', 0],
  ])('floors buckets before 1970 too (SQLite %% truncates toward zero), %s plan', async (_plan, perBucketMax) => {
    const store = openSqliteStore(join(dir, 'store.sqlite'), perBucketMax === undefined ? {} : { perBucketMax });
    const at = (time: number, value: number) => ({ station: 'A', param: 'P', time, value, status: 0 as const, qc_flags: 0, period_s: 0 });
    await store.write([at(-90_000, 1), at(-30_000, 3), at(30_000, 5)]);
    const s = await store.series({ station: 'A', param: 'P', from: -120_000, to: 60_000, every: 60_000, agg: 'mean' });
    expect(s.points).toEqual([
      { time: -120_000, value: 1, count: 1 },
      { time: -60_000, value: 3, count: 1 },
      { time: 0, value: 5, count: 1 },
    ]);
    await store.close();
  });

  it('answers a query spanning more than PER_BUCKET_MAX buckets (the GROUP BY plan)', async () => {
    const store = openSqliteStore(join(dir, 'store.sqlite'));
    const at = (ms: number, value: number | null) => ({ station: 'A', param: 'P', time: T0 + ms, value, status: value === null ? (2 as const) : (0 as const), qc_flags: 0, period_s: 0 });
    // 30,001 one-second buckets lie between the first and the last reading.
    await store.write([at(0, 1), at(500, 3), at(10_000, null), at(15_000_000, 6), at(30_000_000, 8)]);
    expect(30_001).toBeGreaterThan(PER_BUCKET_MAX);
    const s = await store.series({ station: 'A', param: 'P', from: T0, to: T0 + 30_001_000, every: 1000, agg: 'mean' });
    expect(s.points).toEqual([
      { time: T0, value: 2, count: 2 },
      { time: T0 + 15_000_000, value: 6, count: 1 },
      { time: T0 + 30_000_000, value: 8, count: 1 },
    ]);
    expect(s.observed).toBe(4);
    await store.close();
  });
});
