import type { Logger } from 'pino';

/**
 * A clock-aligned polling schedule shared by every driver: runs `run` at multiples of `intervalMs` (…:00, …:10,
 * …:20 for 10 s), so stations' timestamps line up; never two runs at once; a slow run skips slots instead of
 * bunching the next ones. Timers can fire a millisecond before the wall clock reaches the slot, so the next slot
 * is counted from the last one, never from the (possibly early) clock alone.
 */
export interface Schedule {
  start(): void;
  stop(): Promise<void>;
  /** One run now, or the run in progress. */
  runOnce<T>(): Promise<T>;
}

export function createSchedule<T>(o: { intervalMs: number; now: () => number; run: () => Promise<T>; log: Logger }): Schedule {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<T> | undefined;
  let lastSlot = -Infinity;

  const runOnce = (): Promise<T> => {
    inFlight ??= o.run().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  function next(): void {
    if (!running) return;
    const t = o.now();
    const slot = Math.max(Math.ceil((t + 1) / o.intervalMs) * o.intervalMs, lastSlot + o.intervalMs);
    lastSlot = slot;
    timer = setTimeout(() => {
      void runOnce()
        .catch((err: unknown) => o.log.error({ err }, 'poll failed'))
        .finally(next);
    }, slot - t);
  }

  return {
    start() {
      if (running) return;
      running = true;
      next();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight?.catch(() => {});
    },
    runOnce: runOnce as <U>() => Promise<U>,
  };
}
