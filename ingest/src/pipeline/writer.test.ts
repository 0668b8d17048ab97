import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store, StoredReading } from '../store/store.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { Wal } from './wal.ts';
import { WalWriter } from './writer.ts';
import { classifyWriteError } from './write-errors.ts';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function reading(i: number, value: number | null = i): StoredReading {
  return { station: 'S1', param: 'PM10', time: 1_700_000_000_000 + i * 1000, value, status: 0, qc_flags: 0, period_s: 0 };
}

/** A real SQLite store behind a door the test opens and closes, and a "server" that refuses marked values. */
function flakyStore(inner: Store) {
  const state = { failures: 0, status: 503, poison: new Set<number>(), calls: 0 };
  const store: Store = {
    kind: 'flaky',
    async write(readings) {
      state.calls++;
      if (state.failures > 0) {
        state.failures--;
        throw Object.assign(new Error('unavailable'), { status: state.status, retryAfterMs: 10 });
      }
      const bad = readings.find((r) => r.value !== null && state.poison.has(r.value));
      if (bad) {
        // Like InfluxDB 1.x's "partial write": the good points of the batch are written, the call still fails.
        await inner.write(readings.filter((r) => r !== bad && !(r.value !== null && state.poison.has(r.value))));
        throw Object.assign(new Error('partial write: field type conflict'), { status: 400, serverMessage: `field type conflict on value ${bad.value}` });
      }
      await inner.write(readings);
    },
    latest: (q) => inner.latest(q),
    series: (q) => inner.series(q),
    count: (s) => inner.count(s),
    close: () => inner.close(),
  };
  return { store, state };
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'envmon-writer-'));
  dirs.push(dir);
  const wal = new Wal(join(dir, 'wal.sqlite'));
  const inner = openSqliteStore(join(dir, 'store.sqlite'));
  const { store, state } = flakyStore(inner);
  const dead: { reading: StoredReading; message: string }[] = [];
  const writer = new WalWriter(wal, store, log, (r, message) => dead.push({ reading: r, message }), 50);
  return { wal, inner, state, dead, writer };
}

async function drained(wal: Wal) {
  for (let i = 0; i < 200 && wal.depthReadings > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return wal.depthReadings;
}

describe('WAL writer', () => {
  it('keeps readings in the WAL through transient failures and writes them once the store is back', async () => {
    const { wal, inner, state, writer } = await setup();
    state.failures = 3;
    for (let i = 0; i < 120; i++) await wal.append('S1', i, [reading(i)]);
    writer.start();
    expect(await drained(wal)).toBe(0);
    expect(await inner.count('S1')).toBe(120);
    expect(state.calls).toBeGreaterThan(3);
    await writer.stop();
    wal.close();
  });

  it('dead-letters only the readings the store refuses, with its message, and writes the rest', async () => {
    const { wal, inner, state, dead, writer } = await setup();
    state.poison = new Set([17, 42]);
    const readings = Array.from({ length: 100 }, (_, i) => reading(i));
    await wal.append('S1', 1, readings.slice(0, 40));
    await wal.append('S1', 2, readings.slice(40));
    writer.start();
    expect(await drained(wal)).toBe(0);
    expect(dead.map((d) => d.reading.value).sort((a, b) => a! - b!)).toEqual([17, 42]);
    expect(dead[0]!.message).toMatch(/field type conflict/);
    expect(await inner.count('S1')).toBe(98);
    expect(writer.counters.deadLettered).toBe(2);
    await writer.stop();
    wal.close();
  });

  it('classifies failures the way InfluxDB clients do', () => {
    for (const status of [0, 408, 425, 429, 500, 503]) expect(classifyWriteError({ status }).kind, String(status)).toBe('retry');
    for (const status of [400, 413, 422]) expect(classifyWriteError({ status }).kind, String(status)).toBe('split');
    expect(classifyWriteError(new TypeError('value must be finite')).kind).toBe('split');
    expect(classifyWriteError(Object.assign(new Error('x'), { status: 429, retryAfterMs: 3000 }))).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
  });
});
