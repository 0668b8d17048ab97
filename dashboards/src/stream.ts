/**
 * The live stream: `GET /api/v1/stream`, Server-Sent Events with `readings` and `status` events.
 *
 * EventSource reconnects by itself when an open stream drops. It gives up for good (readyState CLOSED) when the
 * server answers with an error status or a non-SSE body, which is what a restarting ingest or a proxy in front
 * of it produces; then we open a new one ourselves, backing off up to 30 s so a wall screen left on over a long
 * outage recovers without anyone pressing reload.
 */
import type { Reading } from './api.ts';
import type { Connection } from './store.ts';

export interface StreamHandlers {
  readings(station: string, readings: Reading[]): void;
  status(station: string, online: boolean): void;
  connection(state: Connection): void;
  /**
   * The stream is open (first time or again). Anything sent while it was down is lost, so the caller reloads
   * the latest values and the chart then.
   */
  opened(): void;
  /** A message that could not be understood; the stream carries on. */
  invalid?(event: string, data: string): void;
}

/** The part of EventSource used here, so tests can pass a fake and Node needs no polyfill. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

const CLOSED = 2; // EventSource.CLOSED, spelled out so this file also runs where EventSource is not defined

export function parseReadingsEvent(data: string): { station: string; readings: Reading[] } | null {
  const v = parseJson(data);
  if (!isObject(v) || typeof v.station !== 'string' || !Array.isArray(v.readings)) return null;
  const readings = v.readings.filter(isReading);
  // The server may omit `station` inside each reading of a per-station event; the event names it.
  const station = v.station;
  return {
    station,
    readings: readings.map((r) => ({ ...r, station: r.station ?? station, period_s: r.period_s ?? 0 })),
  };
}

export function parseStatusEvent(data: string): { station: string; online: boolean } | null {
  const v = parseJson(data);
  if (!isObject(v) || typeof v.station !== 'string' || typeof v.online !== 'boolean') return null;
  return { station: v.station, online: v.online };
}

/** Delay before reopening after the n-th consecutive failure (1 s, 2 s, 4 s … 30 s). */
export function retryDelay(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
}

export function connectStream(
  url: string,
  handlers: StreamHandlers,
  open: EventSourceFactory = (u) => new EventSource(u) as unknown as EventSourceLike,
  timers: { set: (fn: () => void, ms: number) => unknown; clear: (id: unknown) => void } = {
    set: (fn, ms) => setTimeout(fn, ms),
    clear: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  },
): { close(): void } {
  let es: EventSourceLike | null = null;
  let failures = 0;
  let retry: unknown = null;
  let closed = false;

  function start(): void {
    const s = open(url);
    es = s;
    s.onopen = () => {
      failures = 0;
      handlers.connection('live');
      handlers.opened();
    };
    s.onerror = () => {
      if (closed || es !== s) return;
      handlers.connection('reconnecting');
      if (s.readyState === CLOSED) {
        // The browser will not retry this one; schedule our own.
        failures++;
        s.close();
        retry = timers.set(() => {
          retry = null;
          if (!closed) start();
        }, retryDelay(failures));
      }
    };
    s.addEventListener('readings', (ev) => {
      const m = parseReadingsEvent(ev.data);
      if (m) handlers.readings(m.station, m.readings);
      else handlers.invalid?.('readings', ev.data);
    });
    s.addEventListener('status', (ev) => {
      const m = parseStatusEvent(ev.data);
      if (m) handlers.status(m.station, m.online);
      else handlers.invalid?.('status', ev.data);
    });
  }

  handlers.connection('connecting');
  start();
  return {
    close() {
      closed = true;
      if (retry !== null) timers.clear(retry);
      es?.close();
    },
  };
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

type WireReading = Omit<Reading, 'station' | 'period_s'> & { station?: string; period_s?: number };

function isReading(v: unknown): v is WireReading {
  return (
    isObject(v) &&
    typeof v.param === 'string' &&
    typeof v.time === 'number' &&
    (v.value === null || typeof v.value === 'number') &&
    (v.status === 0 || v.status === 1 || v.status === 2) &&
    typeof v.qc_flags === 'number'
  );
}
