import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { decodeStatus, parseTopic, TOPIC_ROOT } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { StationConfig } from '../config/config.ts';
import type { MqttConfig, ReaderConfig } from '../config/mqtt-config.ts';
import { guardPacketSize } from './packet-size-guard.ts';
import { filterCovers } from './topic-filter.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { verifySecret } from './secrets.ts';
import type { ClusterSettings } from '../config/cluster-config.ts';
import { closeClusteredBroker, openRedisBackend, type RedisBackend } from '../cluster/redis-backend.ts';

export interface BrokerOptions {
  stations: ReadonlyMap<string, StationConfig>;
  pipeline: Pipeline;
  hub: LiveHub;
  log: Logger;
  host: string;
  port: number;
  mqtt: MqttConfig;
  /** Ports override the config's (tests pass 0 for free ports). */
  tlsPort?: number;
  wsPort?: number;
  /** Cluster mode (issue 10): subscriptions, retained messages, sessions and the message bus in this Redis. */
  cluster?: ClusterSettings;
}

export interface RunningBroker {
  aedes: Aedes;
  server: Server;
  port: number;
  tlsPort: number | undefined;
  wsPort: number | undefined;
  /** The Redis message bus and persistence, in cluster mode. */
  backend: RedisBackend | undefined;
  close(): Promise<void>;
}

/** The identity a connection proved at CONNECT, kept beside the Aedes client. */
type Identity = { kind: 'station'; station: string } | { kind: 'reader'; name: string; topics: string[] };
const identities = new WeakMap<Client, Identity>();

const BAD_CREDENTIALS = 4; // MQTT 3.1.1 CONNACK "bad user name or password"
const NOT_AUTHORIZED = 5;

/**
 * Aedes with station authentication (scrypt-hashed secrets), a topic ACL (a station publishes only in its own
 * subtree and subscribes only to its own commands) and the durable data path: for QoS 1 Aedes sends the PUBACK
 * right after `authorizePublish` calls back, so that hook is where a data message is validated and committed to
 * the WAL. It calls back with an error only for ACL violations, never for bad content.
 */
