import { listProfiles, loadProfile, openPtyPair, profileParams, simulatedValue, startModbusRtuSimulator, type PtyPair, type ModbusRtuSimulator } from '@envmon/hardware';
import { DeviceStatus, QcFlag, type Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModbusBus, type ModbusBus } from '../src/modbus/bus.ts';
import { createDevicePoller } from '../src/modbus/device-poller.ts';
import { planReads } from '../src/modbus/read-plan.ts';

// Every shipped profile, each as its own slave on ONE RTU bus (a socat pty pair), read register by register
// through the gateway's bus and poller, compared with what the simulator computed for that instant.

const T = Date.UTC(2026, 5, 1, 2, 30, 0);
const SEED = 41;
const log = pino({ level: 'silent' });
const names = listProfiles();
let pair: PtyPair;
let sim: ModbusRtuSimulator;
let bus: ModbusBus;

beforeAll(async () => {
  pair = await openPtyPair();
  sim = await startModbusRtuSimulator({ path: pair.b, now: () => T, slaves: names.map((n, i) => ({ unitId: i + 1, profile: loadProfile(n), seed: SEED })) });
  bus = createModbusBus({ transport: { kind: 'serial', path: pair.a, baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 }, log });
});
afterAll(async () => {
  await bus?.close();
  await sim?.stop();
  await pair?.stop();
});

describe('every shipped profile through the gateway on an RTU bus', () => {
  it('ships at least 8 instrument profiles with a cited source', () => {
    const real = names.map((n) => loadProfile(n)).filter((p) => p.manufacturer.toLowerCase() !== 'generic');
    expect(real.length).toBeGreaterThanOrEqual(8);
    const params = new Set(real.flatMap((p) => p.registers.map((r) => r.param)));
    // Water: pH/ORP, DO, turbidity/TSS, COD, NH4, flow; air: particulates, a gas; stack; weather.
    for (const p of ['PH', 'ORP', 'DO', 'TURB', 'TSS', 'COD', 'NH4', 'FLOW', 'PM2_5', 'O3', 'SO2', 'STACK_SO2', 'STACK_O2', 'TEMP', 'PRESS']) expect(params.has(p), p).toBe(true);
  });

  it('maps fault bits of the Teledyne and SICK analysers and the humidity flag of the envmon node', () => {
    for (const n of ['teledyne-api-t400', 'teledyne-api-t101', 'sick-marsic300']) expect(loadProfile(n).bits.some((b) => b.role === 'fault'), n).toBe(true);
    expect(loadProfile('envmon-node').status.filter((s) => s.humidityBit !== undefined).flatMap((s) => s.params)).toEqual(['PM2_5', 'PM10']);
  });

  for (const [i, name] of names.entries()) {
    it(`${name}: every register decodes to the simulated value`, async () => {
      const profile = loadProfile(name);
      const got: Reading[] = [];
      const p = createDevicePoller({
        device: {
          driver: 'modbus', id: name, profileName: name, profile, transport: { kind: 'serial', path: pair.a, baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 },
          unitId: i + 1, pollIntervalMs: 60_000, timeoutMs: 500, retries: 1, maxGap: profile.maxReadGap, quarantineAfter: 3, quarantineMinMs: 1000, quarantineMaxMs: 1000, frameGapMs: undefined,
        },
        bus,
        log,
        now: () => T,
        onReadings: (r) => got.push(...r),
      });
      const before = sim.requests(i + 1);
      const rs = await p.pollOnce();
      expect(sim.requests(i + 1) - before).toBe(planReads(profile).length);
      expect(rs.map((r) => r.param)).toEqual(profileParams(profile));
      for (const r of profile.registers) {
        const reading = rs.find((x) => x.param === r.param)!;
        const expected = simulatedValue(r.sim!, SEED, r.param, T);
        const tolerance = r.type === 'float32' ? Math.abs(expected * r.scale) * 1e-6 + Math.abs(r.scale) * 1e-4 : Math.abs(r.scale) / 2 + 1e-9;
        expect(reading.status, r.param).toBe(DeviceStatus.MEASURING);
        expect(Math.abs(reading.value! - expected), `${r.param}: ${reading.value} vs ${expected}`).toBeLessThanOrEqual(tolerance);
      }
      // And a forced sentinel or NaN becomes a missing value with status 02.
      const r0 = profile.registers.find((r) => r.type === 'float32' || r.sentinels.length > 0);
      if (r0) {
        sim.slave(i + 1).setValue(r0.param, r0.type === 'float32' ? 'nan' : 'sentinel');
        const again = await p.pollOnce();
        expect(again.find((x) => x.param === r0.param)).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
        sim.slave(i + 1).setValue(r0.param, undefined);
      }
      // Status registers and fault/calibration bits (coils, discrete inputs): the simulator's fault makes the
      // parameters they cover 02, clearing it returns them to 00; calibration gives 01.
      const covered = new Set([...profile.status.filter((s) => s.faultBit !== undefined).flatMap((s) => s.params), ...profile.bits.filter((b) => b.role === 'fault').flatMap((b) => b.params)]);
      const calibrated = new Set([...profile.status.filter((s) => s.calibrationBit !== undefined).flatMap((s) => s.params), ...profile.bits.filter((b) => b.role === 'calibration').flatMap((b) => b.params)]);
      const statusOf = async () => Object.fromEntries((await p.pollOnce()).map((r) => [r.param, r.status]));
      const expectStatus = (got: Record<string, number>, set: Set<string>, st: number) => {
        for (const param of profileParams(profile)) expect(got[param], `${param}`).toBe(set.has(param) ? st : DeviceStatus.MEASURING);
      };
      sim.slave(i + 1).setFault(true);
      expectStatus(await statusOf(), covered, DeviceStatus.DEVICE_ERROR);
      sim.slave(i + 1).setFault(false);
      expectStatus(await statusOf(), new Set(), DeviceStatus.MEASURING);
      sim.slave(i + 1).setCalibrating(true);
      expectStatus(await statusOf(), calibrated, DeviceStatus.CALIBRATING);
      sim.slave(i + 1).setCalibrating(false);
      // The humidity bit (envmon-node: status bit 2 of the PM slots) sets QcFlag.HUMIDITY on the PM readings only.
      const humid = new Set([...profile.status.filter((s) => s.humidityBit !== undefined).flatMap((s) => s.params), ...profile.bits.filter((b) => b.role === 'humidity').flatMap((b) => b.params)]);
      sim.slave(i + 1).setHumid(true);
      for (const r of await p.pollOnce()) expect(r.qc_flags, r.param).toBe(humid.has(r.param) ? QcFlag.HUMIDITY : 0);
      sim.slave(i + 1).setHumid(false);
      for (const r of await p.pollOnce()) expect(r.qc_flags, r.param).toBe(0);
    });
  }
});
