import type Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AlarmReplication } from './alarm-replication.ts';
import { IdBlocks } from './id-blocks.ts';
import { redisOptions } from './redis-backend.ts';
import { leaseKey, StationLeases } from './station-leases.ts';

/** What the cluster needs of the alarm engine. */
export interface ClusteredEngine {
  acquire(station: string): Promise<void>;
  release(station: string): Promise<void>;
}

export interface AlarmClusterOptions {
  redisUrl: string;
  instanceId: string;
  /** Lease time per station (default 6 s): how long a killed owner's stations wait for a new one. */
  leaseMs?: number | undefined;
  /** Join a cluster that has state even if this instance's alarm database holds rows the cluster lacks (they are dropped). */
  discardLocalAlarms?: boolean | undefined;
  log?: Logger;
}

/**
 * Alarms across a cluster (issue 10), put together: cluster-wide ids (id-blocks.ts), the replicated alarm
 * database (alarm-replication.ts) and one owner per station (station-leases.ts). Use:
 *
 *   const c = await AlarmCluster.open(…)          // connects, reserves ids
 *   engine = new AlarmEngine({ …, ids: c.ids, owns: c.owns }); notifier likewise (ids, handles, beforeSend)
 *   await engine.start(); await c.start(db, engine, stations)   // catch up, then take stations
 *   …
 *   await c.stop()                                 // hand stations over, ship the rest, disconnect
 */
export class AlarmCluster {
  private replication: AlarmReplication | undefined;
  private leases: StationLeases | undefined;

  private constructor(
    private readonly o: AlarmClusterOptions,
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly blocks: IdBlocks,
  ) {}

  static async open(o: AlarmClusterOptions): Promise<AlarmCluster> {
    const opts = { ...redisOptions(o.redisUrl), lazyConnect: true, maxRetriesPerRequest: null };
    const redis = new Redis(opts);
    const reader = new Redis(opts);
    try {
      await Promise.all([redis.connect(), reader.connect()]);
      const blocks = new IdBlocks(redis, undefined, undefined, o.log);
      await blocks.start();
      return new AlarmCluster(o, redis, reader, blocks);
    } catch (err) {
      redis.disconnect();
      reader.disconnect();
      throw new Error(`alarms in cluster mode: cannot use Redis at ${o.redisUrl.replace(/\/\/[^@]*@/, '//***@')}: ${(err as Error).message}`);
    }
  }

  /** Cluster-wide unique ids for alarm, history and message rows. */
  readonly ids = (): number => this.blocks.id();

  /** Whether this instance holds the station's lease now. */
  readonly owns = (station: string): boolean => this.leases?.owns(station) ?? false;

  /** Runs an operator action's transaction so that its rows are not fenced (any instance may acknowledge). */
  readonly asOperator = <T>(fn: () => T): T => (this.replication ? this.replication.asOperator(fn) : fn());

  /** Resolves when every local change is in the shared stream (the notifier awaits it before sending). */
  readonly flush = (): Promise<void> => this.replication?.flush() ?? Promise.resolve();

  /** Brings the local alarm database up to date with the shared stream and keeps it so. */
  async start(db: Database.Database, engine: ClusteredEngine, stations: readonly string[]): Promise<void> {
    const replication = new AlarmReplication({
      db,
      redis: this.redis,
      reader: this.reader,
      instanceId: this.o.instanceId,
      leaseKey: (s) => leaseKey(s),
      discardLocalRows: this.o.discardLocalAlarms ?? false,
      log: this.o.log,
    });
    await replication.start();
    this.replication = replication;
    this.pending = { engine, stations };
  }

  private pending: { engine: ClusteredEngine; stations: readonly string[] } | undefined;

  /**
   * Starts competing for station leases. Call once this instance receives every instance's readings (the live
   * relay is attached), so that a station it takes has its readings parked from before the hand-over.
   */
  async takeStations(): Promise<void> {
    const replication = this.replication;
    if (!this.pending || !replication || this.leases) return;
    const { engine, stations } = this.pending;
    this.leases = new StationLeases({
      redis: this.redis,
      instanceId: this.o.instanceId,
      stations,
      ttlMs: this.o.leaseMs,
      log: this.o.log,
      onAcquire: async (station) => {
        // Whatever the previous owner shipped must be applied before its state is read back.
        await replication.caughtUp();
        await engine.acquire(station);
      },
      onRelease: async (station) => {
        await engine.release(station);
        await replication.flush();
      },
      onLost: (station) => void engine.release(station),
    });
    await this.leases.start();
  }

  /** Counters for /metrics and tests. */
  stats(): { owned: string[]; leases?: StationLeases['counters']; replication?: AlarmReplication['counters'] } {
    return { owned: this.leases?.owned() ?? [], leases: this.leases?.counters, replication: this.replication?.counters };
  }

  async stop(): Promise<void> {
    await this.leases?.stop();
    await this.replication?.stop();
    this.redis.disconnect();
    this.reader.disconnect();
  }
}
