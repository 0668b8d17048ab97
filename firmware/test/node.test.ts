import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../src/app.ts';
import { QC_HUMIDITY } from '../src/node/channel.ts';
import { SLOT_ANALOG, SLOT_PM10, SLOT_PM25, SLOT_PROBE_TEMP, SLOT_RH, SLOT_TEMP, startNode, type Report } from '../src/node/node.ts';
import { RING_RECORD_BYTES, Ring } from '../src/node/ring.ts';
import { SEQ_FILE, SeqCounter } from '../src/node/seq.ts';
import { simRig, type SimRig } from '../src/platform/sim/rig.ts';

const T0 = Date.UTC(2026, 0, 1);
let rig: SimRig | undefined;
afterEach(() => rig?.p.shutdown());

function run(over: object = {}): { rig: SimRig; windows: Report[][] } {
  rig = simRig('virtual', Object.assign({ samplePeriodMs: 5000, reportPeriodMs: 60000 }, over));
  const node = startNode(rig.p, rig.cfg);
  const windows: Report[][] = [];
  node.onReport = (r) => windows.push(r);
  return { rig, windows };
}
const bySlot = (w: Report[], slot: number): Report => w.find((r) => r.slot === slot)!;

describe('sampling and averaging', () => {
  it('closes one window per minute, aligned to the clock, with the mean of each sensor', () => {
    const { rig, windows } = run();
    rig.sht.t = 28.4;
    rig.sht.rh = 55;
    rig.ds.t = 19.75;
    rig.pms.pm25 = 10;
    rig.p.advance(30_000);
    rig.pms.pm25 = 40; // half the window at 10, half at 40 → 25
    rig.p.advance(30_000);
    expect(windows.length).toBe(1);
    const w = windows[0]!;
    expect(w.map((r) => r.param)).toEqual(['PM2_5', 'PM10', 'TEMP', 'RH', 'WTEMP', 'PH']);
    for (const r of w) {
      expect(r.time).toBe(T0);
      expect(r.periodS).toBe(60);
      expect(r.status, `${r.param}: ${r.reason}`).toBe(0);
    }
    expect(bySlot(w, SLOT_PM25).value).toBeCloseTo(25, 0);
    expect(bySlot(w, SLOT_PM10).value).toBe(20);
    expect(bySlot(w, SLOT_TEMP).value).toBeCloseTo(28.4, 1);
    expect(bySlot(w, SLOT_RH).value).toBeCloseTo(55, 1);
    expect(bySlot(w, SLOT_PROBE_TEMP).value).toBe(19.75);
    // 12 mA through the default calibration (raw 0.2424 → pH 4, 0.6061 → pH 10)
    expect(bySlot(w, SLOT_ANALOG).value).toBeCloseTo(4 + ((1.8 / 3.3 - 0.2424) * 6) / (0.6061 - 0.2424), 3);
    rig.p.advance(120_000);
    expect(windows.map((x) => x[0]!.time)).toEqual([T0, T0 + 60_000, T0 + 120_000]);
  });
});

describe('fault detection → status 02', () => {
  it('no PMS frame: null value and status 02; the others stay 00', () => {
    const { rig, windows } = run();
    rig.pms.silent = true;
    rig.p.advance(60_000);
    const w = windows[0]!;
    expect(bySlot(w, SLOT_PM25)).toMatchObject({ value: null, status: 2, reason: 'no sample' });
    expect(bySlot(w, SLOT_TEMP).status).toBe(0);
  });

  it('checksum errors: status 02 once a window has maxErrorsPerWindow of them', () => {
    const { rig, windows } = run({ maxErrorsPerWindow: 3 });
    rig.p.advance(60_000);
    expect(bySlot(windows[0]!, SLOT_PM25).status).toBe(0);
    rig.pms.corrupt = true;
    rig.p.advance(2_000); // two bad frames: tolerated
    rig.pms.corrupt = false;
    rig.p.advance(58_000);
    expect(bySlot(windows[1]!, SLOT_PM25).status).toBe(0);
    rig.pms.corrupt = true;
    rig.p.advance(10_000);
    rig.pms.corrupt = false;
    rig.p.advance(50_000);
    const bad = bySlot(windows[2]!, SLOT_PM25);
    expect(bad.status).toBe(2);
    expect(bad.value).toBe(12); // the good frames still give the mean
    expect(bad.reason).toMatch(/10 errors: PMS checksum/);
  });

  it('stuck value: identical raw frames for stuckSamples samples → 02 until it moves again', () => {
    const { rig, windows } = run({ stuckSamples: 30 });
    rig.pms.stuck = true;
    rig.p.advance(60_000);
    expect(bySlot(windows[0]!, SLOT_PM25)).toMatchObject({ status: 2, reason: 'stuck value' });
    expect(bySlot(windows[0]!, SLOT_TEMP).status).toBe(0); // the SHT3x noise keeps it alive
    rig.pms.stuck = false;
    rig.p.advance(60_000);
    expect(bySlot(windows[1]!, SLOT_PM25).status).toBe(2); // stuck at the start of this window
    rig.p.advance(60_000);
    expect(bySlot(windows[2]!, SLOT_PM25).status).toBe(0);
  });

  it('SHT3x CRC errors, DS18B20 gone, probe below 3.6 mA', () => {
    const { rig, windows } = run();
    rig.sht.badCrc = true;
    (rig.p.oneWires['D4']!).devices.length = 0;
    rig.analog.raw = (3.0e-3 * 150) / 3.3;
    rig.p.advance(60_000);
    const w = windows[0]!;
    expect(bySlot(w, SLOT_RH)).toMatchObject({ status: 2, value: null, reason: 'SHT3x humidity CRC mismatch' });
    expect(bySlot(w, SLOT_PROBE_TEMP)).toMatchObject({ status: 2, value: null });
    expect(bySlot(w, SLOT_PROBE_TEMP).reason).toMatch(/no presence pulse/);
    expect(bySlot(w, SLOT_ANALOG).reason).toMatch(/NAMUR NE 43/);
  });

  it('a throwing driver does not stop the other sensors', () => {
    const { rig, windows } = run();
    rig.p.oneWires['D4']!.reset = () => {
      throw new Error('bus exploded');
    };
    rig.p.advance(60_000);
    expect(bySlot(windows[0]!, SLOT_PM25).status).toBe(0);
    expect(rig.p.logs.some((l) => l.includes('bus exploded'))).toBe(true);
  });
});

