/**
 * `npm start`: the whole system live on one machine — ingest (broker, pipeline, store, API, dashboard), two
 * simulated analysers (an ambient air station and a wastewater station, Modbus TCP) and a gateway for each.
 * Every component is its own process, as in the field; their logs go to <data dir>/logs/.
 *
 * Environment: ENVMON_DATA_DIR (default ./.data), ENVMON_HTTP_PORT (8080), ENVMON_MQTT_PORT (1883), ENVMON_SIM_PORT (5020),
 * INFLUX_URL & co. to use InfluxDB instead of the embedded store.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLineWith, spawnTs, type Child } from './lib/child.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = resolve(process.env.ENVMON_DATA_DIR ?? join(root, '.data'));
const httpPort = Number(process.env.ENVMON_HTTP_PORT ?? 8080);
const mqttPort = Number(process.env.ENVMON_MQTT_PORT ?? 1883);
/** The simulated analysers listen on this port and the next (Modbus TCP). */
const simPortBase = Number(process.env.ENVMON_SIM_PORT ?? 5020);
const logs = join(dataDir, 'logs');
mkdirSync(logs, { recursive: true });

/** The demo stations: ids and secrets match ingest/examples/demo.yaml. */
const stations = [
  { id: 'DEMO_AIR01', profile: 'generic-ambient-air', simPort: simPortBase, secret: 'demo-air-secret-change-me' },
  { id: 'DEMO_WATER01', profile: 'generic-wastewater', simPort: simPortBase + 1, secret: 'demo-water-secret-change-me' },
];

const children: Child[] = [];
let stopping = false;

async function main(): Promise<void> {
  console.log(`envmon demo — data in ${dataDir}, logs in ${logs}`);
  const ingest = spawnTs('ingest', join(root, 'ingest/src/main.ts'), {
    args: ['--config', join(root, 'ingest/examples/demo.yaml')],
    env: { ENVMON_DATA_DIR: join(dataDir, 'ingest'), ENVMON_HTTP_PORT: String(httpPort), ENVMON_MQTT_PORT: String(mqttPort) },
    logFile: join(logs, 'ingest.log'),
  });
  children.push(ingest);

  const sims = stations.map((s) => {
    const sim = spawnTs(`sim-${s.id}`, join(root, 'hardware/src/cli.ts'), {
      args: ['--profile', s.profile, '--port', String(s.simPort)],
      logFile: join(logs, `simulator-${s.id}.log`),
    });
    children.push(sim);
    return sim;
  });

  // Gateways start as soon as their analysers answer, without waiting for the ingest: like a field station they
  // buffer in their outbox and connect when the broker is up, so data shows the moment the dashboard does.
  await Promise.all(sims.map((sim) => sim.waitFor((l) => (l.includes('listening') ? true : undefined), 60_000)));
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  for (const s of stations) {
    const configPath = join(dataDir, `gateway-${s.id}.yaml`);
    writeFileSync(configPath, gatewayConfig(s, mqttUrl));
    const gw = spawnTs(`gateway-${s.id}`, join(root, 'gateway/src/main.ts'), {
      args: ['--config', configPath],
      env: { ENVMON_STATION_SECRET: s.secret, ENVMON_DATA_DIR: dataDir },
      logFile: join(logs, `gateway-${s.id}.log`),
    });
    children.push(gw);
  }
  const ready = await ingest.waitFor(jsonLineWith<{ http: string; mqtt: string }>('ready'), 60_000);

  for (const c of children) {
    c.exited.then((code) => {
      if (!stopping) console.error(`${c.name} exited (code ${code}); see ${logs}`);
    });
  }
  console.log(`broker   ${ready.mqtt}`);
  console.log(`stations ${stations.map((s) => `${s.id} (simulated ${s.profile} on modbus-tcp 127.0.0.1:${s.simPort})`).join(', ')}`);
  console.log('dashboard:');
  // On a line of its own, as the design promises: scripts and people both look for it.
  console.log(`http://127.0.0.1:${httpPort}/`);
  console.log('Ctrl+C stops everything.');
}

function gatewayConfig(s: (typeof stations)[number], mqttUrl: string): string {
  return `# Written by scripts/start.ts for the demo; see gateway/README.md for the format.
station: ${s.id}
broker:
  url: ${mqttUrl}
  username: ${s.id}
  password_env: ENVMON_STATION_SECRET
data_dir: ${join(dataDir, 'gateway', s.id)}
publish: { max_batch: 500, interval_ms: 1000 }
devices:
  - id: analyser
    profile: ${s.profile}
    transport: { kind: tcp, host: 127.0.0.1, port: ${s.simPort} }
    unit_id: 1
    poll_interval_ms: 2000
    timeout_ms: 1000
`;
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Gateways first so nothing is in flight when the broker goes; their outboxes keep whatever is unsent.
  await Promise.all(children.filter((c) => c.name.startsWith('gateway')).map((c) => c.stop()));
  await Promise.all(children.map((c) => c.stop()));
  process.exit(code);
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
main().catch((err: unknown) => {
  console.error(`envmon demo failed to start: ${(err as Error).message}`);
  void shutdown(1);
});
