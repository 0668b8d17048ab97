import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { catalogue as defaultCatalogue } from '@envmon/protocol';
import pino, { type Logger } from 'pino';
import { startAlarmSystem, type AlarmSystem } from './alarms/system.ts';
import { createApp } from './api/app.ts';
import { TokenStore } from './api/auth.ts';
import { createHttpServer, listen } from './api/http-server.ts';
import { startBroker, type RunningBroker } from './broker/broker.ts';
import type { IngestConfig, StationConfig } from './config/config.ts';
import { resolveCluster } from './config/cluster-config.ts';
import { ClusterLive } from './cluster/live-relay.ts';
import { LiveHub } from './live/hub.ts';
import { createBridge } from './node-red/bridge.ts';
import { FLOW_FILE, nodeRedUserDir } from './node-red/config.ts';
import type { EmbeddedNodeRed } from './node-red/embed.ts';
import { exportFlows } from './node-red/flows-export.ts';
import { StationRegistry } from './live/station-registry.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import { Quarantine } from './pipeline/quarantine.ts';
import { Wal } from './pipeline/wal.ts';
import { WalWriter } from './pipeline/writer.ts';
import { openStoreFromEnv } from './store/index.ts';
import { startTt10Import, type Tt10Importer } from './tt10-import/importer.ts';
import type { Store } from './store/store.ts';

export interface IngestOptions {
  config: IngestConfig;
  /** All local state: WAL, quarantine, embedded store. */
  dataDir: string;
  httpHost?: string;
  /** 0 = any free port. */
  httpPort?: number;
  mqttHost?: string;
  mqttPort?: number;
  /** Override the TLS / WebSocket listener ports of `config.mqtt` (0 = free port). */
  mqttTlsPort?: number;
  mqttWsPort?: number;
  /** Defaults to the store chosen from INFLUX_* in `env` (embedded SQLite when INFLUX_URL is unset). */
  store?: Store;
  env?: NodeJS.ProcessEnv;
  dashboardDir?: string;
  log?: Logger;
}

export interface RunningIngest {
  httpUrl: string;
  mqttUrl: string;
  httpPort: number;
  mqttPort: number;
  /** Set when `config.mqtt.tls` / `config.mqtt.websocket` are. */
  mqttTlsPort: number | undefined;
  mqttWsPort: number | undefined;
  store: Store;
  wal: Wal;
  hub: LiveHub;
  pipeline: Pipeline;
  writer: WalWriter;
  /** Alarm engine and notifier, when the config has an `alarms` section. */
  alarms?: AlarmSystem;
  /** Embedded Node-RED under /flows, when `node_red.enabled` (src/node-red/README.md). */
  nodeRed?: EmbeddedNodeRed;
  /** Stops taking data, lets the writer finish its batch, closes everything. The WAL keeps what is left. */
  stop(): Promise<void>;
}

export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dashboards/dist/', import.meta.url));

