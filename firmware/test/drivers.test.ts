import { describe, expect, it } from 'vitest';
import { analogFault, calibrate, readAnalog, type AnalogProbeConfig } from '../src/drivers/analog.ts';
import { Ds18b20, findDs18b20, parseScratchpad } from '../src/drivers/ds18b20.ts';
import { PmsStream, parsePmsFrame, pmsCommand, PMS_CMD_ACTIVE, PMS_CMD_READ, PMS_CMD_SLEEP, type PmsFrame } from '../src/drivers/pms5003.ts';
import { measureSht3x, parseSht3x } from '../src/drivers/sht3x.ts';
import { SimI2c, SimOneWire } from '../src/platform/sim/sim-platform.ts';
import { SimDs18b20, SimSht3x, ds18b20Rom } from '../src/platform/sim/devices.ts';
import { hexBytes } from '../src/util/bytes.ts';
import { crc16Modbus, crc8Maxim, crc8Sensirion } from '../src/util/crc.ts';

describe('CRCs against the published check values', () => {
  it('SHT3x CRC-8: 0xBEEF → 0x92 (SHT3x-DIS datasheet §4.12, Table 19)', () => {
    expect(crc8Sensirion([0xbe, 0xef], 0, 2)).toBe(0x92);
  });
  it('Maxim CRC-8: ROM 02 1C B8 01 00 00 00 → A2 (Maxim application note 27 example)', () => {
    expect(crc8Maxim(hexBytes('02 1c b8 01 00 00 00'), 0, 7)).toBe(0xa2);
    expect(crc8Maxim(hexBytes('02 1c b8 01 00 00 00 a2'), 0, 8)).toBe(0); // data + CRC gives 0
  });
  it('CRC-16/MODBUS: 01 03 00 00 00 0A → C5 CD on the wire (low byte first)', () => {
    const c = crc16Modbus(hexBytes('01 03 00 00 00 0a'), 0, 6);
    expect([c & 0xff, c >> 8]).toEqual([0xc5, 0xcd]);
  });
});

describe('PMS5003 / PMS7003', () => {
  // Frame layout from the PMS5003 manual, Appendix I; values chosen for a polluted morning, checksum 0x0319
  // = sum of bytes 0..29 worked out by hand.
  const POLLUTED = hexBytes('42 4d 00 1c 00 1b 00 2d 00 3a 00 16 00 25 00 32 12 0c 05 64 00 d2 00 1e 00 06 00 02 00 00 03 19');
  // A PMS7003 in clean air: all PM 0, a few particles, data 13 = version 0x97 / error code 0x00; check 0x0170.
  const CLEAN_7003 = hexBytes('42 4d 00 1c 00 00 00 00 00 00 00 00 00 00 00 00 00 24 00 07 00 01 00 01 00 01 00 00 97 00 01 70');

  it('decodes every field of a frame', () => {
    const f = parsePmsFrame(POLLUTED, 0) as PmsFrame;
    expect(f).toMatchObject({ pm1Cf1: 27, pm25Cf1: 45, pm10Cf1: 58, pm1: 22, pm25: 37, pm10: 50, reserved: 0 });
    expect(f.counts).toEqual([4620, 1380, 210, 30, 6, 2]);
    const g = parsePmsFrame(CLEAN_7003, 0) as PmsFrame;
    expect(g.pm25).toBe(0);
    expect(g.counts).toEqual([36, 7, 1, 1, 1, 0]);
    expect(g.reserved >> 8).toBe(0x97); // PMS7003 version byte
  });

  it('rejects a wrong checksum, length or start', () => {
    const bad = POLLUTED.slice();
    bad[9] = bad[9]! ^ 0x01; // one bit of PM2.5 CF=1 flipped in transit
    expect(parsePmsFrame(bad, 0)).toMatch(/^checksum/);
    const len = POLLUTED.slice();
    len[3] = 0x14; // a PMS3003 24-byte frame length
    expect(parsePmsFrame(len, 0)).toMatch(/frame length/);
    expect(parsePmsFrame([0x42, 0x4e, ...POLLUTED.slice(2)], 0)).toMatch(/start/);
  });

  it('builds the host commands of Appendix II byte for byte', () => {
    expect(pmsCommand(PMS_CMD_ACTIVE, 0)).toEqual(hexBytes('42 4d e1 00 00 01 70')); // passive mode
    expect(pmsCommand(PMS_CMD_ACTIVE, 1)).toEqual(hexBytes('42 4d e1 00 01 01 71')); // active mode
    expect(pmsCommand(PMS_CMD_READ, 0)).toEqual(hexBytes('42 4d e2 00 00 01 71'));
    expect(pmsCommand(PMS_CMD_SLEEP, 0)).toEqual(hexBytes('42 4d e4 00 00 01 73'));
    expect(pmsCommand(PMS_CMD_SLEEP, 1)).toEqual(hexBytes('42 4d e4 00 01 01 74'));
  });

  it('finds frames in a stream split anywhere, with garbage, and counts corrupted frames', () => {
    const got: number[] = [];
    const s = new PmsStream((f) => got.push(f.pm25));
    const bad = POLLUTED.slice();
    bad[20] = bad[20]! ^ 0x40;
    const stream = [0x00, 0x42, 0xff, ...POLLUTED, ...bad, 0x4d, ...CLEAN_7003, ...POLLUTED];
    for (let i = 0; i < stream.length; i += 5) s.push(stream.slice(i, i + 5));
    expect(got).toEqual([37, 0, 37]);
    expect(s.frames).toBe(3);
    expect(s.errors).toBe(1);
  });

  it('keeps its buffer bounded on a stream of garbage', () => {
    const s = new PmsStream(() => undefined);
    for (let i = 0; i < 200; i++) s.push([0x42, 0x4d, 0x00, 0x1c, 0x42, 0x4d]);
    expect((s as unknown as { buf: number[] }).buf.length).toBeLessThanOrEqual(64);
  });
});

