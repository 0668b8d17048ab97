import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { decodeBatch, decodeStatus, type Batch, type StationStatus } from '@envmon/protocol';

/** A real Aedes broker on loopback; `restart()` brings it back on the same port after `stop()`. */
export interface TestBroker {
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * `admit(clientId)` decides at each connection whether a client may in (refused clients retry).
 * `ackDelayMs` holds each data PUBACK back (Aedes acknowledges right after `authorizePublish`), as a slow uplink
 * would: batches then stay in flight long enough for a test to catch them there.
 */
export async function startBroker(port = 0, opts: { ackDelayMs?: number; admit?: (clientId: string) => boolean } = {}): Promise<TestBroker> {
  let broker: Aedes | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const up = async (p: number): Promise<number> => {
    const delay = opts.ackDelayMs ?? 0;
    broker = await Aedes.createBroker({
      // `admit` lets a test keep a client out for a while (refused connections are retried by the client).
      preConnect: (_client, packet, done) => done(null, opts.admit ? opts.admit(packet.clientId) : true),
      authorizePublish: (_client, packet, done) => {
        if (delay > 0 && packet.topic.endsWith('/data')) setTimeout(() => done(null), delay);
        else done(null);
      },
    });
    const b = broker;
    server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      b.handle(s);
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(p, '127.0.0.1', () => resolve());
    });
    const addr = srv.address();
    return typeof addr === 'object' && addr ? addr.port : p;
  };
  const actualPort = await up(port);
  const api: TestBroker = {
    port: actualPort,
    async stop() {
      const b = broker;
      const srv = server;
      broker = undefined;
      server = undefined;
      for (const s of sockets) s.destroy();
      if (srv) await new Promise<void>((r) => srv.close(() => r()));
      if (b) await new Promise<void>((r) => b.close(() => r()));
    },
    async restart() {
      await up(actualPort);
    },
  };
  return api;
}

/** An independent subscriber that records every batch and status message of a station. */
export interface Collector {
  batches: Batch[];
  statuses: StationStatus[];
  stop(): Promise<void>;
}

export async function collect(port: number, station: string): Promise<Collector> {
  const batches: Batch[] = [];
  const statuses: StationStatus[] = [];
  const client: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: `collector-${process.pid}-${Math.random()}`, reconnectPeriod: 100 });
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/data')) batches.push(decodeBatch(payload));
    else if (topic.endsWith('/status')) statuses.push(decodeStatus(payload));
  });
  await client.subscribeAsync([`envmon/v1/${station}/data`, `envmon/v1/${station}/status`], { qos: 1 });
  return {
    batches,
    statuses,
    async stop() {
      await client.endAsync(true);
    },
  };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The identity of a reading: the store is idempotent on (station, param, time). */
export const keyOf = (r: { param: string; time: number }): string => `${r.param}@${r.time}`;

/** A gateway config for tests: fast polls, fast publishing, quick reconnects. */
export function testConfig(o: { station: string; brokerPort: number; dataDir: string; devices: { id: string; profile: string; port: number }[]; pollMs?: number; maxBatch?: number }): string {
  return `station: ${o.station}
broker:
  url: mqtt://127.0.0.1:${o.brokerPort}
  password: not-checked-by-the-test-broker
  reconnect_min_ms: 100
  reconnect_max_ms: 400
data_dir: ${o.dataDir}
publish: { max_batch: ${o.maxBatch ?? 500}, interval_ms: 50, max_in_flight: 4 }
devices:
${o.devices.map((d) => `  - { id: ${d.id}, profile: ${d.profile}, transport: { kind: tcp, host: 127.0.0.1, port: ${d.port} }, poll_interval_ms: ${o.pollMs ?? 100}, timeout_ms: 500 }`).join('\n')}
`;
}
