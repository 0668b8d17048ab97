import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { decodeStatus, parseTopic, TOPIC_ROOT } from '@envmon/protocol';
import type { Logger } from 'pino';
import type { StationConfig } from '../config/config.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { verifySecret } from './secrets.ts';

export interface BrokerOptions {
  stations: ReadonlyMap<string, StationConfig>;
  pipeline: Pipeline;
  hub: LiveHub;
  log: Logger;
  host: string;
  port: number;
}

export interface RunningBroker {
  aedes: Aedes;
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The identity a connection proved at CONNECT, kept beside the Aedes client. */
const identities = new WeakMap<Client, { station: string }>();

const BAD_CREDENTIALS = 4; // MQTT 3.1.1 CONNACK "bad user name or password"
const NOT_AUTHORIZED = 5;

/**
 * Aedes with station authentication (scrypt-hashed secrets), a topic ACL (a station publishes only in its own
 * subtree and subscribes only to its own commands) and the durable data path: for QoS 1 Aedes sends the PUBACK
 * right after `authorizePublish` calls back, so that hook is where a data message is validated and committed to
 * the WAL. It calls back with an error only for ACL violations, never for bad content.
 */
export async function startBroker(o: BrokerOptions): Promise<RunningBroker> {
  const aedes = await Aedes.createBroker({
    concurrency: 1000,
    drainTimeout: 30_000,
    connectTimeout: 10_000,
    heartbeatInterval: 60_000,
    maxClientsIdLength: 64,

    authenticate(client, username, password, done) {
      const fail = (code: number) => {
        const err = new Error('bad user name or password') as AuthenticateError;
        (err as { returnCode: number }).returnCode = code;
        done(err, false);
      };
      const station = username ? o.stations.get(username) : undefined;
      if (!station || !password) {
        o.log.warn({ clientId: client.id, username }, 'MQTT connection refused: unknown station or no password');
        return fail(BAD_CREDENTIALS);
      }
      verifySecret(password.toString('utf8'), station.secret_hash).then(
        (ok) => {
          if (!ok) {
            o.log.warn({ clientId: client.id, station: station.id }, 'MQTT connection refused: wrong secret');
            return fail(BAD_CREDENTIALS);
          }
          identities.set(client, { station: station.id });
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
      if (!who || !topic || topic.station !== who.station || topic.kind === 'cmd') {
        o.log.warn({ station: who?.station, topic: packet.topic.slice(0, 200) }, 'publish refused by ACL');
        return callback(new Error(`station ${who?.station ?? '?'} may not publish to ${packet.topic.slice(0, 200)}`));
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
      const allowed = who !== undefined && sub.topic === `${TOPIC_ROOT}/${who.station}/cmd`;
      if (!allowed) {
        o.log.warn({ station: who?.station, topic: sub.topic }, 'subscribe refused by ACL');
        return callback(new Error(`not allowed to subscribe to ${sub.topic}`));
      }
      callback(null, sub);
    },
  });

  const server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.log.info({ port }, 'MQTT broker listening');

  return {
    aedes,
    server,
    port,
    async close() {
      // Aedes first: it ends the client connections that server.close() would otherwise wait for.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function publishStatus(o: BrokerOptions, station: string, payload: Buffer): void {
  try {
    const s = decodeStatus(payload);
    o.hub.publish({ type: 'status', station, online: s.online, time: Number(s.time) || Date.now() });
  } catch (err) {
    o.log.warn({ station, err: (err as Error).message }, 'undecodable station status ignored');
  }
}
