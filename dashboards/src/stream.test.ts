import { describe, expect, it } from 'vitest';
import type { Reading } from './api.ts';
import type { Connection } from './store.ts';
import {
  connectStream,
  parseReadingsEvent,
  parseStatusEvent,
  retryDelay,
  type EventSourceLike,
  type StreamHandlers,
} from './stream.ts';

/** Stands in for the browser's EventSource: the test plays the server and the browser's reconnect logic. */
class FakeEventSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  private readonly listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, l: (ev: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  fail(state: 0 | 2): void {
    this.readyState = state;
    this.onerror?.({} as Event);
  }
  emit(type: string, data: string): void {
    for (const l of this.listeners.get(type) ?? []) l({ data } as MessageEvent<string>);
  }
}

function harness() {
  const sources: FakeEventSource[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const log: string[] = [];
  const states: Connection[] = [];
  const readings: [string, Reading[]][] = [];
  const handlers: StreamHandlers = {
    readings: (s, r) => readings.push([s, r]),
    status: (s, online) => log.push(`status ${s} ${online}`),
    connection: (c) => states.push(c),
    opened: () => log.push('opened'),
    invalid: (e) => log.push(`invalid ${e}`),
  };
  const conn = connectStream(
    '/api/v1/stream',
    handlers,
    (url) => {
      const s = new FakeEventSource(url);
      sources.push(s);
      return s;
    },
    { set: (fn, ms) => timers.push({ fn, ms }), clear: () => undefined },
  );
  return { sources, timers, log, states, readings, conn };
}

describe('live stream', () => {
  it('reports connecting → live, and dispatches readings and status events', () => {
    const h = harness();
    const es = h.sources[0]!;
    es.open();
    es.emit('readings', JSON.stringify({ station: 'st-01', readings: [{ param: 'PM10', time: 1, value: 2, status: 0, qc_flags: 0, period_s: 0 }] }));
    es.emit('status', JSON.stringify({ station: 'st-01', online: false, time: 5 }));
    es.emit('hello', '{}'); // events we do not know are simply not listened to
    expect(h.states).toEqual(['connecting', 'live']);
    expect(h.readings[0]?.[1][0]).toMatchObject({ station: 'st-01', param: 'PM10', value: 2 });
    expect(h.log).toEqual(['opened', 'status st-01 false']);
  });

  it('lets the browser retry a dropped stream and says so', () => {
    const h = harness();
    h.sources[0]!.open();
    h.sources[0]!.fail(0); // CONNECTING: EventSource retries by itself
    expect(h.states.at(-1)).toBe('reconnecting');
    expect(h.timers).toHaveLength(0);
    h.sources[0]!.open();
    expect(h.states.at(-1)).toBe('live');
    expect(h.log.filter((l) => l === 'opened')).toHaveLength(2);
  });

  it('opens a new stream itself, with back-off, when the browser gives up', () => {
    const h = harness();
    h.sources[0]!.fail(2); // CLOSED: e.g. the ingest answered 502 while restarting
    expect(h.sources[0]!.closed).toBe(true);
    expect(h.timers.map((t) => t.ms)).toEqual([1000]);
    h.timers[0]!.fn();
    expect(h.sources).toHaveLength(2);
    h.sources[1]!.fail(2);
    expect(h.timers.map((t) => t.ms)).toEqual([1000, 2000]);
    h.timers[1]!.fn();
    h.sources[2]!.open(); // success resets the back-off
    h.sources[2]!.fail(2);
    expect(h.timers.at(-1)?.ms).toBe(1000);
  });

  it('stops for good when closed', () => {
    const h = harness();
    h.sources[0]!.fail(2);
    h.conn.close();
    h.timers[0]!.fn();
    expect(h.sources).toHaveLength(1);
  });

  it('reports malformed events and carries on', () => {
    const h = harness();
    h.sources[0]!.emit('readings', 'not json');
    h.sources[0]!.emit('status', '{"station":"x"}');
    expect(h.log).toEqual(['invalid readings', 'invalid status']);
  });
});

describe('event parsing', () => {
  it('fills station and period from the event when a reading omits them, and drops invalid readings', () => {
    const m = parseReadingsEvent(
      JSON.stringify({
        station: 'st-01',
        readings: [
          { param: 'PH', time: 10, value: null, status: 2, qc_flags: 0 },
          { param: 'PH', time: 'yesterday', value: 1, status: 0, qc_flags: 0 },
          { param: 'PH', time: 11, value: 1, status: 7, qc_flags: 0 },
        ],
      }),
    );
    expect(m).toEqual({
      station: 'st-01',
      readings: [{ station: 'st-01', param: 'PH', time: 10, value: null, status: 2, qc_flags: 0, period_s: 0 }],
    });
    expect(parseReadingsEvent('{"readings":[]}')).toBeNull();
  });

  it('parses status events', () => {
    expect(parseStatusEvent('{"station":"a","online":true,"time":1}')).toEqual({ station: 'a', online: true });
    expect(parseStatusEvent('{"station":"a","online":"yes"}')).toBeNull();
  });

  it('backs off 1 s, 2 s, 4 s … up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});
