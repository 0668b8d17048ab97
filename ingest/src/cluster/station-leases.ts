import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Exactly one owner per station for alarm evaluation across a cluster (issue 10): a Redis lease per station
 * (`SET key instance NX PX ttl`), renewed every ttl/3 by its holder with a compare-and-expire script, taken over
 * by another instance when the holder stops renewing (killed, partitioned) and the key expires.
 *
 * Which instance *should* hold a station is rendezvous hashing over the live members (a sorted set of heartbeats),
 * so stations spread over the instances and move as few as possible when one joins or leaves. An instance holding a
 * station that now belongs to another live member hands it over: `onRelease` (the engine stops evaluating it and
 * ships its state) runs before the key is deleted. A lease nobody preferred takes stays vacant for at most two
 * rounds before any instance takes it.
 *
 * Safety against a paused or partitioned holder: `owns()` is true only for half the lease time after the renewal
 * was sent (validUntil); another instance can only take the key after it expired in Redis, a half lease later.
 */
export interface StationLeasesOptions {
  redis: Redis;
  instanceId: string;
  stations: readonly string[];
  /** Lease time; default 6000 ms. Takeover after a kill -9 happens within about this long. */
  ttlMs?: number;
  /** Key prefix; default `envmon:alarms:`. */
  prefix?: string;
  /** Called (not awaited) when this instance got a station: catch up, seed, then begin evaluating it. */
  onAcquire(station: string): Promise<void>;
  /** Called before this instance gives a station up (hand-over or stop): stop evaluating it, ship its state. */
  onRelease(station: string): Promise<void>;
  /** Called when a renewal found the lease gone or held by another: evaluation must already have stopped (owns() is false). */
  onLost?(station: string): void;
  log?: Logger;
}

