import Modbus from 'modbus-serial';
import { catalogue } from '@envmon/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProfile, parseProfile } from '../profile/load.ts';
import { GENERIC_SOURCE, type DeviceProfile, type ProfileRegister } from '../profile/schema.ts';
import { decodeRegisters, isSentinel, wordCount } from '../registers.ts';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from './modbus-tcp.ts';

// Every test talks to the simulator through a real modbus-serial client over loopback TCP.

const started: { sim: ModbusTcpSimulator; client: InstanceType<typeof Modbus.default> }[] = [];
afterEach(async () => {
  for (const { sim, client } of started.splice(0)) {
    await new Promise<void>((r) => client.close(() => r()));
    await sim.stop();
  }
});

async function start(profile: DeviceProfile, clock: { t: number }, unitId = 1) {
  const sim = await startModbusTcpSimulator({ profile, seed: 7, now: () => clock.t, unitId });
  const client = new Modbus.default();
  await client.connectTCP('127.0.0.1', { port: sim.port });
  client.setID(unitId);
  client.setTimeout(1000);
  started.push({ sim, client });
  return { sim, client };
}

async function readWords(client: InstanceType<typeof Modbus.default>, fn: 3 | 4, addr: number, len: number): Promise<number[]> {
  const res = fn === 3 ? await client.readHoldingRegisters(addr, len) : await client.readInputRegisters(addr, len);
  return res.data;
}

async function readValue(client: InstanceType<typeof Modbus.default>, r: ProfileRegister): Promise<number | null> {
  const raw = decodeRegisters(await readWords(client, r.function, r.wireAddress, wordCount(r.type)), r.type, r.wordOrder);
  if (Number.isNaN(raw) || isSentinel(raw, r.type, r.sentinels)) return null;
  return raw * r.scale + r.offset;
}

const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);
const HOUR = 3_600_000;

