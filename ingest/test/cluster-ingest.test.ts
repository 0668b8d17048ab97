/**
 * Cluster mode in the ingest (issue 10): two `startIngest` instances given the same ENVMON_REDIS_URL act as one
 * MQTT broker (a reader on B receives what a station publishes to A; retained status too), while the data path
 * stays per instance — only the instance the station published to commits the batch to its WAL and store — and
 * the live stream spans the cluster: a browser on B's /stream sees readings accepted on A, while B's local hub
 * (alarms, flows) does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { encodeBatch } from '@envmon/protocol';
import { hashSecret } from '../src/broker/secrets.ts';
import { parseIngestConfig } from '../src/config/config.ts';
import { resolveCluster } from '../src/config/cluster-config.ts';
import type { LiveEvent } from '../src/live/hub.ts';
import { connectStation, eventually, startTestIngest, viewerHeaders } from './helpers.ts';
import { redisSkipReason, startRedis, type RunningRedis } from './support/redis-server.ts';

const skip = redisSkipReason();
const READER_PASSWORD = 'reader-password-0123456789';

describe('cluster config', () => {
  it('takes the cluster section or ENVMON_REDIS_URL, and refuses what is not a Redis URL', () => {
    const c = parseIngestConfig('cluster: { redis_url: "redis://10.0.0.5:6379/1", instance_id: ingest-a }\n');
    expect(resolveCluster(c.cluster, {})).toEqual({ redisUrl: 'redis://10.0.0.5:6379/1', instanceId: 'ingest-a' });
    expect(resolveCluster(c.cluster, { ENVMON_REDIS_URL: 'redis://r:6380' })?.redisUrl).toBe('redis://r:6380');
    expect(resolveCluster(undefined, {})).toBeUndefined();
    expect(resolveCluster(undefined, { ENVMON_REDIS_URL: 'redis://r', ENVMON_INSTANCE_ID: 'b' })).toEqual({ redisUrl: 'redis://r', instanceId: 'b' });
    expect(() => resolveCluster(undefined, { ENVMON_REDIS_URL: 'http://r' })).toThrow(/ENVMON_REDIS_URL/);
    expect(() => parseIngestConfig('cluster: { redis_url: "mqtt://x" }\n')).toThrow(/redis_url/);
    expect(() => parseIngestConfig('cluster: { redis_url: "redis://x", port: 1 }\n')).toThrow();
  });
});

describe.skipIf(skip)('two ingest instances on one Redis', () => {
  let redis: RunningRedis;
  let a: Awaited<ReturnType<typeof startTestIngest>>;
  let b: Awaited<ReturnType<typeof startTestIngest>>;

  beforeAll(async () => {
    redis = await startRedis();
    const readerHash = await hashSecret(READER_PASSWORD);
    // Each instance its own SQLite store, so the test can see which one committed a batch.
    const extra = `mqtt:\n  readers:\n    - { username: dash, secret_hash: "${readerHash}" }\ncluster: { allow_local_store: true }\n`;
    a = await startTestIngest({ env: { ENVMON_REDIS_URL: redis.url, ENVMON_INSTANCE_ID: 'ingest-a' } }, extra);
    b = await startTestIngest({ env: { ENVMON_REDIS_URL: redis.url, ENVMON_INSTANCE_ID: 'ingest-b' } }, extra);
  }, 30_000);
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
    await redis?.stop();
  });

  it('refuses cluster mode on the embedded SQLite store, which other instances cannot share', async () => {
    await expect(startTestIngest({ env: { ENVMON_REDIS_URL: redis.url, ENVMON_INSTANCE_ID: 'ingest-c' } })).rejects.toThrow(/cluster mode needs one store shared by every instance: set INFLUX_URL/);
  });

  it('delivers a station publish on A to a reader on B, and commits it only on A', async () => {
    const reader = await mqtt.connectAsync(b.mqttUrl, { username: 'dash', password: READER_PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    await reader.subscribeAsync('envmon/v1/+/data', { qos: 1 });
    const got = new Promise<string>((resolve) => reader.once('message', (topic) => resolve(topic)));

    const station = await connectStation(a.mqttUrl, 'S1');
    const t = Math.floor(Date.now() / 1000) * 1000;
    const payload = encodeBatch({
      station: 'S1',
      seq: 1,
      sent_at: Date.now(),
      readings: [
        { param: 'PM2_5', time: t, value: 12.5, status: 0, qc_flags: 0, period_s: 0 },
        { param: 'PM10', time: t, value: 30, status: 0, qc_flags: 0, period_s: 0 },
      ],
    });
    await station.publishAsync('envmon/v1/S1/data', Buffer.from(payload), { qos: 1 });
    expect(await got).toBe('envmon/v1/S1/data');

    await eventually(async () => (await a.store.count('S1')) === 2 || undefined, 10_000, 'A stores the batch');
    // B saw the message through Redis but did not run it through its pipeline: no second copy in its WAL/store.
    await new Promise((r) => setTimeout(r, 500));
    expect(await b.store.count('S1')).toBe(0);

    await station.endAsync();
    await reader.endAsync();
  });

  it("streams readings accepted on A to B's SSE clients, never into B's local hub", async () => {
    const localOnB: LiveEvent[] = [];
    const unsubscribe = b.hub.subscribe((e) => localOnB.push(e));
    const ctrl = new AbortController();
    const res = await fetch(new URL('/api/v1/stream?station=S2', b.httpUrl), { signal: ctrl.signal, headers: viewerHeaders });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const sawReadings = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += new TextDecoder().decode(value);
        if (/event: readings\ndata: .*"station":"S2".*"param":"PH"/.test(text)) return text;
      }
    })();
    await eventually(() => text.includes('event: hello') || undefined, 5000, 'the SSE hello');

    const station = await connectStation(a.mqttUrl, 'S2');
    const t = Math.floor(Date.now() / 1000) * 1000;
    const payload = encodeBatch({ station: 'S2', seq: 1, sent_at: Date.now(), readings: [{ param: 'PH', time: t, value: 7.1, status: 0, qc_flags: 0, period_s: 0 }] });
    await station.publishAsync('envmon/v1/S2/data', Buffer.from(payload), { qos: 1 });
    const got = await Promise.race([sawReadings, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no readings on B's stream:\n${text}`)), 5000))]);
    expect(got).toContain('"value":7.1');
    ctrl.abort();
    await reader.cancel().catch(() => {});
    await station.endAsync();

    // The registry on B (cluster hub) knows S2 was seen; B's local hub got nothing, and only A stored it.
    expect(localOnB.filter((e) => e.type === 'readings')).toEqual([]);
    unsubscribe();
    await eventually(async () => (await a.store.count('S2')) === 1 || undefined, 5000, 'A stores S2');
    expect(await b.store.count('S2')).toBe(0);
  });
});
