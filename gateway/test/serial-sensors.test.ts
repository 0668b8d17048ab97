import { openPtyPair, startLineSensor, startPmsSimulator, type PtyPair } from '@envmon/hardware';
import { DeviceStatus, type Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AsciiDeviceConfig, PmsDeviceConfig } from '../src/config.ts';
import { createSerialSensorPoller } from '../src/serial/serial-sensor.ts';
import { decodePmsFrame, encodePmsFrame, PmsFrameParser, type PmsFrame } from '../src/serial/pms-frame.ts';

// Serial sensors over a real pty pair: the gateway's driver on one end, a simulated instrument on the other.

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});
const serial = (path: string) => ({ kind: 'serial' as const, path, baudRate: 9600, parity: 'none' as const, dataBits: 8 as const, stopBits: 1 as const });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pty(): Promise<PtyPair> {
  const p = await openPtyPair();
  cleanup.push(() => p.stop());
  return p;
}

describe('PMS5003 frames', () => {
  it('finds frames in a byte stream split anywhere, with garbage between, and rejects bad check codes', () => {
    const parser = new PmsFrameParser();
    const out: PmsFrame[] = [];
    parser.on('data', (f: PmsFrame) => out.push(f));
    const good = encodePmsFrame({ pm1Cf1: 11, pm25Cf1: 22, pm10Cf1: 33, pm1Atm: 10, pm25Atm: 20, pm10Atm: 30 });
    const bad = Buffer.from(good);
    bad[31] = bad[31]! ^ 0xff;
    const stream = Buffer.concat([Buffer.from([0x00, 0x42, 0x13, 0x42]), good, bad, Buffer.from('garbage'), good]);
    for (let i = 0; i < stream.length; i += 5) parser.write(stream.subarray(i, i + 5));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ pm25Atm: 20, pm10Atm: 30, pm25Cf1: 22 });
    expect(parser.badFrames).toBeGreaterThanOrEqual(1);
    expect(decodePmsFrame(good).pm1Atm).toBe(10);
  });

  it('averages the frames of each poll interval, and reports 02 when the sensor goes quiet', async () => {
    const { a, b } = await pty();
    const sensor = await startPmsSimulator({ path: b, intervalMs: 100, values: { pm1: 8, pm25: 24, pm10: 40 } });
    cleanup.push(() => sensor.stop());
    const device: PmsDeviceConfig = { driver: 'pms', id: 'pms1', transport: serial(a), model: 'pms5003', use: 'atmospheric', pollIntervalMs: 500, timeoutMs: 1000 };
    const got: Reading[][] = [];
    const p = createSerialSensorPoller({ device, log, onReadings: (r) => got.push(r) });
    cleanup.push(() => p.stop());
    p.start();
    await sleep(1200);
    sensor.corrupt();
    sensor.noise(Buffer.from([0x42, 0x4d, 0x00]));
    sensor.set({ pm1: 9, pm25: 30, pm10: 50 });
    await sleep(700);
    const after = got.length;
    sensor.pause(true);
    await sleep(1100);
    await p.stop();

    const values = got.slice(1, after).map((rs) => rs.find((r) => r.param === 'PM2_5')!.value);
    expect(values.every((v) => v !== null && v >= 24 && v <= 30), JSON.stringify(values)).toBe(true);
    expect(values).toContain(24);
    expect(got.slice(after).flat().filter((r) => r.status === DeviceStatus.DEVICE_ERROR).length).toBeGreaterThan(0);
    expect(got.at(-1)!.every((r) => r.value === null && r.status === DeviceStatus.DEVICE_ERROR)).toBe(true);
    expect(p.state().error).toMatch(/no valid frame within 500 ms/);
  });
});

describe('line-based ASCII instruments', () => {
  it('parses streamed lines by field index with scaling, ignoring lines that do not match', async () => {
    const { a, b } = await pty();
    let n = 0;
    // An NMEA-like weather line plus a chatty status line the driver must skip.
    const sensor = await startLineSensor({ path: b, intervalMs: 80, line: () => (n++ % 3 === 2 ? '#STATUS OK' : `$WX,${(n % 2) ? 275 : 285},0.80,1009.5`) });
    cleanup.push(() => sensor.stop());
    const device: AsciiDeviceConfig = {
      driver: 'ascii', id: 'met', transport: serial(a), pollIntervalMs: 500, timeoutMs: 1000, request: undefined, delimiter: '\n', match: /^\$WX,/, separator: ',',
      fields: [{ param: 'TEMP', index: 1, scale: 0.1, offset: 0, sentinels: [] }, { param: 'RH', index: 2, scale: 100, offset: 0, sentinels: [] }, { param: 'PRESS', index: 3, scale: 1, offset: 0, sentinels: [-9999] }],
    };
    const got: Reading[][] = [];
    const p = createSerialSensorPoller({ device, log, onReadings: (r) => got.push(r) });
    cleanup.push(() => p.stop());
    p.start();
    await sleep(1400);
    await p.stop();
    const full = got.filter((rs) => rs.every((r) => r.value !== null));
    expect(full.length).toBeGreaterThanOrEqual(1);
    for (const rs of full) {
      const by = Object.fromEntries(rs.map((r) => [r.param, r.value]));
      expect(by.TEMP).toBeGreaterThanOrEqual(27.5);
      expect(by.TEMP).toBeLessThanOrEqual(28.5);
      expect(by.RH).toBeCloseTo(80, 6);
      expect(by.PRESS).toBeCloseTo(1009.5, 6);
    }
  });

  it('polls an instrument that answers a request line', async () => {
    const { a, b } = await pty();
    const sensor = await startLineSensor({ path: b, request: 'MEAS?\r\n', line: () => 'OK;7.25;412' });
    cleanup.push(() => sensor.stop());
    const device: AsciiDeviceConfig = {
      driver: 'ascii', id: 'ph', transport: serial(a), pollIntervalMs: 300, timeoutMs: 1000, request: 'MEAS?\r\n', delimiter: '\n', match: /^OK;/, separator: ';',
      fields: [{ param: 'PH', index: 1, scale: 1, offset: 0, sentinels: [] }, { param: 'ORP', index: 2, scale: 1, offset: 0, sentinels: [] }],
    };
    const got: Reading[][] = [];
    const p = createSerialSensorPoller({ device, log, onReadings: (r) => got.push(r) });
    cleanup.push(() => p.stop());
    p.start();
    await sleep(1300);
    await p.stop();
    expect(sensor.requests).toBeGreaterThanOrEqual(3);
    const good = got.filter((rs) => rs.every((r) => r.value !== null));
    expect(good.length).toBeGreaterThanOrEqual(2);
    expect(good[0]!.map((r) => r.value)).toEqual([7.25, 412]);
  });
});
