import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch, QcFlag, type Batch } from '@envmon/protocol';
import { connectStation, eventually, SECRET, startTestIngest, viewerHeaders } from './helpers.ts';

let ingest: Awaited<ReturnType<typeof startTestIngest>>;
beforeAll(async () => {
  ingest = await startTestIngest();
});
afterAll(async () => {
  await ingest?.cleanup();
});

const now = () => Math.floor(Date.now() / 1000) * 1000;
function batch(station: string, seq: number, readings: Batch['readings']): Uint8Array {
  return encodeBatch({ station, seq, sent_at: Date.now(), readings });
}

describe('broker authentication and ACL', () => {
  it('refuses unknown stations and wrong secrets', async () => {
    await expect(connectStation(ingest.mqttUrl, 'NOPE')).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(connectStation(ingest.mqttUrl, 'S1', 'wrong-secret-000')).rejects.toThrow(/Bad username or password/i);
    const ok = await connectStation(ingest.mqttUrl, 'S1', SECRET);
    await ok.endAsync();
  });

  it('lets a station publish only in its own subtree and subscribe only to its commands', async () => {
    const c = await connectStation(ingest.mqttUrl, 'S1');
    const granted = await c.subscribeAsync('envmon/v1/S1/cmd', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);
    await expect(c.subscribeAsync('envmon/v1/S2/cmd', { qos: 1 })).rejects.toBeTruthy();
    await c.endAsync(true);

    const d = await connectStation(ingest.mqttUrl, 'S1');
    const closed = new Promise<void>((resolve) => d.once('close', () => resolve()));
    d.publish('envmon/v1/S2/data', Buffer.from(batch('S2', 1, [])), { qos: 1 });
    await closed; // an ACL violation ends the connection, without a PUBACK
    d.end(true);
    expect(await ingest.store.count('S2')).toBe(0);
  });
});

describe('durable data path', () => {
  it('acknowledges only after the WAL has the readings, then the writer stores them', async () => {
    const c = await connectStation(ingest.mqttUrl, 'S1');
    const t = now();
    await c.publishAsync('envmon/v1/S1/data', Buffer.from(batch('S1', 1, [
      { param: 'PM2_5', time: t, value: 31.2, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'SO2', time: t, value: null, status: 2, qc_flags: 0, period_s: 0 },
    ])), { qos: 1 });
    // PUBACK received: the accepted counter moved before the callback ran.
    expect(ingest.pipeline.counters.accepted).toBeGreaterThanOrEqual(2);
    await eventually(async () => ((await ingest.store.count('S1')) >= 2 ? true : undefined), 5000, 'readings in the store');
    const latest = await ingest.store.latest({ station: 'S1' });
    expect(latest.find((r) => r.param === 'PM2_5')?.value).toBe(31.2);
    expect(latest.find((r) => r.param === 'SO2')).toMatchObject({ value: null, status: 2 });
    await c.endAsync();
  });

  it('stores the QC flags a source sets (a sensor node\'s HUMIDITY), merged with its own', async () => {
    const c = await connectStation(ingest.mqttUrl, 'S1');
    const t = now() + 1000;
    await c.publishAsync('envmon/v1/S1/data', Buffer.from(batch('S1', 4, [
      { param: 'PM2_5', time: t, value: 48.5, status: 0, qc_flags: QcFlag.HUMIDITY, period_s: 0 },
      { param: 'PM2_5', time: t - 600_000, value: 47, status: 0, qc_flags: QcFlag.HUMIDITY | QcFlag.REPLAYED, period_s: 60, samples: 6, coverage: 1 },
    ])), { qos: 1 });
    await eventually(async () => ((await ingest.store.latest({ station: 'S1', param: 'PM2_5' }))[0]?.time === t ? true : undefined), 5000, 'the humid reading in the store');
    const stored = (await ingest.store.latest({ station: 'S1', param: 'PM2_5' }))[0]!;
    expect(stored.value).toBe(48.5);
    // The source's flag is kept; the ingest's own QC only adds bits (here SPIKE: 31.2 → 48.5 within a second).
    expect(stored.qc_flags & QcFlag.HUMIDITY).toBe(QcFlag.HUMIDITY);
    expect(stored.qc_flags & QcFlag.SPIKE).toBe(QcFlag.SPIKE);
    await c.endAsync();
  });

  it('quarantines bad readings with a reason and keeps the good ones beside them', async () => {
    const c = await connectStation(ingest.mqttUrl, 'S1');
    const t = now() - 60_000;
    await c.publishAsync('envmon/v1/S1/data', Buffer.from(batch('S1', 2, [
      { param: 'PM10', time: t, value: 55, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'PM10', time: t + 1000, value: -5, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'BOGUS', time: t, value: 1, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'COD', time: t, value: 1, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'NO2', time: Date.now() + 3600_000, value: 20, status: 0, qc_flags: 0, period_s: 0 },
    ])), { qos: 1 });
    await c.publishAsync('envmon/v1/S1/data', Buffer.from([0x0a, 0xff, 0xff, 0xff]), { qos: 1 });
    await c.publishAsync('envmon/v1/S1/data', Buffer.from('{"station":"S1","seq":"x"}'), { qos: 1 });
    // The connection survived all of it and a good message after the bad ones still gets through.
    await c.publishAsync('envmon/v1/S1/data', Buffer.from(batch('S1', 3, [{ param: 'O3', time: t, value: 80, status: 0, qc_flags: 0, period_s: 0 }])), { qos: 1 });
    await eventually(async () => ((await ingest.store.latest({ station: 'S1', param: 'O3' })).length === 1 ? true : undefined));

    const res = await fetch(`${ingest.httpUrl}api/v1/rejects?station=S1`, { headers: viewerHeaders });
    const body = (await res.json()) as { counts: Record<string, number>; items: { reason: string; detail: string }[] };
    expect(body.counts).toMatchObject({ out_of_range: 1, unknown_param: 1, param_not_configured: 1, time_in_future: 1, malformed_protobuf: 1, schema: 1 });
    expect(body.items.find((i) => i.reason === 'out_of_range')?.detail).toMatch(/PM10 = -5 .* outside the physical range/);
    expect((await ingest.store.latest({ station: 'S1', param: 'PM10' }))[0]?.value).toBe(55);
    await c.endAsync();
  });
});

