/**
 * A real ingest for dashboard tests and the bench: broker, pipeline, store, API and the built dashboard, on free
 * loopback ports, with API tokens for a viewer and an operator. Stations are given as YAML; every station's MQTT
 * secret is STATION_SECRET.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { encodeBatch, encodeStatus, type Reading } from '@envmon/protocol';
import { hashSecret, parseIngestConfig, startIngest, type RunningIngest } from '@envmon/ingest';

export const STATION_SECRET = 'dashboard-test-secret-0123';
export const TOKENS = { viewer: 'envmon_test_viewer_token_0123456789abcdef', operator: 'envmon_test_operator_token_0123456789abcdef' } as const;

const DASHBOARD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist');
let hash: Promise<string> | undefined;

/** Builds dashboards/dist if it is missing (npm test builds it first; a single file run may not have). */
export function ensureDashboardBuilt(): string {
  if (!existsSync(join(DASHBOARD_DIR, 'app.js'))) {
    const r = spawnSync(process.execPath, [join(DASHBOARD_DIR, '../build.mjs')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('dashboard build failed');
  }
  return DASHBOARD_DIR;
}

const sha256 = (token: string) => `sha256$${createHash('sha256').update(token).digest('hex')}`;

export interface DashboardIngest extends RunningIngest {
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function startDashboardIngest(o: { stations: (secretHash: string) => string; rules?: string; extra?: string }): Promise<DashboardIngest> {
  hash ??= hashSecret(STATION_SECRET);
  const secretHash = await hash;
  const dataDir = mkdtempSync(join(tmpdir(), 'envmon-dash-'));
  let alarms = '';
  if (o.rules) {
    writeFileSync(join(dataDir, 'rules.yaml'), o.rules);
    alarms = `alarms: { rules: ${JSON.stringify(join(dataDir, 'rules.yaml'))}, tick_ms: 200 }\n`;
  }
  const config = parseIngestConfig(`${o.stations(secretHash)}
api:
  tokens:
    - { name: wall-screen, role: viewer, token_hash: "${sha256(TOKENS.viewer)}" }
    - { name: duty-officer, role: operator, token_hash: "${sha256(TOKENS.operator)}" }
${alarms}${o.extra ?? ''}`);
  const ingest = await startIngest({
    config,
    dataDir,
    httpPort: 0,
    mqttPort: 0,
    env: {},
    dashboardDir: ensureDashboardBuilt(),
    log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
  });
  return {
    ...ingest,
    dataDir,
    async cleanup() {
      await ingest.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An MQTT client that publishes as a station: birth status, then batches of readings. */
export async function stationClient(mqttUrl: string, station: string): Promise<{ client: MqttClient; send(readings: Reading[]): Promise<void>; close(): Promise<void> }> {
  const client = await mqtt.connectAsync(mqttUrl, { username: station, password: STATION_SECRET, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
  let seq = 0;
  await client.publishAsync(
    `envmon/v1/${station}/status`,
    Buffer.from(encodeStatus({ station, online: true, time: Date.now(), software: 'dashboard-test', outbox_depth: 0, outbox_oldest: 0, devices: [] })),
    { qos: 1, retain: true },
  );
  return {
    client,
    async send(readings) {
      await client.publishAsync(`envmon/v1/${station}/data`, Buffer.from(encodeBatch({ station, seq: ++seq, sent_at: Date.now(), readings })), { qos: 1 });
    },
    async close() {
      await client.endAsync();
    },
  };
}
