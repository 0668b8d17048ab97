import { renameSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { ConfigError } from '@envmon/hardware';
import type { Command, CommandResult, DeviceState, Reading } from '@envmon/protocol';
import { createAcquisition, type Acquisition } from './acquisition.ts';
import { createAverager, type Averager } from './averaging.ts';
import { createCalibration, type Calibration } from './calibration.ts';
import { deviceParams, parseGatewayConfig, type GatewayConfig } from './config.ts';
import { startLocalHttp, type LocalHttp } from './http/local-http.ts';
import { OUTBOX_FILE, openOutbox } from './outbox/outbox.ts';
import { createPublisher } from './publish/mqtt-publisher.ts';

export const GATEWAY_VERSION = 'envmon-gateway 0.2.0';

export interface GatewayOptions {
  /** pino logger (default: silent). Never receives the broker password. */
  log?: Logger;
  /** The clock for reading timestamps, Unix ms (default Date.now). */
  now?: () => number;
  /** The config file: `reload_config` re-reads it, or replaces it (validated, with a backup) when given YAML. */
  configPath?: string;
  /** Environment for reloads (password_env, ENVMON_DATA_DIR); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Firmata io per device id (tests); default firmata-io on the device's serial port. */
  firmataIo?: (deviceId: string) => unknown;
}

export interface Health {
  station: string;
  software: string;
  uptime_s: number;
  outbox_depth: number;
  outbox_oldest: number;
  /** Age of the oldest unsent reading, seconds (0 when the outbox is empty). */
  outbox_oldest_age_s: number;
  outbox_dropped: number;
  mqtt_connected: boolean;
  devices: DeviceState[];
  buses: ReturnType<Acquisition['busStats']>;
  calibrating: string[];
}

export interface RunningGateway {
  stop(): Promise<void>;
  /** Readings not yet acknowledged by the broker. */
  outboxDepth(): number;
  health(): Health;
  /** Handles a command as if it came over MQTT (the MQTT path calls this too). */
  command(cmd: Command): Promise<CommandResult>;
  /** The local HTTP server's port, when `http:` is configured. */
  httpPort(): number | undefined;
  /** The config in force (changes on a successful reload). */
  config(): GatewayConfig;
  /** The SQLite file holding the outbox and archive (read it with openArchive). */
  readonly dbPath: string;
}

const DAY_MS = 86_400_000;

/**
 * Starts a station gateway: acquisition (buses and device pollers) → calibration status → outbox (raw samples and
 * their 1- and 5-minute means, one transaction per poll) → publisher; bounds on the outbox; TT10 files; the local
 * HTTP query server; MQTT commands. Order on stop: acquisition first (no reading after the outbox closes), then the
 * publisher, then the DB.
 */
export async function startGateway(initial: GatewayConfig, opts: GatewayOptions = {}): Promise<RunningGateway> {
  let config = initial;
  const startedAt = Date.now();
  const now = opts.now ?? Date.now;
  const log = (opts.log ?? pino({ level: 'silent' })).child({ station: config.station });
  const dbPath = join(config.dataDir, OUTBOX_FILE);
  const outbox = openOutbox(dbPath, config.station);

  const housekeeping = (): void => {
    const n = outbox.prune(Date.now() - config.archiveDays * DAY_MS);
    if (n > 0) log.info({ deleted: n, archive_days: config.archiveDays }, 'archive pruned');
  };
  const bounds = (): void => {
    const dropped = outbox.enforceBounds(config.outbox.maxReadings, Date.now() - config.outbox.maxAgeMs);
    if (dropped > 0) {
      log.warn({ dropped, dropped_total: outbox.dropped(), max_readings: config.outbox.maxReadings, max_age_ms: config.outbox.maxAgeMs }, 'outbox full: oldest unsent readings dropped (they stay in the local archive)');
    }
  };
  housekeeping();
  bounds();
  const pruneTimer = setInterval(housekeeping, DAY_MS / 4);

  let calibration: Calibration = createCalibration(config.calibration, config.utcOffsetMin);
  let averager: Averager = makeAverager(config);
  let acq: Acquisition = await makeAcquisition(config);
  let inserted = 0;
  // Group commit, one transaction (one fsync) per poll slot: devices share aligned slots, but the polls of one
  // slot finish spread out (an RTU bus answers one slave after the other, ≈ 30 ms each at 19200 baud). A group is
  // written once no poll has joined it for GROUP_QUIET_MS, and at the latest GROUP_MAX_MS after its first poll.
  // A kill -9 can lose at most the last GROUP_MAX_MS of readings not yet written (never acknowledged upstream:
  // the publisher only sends what is in the outbox); everything written is durable (synchronous=FULL).
  const GROUP_QUIET_MS = 50;
  const GROUP_MAX_MS = 250;
  let pending: Reading[] = [];
  let groupTimer: NodeJS.Timeout | undefined;
  let groupFirst = 0;
  let groupLast = 0;
  const flushGroup = (): void => {
    groupTimer = undefined;
    if (pending.length === 0) return;
    const rs = pending;
    pending = [];
    store(rs);
  };
  // One timer per group, re-armed only when a poll joined meanwhile (no clearTimeout/setTimeout per poll).
  const groupDue = (): void => {
    const t = performance.now();
    const due = Math.min(groupLast + GROUP_QUIET_MS, groupFirst + GROUP_MAX_MS);
    if (t + 1 < due) groupTimer = setTimeout(groupDue, due - t);
    else flushGroup();
  };
  const joinGroup = (): void => {
    groupLast = performance.now();
    if (groupTimer) return;
    groupFirst = groupLast;
    groupTimer = setTimeout(groupDue, GROUP_QUIET_MS);
  };

  function makeAverager(c: GatewayConfig): Averager {
    const interval = new Map<string, number>();
    for (const d of c.devices) for (const p of deviceParams(d)) interval.set(p, d.pollIntervalMs);
    return createAverager(c.averaging, (param) => interval.get(param) ?? 10_000);
  }

  function store(readings: Reading[]): void {
    outbox.insert(readings);
    inserted += readings.length;
    // Bounds are checked every ~1000 readings (and every 10 s): cheap, and a bound is never far exceeded.
    if (inserted >= 1000) {
      inserted = 0;
      bounds();
    }
  }

  function makeAcquisition(c: GatewayConfig): Promise<Acquisition> {
    return createAcquisition({
      config: c,
      log,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.firmataIo ? { firmataIo: opts.firmataIo } : {}),
      onReadings: (raw) => {
        const readings = calibration.apply(raw);
        pending.push(...readings, ...averager.add(readings));
        joinGroup();
      },
    });
  }
  const meanTimer = setInterval(() => {
    const means = averager.flush(now());
    if (means.length > 0) store(means);
    bounds();
  }, 10_000);
  meanTimer.unref();
  const meanFlushFast = setInterval(() => {
    const means = averager.flush(now());
    if (means.length > 0) store(means);
  }, 1000);

  const devices = (): DeviceState[] => acq.pollers.map((p) => p.state());
  const health = (): Health => {
    const oldest = outbox.oldest();
    return {
      station: config.station,
      software: GATEWAY_VERSION,
      uptime_s: Math.floor((Date.now() - startedAt) / 1000),
      outbox_depth: outbox.depth(),
      outbox_oldest: oldest,
      outbox_oldest_age_s: oldest > 0 ? Math.max(0, Math.floor((Date.now() - oldest) / 1000)) : 0,
      outbox_dropped: outbox.dropped(),
      mqtt_connected: publisher.connected(),
      devices: devices(),
      buses: acq.busStats(),
      calibrating: calibration.active(now()),
    };
  };

  const publisher = createPublisher({ config, outbox, log, software: GATEWAY_VERSION, devices, startedAt, onCommand: (cmd) => command(cmd) });

  let reloading = false;
  async function command(cmd: Command): Promise<CommandResult> {
    const done = (ok: boolean, message: string): CommandResult => ({ id: cmd.id, ok, message, time: Date.now() });
    const args = cmd.args ?? {};
    switch (cmd.name) {
      case 'ping': {
        const h = health();
        return done(true, `pong ${GATEWAY_VERSION} uptime ${h.uptime_s}s outbox ${h.outbox_depth}`);
      }
      case 'calibrate': {
        const params = (args.param ?? args.params ?? '').split(',').map((p) => p.trim()).filter(Boolean);
        const known = new Set(config.devices.flatMap(deviceParams));
        if (params.length === 0) return done(false, 'calibrate needs args.param (a parameter code, or several separated by commas)');
        const unknown = params.filter((p) => !known.has(p));
        if (unknown.length > 0) return done(false, `not read by this station: ${unknown.join(', ')} (it reads ${[...known].sort().join(', ')})`);
        const on = (args.on ?? 'true') !== 'false';
        const minutes = args.duration_min === undefined ? undefined : Number(args.duration_min);
        if (minutes !== undefined && !(minutes > 0 && minutes <= 24 * 60)) return done(false, 'duration_min must be 1..1440');
        for (const p of params) calibration.set(p, on, minutes === undefined ? undefined : now() + minutes * 60_000);
        publisher.publishStatus();
        return done(true, on ? `calibrating ${params.join(', ')}${minutes ? ` for ${minutes} min` : ' until calibrate on=false'}` : `calibration ended for ${params.join(', ')}`);
      }
      case 'reload_config':
        if (reloading) return done(false, 'a reload is already in progress');
        reloading = true;
        try {
          return await reload(args, done);
        } finally {
          reloading = false;
        }
      default:
        return done(false, `unknown command "${cmd.name}"; use ping, calibrate or reload_config`);
    }
  }

  /**
   * reload_config: validate the new config (the file, or `args.yaml`), refuse what cannot change in a running
   * gateway (station, data_dir), then swap the acquisition and watch it for `args.check_ms` (default 5000): if no
   * device of the new config answers while the old one had answering devices, roll back to the old config.
   * A new YAML is written over the config file (the old one kept as .bak) only once the new config has proved itself.
   */
  async function reload(args: Record<string, string>, done: (ok: boolean, m: string) => CommandResult): Promise<CommandResult> {
    const path = opts.configPath;
    if (!path && args.yaml === undefined) return done(false, 'no config file to reload (started without configPath) and no args.yaml');
    let text = args.yaml;
    const fileName = path ?? 'reload.yaml';
    let next: GatewayConfig;
    try {
      if (text === undefined) text = (await import('node:fs')).readFileSync(path!, 'utf8');
      next = parseGatewayConfig(text, fileName, { env: opts.env ?? process.env, baseDir: path ? dirname(resolve(path)) : process.cwd() });
    } catch (err) {
      const why = err instanceof ConfigError ? err.issues.map((i) => `${i.line !== undefined ? `line ${i.line} ` : ''}${i.path}: ${i.message}`).join('; ') : (err as Error).message;
      log.warn({ err: why }, 'reload refused: invalid config');
      return done(false, `invalid config, nothing changed: ${why}`);
    }
    if (next.station !== config.station) return done(false, `invalid config, nothing changed: station ${next.station} differs from the running ${config.station}`);
    if (next.dataDir !== config.dataDir) return done(false, `invalid config, nothing changed: data_dir cannot change while running (${config.dataDir})`);

    const oldAnswering = devices().some((d) => d.last_ok > 0);
    const old = { config, acq, calibration, averager };
    await acq.stop();
    try {
      config = next;
      calibration = createCalibration(next.calibration, next.utcOffsetMin);
      averager = makeAverager(next);
      acq = await makeAcquisition(next);
      acq.start();
    } catch (err) {
      await rollback(old);
      return done(false, `new config failed to start, rolled back: ${(err as Error).message}`);
    }
    const checkMs = Math.min(60_000, Math.max(0, Number(args.check_ms ?? 5000)));
    const until = Date.now() + checkMs;
    while (Date.now() < until && !devices().some((d) => d.last_ok > 0)) await new Promise((r) => setTimeout(r, 50));
    if (oldAnswering && !devices().some((d) => d.last_ok > 0)) {
      const errors = devices().map((d) => `${d.device}: ${d.error || 'no answer'}`).join('; ');
      await acq.stop();
      await rollback(old);
      log.warn({ errors }, 'reload rolled back: no device answered with the new config');
      return done(false, `rolled back: no device answered within ${checkMs} ms with the new config (${errors})`);
    }
    if (args.yaml !== undefined && path) {
      if (existsSync(path)) copyFileSync(path, `${path}.bak`);
      writeFileSync(`${path}.tmp`, args.yaml);
      renameSync(`${path}.tmp`, path);
    }
    log.info({ devices: next.devices.map((d) => d.id) }, 'config reloaded');
    return done(true, `config reloaded: ${next.devices.length} devices (${next.devices.map((d) => d.id).join(', ')}); broker, publish and http changes take effect at the next restart`);
  }

  async function rollback(old: { config: GatewayConfig; acq: Acquisition; calibration: Calibration; averager: Averager }): Promise<void> {
    config = old.config;
    calibration = old.calibration;
    averager = old.averager;
    acq = await makeAcquisition(old.config); // a stopped acquisition cannot restart: build the old one anew
    acq.start();
  }

  log.info({ data_dir: config.dataDir, devices: config.devices.map((d) => d.id), outbox_depth: outbox.depth(), open_batches: outbox.openBatches().length }, 'gateway starting');
  publisher.start();
  acq.start();
  // TT10 files (and their FTP/SFTP clients: basic-ftp, ssh2) are loaded only when configured.
  const tt10 = config.tt10 ? (await import('./tt10/exporter.ts')).createTt10Exporter({ config: config.tt10, dbPath, dir: join(config.dataDir, 'tt10'), archiveDays: config.archiveDays, meanPeriodsS: () => config.averaging, log: log.child({ part: 'tt10' }), ...(opts.now ? { now: opts.now } : {}) }) : undefined;
  tt10?.start();
  const http: LocalHttp | undefined = config.http ? await startLocalHttp({ ...config.http, dbPath, health, log }) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    dbPath,
    outboxDepth: () => outbox.depth(),
    health,
    command,
    httpPort: () => http?.port,
    config: () => config,
    stop() {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        clearInterval(meanTimer);
        clearInterval(meanFlushFast);
        await acq.stop();
        clearTimeout(groupTimer);
        flushGroup();
        await http?.stop();
        await publisher.stop();
        await tt10?.stop();
        log.info({ outbox_depth: outbox.depth() }, 'gateway stopped');
        outbox.close();
      })();
      return stopping;
    },
  };
}
