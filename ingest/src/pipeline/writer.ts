import type { Logger } from 'pino';
import type { Store, StoredReading } from '../store/store.ts';
import { classifyWriteError } from './write-errors.ts';
import type { Wal, WalEntry } from './wal.ts';

/** Where readings the store refuses for good are kept, with the store's reason. */
export type DeadLetter = (reading: StoredReading, message: string) => void;

/** Thrown inside a split when a transient failure interrupts it: the whole batch is retried later (idempotent). */
class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Drains the WAL into the store: oldest entries first, in batches, deleting from the WAL only what the store
 * confirmed (or what was dead-lettered). Transient failures keep the entries and retry with capped exponential
 * backoff and jitter (or the server's Retry-After), so an InfluxDB outage costs disk space, not data. A batch the
 * store refuses is split in halves until the offending readings are isolated; only those are dead-lettered.
 */
export class WalWriter {
  readonly counters = { written: 0, writeErrors: 0, deadLettered: 0 };
  private running = false;
  private wake: (() => void) | undefined;
  private idle = false;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  lastError: string | null = null;

  constructor(
    private readonly wal: Wal,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly deadLetter: DeadLetter,
    private readonly batchReadings = 5000,
    private readonly concurrency = 3,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    // New data wakes the writer only when it is idle, never in the middle of a backoff: under load during an
    // outage that would turn the backoff into a busy loop against the failing store.
    this.unsubscribe = this.wal.onAppend(() => {
      if (this.idle) this.wake?.();
    });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      const { wrote, failure } = await this.drain();
      if (failure === undefined) {
        this.lastError = null;
        backoff = 100;
        if (wrote) continue;
        this.idle = true;
        await this.sleep(1000);
        this.idle = false;
        continue;
      }
      this.counters.writeErrors++;
      const retryAfter = failure instanceof RetryLater ? failure.retryAfterMs : undefined;
      this.lastError = (failure as Error).message;
      const wait = retryAfter ?? backoff * (0.5 + Math.random());
      this.log.warn({ err: this.lastError, retryInMs: Math.round(wait) }, 'store write failed; readings stay in the WAL');
      await this.sleep(wait);
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  /**
   * Keeps up to `concurrency` consecutive chunks in flight until the WAL is empty or a write fails: the store
   * (InfluxDB) takes parallel writes far faster than one after another, and writes are idempotent, so their order
   * does not matter. A new chunk starts as soon as any one finishes, so the store is never idle waiting for the
   * slowest of a round. After a failure no new chunk starts; those in flight finish, then the caller backs off.
   */
  private drain(): Promise<{ wrote: boolean; failure: unknown }> {
    return new Promise((resolve) => {
      let inFlight = 0;
      let after = 0;
      let wrote = false;
      let failure: unknown;
      const launch = (): void => {
        while (this.running && failure === undefined && inFlight < this.concurrency) {
          const entries = this.wal.peek(this.batchReadings, after);
          if (entries.length === 0) break;
          after = entries[entries.length - 1]!.id;
          inFlight++;
          const readings = entries.length === 1 ? entries[0]!.readings : entries.flatMap((e) => e.readings);
          this.writeOrSplit(readings).then(
            (n) => {
              try {
                this.wal.remove(entries);
                this.counters.written += n;
                wrote = true;
              } catch (err) {
                failure ??= err;
              }
              inFlight--;
              launch();
            },
            (err: unknown) => {
              failure ??= err;
              inFlight--;
              launch();
            },
          );
        }
        if (inFlight === 0) resolve({ wrote, failure });
      };
      launch();
    });
  }

  /** Writes all readings it can; returns how many were written. Throws RetryLater on a transient failure. */
  private async writeOrSplit(readings: StoredReading[]): Promise<number> {
    try {
      await this.store.write(readings);
      return readings.length;
    } catch (err) {
      const failure = classifyWriteError(err);
      if (failure.kind === 'retry') throw new RetryLater(failure.message, failure.retryAfterMs);
      if (readings.length === 1) {
        this.counters.deadLettered++;
        this.deadLetter(readings[0]!, failure.message);
        this.log.warn({ reading: readings[0], reason: failure.message }, 'store refused a reading; dead-lettered');
        return 0;
      }
      const mid = readings.length >> 1;
      return (await this.writeOrSplit(readings.slice(0, mid))) + (await this.writeOrSplit(readings.slice(mid)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Stops after the write in progress; what is left stays in the WAL for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
  }
}
