import { readFileSync } from 'node:fs';
import { loadProfile, parseProfile, resolveProfilePath, simulatedValue, startModbusTcpSimulator, type DeviceProfile, type ModbusTcpSimulator } from '@envmon/hardware';
import { DeviceStatus, QcFlag, type Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModbusDeviceConfig } from '../config.ts';
import { createModbusBus } from './bus.ts';
import { createDevicePoller, type DevicePoller } from './device-poller.ts';

// The poller against the real simulator over loopback TCP.

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function sim(profile: DeviceProfile, opts: { port?: number; now?: () => number; seed?: number } = {}): Promise<ModbusTcpSimulator> {
  const s = await startModbusTcpSimulator({ profile, seed: opts.seed ?? 3, ...(opts.port ? { port: opts.port } : {}), ...(opts.now ? { now: opts.now } : {}) });
  cleanup.push(() => s.stop());
  return s;
}

function poller(profile: DeviceProfile, port: number, over: Partial<ModbusDeviceConfig> = {}, now?: () => number): { p: DevicePoller; got: Reading[][] } {
  const got: Reading[][] = [];
  const device: ModbusDeviceConfig = {
    driver: 'modbus',
    id: 'dev1',
    profileName: profile.id,
    profile,
    transport: { kind: 'tcp', host: '127.0.0.1', port },
    unitId: 1,
    pollIntervalMs: 10_000,
    timeoutMs: 500,
    retries: 0,
    maxGap: 0,
    quarantineAfter: 100,
    quarantineMinMs: 1000,
    quarantineMaxMs: 10_000,
    frameGapMs: undefined,
    ...over,
  };
  const bus = createModbusBus({ transport: device.transport, log });
  const p = createDevicePoller({ device, bus, log, onReadings: (r) => got.push(r), ...(now ? { now } : {}) });
  cleanup.push(() => bus.close(), () => p.stop());
  return { p, got };
}

const byParam = (rs: Reading[]) => Object.fromEntries(rs.map((r) => [r.param, r]));
const T = Date.UTC(2026, 4, 10, 3, 0, 0);

describe.each(['generic-ambient-air', 'generic-wastewater'])('device poller reading %s', (name) => {
  const profile = loadProfile(name);

  it('decodes every register to the value the simulator computed, stamped with the poll time', async () => {
    const s = await sim(profile, { now: () => T, seed: 99 });
    const { p } = poller(profile, s.port, {}, () => T + 5);
    const rs = await p.pollOnce();
    expect(rs.map((r) => r.param).sort()).toEqual(profile.registers.map((r) => r.param).sort());
    for (const r of profile.registers) {
      const reading = byParam(rs)[r.param]!;
      const expected = simulatedValue(r.sim!, 99, r.param, T);
      // Integer registers carry one step of the scale; float32 about 7 significant digits.
      const tolerance = r.type === 'float32' ? Math.abs(expected) * 1e-6 + 1e-6 : Math.abs(r.scale) / 2 + 1e-9;
      expect(Math.abs(reading.value! - expected), `${r.param}: ${reading.value} vs ${expected}`).toBeLessThanOrEqual(tolerance);
      expect(reading).toMatchObject({ time: T + 5, status: DeviceStatus.MEASURING, qc_flags: 0, period_s: 0 });
    }
    expect(p.state()).toMatchObject({ device: 'dev1', status: 0, error: '', last_ok: T + 5 });
  });

  it('reports forced values exactly, sentinels and NaN as null/02, and fault/calibration status', async () => {
    const s = await sim(profile);
    const { p } = poller(profile, s.port);
    const [intReg, floatReg] = [profile.registers.find((r) => r.type !== 'float32' && /^(1|0\.0*1)$/.test(String(r.scale)))!, profile.registers.find((r) => r.type === 'float32')!];
    s.setValue(intReg.param, 12.3);
    s.setValue(floatReg.param, 456.5);
    let by = byParam(await p.pollOnce());
    expect(by[intReg.param]!.value).toBe(12.3);
    expect(by[floatReg.param]!.value).toBe(456.5);
    s.setValue(intReg.param, 'sentinel');
    s.setValue(floatReg.param, 'nan');
    by = byParam(await p.pollOnce());
    expect(by[intReg.param]).toMatchObject({ value: null, status: 2 });
    expect(by[floatReg.param]).toMatchObject({ value: null, status: 2 });

    s.setValue(intReg.param, undefined);
    s.setValue(floatReg.param, undefined);
    const covered = profile.status[0]!.params[0]!;
    s.setCalibrating(true);
    expect(byParam(await p.pollOnce())[covered]!.status).toBe(DeviceStatus.CALIBRATING);
    s.setFault(true);
    expect(byParam(await p.pollOnce())[covered]!.status).toBe(DeviceStatus.DEVICE_ERROR);
    expect(p.state().status).toBe(DeviceStatus.DEVICE_ERROR);
  });
});