describe.each(['generic-ambient-air', 'generic-wastewater'])('simulator serving %s', (name) => {
  const profile = loadProfile(name);

  it('serves every register with a value inside the simulated and catalogue range, varying over time', async () => {
    const clock = { t: T0 };
    const { client } = await start(profile, clock);
    const seen = new Map<string, number[]>();
    // 48 simulated half-hours: two full diurnal cycles.
    for (let step = 0; step < 48; step++) {
      clock.t = T0 + step * HOUR / 2;
      for (const r of profile.registers) {
        const v = await readValue(client, r);
        expect(v, `${r.param} at step ${step}`).not.toBeNull();
        const [lo, hi] = catalogue().get(r.param)!.range;
        // Integer registers round to one raw step; allow that much outside the sim bounds.
        const slack = r.type === 'float32' ? 1e-3 * Math.max(1, Math.abs(r.sim!.max)) : Math.abs(r.scale);
        expect(v!).toBeGreaterThanOrEqual(Math.max(lo, r.sim!.min - slack));
        expect(v!).toBeLessThanOrEqual(Math.min(hi, r.sim!.max + slack));
        seen.set(r.param, [...(seen.get(r.param) ?? []), v!]);
      }
    }
    for (const [param, values] of seen) {
      const spread = Math.max(...values) - Math.min(...values);
      expect(spread, `${param} should vary over two days`).toBeGreaterThan(0);
      expect(new Set(values).size, `${param} distinct values`).toBeGreaterThan(10);
    }
  });

  it('reads contiguous registers of one function in a single request, as the gateway will', async () => {
    const clock = { t: T0 + 5 * HOUR };
    const { client } = await start(profile, clock);
    for (const fn of [3, 4] as const) {
      const regs = profile.registers.filter((r) => r.function === fn).sort((a, b) => a.wireAddress - b.wireAddress);
      if (regs.length === 0) continue;
      const from = regs[0]!.wireAddress;
      const last = regs.at(-1)!;
      const words = await readWords(client, fn, from, last.wireAddress + wordCount(last.type) - from);
      for (const r of regs) {
        const slice = words.slice(r.wireAddress - from, r.wireAddress - from + wordCount(r.type));
        const one = await readWords(client, fn, r.wireAddress, wordCount(r.type));
        expect(slice, r.param).toEqual(one);
      }
    }
  });

  it('answers an unmapped address with Modbus exception 2', async () => {
    const { client } = await start(profile, { t: T0 });
    await expect(readWords(client, 3, 5000, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(readWords(client, 4, 5000, 1)).rejects.toMatchObject({ modbusCode: 2 });
    // A read that starts on a mapped register but runs past the map is refused as a whole.
    const r = profile.registers[0]!;
    await expect(readWords(client, r.function, r.wireAddress, 120)).rejects.toMatchObject({ modbusCode: 2 });
  });

  it('sets the fault and calibration bits of every status register', async () => {
    const { sim, client } = await start(profile, { t: T0 });
    const bits = async () => Promise.all(profile.status.map(async (s) => (await readWords(client, s.function, s.wireAddress, 1))[0]!));
    expect(await bits()).toEqual(profile.status.map(() => 0));
    sim.setFault(true);
    expect(await bits()).toEqual(profile.status.map((s) => 1 << s.faultBit!));
    sim.setCalibrating(true);
    expect(await bits()).toEqual(profile.status.map((s) => (1 << s.faultBit!) | (1 << s.calibrationBit!)));
    sim.setFault(false);
    expect(await bits()).toEqual(profile.status.map((s) => 1 << s.calibrationBit!));
  });

  it('serves forced values, sentinels and NaN', async () => {
    const { sim, client } = await start(profile, { t: T0 });
    const withSentinel = profile.registers.find((r) => r.sentinels.length > 0)!;
    sim.setValue(withSentinel.param, 'sentinel');
    expect(await readValue(client, withSentinel)).toBeNull();
    sim.setValue(withSentinel.param, 12.5);
    expect(await readValue(client, withSentinel)).toBeCloseTo(12.5, 1);
    sim.setValue(withSentinel.param, undefined);
    expect(await readValue(client, withSentinel)).not.toBe(12.5);
    const float = profile.registers.find((r) => r.type === 'float32')!;
    sim.setValue(float.param, 'nan');
    expect(await readValue(client, float)).toBeNull();
    const int = profile.registers.find((r) => r.type !== 'float32')!;
    expect(() => sim.setValue(int.param, 'nan')).toThrow(/only float32/);
    expect(() => sim.setValue('NOPE', 1)).toThrow(/not in profile/);
  });
});

describe('simulator', () => {
  it('ignores requests for another unit id, like a real TCP gateway', async () => {
    const profile = loadProfile('generic-ambient-air');
    const { client } = await start(profile, { t: T0 }, 7);
    client.setID(8);
    client.setTimeout(300);
    await expect(client.readInputRegisters(0, 2)).rejects.toMatchObject({ name: 'TransactionTimedOutError' });
  });

  it('listens on the port it was given, and gives a free one for port 0', async () => {
    const profile = loadProfile('generic-wastewater');
    const a = await startModbusTcpSimulator({ profile });
    const b = await startModbusTcpSimulator({ profile, port: 0 });
    expect(a.port).toBeGreaterThan(0);
    expect(b.port).not.toBe(a.port);
    await b.stop();
    const c = await startModbusTcpSimulator({ profile, port: b.port });
    expect(c.port).toBe(b.port);
    await expect(startModbusTcpSimulator({ profile, port: a.port })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+/);
    await Promise.all([a.stop(), c.stop()]);
  });
});

describe('simulator serving coils and discrete inputs', () => {
  const bitsOf = async (client: InstanceType<typeof Modbus.default>, fn: 1 | 2, addr: number, len: number) =>
    (fn === 1 ? await client.readCoils(addr, len) : await client.readDiscreteInputs(addr, len)).data.slice(0, len).map(Number);

  it('serves the Teledyne T400 discrete inputs: faults, calibration, an active-low "system OK", forced bits', async () => {
    const profile = loadProfile('teledyne-api-t400');
    const { sim, client } = await start(profile, { t: T0 });
    const at = (name: string) => profile.bits.find((b) => b.name === name)!.wireAddress - 3;
    const read = () => bitsOf(client, 2, 3, 22); // one read, 3..24: the profile's max_bit_gap bridges 7..8 and 11..18
    const idle = await read();
    expect(idle.filter((b) => b === 1)).toHaveLength(1);
    expect(idle[at('System is OK')]).toBe(1);
    expect(idle[7 - 3]).toBe(0); // an unmapped bit inside an allowed gap reads 0

    sim.setFault(true);
    const fault = await read();
    for (const b of profile.bits) expect(fault[b.wireAddress - 3], b.name).toBe(b.role === 'fault' ? (b.activeLow ? 0 : 1) : 0);
    sim.setFault(false);
    sim.setCalibrating(true);
    const cal = await read();
    for (const b of profile.bits) expect(cal[b.wireAddress - 3], b.name).toBe(b.role === 'calibration' ? 1 : b.activeLow ? 1 : 0);
    sim.setCalibrating(false);

    sim.setBit('Sample flow warning', true);
    sim.setBit('System is OK', false);
    const forced = await read();
    expect(forced[at('Sample flow warning')]).toBe(1);
    expect(forced[at('System is OK')]).toBe(0);
    sim.setBit('Sample flow warning', undefined);
    sim.setBit('System is OK', undefined);
    expect(await read()).toEqual(idle);
    expect(() => sim.setBit('No such bit', true)).toThrow(/no bit named "No such bit".*Sample flow warning/);

    // Bits outside the map (0..2: IZS option not mapped; 25..) and the other bit table get exception 2.
    await expect(bitsOf(client, 2, 0, 4)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(bitsOf(client, 2, 24, 2)).rejects.toMatchObject({ modbusCode: 2 });
    await expect(bitsOf(client, 1, 3, 1)).rejects.toMatchObject({ modbusCode: 2 });
  });

  it('serves coils and a humidity bit from a profile that has them', async () => {
    const profile = parseProfile(
      `id: coil-test
manufacturer: Acme
model: C-1
source: ${GENERIC_SOURCE}
address_base: 0
registers:
  - { param: PM2_5, function: 4, address: 0, type: uint16, sim: { base: 20, min: 0, max: 100 } }
status:
  - { function: 4, address: 1, humidity_bit: 5 }
bits:
  - { name: PUMP ON, function: 1, address: 7, role: reading, param: RH }
  - { name: HUMID, function: 1, address: 8, role: humidity }
`,
      'coil-test.yaml',
    );
    const { sim, client } = await start(profile, { t: T0 });
    expect(await bitsOf(client, 1, 7, 2)).toEqual([0, 0]);
    expect((await readWords(client, 4, 1, 1))[0]).toBe(0);
    sim.setHumid(true);
    sim.setBit('PUMP ON', true);
    expect(await bitsOf(client, 1, 7, 2)).toEqual([1, 1]);
    expect((await readWords(client, 4, 1, 1))[0]).toBe(1 << 5);
  });
});