/** Starts broker, pipeline, writer and HTTP API in this process. */
export async function startIngest(o: IngestOptions): Promise<RunningIngest> {
  const log = o.log ?? pino({ name: 'ingest' });
  mkdirSync(o.dataDir, { recursive: true });
  const catalogue = defaultCatalogue();
  const stations = new Map<string, StationConfig>(o.config.stations.map((s) => [s.id, s]));
  // Cluster mode (config `cluster:` or ENVMON_REDIS_URL): this instance's WAL, the shared store, one broker via Redis.
  const cluster = resolveCluster(o.config.cluster, o.env ?? process.env);

  const store = o.store ?? (await openStoreFromEnv(o.dataDir, o.env ?? process.env));
  if (cluster && store.kind === 'sqlite' && !cluster.allowLocalStore) {
    await store.close();
    throw new Error(
      'cluster mode needs one store shared by every instance: set INFLUX_URL (InfluxDB 1.x/2.x/3.x or VictoriaMetrics) — the embedded SQLite store is per machine (cluster.allow_local_store: true only for tests)',
    );
  }
  const wal = new Wal(join(o.dataDir, 'wal.sqlite'));
  const quarantine = new Quarantine(join(o.dataDir, 'quarantine.sqlite'));
  const hub = new LiveHub();
  // Cluster mode: /stream and the registry see every instance's readings; alarms and flows only this one's.
  const clusterLive = cluster ? new ClusterLive(hub, cluster.instanceId, log) : undefined;
  const liveHub = clusterLive?.hub ?? hub;
  const registry = new StationRegistry(o.config.stations, liveHub);
  for (const r of await store.latest()) registry.seedLastSeen(r.station, r.time);

  const maxWalReadings = o.config.wal.max_readings;
  const pipeline = new Pipeline({
    catalogue,
    stations,
    wal,
    quarantine,
    hub,
    log,
    maxFutureSkewMs: o.config.validation.max_future_skew_s * 1000,
    maxBackfillMs: o.config.validation.max_backfill_days * 86_400_000,
    maxWalReadings,
    staleAfterMs: o.config.validation.stale_after_s * 1000,
  });
  const writer = new WalWriter(wal, store, log, (reading, message) =>
    quarantine.add({
      station: reading.station,
      topic: `store:${store.kind}`,
      reason: 'store_rejected',
      detail: message,
      payload: Buffer.from(JSON.stringify(reading)),
    }),
  );
  writer.start();

  let broker: RunningBroker | undefined;
  let http: Server | undefined;
  let nodeRed: EmbeddedNodeRed | undefined;
  let alarms: AlarmSystem | undefined;
  let tt10Import: Tt10Importer | undefined;
  const nodeRedConfig = o.config.node_red?.enabled ? o.config.node_red : undefined;
  try {
    // TT10 files from third-party dataloggers go through the same pipeline as MQTT data.
    tt10Import = o.config.tt10_import ? startTt10Import({ config: o.config.tt10_import, pipeline, stations, catalogue, log }) : undefined;
    // Alarms subscribe to the hub before the broker accepts data; they only queue there (src/alarms/README.md).
    alarms = o.config.alarms
      ? await startAlarmSystem({
          config: o.config.alarms,
          dataDir: o.dataDir,
          // Cluster mode: each station's alarms are evaluated by its lease owner, from every instance's readings.
          hub: clusterLive ? { subscribe: (l) => clusterLive.hub.subscribe(l), publish: (e) => hub.publish(e) } : hub,
          stations: o.config.stations,
          store,
          env: o.env ?? process.env,
          log,
          ...(cluster ? { cluster: { redisUrl: cluster.redisUrl, instanceId: cluster.instanceId, leaseMs: cluster.alarmLeaseMs, discardLocalAlarms: cluster.discardLocalAlarms } } : {}),
        })
      : undefined;
    broker = await startBroker({
      stations,
      pipeline,
      hub,
      log,
      host: o.mqttHost ?? '127.0.0.1',
      port: o.mqttPort ?? 1883,
      mqtt: o.config.mqtt,
      ...(o.mqttTlsPort !== undefined ? { tlsPort: o.mqttTlsPort } : {}),
      ...(o.mqttWsPort !== undefined ? { wsPort: o.mqttWsPort } : {}),
      ...(cluster ? { cluster } : {}),
    });
    if (clusterLive && broker.backend) await clusterLive.attach(broker.backend.mq);
    // Cluster mode: compete for stations' alarm leases only now that every instance's readings arrive here.
    await alarms?.cluster?.takeStations();
    const app = createApp({
      store,
      hub: liveHub,
      registry,
      catalogue,
      quarantine,
      wal,
      writer,
      pipeline,
      storeKind: store.kind,
      maxWalReadings,
      connectedClients: () => (broker ? (broker.aedes as unknown as { connectedClients: number }).connectedClients : 0),
      ...(alarms ? { alarmStats: alarms.stats } : {}),
      dashboardDir: o.dashboardDir ?? DEFAULT_DASHBOARD_DIR,
      config: o.config,
      alarms: alarms ? { engine: alarms.engine, notifier: alarms.notifier, env: o.env ?? process.env } : undefined,
      flowsExport: nodeRedConfig ? () => exportFlows(join(nodeRedUserDir(nodeRedConfig, o.dataDir), FLOW_FILE)) : undefined,
    });
    // One server: /flows to Node-RED when it is on, the rest to Hono (api/http-server.ts).
    const httpServer = createHttpServer(app, () => nodeRed?.handle);
    if (nodeRedConfig) {
      const { startNodeRed } = await import('./node-red/embed.ts'); // not loaded at all when off
      const bridge = createBridge({ hub, pipeline, store, stations, catalogue });
      nodeRed = await startNodeRed({ server: httpServer, config: nodeRedConfig, dataDir: o.dataDir, tokens: new TokenStore(o.config.api.tokens), bridge, log, env: o.env ?? process.env });
    }
    http = await listen(httpServer, o.httpHost ?? '127.0.0.1', o.httpPort ?? 8080);
  } catch (err) {
    await nodeRed?.stop();
    await alarms?.stop();
    await tt10Import?.stop();
    await clusterLive?.close();
    await broker?.close();
    await writer.stop();
    wal.close();
    quarantine.close();
    await store.close();
    throw err;
  }
  const httpPort = (http.address() as AddressInfo).port;
  const httpHost = o.httpHost ?? '127.0.0.1';
  log.info({ httpPort, mqttPort: broker.port, store: store.kind, ...(cluster ? { instance: cluster.instanceId } : {}) }, 'ingest ready');

  let stopping: Promise<void> | undefined;
  const runningBroker = broker;
  const server = http;
  return {
    httpUrl: `http://${httpHost}:${httpPort}/`,
    mqttUrl: `mqtt://${o.mqttHost ?? '127.0.0.1'}:${runningBroker.port}`,
    httpPort,
    mqttPort: runningBroker.port,
    mqttTlsPort: runningBroker.tlsPort,
    mqttWsPort: runningBroker.wsPort,
    store,
    wal,
    hub,
    pipeline,
    writer,
    alarms,
    nodeRed,
    stop() {
      stopping ??= (async () => {
        await tt10Import?.stop();
        // Flows stop first: they may still be writing through the pipeline.
        await nodeRed?.stop();
        await clusterLive?.close();
        await runningBroker.close();
        // SSE connections stay open forever: close them so the server can stop.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await alarms?.stop();
        await writer.stop();
        wal.close();
        quarantine.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
