import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Cluster-wide unique ids for alarms, their history and notifications (issue 10). Each instance's copy of the
 * alarm database gets rows from every instance, so a local AUTOINCREMENT would collide. Ids come from blocks
 * reserved with one INCR on a shared counter: block n is [n × size, (n + 1) × size). Handing out an id stays
 * synchronous (the alarm engine writes inside SQLite transactions); the next block is reserved when half of the
 * current one is used. Ids grow with time across the cluster only roughly (each instance has its own block), which
 * is all the API's "newest first" paging needs. Block 0 is never handed out, so ids of a database that ran alone
 * before (small AUTOINCREMENT values) do not collide.
 */
export class IdBlocks {
  private next = 0;
  private end = 0;
  private spare: [number, number] | undefined;
  private reserving: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key = 'envmon:alarms:id-block',
    readonly size = 1 << 20,
    private readonly log?: Logger,
  ) {}

  /** Reserves the first block. */
  async start(): Promise<void> {
    await this.reserve();
    this.take();
  }

  /** The next id. Throws only if both the block and the spare are used up before Redis answered (> size/2 ids in one round trip). */
  id(): number {
    if (this.next >= this.end) this.take();
    const id = this.next++;
    if (!this.spare && !this.reserving && this.end - this.next < this.size / 2) void this.reserve();
    return id;
  }

  private take(): void {
    if (!this.spare) throw new Error('alarm ids: no id block reserved (is Redis reachable?)');
    [this.next, this.end] = this.spare;
    this.spare = undefined;
  }

  private reserve(): Promise<void> {
    this.reserving ??= (async () => {
      try {
        const n = await this.redis.incr(this.key);
        this.spare = [n * this.size, (n + 1) * this.size];
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'alarm ids: could not reserve the next id block; retrying on the next id');
      } finally {
        this.reserving = undefined;
      }
    })();
    return this.reserving;
  }
}