describe('device poller failures', () => {
  const profile = loadProfile('generic-ambient-air');

  it('gives null/02 for every parameter while the device is down, and reconnects when it returns', async () => {
    const s = await sim(profile);
    const port = s.port;
    const { p } = poller(profile, port, { timeoutMs: 300 });
    expect((await p.pollOnce()).every((r) => r.value !== null)).toBe(true);

    await s.stop(); // the link drops under an open connection
    const down = await p.pollOnce();
    expect(down).toHaveLength(profile.registers.length);
    for (const r of down) expect(r).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
    expect(p.state().error).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} unit 1`));
    const lastOk = p.state().last_ok;

    await sim(profile, { port });
    // The link is reopened by a later poll, after the bus's reconnect backoff (0.5 s after a refused connect).
    let back = await p.pollOnce();
    for (let i = 0; i < 40 && !back.every((r) => r.value !== null); i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await p.pollOnce();
    }
    expect(back.every((r) => r.value !== null && r.status === 0)).toBe(true);
    expect(p.state().error).toBe('');
    expect(p.state().last_ok).toBeGreaterThanOrEqual(lastOk);
  });

  it('times out on a unit that does not answer', async () => {
    const s = await sim(profile);
    const { p } = poller(profile, s.port, { unitId: 9, timeoutMs: 200 });
    const started = Date.now();
    const rs = await p.pollOnce();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(rs.every((r) => r.value === null && r.status === 2)).toBe(true);
    expect(p.state().error).toMatch(/no answer within 200 ms/);
  });

  it('keeps the other blocks when the device refuses one with an exception', async () => {
    // The gateway's profile maps one register more than the device serves.
    const text = readFileSync(resolveProfilePath('generic-ambient-air'), 'utf8').replace(
      'registers:\n',
      'registers:\n  - { param: FLOW, function: 4, address: 300, type: float32, sim: { base: 1, min: 0, max: 2 } }\n',
    );
    const wider = parseProfile(text, 'wider.yaml');
    const s = await sim(profile);
    const { p } = poller(wider, s.port);
    const by = byParam(await p.pollOnce());
    expect(by.FLOW).toMatchObject({ value: null, status: 2 });
    expect(by.PM2_5!.value).not.toBeNull();
    expect(p.state().error).toMatch(/Modbus exception 2 \(illegal data address\) reading function 4 at 300\+2/);
    // An exception is an answer: the connection stays up and the next poll works without reconnecting.
    expect(byParam(await p.pollOnce()).PM2_5!.value).not.toBeNull();
  });

  it('polls on its schedule, aligned to the interval, until stopped', async () => {
    const s = await sim(profile);
    // 400 ms slots leave room for a busy machine's late timers while still showing the alignment.
    const { p, got } = poller(profile, s.port, { pollIntervalMs: 400 });
    p.start();
    await new Promise((r) => setTimeout(r, 1300));
    await p.stop();
    const n = got.length;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
    const times = got.map((rs) => rs[0]!.time);
    for (const rs of got) expect(new Set(rs.map((r) => r.time)).size).toBe(1);
    // Each poll starts on a multiple of 400 ms: late on a busy machine, or a millisecond early; never twice a slot.
    for (const t of times) expect(t % 400 < 300 || t % 400 > 395, `poll at …${t % 1000} ms`).toBe(true);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(got.length).toBe(n);
  });
});

describe('device poller reading coils and discrete inputs over Modbus TCP', () => {
  it('Teledyne T400: a discrete-input fault makes the readings 02, clearing it returns 00; calibration modes 01', async () => {
    const profile = loadProfile('teledyne-api-t400');
    const s = await sim(profile);
    const { p } = poller(profile, s.port, { maxBitGap: undefined });
    const status = async () => (await p.pollOnce()).map((r) => [r.param, r.status, r.value !== null]);
    expect(await status()).toEqual([['O3', DeviceStatus.MEASURING, true]]);
    s.setBit('Sample flow warning', true);
    expect(await status()).toEqual([['O3', DeviceStatus.DEVICE_ERROR, true]]);
    s.setBit('Sample flow warning', undefined);
    expect(await status()).toEqual([['O3', DeviceStatus.MEASURING, true]]);
    s.setBit('System is OK', false); // active low
    expect(await status()).toEqual([['O3', DeviceStatus.DEVICE_ERROR, true]]);
    s.setBit('System is OK', undefined);
    s.setCalibrating(true);
    expect(await status()).toEqual([['O3', DeviceStatus.CALIBRATING, true]]);
    s.setFault(true);
    expect(await status()).toEqual([['O3', DeviceStatus.DEVICE_ERROR, true]]);
    s.setFault(false);
    s.setCalibrating(false);
    expect(await status()).toEqual([['O3', DeviceStatus.MEASURING, true]]);
    expect(p.state()).toMatchObject({ status: DeviceStatus.MEASURING, error: '' });
  });

  it('coils as a 0/1 reading and a humidity flag; a bit read refused by the device gives 02', async () => {
    const yaml = `id: coil-test
manufacturer: Acme
model: C-1
source: a test, not a device
address_base: 0
max_bit_gap: 1
registers:
  - { param: PM2_5, function: 4, address: 0, type: uint16, scale: 0.1, sim: { base: 20, min: 0, max: 100 } }
  - { param: TEMP, function: 4, address: 1, type: int16, scale: 0.1, sim: { base: 25, min: 0, max: 40 } }
bits:
  - { name: PUMP ON, function: 1, address: 7, role: reading, param: RH }
  - { name: HUMID, function: 1, address: 9, role: humidity, params: [PM2_5] }
  - { name: ALARM, function: 2, address: 0, role: fault, params: [PM2_5] }
`;
    const profile = parseProfile(yaml, 'coil-test.yaml');
    const s = await sim(profile);
    const bridged = poller(profile, s.port);
    let by = byParam(await bridged.p.pollOnce());
    expect(by.RH).toMatchObject({ value: 0, status: DeviceStatus.MEASURING });
    expect(by.PM2_5).toMatchObject({ status: DeviceStatus.MEASURING, qc_flags: 0 });
    s.setBit('PUMP ON', true);
    s.setHumid(true);
    s.setBit('ALARM', true);
    by = byParam(await bridged.p.pollOnce());
    expect(by.RH).toMatchObject({ value: 1, status: DeviceStatus.MEASURING });
    expect(by.PM2_5).toMatchObject({ status: DeviceStatus.DEVICE_ERROR, qc_flags: QcFlag.HUMIDITY });
    expect(by.TEMP).toMatchObject({ status: DeviceStatus.MEASURING, qc_flags: 0 });
    // The same profile polled against a device without coil 8 (and 9): it answers the bridged read 7..9 with exception 2 → the bits are unknown:
    // RH null/02; PM2_5 gets no humidity flag (unknown), its fault bit (a discrete input) is still read.
    const s2 = await sim(parseProfile(yaml.replace('address: 9', 'address: 30'), 'coil-test.yaml'));
    const far = poller(profile, s2.port);
    by = byParam(await far.p.pollOnce());
    expect(by.RH).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
    expect(by.PM2_5).toMatchObject({ status: DeviceStatus.MEASURING, qc_flags: 0 });
    expect(far.p.state().error).toMatch(/exception 2 .* function 1 at 7\+3/);
  });
});
