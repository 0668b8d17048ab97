import { loadProfile, openPtyPair, parseProfile, startModbusRtuSimulator, startTcpSerialBridge, type ModbusRtuSimulator, type PtyPair } from '@envmon/hardware';
import { DeviceStatus, type Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModbusDeviceConfig } from '../src/config.ts';
import { createModbusBus, type BusTransport, type ModbusBus } from '../src/modbus/bus.ts';
import { createDevicePoller, type DevicePoller } from '../src/modbus/device-poller.ts';

// Modbus RTU on a real serial device: a socat pty pair, the gateway on one end, a bus of simulated slaves
// (modbus-serial ServerSerial) on the other. And RTU over TCP through a socat "serial device server".

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

const water = loadProfile('generic-wastewater');
const air = loadProfile('generic-ambient-air');

async function pty(dir?: string): Promise<PtyPair> {
  const p = await openPtyPair(dir);
  cleanup.push(() => p.stop());
  return p;
}

async function rtuSim(path: string, units: [number, typeof water][]): Promise<ModbusRtuSimulator> {
  const sim = await startModbusRtuSimulator({ path, slaves: units.map(([unitId, profile]) => ({ unitId, profile, seed: unitId })) });
  cleanup.push(() => sim.stop());
  return sim;
}

function bus(transport: BusTransport): ModbusBus {
  const b = createModbusBus({ transport, log });
  cleanup.push(() => b.close());
  return b;
}

const serial = (path: string): BusTransport => ({ kind: 'serial', path, baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 });

function poller(b: ModbusBus, id: string, unitId: number, profile: typeof water, over: Partial<ModbusDeviceConfig> = {}): { p: DevicePoller; got: Reading[][]; at: number[] } {
  const got: Reading[][] = [];
  const at: number[] = [];
  const device: ModbusDeviceConfig = {
    driver: 'modbus', id, profileName: profile.id, profile, transport: { kind: 'tcp', host: 'unused', port: 1 }, unitId,
    pollIntervalMs: 250, timeoutMs: 150, retries: 1, maxGap: 0, quarantineAfter: 2, quarantineMinMs: 1000, quarantineMaxMs: 4000, frameGapMs: undefined, ...over,
  };
  const p = createDevicePoller({ device, bus: b, log, onReadings: (r) => {
    got.push(r);
    at.push(Date.now());
  } });
  cleanup.push(() => p.stop());
  return { p, got, at };
}

const allGood = (rs: Reading[]) => rs.length > 0 && rs.every((r) => r.value !== null && r.status === DeviceStatus.MEASURING);