/** The Redis key of a station's lease. */
export function leaseKey(station: string, prefix = 'envmon:alarms:'): string {
  return `${prefix}owner:${station}`;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class StationLeases {
  private readonly ttl: number;
  private readonly prefix: string;
  /** Stations held, with the time until which this instance may act on them. */
  private readonly held = new Map<string, number>();
  private readonly vacant = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;
  readonly counters = { acquired: 0, released: 0, lost: 0, rounds: 0, errors: 0 };

  constructor(private readonly o: StationLeasesOptions) {
    this.ttl = o.ttlMs ?? 6000;
    this.prefix = o.prefix ?? 'envmon:alarms:';
  }

  /** True while this instance holds the station's lease and it cannot have expired yet. */
  owns(station: string): boolean {
    const until = this.held.get(station);
    return until !== undefined && Date.now() < until;
  }

  /** Stations this instance holds now. */
  owned(): string[] {
    return [...this.held.keys()].filter((s) => this.owns(s));
  }

  /** Runs the first round (so a lone instance owns its stations when this resolves), then one every ttl/3. */
  async start(): Promise<void> {
    await this.runRound();
    this.timer = setInterval(() => void this.runRound(), Math.max(50, Math.floor(this.ttl / 3)));
    this.timer.unref();
  }

  /** Hands every station over (so another instance takes it at once) and leaves the member set. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.round;
    for (const station of [...this.held.keys()]) await this.release(station);
    try {
      await this.o.redis.zrem(this.key('members'), this.o.instanceId);
    } catch {
      // Redis gone: the heartbeat ages out by itself.
    }
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private runRound(): Promise<void> {
    this.round ??= this.doRound()
      .catch((err: Error) => {
        this.counters.errors++;
        this.o.log?.warn({ err: err.message }, 'station leases: round failed; retrying');
      })
      .finally(() => (this.round = undefined));
    return this.round;
  }

  private async doRound(): Promise<void> {
    if (this.stopped) return;
    this.counters.rounds++;
    const r = this.o.redis;
    const sentAt = Date.now();
    const members = this.key('members');
    const [, , live] = (await r
      .multi()
      .zadd(members, sentAt, this.o.instanceId)
      .zremrangebyscore(members, '-inf', sentAt - this.ttl)
      .zrange(members, 0, -1)
      .exec())!.map(([err, v]) => {
      if (err) throw err;
      return v;
    }) as [unknown, unknown, string[]];
    const stations = this.o.stations;
    const holders = stations.length ? await r.mget(stations.map((s) => leaseKey(s, this.prefix))) : [];
    // Decide per station, then send the renewals and takes together (ioredis pipelines them): one round costs a
    // few round trips, not one per station.
    const renew: string[] = [];
    const take: string[] = [];
    for (let i = 0; i < stations.length; i++) {
      if (this.stopped) return;
      const station = stations[i]!;
      const holder = holders[i];
      const preferred = rendezvous(station, live);
      if (holder === this.o.instanceId) {
        // A better-placed live instance exists: hand over (stop evaluating, ship, then delete the lease).
        if (preferred !== this.o.instanceId && preferred !== undefined) await this.release(station);
        else renew.push(station);
        continue;
      }
      if (this.held.has(station)) this.lose(station);
      if (holder) {
        this.vacant.delete(station);
        continue;
      }
      const rounds = (this.vacant.get(station) ?? 0) + 1;
      this.vacant.set(station, rounds);
      if (preferred === this.o.instanceId || rounds > 2) take.push(station);
    }
    const [renewed, taken] = await Promise.all([
      Promise.all(renew.map((st) => r.eval(RENEW, 1, leaseKey(st, this.prefix), this.o.instanceId, String(this.ttl)))),
      Promise.all(take.map((st) => r.set(leaseKey(st, this.prefix), this.o.instanceId, 'PX', this.ttl, 'NX'))),
    ]);
    renew.forEach((station, i) => {
      if (renewed[i] !== 1) this.lose(station);
      // Held under our id but not by this process (restarted with the same instance id): take it up properly.
      else if (!this.held.has(station)) this.acquire(station, sentAt);
      else this.held.set(station, this.validUntil(sentAt));
    });
    take.forEach((station, i) => {
      if (taken[i] === 'OK') this.acquire(station, sentAt);
    });
  }

  private acquire(station: string, sentAt: number): void {
    this.vacant.delete(station);
    this.held.set(station, this.validUntil(sentAt));
    this.counters.acquired++;
    this.o.log?.info({ station }, 'alarm evaluation: this instance now owns the station');
    // Not awaited: catching up and seeding one station must not delay the renewal of the others.
    this.o.onAcquire(station).catch((err: Error) => this.o.log?.error({ err: err.message, station }, 'alarm evaluation: taking up the station failed'));
  }

  private async release(station: string): Promise<void> {
    try {
      await this.o.onRelease(station);
    } finally {
      this.held.delete(station);
      this.counters.released++;
      try {
        await this.o.redis.eval(RELEASE, 1, leaseKey(station, this.prefix), this.o.instanceId);
      } catch (err) {
        this.o.log?.warn({ err: (err as Error).message, station }, 'station leases: could not delete the lease; it expires by itself');
      }
    }
  }

  /**
   * Until when this instance may act on a lease renewed (or taken) by a request sent at `sentAt`: half the lease
   * time. Nobody else can take the key before sentAt + ttl, so a holder stalled past this point has the other half
   * to ship what it committed before a new owner starts. Renewals come every third, so an owner stays valid
   * through one renewal arriving up to ttl/6 late; beyond that it parks readings until the next renewal.
   */
  private validUntil(sentAt: number): number {
    return sentAt + Math.floor(this.ttl / 2);
  }

  private lose(station: string): void {
    this.held.delete(station);
    this.counters.lost++;
    this.o.log?.warn({ station }, 'alarm evaluation: lease lost (not renewed in time); another instance takes the station');
    this.o.onLost?.(station);
  }
}

/** The live member with the highest hash of (member, station): stable, spread, minimal moves. */
export function rendezvous(station: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = '';
  for (const m of members) {
    const score = createHash('sha1').update(`${m}\u0000${station}`).digest('hex');
    if (best === undefined || score > bestScore) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}
