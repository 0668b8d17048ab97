import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveHub, type LiveEvent } from '../live/hub.ts';
import { openStore } from '../store/index.ts';
import type { StoredReading } from '../store/store.ts';
import { openAlarmDb } from './alarm-db.ts';
import { AlarmEngine, type AlarmLiveEvent } from './engine.ts';
import { parseRules } from './rules.ts';
import type { AlarmTransition } from './types.ts';

const T0 = Date.parse('2025-06-01T00:00:00Z');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'envmon-alarms-'));
  dirs.push(d);
  return d;
}

const reading = (param: string, time: number, value: number | null, status: 0 | 1 | 2 = 0): StoredReading => ({ station: 'S1', param, time, value, status, qc_flags: 0, period_s: 0 });

async function setup(rulesYaml: string, o: { dir?: string; stations?: string[]; store?: Awaited<ReturnType<typeof openStore>>; now?: number; owns?: (station: string) => boolean } = {}) {
  const dir = o.dir ?? tmp();
  const db = openAlarmDb(join(dir, 'alarms.sqlite'));
  const hub = new LiveHub();
  const clock = { t: o.now ?? T0, now() { return this.t; } };
  const live: AlarmLiveEvent[] = [];
  const transitions: AlarmTransition[] = [];
  const engine = new AlarmEngine({
    db,
    rules: parseRules(rulesYaml, 'rules.yaml', { stations: ['S1', 'S2'] }),
    subscribe: (l) => hub.subscribe(l),
    publish: (e) => live.push(e),
    stations: o.stations ?? ['S1'],
    store: o.store,
    sink: { onTransition: (t) => transitions.push(t) },
    clock,
    tickMs: 0,
    ...(o.owns ? { owns: o.owns } : {}),
  });
  await engine.start();
  const feed = async (...readings: StoredReading[]) => {
    hub.publish({ type: 'readings', station: readings[0]!.station, readings } satisfies LiveEvent);
    await engine.idle();
  };
  const close = () => {
    engine.stop();
    db.close();
  };
  return { dir, db, hub, clock, live, transitions, engine, feed, close };
}

describe('threshold with hysteresis', () => {
  const rules = (hyst: string) => `
version: 1
rules:
  - id: pm25-high
    kind: threshold
    param: PM2_5
    above: 50
    ${hyst}
`;
  const flapping = [49, 51, 49.5, 52, 48, 51, 47, 53, 49, 50.5, 46, 51.2];

  it('a signal flapping around the limit raises one alarm and keeps it until the clear level', async () => {
    const s = await setup(rules('hysteresis: 10%'));
    for (const [i, v] of flapping.entries()) await s.feed(reading('PM2_5', T0 + i * 1000, v));
    expect(s.transitions.map((t) => t.action)).toEqual(['raised']);
    const [alarm] = s.engine.list({});
    expect(alarm).toMatchObject({ state: 'raised', occurrences: 1, value: 51, rule: 'pm25-high', station: 'S1', param: 'PM2_5' });
    // 45 is the clear level (50 − 10 %): 45.5 does not clear, 44.9 does.
    await s.feed(reading('PM2_5', T0 + 20_000, 45.5));
    expect(s.engine.get(alarm!.id)!.state).toBe('raised');
    await s.feed(reading('PM2_5', T0 + 21_000, 44.9));
    expect(s.engine.get(alarm!.id)!.state).toBe('cleared');
    expect(s.transitions.map((t) => t.action)).toEqual(['raised', 'cleared']);
    s.close();
  });

  it('without hysteresis the same signal flaps (the control for the test above)', async () => {
    const s = await setup(rules(''));
    for (const [i, v] of flapping.entries()) await s.feed(reading('PM2_5', T0 + i * 1000, v));
    expect(s.transitions.filter((t) => t.action === 're-raised').length).toBeGreaterThan(3);
    // Still one alarm row: flapping re-raises the open alarm, it never duplicates it.
    expect(s.engine.list({}).length).toBe(1);
    s.close();
  });
});