describe('HTTP API', () => {
  it('serves stations, latest, series, health and metrics', async () => {
    const get = async (path: string) => {
      const r = await fetch(new URL(path, ingest.httpUrl));
      return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
    };
    const stations = await get('/api/v1/stations');
    expect(stations.body.stations.map((s: { id: string }) => s.id)).toEqual(['S1', 'S2']);
    expect((await get('/api/v1/stations/S9')).status).toBe(404);
    const series = await get(`/api/v1/series?station=S1&param=PM2_5&from=${Date.now() - 3600_000}&to=${Date.now() + 1000}`);
    expect(series.status).toBe(200);
    expect(series.body.points.length).toBeGreaterThanOrEqual(1);
    expect((await get('/api/v1/series?station=S1')).body.error).toMatch(/"param" is required/);
    expect((await get('/api/v1/series?station=S1&param=PM2_5&every=fast')).body.error).toMatch(/"every" must be/);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).body.ready).toBe(true);
    const metrics = (await get('/metrics')).body as string;
    expect(metrics).toMatch(/^envmon_wal_depth_readings \d+$/m);
    expect(metrics).toMatch(/^envmon_rejects_total\{reason="out_of_range"\} 1$/m);
  });

  it('streams accepted readings over SSE', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${ingest.httpUrl}api/v1/stream?station=S1`, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    const c = await connectStation(ingest.mqttUrl, 'S1');
    let text = '';
    const read = (async () => {
      while (!text.includes('event: readings')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await c.publishAsync('envmon/v1/S1/data', Buffer.from(batch('S1', 4, [{ param: 'RH', time: now(), value: 77.5, status: 0, qc_flags: 0, period_s: 0 }])), { qos: 1 });
    await read;
    ctrl.abort();
    expect(text).toMatch(/event: readings\ndata: \{"station":"S1","readings":\[\{[^\n]*"param":"RH"[^\n]*"value":77.5/);
    await c.endAsync();
  });
});
