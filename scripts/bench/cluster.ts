/**
 * Clustered ingest throughput (issue 10): readings/s end to end (load gateways → any instance's broker → that
 * instance's WAL → shared InfluxDB) for 1, 2 and 3 ingest instances on one redis-server, the load clients spread
 * round-robin over the instances. Every server and client is its own process.
 *
 * Read these figures with the machine in mind: on a 2-core machine, three ingest processes, their load clients,
 * influxd and redis-server all share two cores, so more instances cannot show more throughput here — the figures
 * show what clustering costs (Redis message bus) rather than how it scales. Scaling needs a core (or a machine)
 * per instance and a store that keeps up.
 *
 * Redis runs as deploy/compose.cluster.yaml runs it: append-only file, fsync on every write (`appendfsync always`:
 * the shared alarm state is acknowledged only once on disk). BENCH_REDIS_APPENDFSYNC=everysec|none measures the
 * others.
 */
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashSecret } from '../../ingest/src/broker/secrets.ts';
import { freePort, influxdSkipReason, startInfluxd } from '../../ingest/test/support/influxd.ts';
import { redisSkipReason, startRedis } from '../../ingest/test/support/redis-server.ts';
import { jsonLineWith, spawnTs, type Child } from '../lib/child.ts';
import type { BenchFigure } from './types.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LOAD = join(root, 'scripts/bench/lib/load-client.ts');
const SECRET = 'bench-secret-0123456789';
const CLIENTS = 3;
const BATCHES = 600;
const PER_BATCH = 100;

interface LoadResult {
  messages: number;
  readings: number;
  seconds: number;
}

export async function bench(): Promise<BenchFigure[]> {
  const skip = influxdSkipReason() ?? redisSkipReason();
  if (skip) throw new Error(skip);
  const cores = availableParallelism();
  const figures: BenchFigure[] = [];
  const fsync = process.env.BENCH_REDIS_APPENDFSYNC ?? 'always';
  if (!['always', 'everysec', 'none'].includes(fsync)) throw new Error(`BENCH_REDIS_APPENDFSYNC=${fsync}: always, everysec or none`);
  const [influx, redis] = await Promise.all([
    startInfluxd({ database: 'envmon_bench_cluster' }),
    startRedis(fsync === 'none' ? {} : { appendfsync: fsync as 'always' | 'everysec' }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'envmon-bench-cluster-'));
  try {
    const hash = await hashSecret(SECRET);
    let single: number | undefined;
    for (const n of [1, 2, 3]) {
      // Stations of their own per run, so no run's readings land on another's (station, param, time).
      const stations = Array.from({ length: CLIENTS }, (_, i) => `CLB${n}_${i}`);
      const config = join(dir, `ingest-${n}.yaml`);
      writeFileSync(config, `stations:\n${stations.map((s) => `  - { id: ${s}, medium: air, secret_hash: "${hash}" }`).join('\n')}\nvalidation: { max_backfill_days: 3 }\n`);
      const instances: { child: Child; http: number; mqtt: number }[] = [];
      try {
        for (let k = 0; k < n; k++) {
          const [http, mqtt] = [await freePort(), await freePort()];
          const child = spawnTs(`ingest-${n}-${k}`, join(root, 'ingest/src/main.ts'), {
            args: ['--config', config],
            env: {
              ENVMON_DATA_DIR: join(dir, `data-${n}-${k}`),
              ENVMON_HTTP_PORT: String(http),
              ENVMON_MQTT_PORT: String(mqtt),
              ENVMON_REDIS_URL: redis.url,
              ENVMON_INSTANCE_ID: `bench-${n}-${k}`,
              INFLUX_URL: influx.url,
              INFLUX_DATABASE: influx.database,
              LOG_LEVEL: 'warn',
            },
            logFile: join(dir, `ingest-${n}-${k}.log`),
          });
          instances.push({ child, http, mqtt });
        }
        await Promise.all(instances.map((i) => i.child.waitFor(jsonLineWith('ready'), 60_000)));
        const written = async () => {
          let sum = 0;
          for (const i of instances) {
            const m = await (await fetch(`http://127.0.0.1:${i.http}/metrics`)).text();
            sum += Number(/^envmon_readings_written_total (\d+)$/m.exec(m)?.[1] ?? 0);
          }
          return sum;
        };
        const before = await written();
        const started = performance.now();
        const results = await Promise.all(
          stations.map(async (station, c) => {
            const target = instances[c % n]!;
            const load = spawnTs('load', LOAD, { args: [`mqtt://127.0.0.1:${target.mqtt}`, station, SECRET, String(BATCHES), String(PER_BATCH), '64'] });
            const r = await load.waitFor(jsonLineWith<LoadResult>('seconds'), 300_000);
            await load.exited;
            return r;
          }),
        );
        const readings = results.reduce((a, r) => a + r.readings, 0);
        const deadline = Date.now() + 300_000;
        while ((await written()) - before < readings) {
          if (Date.now() > deadline) throw new Error(`${n} instances: not every reading was stored within 5 min`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const rate = readings / ((performance.now() - started) / 1000);
        single ??= rate;
        figures.push({
          figure: `cluster of ${n} ingest instance${n > 1 ? 's' : ''} (Redis), ${CLIENTS} load gateways × ${PER_BATCH}-reading batches → stored in InfluxDB`,
          value: rate,
          unit: 'readings/s',
          note: `${n === 1 ? `${cores} cores: every process shares them; more instances cannot show scaling on a 2-core machine` : `${(rate / single).toFixed(2)}× the 1-instance figure`}; Redis appendfsync ${fsync}`,
        });
      } finally {
        await Promise.all(instances.map((i) => i.child.stop()));
      }
    }
  } finally {
    await Promise.all([influx.stop(), redis.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