describe('raise duration survives a restart', () => {
  const yaml = `
version: 1
rules:
  - id: so2-1h
    kind: threshold
    param: SO2
    above: 350
    raise: { for: 5s }
    hysteresis: 20
`;
  it('raises at the right reading time after the engine restarts mid-duration', async () => {
    const a = await setup(yaml);
    for (let i = 0; i <= 2; i++) await a.feed(reading('SO2', T0 + i * 1000, 400));
    expect(a.transitions).toEqual([]);
    a.close();

    const b = await setup(yaml, { dir: a.dir });
    await b.feed(reading('SO2', T0 + 3000, 400));
    await b.feed(reading('SO2', T0 + 4000, 400));
    expect(b.transitions).toEqual([]);
    await b.feed(reading('SO2', T0 + 5000, 400));
    expect(b.transitions.map((t) => t.action)).toEqual(['raised']);
    expect(b.transitions[0]!.alarm.raised_at).toBe(T0 + 5000);
    // A replay of already-evaluated readings (gateway outbox after an outage) changes nothing.
    await b.feed(reading('SO2', T0 + 1000, 400), reading('SO2', T0 + 2000, 100));
    expect(b.transitions.length).toBe(1);
    b.close();
  });

  it('an interruption restarts the duration', async () => {
    const s = await setup(yaml);
    await s.feed(reading('SO2', T0, 400));
    await s.feed(reading('SO2', T0 + 3000, 300));
    await s.feed(reading('SO2', T0 + 4000, 400));
    await s.feed(reading('SO2', T0 + 8000, 400));
    expect(s.transitions).toEqual([]);
    await s.feed(reading('SO2', T0 + 9000, 400));
    expect(s.transitions[0]!.alarm.raised_at).toBe(T0 + 9000);
    s.close();
  });

  it('a raise count works the same way', async () => {
    const y = yaml.replace('raise: { for: 5s }', 'raise: { count: 3 }');
    const a = await setup(y);
    await a.feed(reading('SO2', T0, 400), reading('SO2', T0 + 1000, 400));
    a.close();
    const b = await setup(y, { dir: a.dir });
    await b.feed(reading('SO2', T0 + 2000, 400));
    expect(b.transitions.map((t) => t.alarm.raised_at)).toEqual([T0 + 2000]);
    b.close();
  });
});

describe('rolling means', () => {
  it('compares the window mean, seeded from the store after a restart', async () => {
    const dir = tmp();
    const store = await openStore({ dataDir: dir });
    const yaml = `
version: 1
rules:
  - id: pm10-mean
    kind: threshold
    param: PM10
    value: mean
    window: 10s
    above: 100
`;
    // 8 readings of 90 already stored (before the engine started), 1 s apart.
    const old = Array.from({ length: 8 }, (_, i) => reading('PM10', T0 + i * 1000, 90));
    await store.write(old);
    const s = await setup(yaml, { dir, store, now: T0 + 8000 });
    // 150 alone is above 100, but the 10 s mean (8 × 90 + 150) / 9 = 96.7 is not.
    await s.feed(reading('PM10', T0 + 8000, 150));
    expect(s.transitions).toEqual([]);
    await s.feed(reading('PM10', T0 + 9000, 150));
    // (8 × 90 + 2 × 150) / 10 = 102
    expect(s.transitions.map((t) => t.action)).toEqual(['raised']);
    expect(s.transitions[0]!.alarm.value).toBeCloseTo(102, 5);
    s.close();
    await store.close();
  });
});

