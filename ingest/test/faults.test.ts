import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBatch, type Batch, type Reading } from '@envmon/protocol';
import { openInfluxStore } from '../src/store/influx-store.ts';
import { influxdSkipReason, startInfluxd } from './support/influxd.ts';
import { connectStation, eventually, startTestIngest, viewerHeaders } from './helpers.ts';

/**
 * Fault tests that count (issue 4): each one injects a fault under load, then counts what was acknowledged
 * against what was stored.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3600_000;
const good = (i: number, n = 10): Reading[] =>
  Array.from({ length: n }, (_, k) => ({ param: 'PM10', time: T0 + (i * n + k) * 100, value: 20 + ((i + k) % 50), status: 0, qc_flags: 0, period_s: 0 }));
/** Our encoder never sends NaN (it sends has_value=false); another maker's might: patch the double 1.0 to NaN. */
function withNaN(payload: Buffer): Buffer {
  const one = Buffer.from([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  const at = payload.indexOf(one);
  if (at < 0) throw new Error('no double 1.0 in payload');
  Buffer.from([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]).copy(payload, at);
  return payload;
}
const batch = (seq: number, readings: Reading[], station = 'S1'): Buffer =>
  Buffer.from(encodeBatch({ station, seq, sent_at: Date.now(), readings } satisfies Batch));

describe('InfluxDB stopped under load, then restarted', () => {
  it.skipIf(influxdSkipReason() !== undefined)('loses no acknowledged reading', async () => {
    const influx = await startInfluxd({ database: 'envmon_fault' });
    cleanups.push(() => influx.stop());
    const store = openInfluxStore({ url: influx.url, database: influx.database, timeoutMs: 2000 });
    const ingest = await startTestIngest({ store });
    cleanups.push(() => ingest.cleanup());
    const client = await connectStation(ingest.mqttUrl, 'S1');
    cleanups.push(() => client.endAsync(true));

    let acked = 0;
    let seq = 0;
    const publishFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const readings = good(seq, 50);
        await client.publishAsync('envmon/v1/S1/data', batch(seq++, readings), { qos: 1 });
        acked += readings.length;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await publishFor(1000);
    await influx.kill();
    await publishFor(2500); // acknowledged while the store is down: only the WAL has them
    expect(ingest.wal.depthReadings).toBeGreaterThan(0);
    expect(ingest.writer.counters.writeErrors).toBeGreaterThan(0);
    await influx.restart();
    await publishFor(1000);

    await eventually(() => (ingest.wal.depthReadings === 0 ? true : undefined), 30_000, 'WAL drained after restart');
    expect(await store.count('S1')).toBe(acked);
    expect(acked).toBeGreaterThan(2000);
  });
});

describe('100,000 malformed payloads interleaved with good data', () => {
  it('stays up, rejects every bad one with a reason and stores every good one', async () => {
    const ingest = await startTestIngest();
    cleanups.push(() => ingest.cleanup());
    const client = await connectStation(ingest.mqttUrl, 'S1');
    cleanups.push(() => client.endAsync(true));

    const valid = good(0, 1)[0]!;
    const huge = 'x'.repeat(100_000);
    // Each bad payload is wrong in exactly one way, so the expected reject count per reason is known.
    const kinds: { reason: string; payload: (i: number) => Buffer }[] = [
      // Cut inside the reading: a cut at a field boundary would be a valid (shorter) message.
      { reason: 'malformed_protobuf', payload: (i) => { const b = batch(i, [valid]); return b.subarray(0, b.length - 3); } },
      { reason: 'schema', payload: (i) => Buffer.from(`{"station":"S1","seq":${i},"readings":[{"param":"PM10","time":"soon","value":1}]}`) },
      { reason: 'malformed_json', payload: () => Buffer.from('{"station":"S1",') },
      { reason: 'unknown_param', payload: (i) => batch(i, [{ ...valid, param: huge.slice(0, 1000 + (i % 1000)) }]) },
      { reason: 'value_not_finite', payload: (i) => withNaN(batch(i, [{ ...valid, value: 1 }])) },
      { reason: 'time_in_future', payload: (i) => batch(i, [{ ...valid, time: Date.now() + 86_400_000 * 365 }]) },
      { reason: 'station_mismatch', payload: (i) => batch(i, [valid], `NOT_A_STATION_${i % 97}`) },
      { reason: 'empty', payload: () => Buffer.alloc(0) },
      { reason: 'schema', payload: (i) => Buffer.from(`{"station":"S1","seq":${i},"readings":[{"param":"PM10","time":${T0},"value":"${huge.slice(0, 10_000 + (i % 5000))}"}]}`) },
    ];

    const BAD = 100_000;
    const expected: Record<string, number> = {};
    let goodReadings = 0;
    let inflight: Promise<unknown>[] = [];
    for (let i = 0; i < BAD; i++) {
      const kind = kinds[i % kinds.length]!;
      expected[kind.reason] = (expected[kind.reason] ?? 0) + 1;
      inflight.push(client.publishAsync('envmon/v1/S1/data', kind.payload(i), { qos: 1 }));
      if (i % 100 === 0) {
        const readings = good(i / 100 + 1);
        goodReadings += readings.length;
        inflight.push(client.publishAsync('envmon/v1/S1/data', batch(1_000_000 + i, readings), { qos: 1 }));
      }
      if (inflight.length >= 500) {
        await Promise.all(inflight);
        inflight = [];
      }
    }
    await Promise.all(inflight);

    const res = await fetch(`${ingest.httpUrl}api/v1/rejects`, { headers: viewerHeaders });
    const { counts } = (await res.json()) as { counts: Record<string, number> };
    expect(counts).toEqual(expected);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(BAD);
    await eventually(() => (ingest.wal.depthReadings === 0 ? true : undefined), 20_000, 'WAL drained');
    expect(await ingest.store.count('S1')).toBe(goodReadings);
    expect((await fetch(`${ingest.httpUrl}healthz`)).status).toBe(200);
  }, 240_000);
});

describe('a station publishing into another station\'s subtree', () => {
  it('is refused, disconnected and logged, and nothing of it is stored', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const ingest = await startTestIngest({ log: pino({ level: 'warn' }, sink) });
    cleanups.push(() => ingest.cleanup());
    const intruder = await connectStation(ingest.mqttUrl, 'S1');
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish('envmon/v1/S2/data', batch(1, good(0), 'S2'), { qos: 1 });
    await closed;
    intruder.end(true);
    expect(await ingest.store.count('S2')).toBe(0);
    const refusal = lines.map((l) => JSON.parse(l) as { msg: string; station?: string; topic?: string }).find((l) => l.msg === 'publish refused by ACL');
    expect(refusal).toMatchObject({ station: 'S1', topic: 'envmon/v1/S2/data' });
  });
});

describe('WAL full', () => {
  it('holds acknowledgements (the client keeps its data) instead of dropping, and resumes when the store catches up', async () => {
    const { openSqliteStore } = await import('../src/store/sqlite-store.ts');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const real = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'envmon-bp-')), 'store.sqlite'));
    // A store that is down until the test says otherwise.
    let down = true;
    const store = {
      ...real,
      kind: 'gated',
      write: async (r: Parameters<typeof real.write>[0]) => {
        if (down) throw Object.assign(new Error('store down'), { status: 503 });
        return real.write(r);
      },
      latest: real.latest.bind(real),
      series: real.series.bind(real),
      count: real.count.bind(real),
      close: real.close.bind(real),
    };
    const ingest = await startTestIngest({ store }, 'wal: { max_readings: 100 }');
    cleanups.push(() => ingest.cleanup());
    const client = await connectStation(ingest.mqttUrl, 'S1');
    cleanups.push(() => client.endAsync(true));

    let acked = 0;
    const sends = Array.from({ length: 10 }, (_, i) =>
      client.publishAsync('envmon/v1/S1/data', batch(i, good(i, 30)), { qos: 1 }).then(() => acked++),
    );
    await eventually(() => (ingest.pipeline.counters.backpressureWaits > 0 ? true : undefined), 5000, 'backpressure');
    await new Promise((r) => setTimeout(r, 500));
    // The WAL took what fits (at least its limit), the rest is unacknowledged and still with the client.
    expect(ingest.wal.depthReadings).toBeGreaterThanOrEqual(100);
    expect(acked).toBeLessThan(10);
    const ready = await fetch(`${ingest.httpUrl}readyz`);
    expect(ready.status).toBe(503);

    down = false;
    await Promise.all(sends);
    await eventually(() => (ingest.wal.depthReadings === 0 ? true : undefined), 10_000, 'WAL drained');
    expect(await real.count('S1')).toBe(300);
  });
});
