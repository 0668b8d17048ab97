import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { GatewayConfig } from './config.ts';
import { createDevicePoller, type DevicePoller } from './modbus/device-poller.ts';
import { OUTBOX_FILE, openOutbox } from './outbox/outbox.ts';
import { createPublisher } from './publish/mqtt-publisher.ts';
import { createTt10Exporter } from './tt10/exporter.ts';

export const GATEWAY_VERSION = 'envmon-gateway 0.1.0';

export interface GatewayOptions {
  /** pino logger (default: silent). Never receives the broker password. */
  log?: Logger;
  /** The clock for reading timestamps, Unix ms (default Date.now). */
  now?: () => number;
}

export interface RunningGateway {
  stop(): Promise<void>;
  /** Readings not yet acknowledged by the broker. */
  outboxDepth(): number;
  /** The SQLite file holding the outbox and archive (read it with openArchive). */
  readonly dbPath: string;
}

const DAY_MS = 86_400_000;

/**
 * Starts a station gateway: one poller per device writing into the outbox, one publisher draining it.
 * Order on stop: pollers first (no reading is produced after the outbox closes), then the publisher, then the DB.
 */
export async function startGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<RunningGateway> {
  const log = (opts.log ?? pino({ level: 'silent' })).child({ station: config.station });
  const dbPath = join(config.dataDir, OUTBOX_FILE);
  const outbox = openOutbox(dbPath, config.station);
  const prune = (): void => {
    const n = outbox.prune(Date.now() - config.archiveDays * DAY_MS);
    if (n > 0) log.info({ deleted: n, archive_days: config.archiveDays }, 'archive pruned');
  };
  prune();
  const pruneTimer = setInterval(prune, DAY_MS / 4);

  const pollers: DevicePoller[] = config.devices.map((device) =>
    createDevicePoller({
      device,
      log,
      ...(opts.now ? { now: opts.now } : {}),
      onReadings: (readings) => outbox.insert(readings),
    }),
  );
  const publisher = createPublisher({
    config,
    outbox,
    log,
    software: GATEWAY_VERSION,
    devices: () => pollers.map((p) => p.state()),
  });
  log.info({ data_dir: config.dataDir, devices: config.devices.map((d) => d.id), outbox_depth: outbox.depth(), open_batches: outbox.openBatches().length }, 'gateway starting');
  publisher.start();
  for (const p of pollers) p.start();
  const tt10 = config.tt10 ? createTt10Exporter({ config: config.tt10, dbPath, dir: join(config.dataDir, 'tt10'), archiveDays: config.archiveDays, log: log.child({ part: 'tt10' }), ...(opts.now ? { now: opts.now } : {}) }) : undefined;
  tt10?.start();

  let stopping: Promise<void> | undefined;
  return {
    dbPath,
    outboxDepth: () => outbox.depth(),
    stop() {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        await Promise.all(pollers.map((p) => p.stop()));
        await publisher.stop();
        await tt10?.stop();
        log.info({ outbox_depth: outbox.depth() }, 'gateway stopped');
        outbox.close();
      })();
      return stopping;
    },
  };
}