describe('humidity flag', () => {
  it('flags PM readings of windows whose mean RH is above 70 %, and only PM', () => {
    const { rig, windows } = run();
    rig.sht.rh = 69;
    rig.p.advance(60_000);
    rig.sht.rh = 85;
    rig.p.advance(60_000);
    expect(bySlot(windows[0]!, SLOT_PM25).qc).toBe(0);
    expect(bySlot(windows[1]!, SLOT_PM25).qc).toBe(QC_HUMIDITY);
    expect(bySlot(windows[1]!, SLOT_PM10).qc).toBe(QC_HUMIDITY);
    expect(bySlot(windows[1]!, SLOT_TEMP).qc).toBe(0);
    expect(bySlot(windows[1]!, SLOT_PM25).status).toBe(0); // a flag, not a fault
  });
});

describe('watchdog', () => {
  it('is fed while windows close, and starves (board reset) when they stop', () => {
    const healthy = run({ watchdogS: 30 }).rig;
    healthy.p.advance(10 * 60_000);
    expect(healthy.p.watchdog.timeoutS).toBe(30);
    expect(healthy.p.watchdog.resets).toBe(0);
    expect(healthy.p.watchdog.kicks).toBeGreaterThan(100);
    healthy.p.shutdown();

    rig = simRig('virtual', { samplePeriodMs: 5000, reportPeriodMs: 60000, watchdogS: 30 });
    const broken = startNode(rig.p, rig.cfg);
    broken.onReport = () => {
      throw new Error('output wedged');
    };
    rig.p.advance(60_000);
    expect(rig.p.watchdog.resets).toBe(0);
    rig.p.advance(3 * 60_000);
    expect(rig.p.watchdog.resets).toBeGreaterThan(0);
    expect(rig.p.logs.some((l) => l.includes('output wedged'))).toBe(true);
  });
});

describe('ring buffer', () => {
  it('stays within its byte budget, drops the oldest on overflow and keeps order', () => {
    const ring = new Ring(1000);
    expect(ring.capacity).toBe(100);
    expect(ring.bytes()).toBeLessThanOrEqual(1000);
    for (let i = 0; i < 250; i++) ring.push({ time: 1_700_000_000 + i, value: i / 4, slot: i % 6, status: i % 3 === 0 ? 2 : 0, qc: i % 2 ? 32 : 0 });
    expect(ring.count).toBe(100);
    expect(ring.dropped).toBe(150);
    expect(ring.first).toBe(150);
    expect(ring.get(149)).toBeUndefined();
    expect(ring.get(150)).toEqual({ time: 1_700_000_150, value: 37.5, slot: 0, status: 2, qc: 0 });
    expect(ring.get(249)).toEqual({ time: 1_700_000_249, value: 62.25, slot: 3, status: 2, qc: 32 });
    ring.dropBefore(200);
    expect(ring.count).toBe(50);
    expect(ring.get(200)!.time).toBe(1_700_000_200);
    ring.push({ time: 1, value: NaN, slot: 0, status: 2, qc: 0 });
    expect(Number.isNaN(ring.get(250)!.value)).toBe(true);
    expect(() => new Ring(RING_RECORD_BYTES - 1)).toThrow(/holds no reading/);
  });

  it('holds a long outage in MQTT mode: 8000 B ≈ 800 readings = 133 windows of 6 parameters', () => {
    rig = simRig('virtual', { mode: 'mqtt', mqtt: { host: '127.0.0.1', port: 1, password: 'x' }, ringBytes: 8000 });
    const app = startApp(rig.p, rig.cfg);
    rig.p.advance(3 * 3600_000); // broker unreachable for 3 hours: 180 windows
    expect(app.ring!.capacity).toBe(800);
    expect(app.ring!.count).toBe(800);
    expect(app.ring!.dropped).toBe(180 * 6 - 800);
    // 800 = 133 windows × 6 + 2: the oldest kept are the last two slots of window 46 of 0..179.
    const oldest = app.ring!.get(app.ring!.first)!;
    expect(oldest.time * 1000).toBe(T0 + 46 * 60_000);
    expect(oldest.slot).toBe(4);
    expect(app.client!.connected).toBe(false);
    app.stop();
  });
});

describe('sequence numbers', () => {
  it('increase across restarts, with flash written once per block', () => {
    rig = simRig('virtual', {});
    let writes = 0;
    const write = rig.p.writeJSON.bind(rig.p);
    rig.p.writeJSON = (n, v) => {
      writes++;
      write(n, v);
    };
    const a = new SeqCounter(rig.p, 32);
    const first = [a.take(), a.take(), a.take()];
    expect(first).toEqual([1, 2, 3]);
    for (let i = 0; i < 40; i++) a.take();
    expect(writes).toBe(2);
    const b = new SeqCounter(rig.p, 32); // reboot
    expect(b.take()).toBeGreaterThan(43);
    expect(rig.p.readJSON(SEQ_FILE)).toEqual({ reserved: 97 });
  });
});