describe('SHT3x', () => {
  it('converts raw values per §4.13 and checks both CRCs', () => {
    // S_T = 0x6666 (26214) → −45 + 175·26214/65535 = 25.0 °C; S_RH = 0x8000 → 50.0 %; CRCs computed per §4.12.
    const b = [0x66, 0x66, crc8Sensirion([0x66, 0x66], 0, 2), 0x80, 0x00, crc8Sensirion([0x80, 0x00], 0, 2)];
    const s = parseSht3x(b);
    expect(typeof s).toBe('object');
    if (typeof s === 'string') return;
    expect(s.t).toBeCloseTo(25.0, 2);
    expect(s.rh).toBeCloseTo(50.0, 2);
    // Extremes of the transfer function: 0x0000 → −45 °C / 0 %RH, 0xFFFF → 130 °C / 100 %RH.
    const lo = parseSht3x([0, 0, 0x81, 0, 0, 0x81]);
    const hi = parseSht3x([0xff, 0xff, 0xac, 0xff, 0xff, 0xac]);
    expect(lo).toMatchObject({ t: -45, rh: 0 });
    expect(hi).toMatchObject({ t: 130, rh: 100 });
    expect(parseSht3x([0x66, 0x66, 0x00, 0x80, 0x00, 0x00])).toBe('temperature CRC mismatch');
    expect(parseSht3x([0, 0, 0x81, 0, 0, 0x80])).toBe('humidity CRC mismatch');
  });

  it('sends 0x2400, waits the measurement time and reads 6 bytes through the I2C seam', () => {
    const bus = new SimI2c();
    const dev = new SimSht3x();
    dev.t = 31.2;
    dev.rh = 81.5;
    dev.noise = false;
    bus.devices[0x44] = dev;
    const waits: number[] = [];
    let result: unknown;
    measureSht3x(bus, 0x44, (fn, ms) => { waits.push(ms); fn(); }, (err, s) => { result = err ?? s; });
    expect(waits[0]).toBeGreaterThanOrEqual(15); // t_MEAS,h max 15 ms
    expect((result as { t: number }).t).toBeCloseTo(31.2, 2);
    expect((result as { rh: number }).rh).toBeCloseTo(81.5, 2);
    measureSht3x(bus, 0x45, (fn) => fn(), (err) => { result = err; });
    expect(result).toMatch(/no answer at 0x45/);
  });
});