describe('calibration, device fault, silent station', () => {
  const yaml = `
version: 1
rules:
  - { id: no2-high, kind: threshold, param: NO2, above: 200 }
  - { id: fault, kind: device_fault }
  - { id: silent, kind: silent, after: 5s }
`;
  it('calibration (status 01) suppresses limit alarms for that parameter and says so', async () => {
    const s = await setup(yaml);
    await s.feed(reading('NO2', T0, 500, 1));
    expect(s.transitions).toEqual([]);
    expect(s.engine.calibrations()).toEqual([expect.objectContaining({ station: 'S1', param: 'NO2', since: T0, note: expect.stringMatching(/calibrating.*suppressed/) })]);
    expect(s.live.map((e) => e.action)).toEqual(['calibration-started']);
    await s.feed(reading('NO2', T0 + 1000, 100, 0));
    expect(s.engine.calibrations()).toEqual([]);
    expect(s.live.map((e) => e.action)).toEqual(['calibration-started', 'calibration-ended']);
    await s.feed(reading('NO2', T0 + 2000, 500, 0));
    expect(s.transitions.map((t) => `${t.action}:${t.alarm.rule}`)).toEqual(['raised:no2-high']);
    s.close();
  });

  it('a status-02 reading raises a device-fault alarm, status 00 clears it', async () => {
    const s = await setup(yaml);
    await s.feed(reading('SO2', T0, null, 2));
    expect(s.transitions.map((t) => `${t.action}:${t.alarm.rule}:${t.alarm.param}`)).toEqual(['raised:fault:SO2']);
    expect(s.transitions[0]!.alarm.detail).toMatch(/fault \(status 02\)/);
    await s.feed(reading('SO2', T0 + 1000, null, 2));
    expect(s.transitions.length).toBe(1);
    await s.feed(reading('SO2', T0 + 2000, 20, 0));
    expect(s.transitions.map((t) => t.action)).toEqual(['raised', 'cleared']);
    s.close();
  });

  it('a silent station is raised by the timer, not by data, and cleared when data comes back', async () => {
    const s = await setup(yaml, { stations: ['S1', 'S2'] });
    await s.feed(reading('NO2', T0, 10));
    s.clock.t = T0 + 4000;
    s.engine.tick();
    expect(s.transitions).toEqual([]);
    s.clock.t = T0 + 5500;
    s.engine.tick();
    // Both: S1 last sent at T0, S2 never sent (watched since start-up at T0).
    expect(s.transitions.map((t) => `${t.action}:${t.alarm.station}:${t.alarm.param}`).sort()).toEqual(['raised:S1:*', 'raised:S2:*']);
    s.engine.tick();
    expect(s.transitions.length).toBe(2);
    s.clock.t = T0 + 6000;
    await s.feed(reading('NO2', T0 + 6000, 10));
    expect(s.transitions.map((t) => `${t.action}:${t.alarm.station}`)).toContain('cleared:S1');
    s.close();
  });
});

describe('rate of change and flatline', () => {
  it('raises on a jump faster than allowed and on a stuck analyser', async () => {
    const s = await setup(`
version: 1
rules:
  - { id: ph-jump, kind: rate_of_change, param: CO, max_change: 1000, per: 1m }
  - { id: o3-flat, kind: flatline, param: O3, for: 3s, tolerance: 0.05 }
`);
    await s.feed(reading('CO', T0, 1000));
    await s.feed(reading('CO', T0 + 60_000, 1500));
    expect(s.transitions).toEqual([]);
    await s.feed(reading('CO', T0 + 120_000, 3000));
    expect(s.transitions.map((t) => t.alarm.rule)).toEqual(['ph-jump']);
    expect(s.transitions[0]!.alarm.value).toBeCloseTo(1500, 5);

    for (let i = 0; i <= 3; i++) await s.feed(reading('O3', T0 + i * 1000, 40 + (i % 2) * 0.01));
    expect(s.transitions.map((t) => t.alarm.rule)).toEqual(['ph-jump', 'o3-flat']);
    await s.feed(reading('O3', T0 + 5000, 42));
    expect(s.transitions.map((t) => `${t.action}:${t.alarm.rule}`)).toContain('cleared:o3-flat');
    s.close();
  });
});

