import mqtt, { type MqttClient } from 'mqtt';
import { decodeCommand, encodeBatch, encodeCommandResult, encodeStatus, topicFor, type Command, type CommandResult, type DeviceState, type StationStatus } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config.ts';
import { toWireBatch, type Outbox } from '../outbox/outbox.ts';

export interface PublisherOptions {
  config: GatewayConfig;
  outbox: Outbox;
  log: Logger;
  software: string;
  devices: () => DeviceState[];
  /** Answers a command received on envmon/v1/<station>/cmd; the result goes to cmd/result. */
  onCommand?: (cmd: Command) => Promise<CommandResult>;
  /** When the process started (uptime in the status), Unix ms. */
  startedAt?: number;
}

export interface Publisher {
  start(): void;
  /** Publishes online=false (retained), then disconnects. Unacknowledged batches stay in the outbox. */
  stop(): Promise<void>;
  connected(): boolean;
  /** Publishes the retained status now (if connected). */
  publishStatus(): void;
}

/**
 * Sends the outbox to the broker: protobuf batches, QoS 1, on envmon/v1/<station>/data.
 *
 * The outbox, not mqtt.js, is the source of truth. Each connection is a fresh mqtt.js client with automatic
 * reconnect off (so its in-memory store never resends behind our back); when it drops we wait with exponential
 * backoff and open a new one, which first resends every recorded, unacknowledged batch in seq order (same seq,
 * same content), then continues with new batches. At most `max_in_flight` batches are unacknowledged at once.
 * A batch leaves the outbox only in the publish callback without error, i.e. on PUBACK.
 */