describe('DS18B20', () => {
  const pad = (lsb: number, msb: number, config = 0x7f): number[] => {
    const b = [lsb, msb, 0x4b, 0x46, config, 0xff, 0x0c, 0x10, 0];
    b[8] = crc8Maxim(b, 0, 8);
    return b;
  };
  it('decodes the temperature/data relationship of Table 1', () => {
    const table: [number, number][] = [
      [0x07d0, 125], [0x0191, 25.0625], [0x00a2, 10.125], [0x0008, 0.5], [0x0000, 0],
      [0xfff8, -0.5], [0xff5e, -10.125], [0xfe6f, -25.0625], [0xfc90, -55],
    ];
    for (const [raw, t] of table) expect(parseScratchpad(pad(raw & 0xff, raw >> 8)), raw.toString(16)).toBe(t);
  });
  it('masks the undefined low bits at 9-bit resolution (configuration 0x1F)', () => {
    expect(parseScratchpad(pad(0x97, 0x01, 0x1f))).toBe(25); // 0x0197 → bits 2..0 undefined → 0x0190
  });
  it('refuses the 85 °C power-on value, a CRC error and an all-zero (shorted) bus', () => {
    expect(parseScratchpad(pad(0x50, 0x05))).toMatch(/power-on/);
    const b = pad(0x91, 0x01);
    b[8] = b[8]! ^ 1;
    expect(parseScratchpad(b)).toMatch(/CRC/);
    expect(parseScratchpad(new Array(9).fill(0))).toMatch(/held low/);
    expect(parseScratchpad(new Array(9).fill(0xff))).toMatch(/CRC/); // nobody answered
  });
  it('runs Convert T and Read Scratchpad on a 1-Wire bus, by ROM id', () => {
    const bus = new SimOneWire();
    const rom = ds18b20Rom([0x4e, 0x3a, 0x12, 0x00, 0x00, 0x80]);
    expect(crc8Maxim(hexBytes(rom), 0, 8)).toBe(0);
    const dev = new SimDs18b20(rom);
    dev.t = -7.25;
    bus.devices.push(dev);
    const other = new SimDs18b20('10' + rom.slice(2)); // a DS18S20 (family 10h) is skipped
    expect(findDs18b20([other.rom, rom])).toBe(rom);
    const ds = new Ds18b20(bus, rom);
    expect(ds.read()).toMatch(/power-on/); // no conversion yet
    expect(ds.startConversion()).toBe(true);
    expect(ds.read()).toBe(-7.25);
    bus.devices.length = 0;
    expect(ds.read()).toBe('no presence pulse');
  });
});

describe('analog probe with two-point calibration', () => {
  // A 4–20 mA pH transmitter (0–14 pH) over 150 Ω into a 3.3 V ADC: 4 mA → 0.6 V → 0.1818; 20 mA → 3.0 V → 0.9091.
  const cfg: AnalogProbeConfig = { pin: 'A0', param: 'PH', vref: 3.3, shuntOhm: 150, cal: { raw1: 0.6 / 3.3, value1: 0, raw2: 3.0 / 3.3, value2: 14 } };
  it('maps through the two points and extrapolates linearly', () => {
    expect(calibrate(1.8 / 3.3, cfg.cal)).toBeCloseTo(7, 6); // 12 mA = mid-scale
    expect(calibrate(0.6 / 3.3, cfg.cal)).toBeCloseTo(0, 6);
    // Buffers pH 4.01 and 9.18 read 0.3576 and 0.6818: values in between follow the line through them.
    const buf = { raw1: 0.3576, value1: 4.01, raw2: 0.6818, value2: 9.18 };
    expect(calibrate(0.5197, buf)).toBeCloseTo(6.595, 2);
    expect(calibrate(0.5, { raw1: 0.4, value1: 1, raw2: 0.4, value2: 2 })).toMatch(/same raw/);
  });
  it('flags NAMUR NE 43 failure currents and ADC rails', () => {
    expect(analogFault(3.5e-3 * 150 / 3.3, cfg)).toMatch(/< 3.6 mA/); // 3.5 mA: broken sensor
    expect(analogFault(21.5e-3 * 150 / 3.3, cfg)).toMatch(/> 21 mA/);
    expect(analogFault(0, cfg)).toMatch(/open input/);
    expect(analogFault(1, cfg)).toMatch(/full scale/);
    expect(analogFault(3.8e-3 * 150 / 3.3, cfg)).toBe(''); // NE 43 still a measurement
  });
  it('averages oversampled conversions', () => {
    let i = 0;
    const r = readAnalog(() => (i++ % 2 ? 0.5 : 0.59090909), cfg);
    expect(r.raw).toBeCloseTo(0.54545, 4);
    expect(r.value).toBeCloseTo(7, 2);
  });
});
