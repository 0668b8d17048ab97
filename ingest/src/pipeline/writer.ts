import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import type { Wal } from './wal.ts';

/**
 * Drains the WAL into the store: oldest entries first, in batches, deleting from the WAL only what the store
 * confirmed. When the store fails the entries stay and the writer retries with capped exponential backoff and
 * jitter, so an InfluxDB outage costs disk space, not data.
 */
export class WalWriter {
  readonly counters = { written: 0, writeErrors: 0 };
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  lastError: string | null = null;

  constructor(
    private readonly wal: Wal,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly batchReadings = 5000,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.wal.onAppend(() => this.wake?.());
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      const entries = this.wal.peek(this.batchReadings);
      if (entries.length === 0) {
        await this.sleep(1000);
        continue;
      }
      try {
        await this.store.write(entries.flatMap((e) => e.readings));
        this.wal.remove(entries);
        this.counters.written += entries.reduce((n, e) => n + e.readings.length, 0);
        this.lastError = null;
        backoff = 100;
      } catch (err) {
        this.counters.writeErrors++;
        this.lastError = (err as Error).message;
        this.log.warn({ err: (err as Error).message, retryInMs: backoff }, 'store write failed; readings stay in the WAL');
        await this.sleep(backoff * (0.5 + Math.random()));
        backoff = Math.min(backoff * 2, 30_000);
      }
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
