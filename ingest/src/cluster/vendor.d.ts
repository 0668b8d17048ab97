/**
 * aedes-persistence-redis 12.x ships no types. Aedes 1.x needs the *async* persistence (its `setup` must be an
 * AsyncFunction), which the package keeps in `asyncPersistence.js` (its main export wraps it in callbacks for
 * older Aedes). The surface used here: construct with ioredis options, hand to Aedes, destroy.
 */
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { RedisOptions } from 'ioredis';

  interface AsyncRedisPersistenceOptions extends RedisOptions {
    /** Offline messages delivered to a client on CONNECT (default 1000). */
    maxSessionDelivery?: number;
    /** Seconds an offline QoS 1/2 message is kept (0 = no expiry, the default). */
    packetTTL?: (packet: unknown) => number;
  }

  class AsyncRedisPersistence {
    constructor(options?: AsyncRedisPersistenceOptions);
    setup(broker: unknown): Promise<void>;
    /** 12.x returns (async) iterables here; Aedes 1.x pipes them as streams. */
    createRetainedStreamCombi(patterns: string[]): Iterable<unknown> | AsyncIterable<unknown>;
    outgoingStream(client: unknown): Iterable<unknown> | AsyncIterable<unknown>;
    streamWill(brokers?: unknown): Iterable<unknown> | AsyncIterable<unknown>;
    getClientList(topic: string): Iterable<unknown> | AsyncIterable<unknown>;
    /** Unsubscribes from the brokers' broadcast topic (through the broker's mq) and disconnects from Redis. */
    destroy(): Promise<void>;
  }
  export = AsyncRedisPersistence;
}
