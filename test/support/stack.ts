import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashSecret } from '@envmon/ingest';
import { freePort } from '../../ingest/test/support/influxd.ts';
import { jsonLineWith, spawnTs, type Child } from '../../scripts/lib/child.ts';

/**
 * A whole station-to-API stack for end-to-end tests, with ingest and gateway as real child processes
 * (so a test can kill -9 them) and stable ports (so a restarted ingest is found again by the gateway).
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
export const STATION = 'E2E_AIR01';
const SECRET = 'e2e-station-secret-0123';

export interface Stack {
  dir: string;
  httpPort: number;
  mqttPort: number;
  api: string;
  startIngest(): Promise<Child>;
  startGateway(opts?: { pollIntervalMs?: number }): Child;
  gatewayDataDir: string;
  cleanup(): Promise<void>;
}

export async function createStack(opts: { simPort: number; ingestEnv?: NodeJS.ProcessEnv; params: string[] }): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'envmon-e2e-'));
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const ingestConfig = join(dir, 'ingest.yaml');
  writeFileSync(
    ingestConfig,
    `stations:\n  - id: ${STATION}\n    medium: air\n    params: [${opts.params.join(', ')}]\n    secret_hash: "${await hashSecret(SECRET)}"\n`,
  );
  const gatewayDataDir = join(dir, 'gateway');
  const children = new Set<Child>();

  return {
    dir,
    httpPort,
    mqttPort,
    api: `http://127.0.0.1:${httpPort}/api/v1`,
    gatewayDataDir,
    async startIngest() {
      const child = spawnTs('ingest', join(root, 'ingest/src/main.ts'), {
        args: ['--config', ingestConfig],
        env: {
          ENVMON_DATA_DIR: join(dir, 'ingest'),
          ENVMON_HTTP_PORT: String(httpPort),
          ENVMON_MQTT_PORT: String(mqttPort),
          LOG_LEVEL: 'warn',
          ...opts.ingestEnv,
        },
        logFile: join(dir, 'ingest.log'),
      });
      children.add(child);
      await child.waitFor(jsonLineWith('ready'), 60_000);
      return child;
    },
    startGateway(g = {}) {
      const config = join(dir, 'gateway.yaml');
      writeFileSync(
        config,
        `station: ${STATION}
broker: { url: "mqtt://127.0.0.1:${mqttPort}", password_env: E2E_SECRET }
data_dir: ${gatewayDataDir}
publish: { max_batch: 20, interval_ms: 100 }
devices:
  - id: analyser
    profile: generic-ambient-air
    transport: { kind: tcp, host: 127.0.0.1, port: ${opts.simPort} }
    unit_id: 1
    poll_interval_ms: ${g.pollIntervalMs ?? 250}
    timeout_ms: 1000
`,
      );
      const child = spawnTs('gateway', join(root, 'gateway/src/main.ts'), {
        args: ['--config', config],
        env: { E2E_SECRET: SECRET },
        logFile: join(dir, 'gateway.log'),
      });
      children.add(child);
      return child;
    },
    async cleanup() {
      await Promise.all([...children].map((c) => c.stop()));
      if (!process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ApiPoint {
  time: number;
  value: number | null;
  count: number;
  status?: number;
}

/** Every raw point of a parameter in [from, to), through the HTTP API (the end of the path a user sees). */
export async function apiSeries(api: string, param: string, from: number, to: number): Promise<ApiPoint[]> {
  const res = await fetch(`${api}/series?station=${STATION}&param=${param}&from=${from}&to=${to}`);
  if (!res.ok) throw new Error(`series ${param}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { points: ApiPoint[] }).points;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
