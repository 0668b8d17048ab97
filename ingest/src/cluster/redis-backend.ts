/**
 * Clustered broker, first step (issue 10): what several Aedes instances need to act as one broker through one
 * Redis — an mqemitter-redis message bus (a publish on any instance reaches subscribers on every instance) and an
 * aedes-persistence-redis store (subscriptions, retained messages, offline sessions and their queued QoS 1
 * messages, shared by all instances, so a client may reconnect to any of them).
 *
 * Use: `const backend = openRedisBackend({ url }); Aedes.createBroker({ ...opts, mq: backend.mq,
 * persistence: backend.persistence })`, and stop with `closeClusteredBroker(aedes, backend)`.
 * `startBroker` (src/broker/broker.ts) does this when the ingest config has a `cluster:` section or
 * ENVMON_REDIS_URL is set (src/config/cluster-config.ts); each instance keeps its own WAL.
 *
 * Known race (Aedes 1.2, seen about once in 100 failovers in a loop): a client resuming its session restores its
 * subscriptions before Aedes sends CONNACK, so a QoS 1 message that reaches that instance through Redis in that
 * window is written to the socket *before* the CONNACK; mqtt.js then fails the connect ("connack timeout") and
 * reconnects, and gets the message (it is also in the offline queue, so it may arrive twice: QoS 1 is at least
 * once, commands must be idempotent). Gateways must therefore keep reconnecting, which ours do.
 */
import { Readable } from 'node:stream';
import type { Aedes } from 'aedes';
import type { MQEmitter } from 'mqemitter';
import MQEmitterRedis from 'mqemitter-redis';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';

/**
 * aedes-persistence-redis 12 (the release for aedes-persistence 11, which Aedes 1.2 uses) returns generators from
 * its four streaming methods, while Aedes 1.2 calls `.pipe()` on what they return (as aedes-persistence 11's own
 * memory store gives it: `Readable.from(…)`). This subclass gives Aedes the streams it expects.
 * `createRetainedStream` goes through `createRetainedStreamCombi`, so it is wrapped once.
 */
export class RedisPersistence extends AsyncRedisPersistence {
  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(super.createRetainedStreamCombi(patterns));
  }
  override outgoingStream(client: unknown): Readable {
    return Readable.from(super.outgoingStream(client));
  }
  override streamWill(brokers?: unknown): Readable {
    return Readable.from(super.streamWill(brokers));
  }
  override getClientList(topic: string): Readable {
    return Readable.from(super.getClientList(topic));
  }
}

export interface RedisBackendOptions {
  /** `redis://[:password@]host:port[/db]`; instances of one cluster use the same URL (and db). */
  url: string;
  /** Offline QoS 1 messages delivered to a reconnecting client at once (aedes-persistence-redis default 1000). */
  maxSessionDelivery?: number;
}

export interface RedisBackend {
  /** For `Aedes.createBroker({ mq })`. */
  readonly mq: MQEmitter;
  /** For `Aedes.createBroker({ persistence })`. */
  readonly persistence: RedisPersistence;
}

/** Parses a redis:// URL into ioredis options (host, port, password, db). */
export function redisOptions(url: string): { host: string; port: number; password?: string; username?: string; db: number } {
  const u = new URL(url);
  if (u.protocol !== 'redis:') throw new TypeError(`Redis URL must start with redis:// (got ${JSON.stringify(u.protocol)})`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new TypeError(`Redis URL path must be a database number (got ${JSON.stringify(u.pathname)})`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db: db === '' ? 0 : Number(db),
  };
}

export function openRedisBackend(options: RedisBackendOptions): RedisBackend {
  const redis = redisOptions(options.url);
  const mq = MQEmitterRedis(redis) as unknown as MQEmitter;
  const persistence = new RedisPersistence({
    ...redis,
    ...(options.maxSessionDelivery === undefined ? {} : { maxSessionDelivery: options.maxSessionDelivery }),
  });
  return { mq, persistence };
}

/**
 * Stops an Aedes instance built on a Redis backend, in the order the parts need: the persistence unsubscribes
 * from the brokers' broadcast topic while the message bus still runs, then Aedes closes its clients and the bus.
 */
export async function closeClusteredBroker(aedes: Aedes, backend: RedisBackend): Promise<void> {
  await backend.persistence.destroy();
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
}