export async function startBroker(o: BrokerOptions): Promise<RunningBroker> {
  const readers = new Map<string, ReaderConfig>(o.mqtt.readers.map((r) => [r.username, r]));
  // Cluster mode: a publish on any instance reaches subscribers on all, sessions follow a client to any instance.
  // Data is still committed only by the instance the station publishes to (authorizePublish below).
  const backend = o.cluster ? openRedisBackend({ url: o.cluster.redisUrl }) : undefined;
  const aedes = await Aedes.createBroker({
    ...(o.cluster && backend ? { id: o.cluster.instanceId, mq: backend.mq, persistence: backend.persistence } : {}),
    // Messages processed in parallel per broker; each waits for a WAL group commit, so more in flight = bigger commits.
    concurrency: 1000,
    // A subscriber that stops reading is dropped after this long instead of stalling delivery to everyone.
    drainTimeout: 30_000,
    connectTimeout: 10_000,
    heartbeatInterval: 60_000,
    keepaliveLimit: o.mqtt.keepalive_limit_s,
    maxClientsIdLength: 64,

    authenticate(client, username, password, done) {
      const fail = (code: number) => {
        const err = new Error('bad user name or password') as AuthenticateError;
        (err as { returnCode: number }).returnCode = code;
        done(err, false);
      };
      const station = username ? o.stations.get(username) : undefined;
      const reader = !station && username ? readers.get(username) : undefined;
      const hash = station?.secret_hash ?? reader?.secret_hash;
      if (!hash || !password) {
        o.log.warn({ clientId: client.id, username }, 'MQTT connection refused: unknown user or no password');
        return fail(BAD_CREDENTIALS);
      }
      verifySecret(password.toString('utf8'), hash).then(
        (ok) => {
          if (!ok) {
            o.log.warn({ clientId: client.id, username }, 'MQTT connection refused: wrong secret');
            return fail(BAD_CREDENTIALS);
          }
          identities.set(
            client,
            station ? { kind: 'station', station: station.id } : { kind: 'reader', name: reader!.username, topics: reader!.topics },
          );
          done(null, true);
        },
        () => fail(NOT_AUTHORIZED),
      );
    },

    authorizePublish(client, packet, callback) {
      // client is null for messages the broker publishes itself.
      if (!client) return callback(null);
      const who = identities.get(client);
      const topic = parseTopic(packet.topic);
      // Readers never publish; a station only in its own subtree, and never its own commands.
      if (!who || who.kind !== 'station' || !topic || topic.station !== who.station || topic.kind === 'cmd') {
        const name = who?.kind === 'station' ? who.station : who?.name;
        o.log.warn({ station: name, topic: packet.topic.slice(0, 200) }, 'publish refused by ACL');
        return callback(new Error(`${name ?? '?'} may not publish to ${packet.topic.slice(0, 200)}`));
      }
      if (topic.kind !== 'data') {
        if (topic.kind === 'status') publishStatus(o, topic.station, packet.payload as Buffer);
        return callback(null);
      }
      o.pipeline.handleData(topic.station, packet.topic, packet.payload as Buffer).then(
        () => callback(null),
        (err: Error) => {
          // Only a WAL failure (disk full, I/O error) lands here: refuse, so the client keeps and resends it.
          o.log.error({ err: err.message, station: topic.station }, 'WAL append failed: not acknowledging');
          callback(err);
        },
      );
    },

    authorizeSubscribe(client, sub, callback) {
      const who = identities.get(client);
      const allowed =
        who?.kind === 'station'
          ? sub.topic === `${TOPIC_ROOT}/${who.station}/cmd`
          : who?.kind === 'reader' && who.topics.some((t) => filterCovers(t, sub.topic));
      if (!allowed) {
        o.log.warn({ user: who?.kind === 'station' ? who.station : who?.name, topic: sub.topic }, 'subscribe refused by ACL');
        // A negative SUBACK (0x80), not a disconnect: the client learns which filter was refused and keeps the rest.
        return callback(null, null);
      }
      callback(null, sub);
    },
  });

  const maxPacket = o.mqtt.max_packet_bytes;
  const handleGuarded = (socket: Socket) => {
    guardPacketSize(socket, maxPacket, (announced) => {
      o.log.warn({ remote: socket.remoteAddress, announced, max: maxPacket }, 'MQTT packet too large: connection closed');
      socket.destroy();
    });
    aedes.handle(socket);
  };
  const server = createServer(handleGuarded);
  const port = await listen(server, o.port, o.host);
  o.log.info({ port }, 'MQTT broker listening');

  let tlsServer: Server | undefined;
  let tlsPort: number | undefined;
  if (o.mqtt.tls) {
    const t = o.mqtt.tls;
    tlsServer = createTlsServer(
      {
        cert: readFileSync(t.cert_file),
        key: readFileSync(t.key_file),
        ...(t.ca_file ? { ca: readFileSync(t.ca_file), requestCert: true, rejectUnauthorized: true } : {}),
      },
      handleGuarded,
    );
    tlsPort = await listen(tlsServer, o.tlsPort ?? t.port, o.host);
    o.log.info({ port: tlsPort }, 'MQTT over TLS listening');
  }

  let wsHttp: ReturnType<typeof createHttpServer> | undefined;
  let wss: WebSocketServer | undefined;
  let wsPort: number | undefined;
  if (o.mqtt.websocket) {
    wsHttp = createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n'));
    wss = new WebSocketServer({ server: wsHttp, path: o.mqtt.websocket.path, maxPayload: maxPacket + 8 });
    wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)));
    wsPort = await listen(wsHttp, o.wsPort ?? o.mqtt.websocket.port, o.host);
    o.log.info({ port: wsPort, path: o.mqtt.websocket.path }, 'MQTT over WebSocket listening');
  }

  return {
    aedes,
    server,
    port,
    tlsPort,
    wsPort,
    backend,
    async close() {
      // Aedes first: it ends the client connections that server.close() would otherwise wait for.
      if (backend) await closeClusteredBroker(aedes, backend);
      else await new Promise<void>((resolve) => aedes.close(() => resolve()));
      wss?.close();
      await Promise.all(
        [server, tlsServer, wsHttp].map((s) => (s ? new Promise<void>((resolve) => s.close(() => resolve())) : undefined)),
      );
    },
  };
}

async function listen(server: Server | ReturnType<typeof createHttpServer>, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

function publishStatus(o: BrokerOptions, station: string, payload: Buffer): void {
  try {
    const s = decodeStatus(payload);
    o.hub.publish({ type: 'status', station, online: s.online, time: Number(s.time) || Date.now() });
  } catch (err) {
    o.log.warn({ station, err: (err as Error).message }, 'undecodable station status ignored');
  }
}
