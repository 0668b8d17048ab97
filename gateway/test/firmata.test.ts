import mockFirmata from 'mock-firmata';
import { DeviceStatus, type Reading } from '@envmon/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FirmataDeviceConfig } from '../src/config.ts';
import { createFirmataPoller } from '../src/firmata/firmata-board.ts';

// A Firmata board through johnny-five, with johnny-five's own test board (mock-firmata) as the io: the pins'
// report callbacks are captured, as StandardFirmata's analog and digital messages would drive them.

const log = pino({ level: 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function board() {
  const io = new mockFirmata.Firmata();
  const analog = new Map<number, (v: number) => void>();
  const digital = new Map<number, (v: number) => void>();
  io.analogRead = (pin, cb) => void analog.set(pin, cb);
  io.digitalRead = (pin, cb) => void digital.set(pin, cb);
  const ready = (): void => {
    io.emit('connect');
    io.emit('ready');
  };
  return { io, analog, digital, ready };
}

/**
 * A poll averages the samples that arrived since the previous poll, and the poller's own timer polls too: on a
 * loaded machine a poll can find no new sample yet. Wait for one that has them (a real board streams at 25 ms).
 */
async function pollWithSamples(p: { pollOnce(): Promise<Reading[]> }): Promise<Reading[]> {
  for (let i = 0; ; i++) {
    await sleep(150);
    const rs = await p.pollOnce();
    if (rs.every((r) => r.value !== null) || i >= 20) return rs;
  }
}

describe('Firmata board through johnny-five', () => {
  it('scales analog pins to engineering units, and marks status from digital contacts', async () => {
    const b = board();
    const device: FirmataDeviceConfig = {
      driver: 'firmata', id: 'uno', transport: { kind: 'serial', path: '/dev/null', baudRate: 57600, parity: 'none', dataBits: 8, stopBits: 1 }, pollIntervalMs: 300, timeoutMs: 1000,
      pins: [
        // 4–20 mA pH transmitter on a 250 Ω shunt: 1 V (ADC 205) = pH 0, 5 V (ADC 1023) = pH 14.
        { pin: 'A0', kind: 'analog', param: 'PH', raw: [205, 1023], value: [0, 14], role: undefined, params: [], active: 'high' },
        // LM35-style temperature: 10 mV/°C on 5 V / 1023 → raw 0..1023 = 0..500 °C.
        { pin: 'A1', kind: 'analog', param: 'WTEMP', raw: [0, 1023], value: [0, 500], role: undefined, params: [], active: 'high' },
        { pin: 7, kind: 'digital', param: undefined, raw: [0, 1023], value: undefined, role: 'fault', params: ['PH'], active: 'low' },
        { pin: 8, kind: 'digital', param: undefined, raw: [0, 1023], value: undefined, role: 'calibration', params: ['WTEMP'], active: 'high' },
      ],
    };
    const got: Reading[][] = [];
    const p = createFirmataPoller({ device, log, io: b.io, onReadings: (r) => got.push(r) });
    cleanup.push(() => p.stop());
    expect(await p.pollOnce()).toEqual([
      expect.objectContaining({ param: 'PH', value: null, status: DeviceStatus.DEVICE_ERROR }),
      expect.objectContaining({ param: 'WTEMP', value: null, status: DeviceStatus.DEVICE_ERROR }),
    ]);
    p.start();
    b.ready();
    await sleep(100);
    expect([...b.analog.keys()].sort()).toEqual([0, 1]);
    expect([...b.digital.keys()].sort()).toEqual([7, 8]);
    b.analog.get(0)!(614); // (614 - 205) / 818 × 14 = 7.0
    b.analog.get(1)!(59); // 59 / 1023 × 500 = 28.837
    b.digital.get(7)!(1); // fault contact open (active low): no fault
    b.digital.get(8)!(0);
    let rs = await pollWithSamples(p);
    expect(rs.find((r) => r.param === 'PH')).toMatchObject({ value: 7, status: DeviceStatus.MEASURING });
    expect(rs.find((r) => r.param === 'WTEMP')!.value).toBeCloseTo(28.837, 2);

    b.digital.get(7)!(0); // the analyser's fault relay pulls the pin low
    b.digital.get(8)!(1); // maintenance / calibration contact
    rs = await pollWithSamples(p);
    expect(rs.find((r) => r.param === 'PH')).toMatchObject({ value: 7, status: DeviceStatus.DEVICE_ERROR });
    expect(rs.find((r) => r.param === 'WTEMP')).toMatchObject({ status: DeviceStatus.CALIBRATING });
    expect(p.state().last_ok).toBeGreaterThan(0);
  });
});
