/**
 * Alarms in cluster mode (issue 10), in process: two ingest instances on one redis-server. Each station has exactly
 * one owner (a Redis lease); the owner evaluates the station's readings whichever instance accepted them; the alarm
 * database is replicated, so either instance's API shows the same alarm with the same id; a station handed over
 * (its owner stops) carries on with the same alarm, and each transition sends one SMS. The kill -9 variant, with
 * three processes, is in test/cluster-alarms.test.ts at the root.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '@envmon/protocol';
import { connectStation, eventually, startTestIngest, viewerHeaders } from './helpers.ts';
import { redisSkipReason, startRedis, type RunningRedis } from './support/redis-server.ts';
import { SmsReceiver } from './support/sms-receiver.ts';

const skip = redisSkipReason();
type Ingest = Awaited<ReturnType<typeof startTestIngest>>;

interface AlarmJson {
  id: number;
  station: string;
  state: string;
  occurrences: number;
}

describe.skipIf(skip)('alarms on two clustered instances', () => {
  let redis: RunningRedis;
  let receiver: SmsReceiver;
  let dir: string;
  let extra: string;
  const ingests = new Map<string, Ingest>();
  const clients: MqttClient[] = [];
  let seq = 0;
  const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  let t = 0;

  const start = async (id: string): Promise<Ingest> => {
    const i = await startTestIngest({ env: { ENVMON_REDIS_URL: redis.url, ENVMON_INSTANCE_ID: id, ENVMON_SMS_URL: receiver.url } }, extra);
    ingests.set(id, i);
    return i;
  };
  const owners = () => new Map([...ingests].map(([id, i]) => [id, i.alarms!.cluster!.stats().owned]));
  const ownerOf = (station: string) => [...owners()].find(([, s]) => s.includes(station))?.[0];
  const alarmsOn = async (i: Ingest, station: string): Promise<AlarmJson[]> =>
    ((await (await fetch(new URL(`/api/v1/alarms?station=${station}`, i.httpUrl), { headers: viewerHeaders })).json()) as { alarms: AlarmJson[] }).alarms;
  const publish = async (via: Ingest, values: number[]): Promise<void> => {
    const c = await connectStation(via.mqttUrl, 'S1');
    clients.push(c);
    for (const value of values) {
      await c.publishAsync('envmon/v1/S1/data', Buffer.from(encodeBatch({ station: 'S1', seq: ++seq, sent_at: Date.now(), readings: [{ param: 'PM2_5', time: T0 + ++t * 1000, value, status: 0, qc_flags: 0, period_s: 0 }] })), { qos: 1 });
    }
    await c.endAsync();
  };

  beforeAll(async () => {
    [redis, receiver] = await Promise.all([startRedis(), new SmsReceiver().start()]);
    dir = mkdtempSync(join(tmpdir(), 'envmon-cluster-alarms-'));
    writeFileSync(
      join(dir, 'rules.yaml'),
      `version: 1
defaults: { notify: duty }
rules:
  - { id: pm25-high, kind: threshold, param: PM2_5, stations: [S1], above: 100, raise: { count: 3 }, clear: { below: 50, count: 2 } }
`,
    );
    writeFileSync(
      join(dir, 'recipients.yaml'),
      `version: 1
providers:
  agency: { url_env: ENVMON_SMS_URL, format: json, body: { to: "{to}", text: "{text}" } }
recipients:
  - { id: an, phone: "+84901000001", lang: en, provider: agency }
groups:
  duty: [an]
policies:
  duty:
    stages:
      - { after: 0s, notify: [duty] }
`,
    );
    extra = `alarms: { rules: ${join(dir, 'rules.yaml')}, recipients: ${join(dir, 'recipients.yaml')}, tick_ms: 100 }
cluster: { allow_local_store: true, alarm_lease_ms: 1500 }
`;
    await start('ca-a');
    await start('ca-b');
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    for (const i of ingests.values()) await i.cleanup();
    await Promise.all([redis?.stop(), receiver?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives every station exactly one owner', async () => {
    await eventually(() => (ownerOf('S1') && ownerOf('S2') ? true : undefined), 10_000, 'an owner for S1 and S2');
    for (const station of ['S1', 'S2']) expect([...owners().values()].filter((s) => s.includes(station))).toHaveLength(1);
  });

  it("evaluates on the owner what either instance accepted, and both APIs show the owner's alarm", async () => {
    const owner = ingests.get(ownerOf('S1')!)!;
    const other = [...ingests.values()].find((i) => i !== owner)!;
    // A browser on the other instance gets the owner's alarm event live.
    const ctrl = new AbortController();
    const res = await fetch(new URL('/api/v1/stream?station=S1', other.httpUrl), { signal: ctrl.signal, headers: viewerHeaders });
    const reader = res.body!.getReader();
    let text = '';
    const sawAlarm = (async () => {
      while (!/event: alarm\ndata: .*"action":"raised"/.test(text)) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    await eventually(() => text.includes('event: hello') || undefined, 5000, 'the SSE hello');
    // Two readings over the limit through the owner, the third (which raises: count 3) through the other instance.
    await publish(owner, [150, 160]);
    await publish(other, [170]);
    const [alarm] = await eventually(async () => ((await alarmsOn(owner, 'S1')).length ? alarmsOn(owner, 'S1') : undefined), 10_000, 'the alarm on the owner');
    expect(alarm).toMatchObject({ station: 'S1', state: 'raised', occurrences: 1 });
    await eventually(async () => ((await alarmsOn(other, 'S1'))[0]?.id === alarm!.id ? true : undefined), 5000, 'the same alarm, same id, on the other instance');
    await eventually(() => (receiver.delivered.length === 1 ? true : undefined), 5000, 'one SMS');
    await eventually(() => (/event: alarm\ndata: .*"action":"raised"/.test(text) ? true : undefined), 5000, "the alarm event on the other instance's stream");
    ctrl.abort();
    await sawAlarm.catch(() => {});
    expect(receiver.delivered[0]!.key).toBe(`envmon-a${alarm!.id}-o1-raised-s0-an`);
    // The replica never sends: after a while still one request in all.
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(1);

    await publish(other, [20, 20]);
    await eventually(async () => ((await alarmsOn(owner, 'S1'))[0]?.state === 'cleared' ? true : undefined), 5000, 'cleared on the owner');
    await eventually(async () => ((await alarmsOn(other, 'S1'))[0]?.state === 'cleared' ? true : undefined), 5000, 'cleared on the replica');
  });

  it('hands a station over when its owner stops: the same alarm goes on, one SMS per occurrence', async () => {
    const ownerId = ownerOf('S1')!;
    const [first] = await alarmsOn(ingests.get(ownerId)!, 'S1');
    // Half-done state crosses over too: one reading over the limit on the old owner, two on the new one = raise.
    await publish(ingests.get(ownerId)!, [150]);
    await ingests.get(ownerId)!.cleanup();
    ingests.delete(ownerId);
    const survivor = [...ingests.values()][0]!;
    await eventually(() => (ownerOf('S1') ? true : undefined), 10_000, 'the survivor takes S1');
    await publish(survivor, [150, 150]);
    await eventually(async () => ((await alarmsOn(survivor, 'S1'))[0]?.occurrences === 2 ? true : undefined), 10_000, 're-raised on the survivor');
    const all = await alarmsOn(survivor, 'S1');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id: first!.id, state: 'raised', occurrences: 2 });
    await eventually(() => (receiver.delivered.length === 2 ? true : undefined), 5000, 'the second SMS');
    expect(receiver.delivered.map((d) => d.key)).toEqual([`envmon-a${first!.id}-o1-raised-s0-an`, `envmon-a${first!.id}-o2-raised-s0-an`]);

    // The stopped instance comes back on its data dir: it catches up and may take its stations back; no change.
    const back = await start(ownerId);
    await eventually(async () => ((await alarmsOn(back, 'S1'))[0]?.occurrences === 2 ? true : undefined), 10_000, 'the returning instance caught up');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await alarmsOn(survivor, 'S1')).toHaveLength(1);
    expect(receiver.delivered).toHaveLength(2);
  }, 40_000);
});
