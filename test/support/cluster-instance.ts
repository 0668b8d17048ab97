import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../ingest/test/support/influxd.ts';
import { jsonLineWith, spawnTs, type Child } from '../../scripts/lib/child.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One ingest process of a test cluster: its ports, its own data dir (WAL, alarm replica), its child process. */
export interface ClusterInstance {
  id: string;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  child?: Child;
}

export async function clusterInstances(n: number, dir: string, prefix = 'ingest'): Promise<ClusterInstance[]> {
  const out: ClusterInstance[] = [];
  for (let k = 0; k < n; k++) out.push({ id: `${prefix}-${k}`, httpPort: await freePort(), mqttPort: await freePort(), dataDir: join(dir, `${prefix}-${k}`) });
  return out;
}

/**
 * Starts (or restarts, on the same data dir) one instance of a cluster sharing a Redis and an InfluxDB, logging to
 * <dir>/<id>.log; resolves when it is ready.
 */
export async function startClusterInstance(
  i: ClusterInstance,
  o: { configPath: string; dir: string; redisUrl: string; influx: { url: string; database: string }; env?: NodeJS.ProcessEnv },
): Promise<void> {
  i.child = spawnTs(`ingest-${i.id}`, join(root, 'ingest/src/main.ts'), {
    args: ['--config', o.configPath],
    env: {
      ENVMON_DATA_DIR: i.dataDir,
      ENVMON_HTTP_PORT: String(i.httpPort),
      ENVMON_MQTT_PORT: String(i.mqttPort),
      ENVMON_REDIS_URL: o.redisUrl,
      ENVMON_INSTANCE_ID: i.id,
      INFLUX_URL: o.influx.url,
      INFLUX_DATABASE: o.influx.database,
      LOG_LEVEL: 'warn',
      ...o.env,
    },
    logFile: join(o.dir, `${i.id}.log`),
  });
  await i.child.waitFor(jsonLineWith('ready'), 40_000);
}
