import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfile, startModbusTcpSimulator, type ModbusTcpSimulator } from '@envmon/hardware';
import { openArchive } from '@envmon/gateway';
import { hashSecret } from '@envmon/ingest';
import { influxdSkipReason, startInfluxd, type RunningInfluxd } from '../ingest/test/support/influxd.ts';
import { redisSkipReason, startRedis, type RunningRedis } from '../ingest/test/support/redis-server.ts';
import { spawnTs, type Child } from '../scripts/lib/child.ts';
import { clusterInstances, startClusterInstance, type ClusterInstance } from './support/cluster-instance.ts';
import { sleep, until, type ApiPoint } from './support/stack.ts';

/**
 * Issue 10's proof, counted: three ingest instances (child processes) sharing one redis-server and one InfluxDB,
 * three gateways (child processes) each with the three broker URLs in a different order. Under load, instance 0
 * — the first URL of gateway G0 — is killed with SIGKILL: G0 must carry on through another instance. Instance 0
 * then comes back on its data dir (as systemd would restart it), so the readings it had acknowledged but not yet
 * written leave its own WAL. Afterwards every reading each gateway archived is readable through the API exactly
 * once, whichever instance took it.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const profile = loadProfile('generic-ambient-air');
const params = profile.registers.map((r) => r.param);
const SECRET = 'cluster-station-secret-0123';
const STATIONS = ['CL_G0', 'CL_G1', 'CL_G2'];
const skip = redisSkipReason() ?? influxdSkipReason();

type Instance = ClusterInstance;

describe.skipIf(skip !== undefined)('three clustered ingest instances, one killed under load', () => {
  let sim: ModbusTcpSimulator;
  let redis: RunningRedis;
  let influx: RunningInfluxd;
  let dir: string;
  let configPath: string;
  const instances: Instance[] = [];
  const gateways = new Map<string, Child>();

  const startInstance = (i: Instance) => startClusterInstance(i, { configPath, dir, redisUrl: redis.url, influx });

  const startGateway = (n: number, pollIntervalMs: number): Child => {
    const station = STATIONS[n]!;
    // G<n> tries instance n first, then the others in turn.
    const urls = [0, 1, 2].map((k) => `mqtt://127.0.0.1:${instances[(n + k) % 3]!.mqttPort}`);
    const config = join(dir, `${station}.yaml`);
    writeFileSync(
      config,
      `station: ${station}
broker: { url: [${urls.map((u) => `"${u}"`).join(', ')}], password_env: CLUSTER_SECRET, reconnect_min_ms: 200, reconnect_max_ms: 2000 }
data_dir: ${join(dir, station)}
publish: { max_batch: 50, interval_ms: 100 }
devices:
  - id: analyser
    profile: generic-ambient-air
    transport: { kind: tcp, host: 127.0.0.1, port: ${sim.port} }
    unit_id: 1
    poll_interval_ms: ${pollIntervalMs}
    timeout_ms: 1000
`,
    );
    const child = spawnTs(`gateway-${station}`, join(root, 'gateway/src/main.ts'), {
      args: ['--config', config],
      env: { CLUSTER_SECRET: SECRET },
      logFile: join(dir, `${station}.log`),
    });
    gateways.set(station, child);
    return child;
  };

  const api = (n = 1) => `http://127.0.0.1:${instances[n]!.httpPort}/api/v1`;
  const series = async (station: string, param: string, from: number, to: number, n = 1): Promise<ApiPoint[]> => {
    const res = await fetch(`${api(n)}/series?station=${station}&param=${param}&from=${from}&to=${to}`);
    if (!res.ok) throw new Error(`series ${station} ${param}: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { points: ApiPoint[] }).points;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'envmon-cluster-'));
    [sim, redis, influx] = await Promise.all([
      startModbusTcpSimulator({ profile, port: 0, seed: 11 }),
      startRedis(),
      startInfluxd({ database: 'envmon_cluster' }),
    ]);
    const hash = await hashSecret(SECRET);
    configPath = join(dir, 'ingest.yaml');
    writeFileSync(configPath, `stations:\n${STATIONS.map((s) => `  - { id: ${s}, medium: air, params: [${params.join(', ')}], secret_hash: "${hash}" }`).join('\n')}\n`);
    instances.push(...(await clusterInstances(3, dir)));
  }, 30_000);

  afterAll(async () => {
    await Promise.all([...gateways.values()].map((g) => g.stop()));
    await Promise.all(instances.map((i) => i.child?.stop()));
    await Promise.all([sim?.stop(), redis?.stop(), influx?.stop()]);
    if (dir && !process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
  });

  it('fails G0 over to another instance and loses no reading', async () => {
    await Promise.all(instances.map(startInstance));
    for (let n = 0; n < 3; n++) startGateway(n, 100);
    const t0 = Date.now() - 60_000;
    const count = async (station: string) => (await series(station, 'PM2_5', t0, Date.now() + 60_000)).length;
    await until('readings of every station through the API', async () => {
      for (const s of STATIONS) if ((await count(s)) < 5) return undefined;
      return true;
    }, 20_000);

    // Kill G0's instance under load; G0 must keep delivering through another one.
    await instances[0]!.child!.kill9();
    const before = await count('CL_G0');
    await until('CL_G0 readings after its instance died', async () => ((await count('CL_G0')) >= before + 10 ? true : undefined), 15_000);

    // The dead instance comes back on its own data dir; its WAL goes to the store.
    await startInstance(instances[0]!);

    // Quiesce: each gateway stops polling, then drains its outbox with a gateway that does not poll for an hour.
    await Promise.all(
      STATIONS.map(async (s, n) => {
        await gateways.get(s)!.stop();
        const drainer = startGateway(n, 3_600_000);
        await until(`${s} outbox drained`, async () => {
          const a = openArchive(join(dir, s));
          try {
            return a.pending().length === 0 && a.readings().length > 0 ? true : undefined;
          } finally {
            a.close();
          }
        }, 15_000);
        await drainer.stop();
      }),
    );
    for (const i of instances) {
      await until(`${i.id} WAL drained`, async () => {
        const m = await (await fetch(`http://127.0.0.1:${i.httpPort}/metrics`)).text();
        return /^envmon_wal_depth_readings 0$/m.test(m) ? true : undefined;
      }, 10_000);
    }

    let total = 0;
    for (const s of STATIONS) {
      const archive = openArchive(join(dir, s));
      const produced = archive.readings().filter((r) => r.period_s === 0);
      archive.close();
      expect(produced.length, `${s} produced`).toBeGreaterThan(params.length * 10);
      const from = Math.min(...produced.map((r) => r.time));
      const to = Math.max(...produced.map((r) => r.time)) + 1;
      for (const param of params) {
        const mine = produced.filter((r) => r.param === param);
        const points = await series(s, param, from, to, 2);
        total += points.length;
        expect(points.map((p) => p.time), `${s} ${param} times`).toEqual(mine.map((r) => r.time));
        expect(points.map((p) => p.value), `${s} ${param} values`).toEqual(mine.map((r) => r.value));
      }
      expect(total).toBeGreaterThan(0);
    }
    const archived = STATIONS.reduce((sum, s) => {
      const a = openArchive(join(dir, s));
      const n = a.readings().filter((r) => r.period_s === 0).length;
      a.close();
      return sum + n;
    }, 0);
    expect(total).toBe(archived);
  }, 120_000);
});
