import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { hashSecret } from '../src/broker/secrets.ts';
import { parseIngestConfig } from '../src/config/config.ts';
import { startIngest, type IngestOptions, type RunningIngest } from '../src/ingest.ts';

export const SECRET = 'test-secret-0123456789';
/** A viewer token configured in every test ingest, for the routes that are not open data. */
export const VIEWER_TOKEN = 'test-viewer-token-0123456789abcdef';
export const viewerHeaders = { authorization: `Bearer ${VIEWER_TOKEN}` };
let cachedHash: Promise<string> | undefined;

/** Starts an ingest on free loopback ports with stations S1 (air) and S2 (water), all sharing SECRET. */
export async function startTestIngest(
  overrides: Partial<IngestOptions> = {},
  /** More top-level YAML sections for the config (e.g. an `mqtt:` section). */
  extraYaml = '',
): Promise<RunningIngest & { dataDir: string; cleanup(): Promise<void> }> {
  cachedHash ??= hashSecret(SECRET);
  const hash = await cachedHash;
  const config = parseIngestConfig(`
stations:
  - { id: S1, medium: air, params: [PM2_5, PM10, SO2, NO2, CO, O3, TEMP, RH], secret_hash: "${hash}" }
  - { id: S2, medium: water, secret_hash: "${hash}" }
api:
  tokens:
    - { name: test-viewer, role: viewer, token_hash: "sha256$${createHash('sha256').update(VIEWER_TOKEN).digest('hex')}" }
${extraYaml}
`);
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'envmon-ingest-'));
  const ingest = await startIngest({
    config,
    dataDir,
    httpPort: 0,
    mqttPort: 0,
    env: {},
    log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    ...overrides,
  });
  return {
    ...ingest,
    dataDir,
    async cleanup() {
      await ingest.stop();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function connectStation(url: string, station: string, password = SECRET): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username: station, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
}

export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
