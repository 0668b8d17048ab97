import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '@envmon/protocol';
import { hashSecret } from '@envmon/ingest';
import { influxdSkipReason, startInfluxd, type RunningInfluxd } from '../ingest/test/support/influxd.ts';
import { redisSkipReason, startRedis, type RunningRedis } from '../ingest/test/support/redis-server.ts';
import { SmsReceiver } from '../ingest/test/support/sms-receiver.ts';
import { clusterInstances, startClusterInstance, type ClusterInstance } from './support/cluster-instance.ts';
import { sleep, until } from './support/stack.ts';

/**
 * Issue 10's alarm proof, counted: three ingest processes on one redis-server and one InfluxDB, six stations
 * publishing a PM2.5 signal that crosses the limit in a known pattern (8 readings over, 8 under, ...), each station
 * connected to a different instance first, with all three URLs to fail over to. Under load, the instance that owns
 * the most stations' alarm leases is killed with SIGKILL. Its stations are taken over when their leases expire; the
 * readings that arrived meanwhile were parked by the others and are evaluated then. At the end, per station:
 * exactly one alarm (never a second copy raised by the new owner), re-raised exactly once per episode of the
 * signal (none missed), and exactly one SMS per occurrence (distinct idempotency keys, none for a ghost alarm).
 */
const SECRET = 'cluster-alarm-station-secret-0123';
const STATIONS = ['CA_0', 'CA_1', 'CA_2', 'CA_3', 'CA_4', 'CA_5'];
const READINGS = 150;
const PERIOD = 16;
const LEASE_MS = 3000;
const skip = redisSkipReason() ?? influxdSkipReason();
const VIEWER = 'cluster-alarms-viewer-token-0123456789';

type Instance = ClusterInstance;

interface AlarmJson {
  id: number;
  station: string;
  state: string;
  occurrences: number;
}

/** PM2.5 of reading i: 8 readings at 200, then 8 at 20, again and again. */
const valueAt = (i: number) => (i % PERIOD < PERIOD / 2 ? 200 : 20);

/** What the rule (over 100 three times → raise; under 50 twice → clear) must make of the whole sequence. */
function expected(n: number): { occurrences: number; state: string } {
  let active = false;
  let over = 0;
  let under = 0;
  let occurrences = 0;
  let state = 'none';
  for (let i = 0; i < n; i++) {
    const v = valueAt(i);
    if (!active) {
      over = v > 100 ? over + 1 : 0;
      if (over >= 3) {
        active = true;
        occurrences++;
        state = 'raised';
        over = 0;
      }
    } else {
      under = v < 50 ? under + 1 : 0;
      if (under >= 2) {
        active = false;
        state = 'cleared';
        under = 0;
      }
    }
  }
  return { occurrences, state };
}