describe('acknowledge, clear, close, comment', () => {
  it('walks raised → acknowledged → closed with history, and cleared → closed on ack', async () => {
    const s = await setup(`
version: 1
rules:
  - { id: co-high, kind: threshold, param: CO, above: 30000, hysteresis: 1000 }
`);
    await s.feed(reading('CO', T0, 31000));
    const id = s.engine.list({})[0]!.id;
    s.clock.t = T0 + 5000;
    expect(s.engine.acknowledge(id, 'operator-an', 'on it')).toMatchObject({ state: 'acknowledged', acknowledged_by: 'operator-an', acknowledged_at: T0 + 5000 });
    expect(() => s.engine.acknowledge(id, 'x')).toThrow(/already acknowledged/);
    s.engine.comment(id, 'operator-an', 'fan replaced');
    await s.feed(reading('CO', T0 + 6000, 28000));
    expect(s.engine.get(id)!.state).toBe('closed');
    expect(s.engine.history(id).map((h) => h.action)).toEqual(['raised', 'acknowledged', 'comment', 'cleared', 'closed']);

    // A new exceedance after close is a new alarm; cleared-but-unacked closes on ack.
    await s.feed(reading('CO', T0 + 7000, 32000));
    const id2 = s.engine.list({ states: ['raised'] })[0]!.id;
    expect(id2).not.toBe(id);
    await s.feed(reading('CO', T0 + 8000, 1000));
    expect(s.engine.get(id2)!.state).toBe('cleared');
    s.engine.acknowledge(id2, 'b');
    expect(s.engine.get(id2)!.state).toBe('closed');
    expect(s.transitions.map((t) => t.action)).toEqual(['raised', 'acknowledged', 'closed', 'raised', 'cleared', 'acknowledged', 'closed']);
    s.close();
  });
});

describe('cluster mode: one owner per station', () => {
  const rules = `
version: 1
rules:
  - { id: pm25-high, kind: threshold, param: PM2_5, above: 100, raise: { count: 3 } }
`;

  it('evaluates a station only once taken up and while owned; what arrived meanwhile is evaluated then, in order', async () => {
    let owned = false;
    const s = await setup(rules, { owns: () => owned });
    await s.feed(reading('PM2_5', T0, 150));
    expect(s.engine.counters.readings).toBe(0); // another instance owns S1: parked

    owned = true;
    await s.engine.acquire('S1');
    await s.engine.idle();
    expect(s.engine.counters.readings).toBe(1); // taken up: the parked reading is evaluated

    owned = false; // a lease renewal comes late: owns() is false for a moment
    await s.feed(reading('PM2_5', T0 + 1000, 160));
    expect(s.engine.counters.readings).toBe(1);
    owned = true;
    await s.feed(reading('PM2_5', T0 + 2000, 170));
    // Both evaluated, the parked one first: three readings over the limit in a row raise once.
    expect(s.engine.counters.readings).toBe(3);
    expect(s.transitions.map((t) => [t.action, t.alarm.value])).toEqual([['raised', 170]]);

    await s.engine.release('S1');
    await s.feed(reading('PM2_5', T0 + 3000, 20));
    expect(s.engine.counters.readings).toBe(3); // given up: parked for whoever takes S1
    s.close();
  });

  it('re-queues readings parked during a late renewal on the next tick, even when no new reading comes', async () => {
    let owned = true;
    const s = await setup(rules, { owns: () => owned });
    await s.engine.acquire('S1');
    owned = false;
    await s.feed(reading('PM2_5', T0, 150), reading('PM2_5', T0 + 1000, 150), reading('PM2_5', T0 + 2000, 150));
    expect(s.transitions).toEqual([]);
    owned = true;
    s.engine.tick();
    await s.engine.idle();
    expect(s.transitions.map((t) => t.action)).toEqual(['raised']);
    s.close();
  });
});