export function createPublisher(opts: PublisherOptions): Publisher {
  const { config, outbox, software } = opts;
  const { station, broker, publish } = config;
  // Several URLs = instances of one clustered ingest: a failed or dropped connection moves to the next one.
  const urls = broker.urls && broker.urls.length > 0 ? broker.urls : [broker.url];
  let urlIndex = 0;
  let log = opts.log.child({ broker: redactUrl(urls[0]!) });
  const dataTopic = topicFor(station, 'data');
  const statusTopic = topicFor(station, 'status');
  const cmdTopic = topicFor(station, 'cmd');
  const resultTopic = topicFor(station, 'cmd/result');
  const startedAt = opts.startedAt ?? Date.now();
  // Token bucket on readings per second: a long outage's backlog is replayed at a bounded rate, so the uplink
  // and the ingest are not flooded and live data keeps flowing between the replayed batches.
  let tokens = publish.maxReadingsPerS;
  let tokensAt = Date.now();
  const takeTokens = (): number => {
    const t = Date.now();
    tokens = Math.min(publish.maxReadingsPerS, tokens + ((t - tokensAt) / 1000) * publish.maxReadingsPerS);
    tokensAt = t;
    return Math.floor(tokens);
  };

  let client: MqttClient | undefined; // the current connection, undefined while waiting to reconnect
  let sentOnThisConnection = new Set<number>();
  let failures = 0;
  let stopped = true;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pumpTimer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;

  const status = (online: boolean): Buffer => {
    const s: StationStatus = {
      station,
      online,
      time: Date.now(),
      software,
      outbox_depth: outbox.depth(),
      outbox_oldest: outbox.oldest(),
      devices: online ? opts.devices() : [],
      uptime_s: Math.floor((Date.now() - startedAt) / 1000),
      outbox_dropped: outbox.dropped(),
    };
    return Buffer.from(encodeStatus(s));
  };

  function connect(): void {
    if (stopped) return;
    const url = urls[urlIndex]!;
    log = opts.log.child({ broker: redactUrl(url) });
    const c = mqtt.connect(url, {
      protocolVersion: 4, // Aedes 1.2 speaks MQTT 3.1.1 only
      clean: true, // redelivery is the outbox's job, not the broker session's
      clientId: `envmon-gw-${station}`,
      username: broker.username,
      ...(broker.password !== undefined ? { password: broker.password } : {}),
      keepalive: broker.keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // No 65,536-Buffer number cache kept for the life of the process (≈ 7 MB of heap on a Pi).
      writeCache: false,
      will: { topic: statusTopic, payload: status(false), qos: 1, retain: true },
    });
    client = c;
    sentOnThisConnection = new Set();
    c.on('connect', () => {
      if (client !== c) return;
      if (failures > 0) log.info({ after_attempts: failures }, 'mqtt reconnected');
      else log.info('mqtt connected');
      failures = 0;
      c.publish(statusTopic, status(true), { qos: 1, retain: true });
      if (opts.onCommand) c.subscribe(cmdTopic, { qos: 1 });
      pump();
    });
    c.on('message', (topic, payload) => {
      if (topic !== cmdTopic || !opts.onCommand) return;
      let cmd: Command;
      try {
        cmd = decodeCommand(payload);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'undecodable command ignored');
        return;
      }
      log.info({ id: cmd.id, name: cmd.name, args: cmd.args }, 'command received');
      void opts.onCommand(cmd)
        .catch((err: unknown): CommandResult => ({ id: cmd.id, ok: false, message: `failed: ${(err as Error).message}`, time: Date.now() }))
        .then((result) => {
          log.info({ id: result.id, ok: result.ok, message: result.message }, 'command answered');
          // Answered on the connection current now (the command's may have dropped meanwhile).
          client?.publish(resultTopic, Buffer.from(encodeCommandResult(result)), { qos: 1 });
        });
    });
    c.on('error', (err) => {
      // 'close' follows; log once per outage, not once per attempt.
      if (failures === 0) log.warn({ err: err.message }, 'mqtt error');
    });
    c.on('close', () => {
      if (client !== c) return;
      client = undefined;
      c.end(true);
      if (stopped) return;
      failures++;
      if (failures === 1) log.warn({ outbox_depth: outbox.depth() }, 'mqtt connection lost; readings stay in the outbox');
      // Next URL at once (after the minimum delay); the exponential backoff grows per full round of the list.
      urlIndex = (urlIndex + 1) % urls.length;
      const round = Math.ceil(failures / urls.length);
      const delay = urls.length > 1 && failures % urls.length !== 0 ? backoff(1, broker.reconnectMinMs, broker.reconnectMaxMs) : backoff(round, broker.reconnectMinMs, broker.reconnectMaxMs);
      if (urls.length > 1) log.info({ next: redactUrl(urls[urlIndex]!), in_ms: delay }, 'trying the next broker');
      reconnectTimer = setTimeout(connect, delay);
    });
  }

  function send(c: MqttClient, seq: number): void {
    const b = outbox.batch(seq);
    if (!b) return; // acknowledged meanwhile (a late PUBACK from the previous connection)
    sentOnThisConnection.add(seq);
    c.publish(dataTopic, Buffer.from(encodeBatch(toWireBatch(station, b))), { qos: 1 }, (err) => {
      // No error means the PUBACK arrived, even if this client has since been replaced: the broker has it.
      if (err) return;
      outbox.ack(seq);
      pump();
    });
  }

  /** Fills the in-flight window: unsent recorded batches first (oldest seq first), then new ones. */
  function pump(): void {
    const c = client;
    if (!c?.connected || stopped) return;
    const open = outbox.openBatches();
    for (const seq of open) if (!sentOnThisConnection.has(seq)) send(c, seq);
    let inFlight = open.length;
    while (inFlight < publish.maxInFlight) {
      const allowed = Math.min(publish.maxBatch, takeTokens());
      if (allowed < 1) break;
      const t = Date.now();
      const seq = outbox.createBatch(allowed, t, t - publish.replayAfterMs);
      if (seq === undefined) break;
      tokens -= outbox.batchSize(seq);
      send(c, seq);
      inFlight++;
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      connect();
      pumpTimer = setInterval(pump, publish.intervalMs);
      statusTimer = setInterval(() => {
        if (client?.connected) client.publish(statusTopic, status(true), { qos: 1, retain: true });
      }, publish.statusIntervalMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(reconnectTimer);
      clearInterval(pumpTimer);
      clearInterval(statusTimer);
      const c = client;
      client = undefined;
      if (!c) return;
      if (c.connected) {
        // A clean stop sends no will, so say "offline" ourselves; give the broker a moment to acknowledge.
        await Promise.race([c.publishAsync(statusTopic, status(false), { qos: 1, retain: true }).catch(() => {}), sleep(1000)]);
      }
      // end(false) sends DISCONNECT but first waits for every in-flight PUBACK; those batches are safe in the
      // outbox, so after a short wait the socket is simply closed.
      const ended = await Promise.race([c.endAsync(false).then(() => true, () => true), sleep(500).then(() => false)]);
      if (!ended) c.stream?.destroy();
    },
    connected: () => client?.connected === true,
    publishStatus() {
      if (client?.connected) client.publish(statusTopic, status(true), { qos: 1, retain: true });
    },
  };
}

/** Exponential backoff with ±20 % jitter, so a fleet that lost the broker together does not return together. */
export function backoff(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

/** The broker URL without credentials, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
