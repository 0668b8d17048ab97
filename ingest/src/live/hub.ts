import type { AlarmLiveEvent } from '../alarms/engine.ts';
import type { StoredReading } from '../store/store.ts';

/** Events the live stream carries to browsers (SSE) and, later, to alarms and Node-RED. */
export type LiveEvent =
  | { type: 'readings'; station: string; readings: StoredReading[] }
  | { type: 'status'; station: string; online: boolean; time: number }
  /** Alarm raised / acknowledged / cleared / closed / commented, calibration started / ended (src/alarms). */
  | AlarmLiveEvent;

/**
 * In-process fan-out of accepted data. A slow listener must not slow ingestion, so listeners are called
 * synchronously with already-built events and are expected to queue, not to do I/O inline.
 */
export class LiveHub {
  private readonly listeners = new Set<(e: LiveEvent) => void>();

  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: LiveEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken listener is its own problem; the others still get the event.
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