describe('Modbus RTU on a pty bus', () => {
  it('three slaves on one port, one dead: the live ones keep their poll rate, the dead one is quarantined', async () => {
    const { a, b } = await pty();
    const sim = await rtuSim(b, [[1, water], [2, air], [3, water]]);
    sim.slave(3).setDead(true);
    const shared = bus(serial(a));
    const live1 = poller(shared, 'sonde', 1, water);
    const live2 = poller(shared, 'aqm', 2, air);
    const dead = poller(shared, 'sonde2', 3, water);
    const t0 = Date.now();
    for (const x of [live1, live2, dead]) x.p.start();
    const runMs = 5000;
    await new Promise((r) => setTimeout(r, runMs));
    for (const x of [live1, live2, dead]) await x.p.stop();

    // The poll rate is judged once the dead slave is quarantined (its first 2 polls × 2 requests × 150 ms hold
    // the bus for ~0.6 s, so the first slots can be skipped by anyone): from 1.5 s on, every 250 ms slot is
    // polled (a loaded machine may lose one or two). Without quarantine each slot would cost the bus 300 ms of
    // timeouts plus ~110 ms of answers, and the live ones would get about 60 % of their slots.
    const steadyFrom = t0 + 1500;
    const steadySlots = (runMs - 1500) / 250;
    for (const x of [live1, live2]) {
      const steady = x.got.filter((_, i) => x.at[i]! >= steadyFrom);
      expect(steady.length, `${x.p.id} polls after quarantine`).toBeGreaterThanOrEqual(steadySlots - 2);
      expect(steady.filter(allGood).length, `${x.p.id} good polls after quarantine`).toBeGreaterThanOrEqual(steadySlots - 2);
    }
    // The dead slave still yields a reading per slot (null/02), so its gap is visible downstream …
    expect(dead.got.filter((_, i) => dead.at[i]! >= steadyFrom).length).toBeGreaterThanOrEqual(steadySlots - 2);
    for (const rs of dead.got) for (const r of rs) expect(r).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
    expect(dead.p.state()).toMatchObject({ quarantined: true });
    expect(dead.p.state().error).toMatch(/no answer within 150 ms \(.* unit 3\)/);
    // … but costs the bus little: 2 polls × (1 + 1 retry) requests, then one probe per backoff (1 s, 2 s, …).
    expect(sim.requests(3)).toBeGreaterThanOrEqual(4);
    expect(sim.requests(3)).toBeLessThanOrEqual(8);
    expect(shared.stats().timeouts).toBe(sim.requests(3));

    // It comes back: the next probe after its backoff finds it and polling resumes.
    sim.slave(3).setDead(false);
    dead.got.length = 0;
    let back: Reading[] = dead.got.at(-1) ?? [{ param: 'PH', time: 0, value: null, status: DeviceStatus.DEVICE_ERROR, qc_flags: 0, period_s: 0 }];
    expect(allGood(back)).toBe(false);
    for (let i = 0; i < 60 && !allGood(back); i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await dead.p.pollOnce();
    }
    expect(allGood(back)).toBe(true);
    expect(dead.p.state().quarantined).toBe(false);
  });

  it('never lets two transactions overlap on the port, whatever the number of pollers', async () => {
    const { a, b } = await pty();
    const sim = await rtuSim(b, [[1, water], [2, air]]);
    const shared = bus(serial(a));
    const x = poller(shared, 'sonde', 1, water);
    const y = poller(shared, 'aqm', 2, air);
    // 20 concurrent polls from each: without the queue, modbus-serial would mix up the answers.
    const polls = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? x.p : y.p).pollOnce().then(() => (i % 2 ? x.p : y.p).pollOnce())));
    expect(polls.every(allGood)).toBe(true);
    expect(shared.stats()).toMatchObject({ timeouts: 0, exceptions: 0, linkErrors: 0, queued: 0 });
    expect(sim.slave(1).answered + sim.slave(2).answered).toBe(shared.stats().transactions);
  });

  it('reopens the port after it disappears (adapter unplugged) and comes back', async () => {
    const p1 = await openPtyPair();
    const dir = p1.a.slice(0, p1.a.lastIndexOf('/'));
    const sim1 = await startModbusRtuSimulator({ path: p1.b, slaves: [{ unitId: 5, profile: water }] });
    const shared = bus(serial(p1.a));
    const x = poller(shared, 'sonde', 5, water, { retries: 0, quarantineAfter: 100 });
    expect(allGood(await x.p.pollOnce())).toBe(true);
    await sim1.stop();
    await p1.stop();
    const down = await x.p.pollOnce();
    expect(down.every((r) => r.value === null && r.status === DeviceStatus.DEVICE_ERROR)).toBe(true);

    await pty(dir); // the same device paths again
    await rtuSim(p1.b, [[5, water]]);
    let back: Reading[] = down;
    for (let i = 0; i < 80 && !allGood(back); i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await x.p.pollOnce();
    }
    expect(allGood(back)).toBe(true);
    expect(shared.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('reads RTU frames over TCP through a serial device server, and bridges gaps only as allowed', async () => {
    const bridge = await startTcpSerialBridge();
    cleanup.push(() => bridge.stop());
    // A profile with a 2-register hole; the device answers reads across holes of up to 4 registers.
    const gappy = parseProfile(`id: gappy
manufacturer: Generic
model: gap test
source: generic profile, not from a datasheet
address_base: 0
max_read_gap: 4
registers:
  - { param: PH, function: 4, address: 0, type: uint16, scale: 0.01, sim: { base: 7, min: 6, max: 8 } }
  - { param: COD, function: 4, address: 3, type: float32, word_order: CDAB, sim: { base: 50, min: 0, max: 100 } }
`, 'gappy.yaml');
    const sim = await rtuSim(bridge.path, [[9, gappy]]);
    const b = bus({ kind: 'rtu-over-tcp', host: bridge.host, port: bridge.port });
    const bridged = poller(b, 'g1', 9, gappy, { maxGap: 4 });
    const first = await bridged.p.pollOnce();
    expect(allGood(first)).toBe(true);
    expect(sim.requests(9)).toBe(1); // one read of registers 0..4
    const strict = poller(b, 'g2', 9, gappy, { maxGap: 1 });
    expect(allGood(await strict.p.pollOnce())).toBe(true);
    expect(sim.requests(9)).toBe(3); // two reads: the gap of 2 exceeds 1
  });
});