describe.skipIf(skip !== undefined)('alarms on three clustered instances, one killed under load', () => {
  let redis: RunningRedis;
  let influx: RunningInfluxd;
  let receiver: SmsReceiver;
  let dir: string;
  let configPath: string;
  const instances: Instance[] = [];
  const clients: MqttClient[] = [];

  const startInstance = (i: Instance) => startClusterInstance(i, { configPath, dir, redisUrl: redis.url, influx, env: { ENVMON_SMS_URL: receiver.url } });

  const metric = async (i: Instance, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${i.httpPort}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  const alarmsOf = async (i: Instance, station: string): Promise<AlarmJson[]> => {
    const res = await fetch(`http://127.0.0.1:${i.httpPort}/api/v1/alarms?station=${station}`, { headers: { authorization: `Bearer ${VIEWER}` } });
    if (!res.ok) throw new Error(`alarms of ${station}: HTTP ${res.status}`);
    return ((await res.json()) as { alarms: AlarmJson[] }).alarms;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'envmon-cluster-alarms-'));
    [redis, influx, receiver] = await Promise.all([startRedis(), startInfluxd({ database: 'envmon_cluster_alarms' }), new SmsReceiver().start()]);
    writeFileSync(
      join(dir, 'rules.yaml'),
      `version: 1
defaults: { notify: duty }
rules:
  - { id: pm25-high, kind: threshold, param: PM2_5, stations: "*", above: 100, raise: { count: 3 }, clear: { below: 50, count: 2 } }
`,
    );
    writeFileSync(
      join(dir, 'recipients.yaml'),
      `version: 1
providers:
  agency: { url_env: ENVMON_SMS_URL, format: json, body: { to: "{to}", text: "{text}" } }
recipients:
  - { id: an, phone: "+84901000001", lang: en, provider: agency, rate_limit: { max: 1000, per: 1h } }
groups:
  duty: [an]
policies:
  duty:
    stages:
      - { after: 0s, notify: [duty] }
`,
    );
    const hash = await hashSecret(SECRET);
    configPath = join(dir, 'ingest.yaml');
    writeFileSync(
      configPath,
      `stations:
${STATIONS.map((s) => `  - { id: ${s}, medium: air, params: [PM2_5], secret_hash: "${hash}" }`).join('\n')}
api:
  tokens:
    - { name: viewer, role: viewer, token_hash: "sha256$${createHash('sha256').update(VIEWER).digest('hex')}" }
alarms: { rules: rules.yaml, recipients: recipients.yaml, tick_ms: 100 }
cluster: { alarm_lease_ms: ${LEASE_MS} }
`,
    );
    instances.push(...(await clusterInstances(3, dir, 'alarm-ingest')));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await Promise.all(instances.map((i) => i.child?.stop()));
    await Promise.all([redis?.stop(), influx?.stop(), receiver?.stop()]);
    if (dir && !process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
  });

  it('takes the dead owner’s stations over: no alarm duplicated, none missed, one SMS per occurrence', async () => {
    await Promise.all(instances.map(startInstance));
    await until('every station owned by exactly one instance', async () => {
      const owned = await Promise.all(instances.map((i) => metric(i, 'envmon_alarm_stations_owned')));
      return owned.reduce((a, b) => a + b, 0) === STATIONS.length ? owned : undefined;
    }, 15_000);

    // Station k connects to instance k % 3 first; mqtt.js moves to the next URL when its broker goes away and
    // sends again what was not acknowledged (clean: false, QoS 1).
    const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    for (const [k, station] of STATIONS.entries()) {
      const order = [0, 1, 2].map((j) => instances[(k + j) % 3]!);
      const c = await mqtt.connectAsync({
        servers: order.map((i) => ({ host: '127.0.0.1', port: i.mqttPort })),
        username: station,
        password: SECRET,
        clientId: `station-${station}`,
        clean: false,
        protocolVersion: 4,
        reconnectPeriod: 200,
        connectTimeout: 3000,
      });
      clients.push(c);
    }
    const sent: Promise<unknown>[] = [];
    let victim: Instance | undefined;
    for (let i = 0; i < READINGS; i++) {
      for (const [k, station] of STATIONS.entries()) {
        const payload = encodeBatch({ station, seq: i + 1, sent_at: Date.now(), readings: [{ param: 'PM2_5', time: T0 + i * 100, value: valueAt(i), status: 0, qc_flags: 0, period_s: 0 }] });
        sent.push(clients[k]!.publishAsync(`envmon/v1/${station}/data`, Buffer.from(payload), { qos: 1 }));
      }
      if (i === 50) {
        // Kill the instance owning the most stations, in the middle of an episode of some of them.
        const owned = await Promise.all(instances.map((x) => metric(x, 'envmon_alarm_stations_owned')));
        victim = instances[owned.indexOf(Math.max(...owned))]!;
        expect(Math.max(...owned)).toBeGreaterThan(0);
        await victim.child!.kill9();
      }
      await sleep(60);
    }
    await Promise.all(sent);
    const survivors = instances.filter((x) => x !== victim);
    const want = expected(READINGS);
    expect(want.occurrences).toBeGreaterThan(5);

    for (const station of STATIONS) {
      await until(`${station}: ${want.occurrences} occurrences, ${want.state}`, async () => {
        const a = await alarmsOf(survivors[0]!, station);
        return a.length === 1 && a[0]!.occurrences === want.occurrences && a[0]!.state === want.state ? true : undefined;
      }, 20_000).catch(async (err: Error) => {
        throw new Error(`${err.message}; got ${JSON.stringify(await alarmsOf(survivors[0]!, station))}`);
      });
    }
    // Both survivors' copies agree, and nothing more happens later.
    await sleep(LEASE_MS);
    const byStation = new Map<string, AlarmJson>();
    for (const station of STATIONS) {
      const [a, b] = await Promise.all(survivors.map((s) => alarmsOf(s, station)));
      expect(a, station).toHaveLength(1);
      expect(b, station).toEqual(a);
      expect(a![0]).toMatchObject({ occurrences: want.occurrences, state: want.state });
      byStation.set(station, a![0]!);
    }
    await until('every SMS sent', async () => (new Set(receiver.delivered.map((d) => d.key)).size >= STATIONS.length * want.occurrences ? true : undefined), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}; got ${receiver.delivered.length}: ${receiver.delivered.map((d) => d.key).join(' ')}`);
    });
    await sleep(1000);
    const keys = receiver.delivered.map((d) => d.key).sort();
    const wantKeys = [...byStation.values()].flatMap((a) => Array.from({ length: want.occurrences }, (_, o) => `envmon-a${a.id}-o${o + 1}-raised-s0-an`)).sort();
    expect(keys).toEqual(wantKeys);
    // The takeover happened: the victim held stations, the survivors now hold them all.
    const ownedAfter = await Promise.all(survivors.map((x) => metric(x, 'envmon_alarm_stations_owned')));
    expect(ownedAfter.reduce((x, y) => x + y, 0)).toBe(STATIONS.length);
  }, 150_000);
});
