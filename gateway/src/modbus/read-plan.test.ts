import { decodeRegisters, encodeRegisters, isSentinel, loadProfile, parseProfile, wordCount, type BitFunction, type DeviceProfile, type FunctionCode } from '@envmon/hardware';
import { DeviceStatus, QcFlag, type Reading } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { planReads, readingsFromBlocks, type BlockResult, type ReadBlock } from './read-plan.ts';

const T = Date.UTC(2026, 0, 1);

describe('planReads', () => {
  it('reads each shipped profile in one request per contiguous run of one function', () => {
    expect(planReads(loadProfile('generic-ambient-air'))).toEqual([
      { fn: 3, start: 100, count: 2 }, // the two status words
      { fn: 4, start: 0, count: 16 }, // all values
    ]);
    expect(planReads(loadProfile('generic-wastewater'))).toEqual([
      { fn: 3, start: 0, count: 7 }, // PH, TSS, COD, NH4 (address_base 1 → wire 0..6)
      { fn: 3, start: 9, count: 1 }, // status at 10 → 9
      { fn: 4, start: 0, count: 3 }, // FLOW, WTEMP
    ]);
  });

  it('never bridges a gap and splits at the per-read limit', () => {
    const regs = Array.from({ length: 10 }, (_, i) => `  - { param: ${['PM2_5', 'PM10', 'TSP', 'SO2', 'NO2', 'CO', 'O3', 'TEMP', 'RH', 'FLOW'][i]}, function: 3, address: ${i < 5 ? i * 2 : 20 + i * 2}, type: float32 }`).join('\n');
    const p = parseProfile(`id: t\nmanufacturer: x\nmodel: y\nsource: a test, not a device\naddress_base: 0\nmax_registers_per_read: 4\nregisters:\n${regs}\n`, 't.yaml');
    expect(planReads(p)).toEqual([
      { fn: 3, start: 0, count: 4 },
      { fn: 3, start: 4, count: 4 },
      { fn: 3, start: 8, count: 2 },
      { fn: 3, start: 30, count: 4 },
      { fn: 3, start: 34, count: 4 },
      { fn: 3, start: 38, count: 2 },
    ]);
  });

  it('caps a block at 125 registers even when the profile allows more', () => {
    const regs = Array.from({ length: 15 }, (_, i) => `  - { param: ${['PM2_5', 'PM10', 'TSP', 'SO2', 'NO2', 'CO', 'O3', 'TEMP', 'RH', 'FLOW', 'WTEMP', 'PH', 'TSS', 'COD', 'NH4'][i]}, function: 4, address: ${i * 2}, type: float32 }`).join('\n');
    const p = parseProfile(`id: t\nmanufacturer: x\nmodel: y\nsource: a test, not a device\naddress_base: 0\nregisters:\n${regs}\n`, 't.yaml');
    for (const b of planReads(p)) expect(b.count).toBeLessThanOrEqual(125);
  });
});

describe('readingsFromBlocks', () => {
  const profile = loadProfile('generic-wastewater');
  const blocks = planReads(profile);
  /** Builds the block results for given engineering values, as the device would send them. */
  const answer = (values: Record<string, number | 'nan' | 'sentinel'>, statusWord = 0): BlockResult[] =>
    blocks.map((b) => {
      const words = new Array<number>(b.count).fill(0);
      for (const r of profile.registers) {
        if (r.function !== b.fn || r.wireAddress < b.start || r.wireAddress >= b.start + b.count) continue;
        const v = values[r.param] ?? 1;
        const raw = v === 'nan' ? NaN : v === 'sentinel' ? r.sentinels[0]! : r.type === 'float32' ? (v - r.offset) / r.scale : Math.round((v - r.offset) / r.scale);
        encodeRegisters(raw, r.type, r.wordOrder).forEach((w, i) => (words[r.wireAddress - b.start + i] = w));
      }
      for (const s of profile.status) if (s.function === b.fn && s.wireAddress >= b.start && s.wireAddress < b.start + b.count) words[s.wireAddress - b.start] = statusWord;
      return { ok: true, words };
    });

  it('decodes every type and word order with scale, one timestamp for the poll', () => {
    const rs = readingsFromBlocks(profile, blocks, answer({ FLOW: 45.25, WTEMP: -3.07, PH: 7.21, TSS: 123.4, COD: 88.5, NH4: 4.321 }), T);
    expect(Object.fromEntries(rs.map((r) => [r.param, r.value]))).toEqual({ FLOW: 45.25, WTEMP: -3.07, PH: 7.21, TSS: 123.4, COD: 88.5, NH4: 4.321 });
    for (const r of rs) expect(r).toMatchObject({ time: T, status: DeviceStatus.MEASURING, qc_flags: 0, period_s: 0 });
  });

  it('turns sentinels and NaN into null with status 02', () => {
    const rs = readingsFromBlocks(profile, blocks, answer({ FLOW: 'nan', PH: 'sentinel', TSS: 'sentinel', COD: 'sentinel' }), T);
    const by = Object.fromEntries(rs.map((r) => [r.param, r]));
    for (const p of ['FLOW', 'PH', 'TSS', 'COD']) expect(by[p]).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
    expect(by.NH4).toMatchObject({ value: 1, status: DeviceStatus.MEASURING });
  });

  it('maps the fault bit to 02 and the calibration bit to 01, only for the parameters it covers', () => {
    const cal = Object.fromEntries(readingsFromBlocks(profile, blocks, answer({}, 1 << 3), T).map((r) => [r.param, r.status]));
    expect(cal).toEqual({ FLOW: 0, WTEMP: 1, PH: 1, TSS: 1, COD: 1, NH4: 1 });
    const fault = Object.fromEntries(readingsFromBlocks(profile, blocks, answer({}, (1 << 3) | 1), T).map((r) => [r.param, r.status]));
    expect(fault).toEqual({ FLOW: 0, WTEMP: 2, PH: 2, TSS: 2, COD: 2, NH4: 2 });
    // The value is still sent with a fault: TT10 reports it with status 02.
    expect(readingsFromBlocks(profile, blocks, answer({ PH: 6.5 }, 1), T).find((r) => r.param === 'PH')!.value).toBe(6.5);
  });

  it('gives null/02 for the parameters of a failed block, and 02 when their status is unreadable', () => {
    const results = answer({ COD: 90 });
    const failed = (i: number): BlockResult[] => results.map((r, j) => (j === i ? { ok: false, error: 'timeout' } : r));
    const values = failed(0); // PH, TSS, COD, NH4
    const by = Object.fromEntries(readingsFromBlocks(profile, blocks, values, T).map((r) => [r.param, r]));
    expect(by.COD).toMatchObject({ value: null, status: 2 });
    expect(by.FLOW).toMatchObject({ value: 1, status: 0 });
    const status = Object.fromEntries(readingsFromBlocks(profile, blocks, failed(1), T).map((r) => [r.param, r]));
    expect(status.COD).toMatchObject({ value: 90, status: 2 });
    expect(status.FLOW).toMatchObject({ status: 0 });
  });
});

describe('coils and discrete inputs', () => {
  const BITS = `id: b
manufacturer: x
model: y
source: a test, not a device
address_base: 0
registers:
  - { param: PM2_5, function: 4, address: 0, type: uint16 }
  - { param: PM10, function: 4, address: 1, type: uint16 }
bits:
  - { name: F25, function: 2, address: 10, role: fault, params: [PM2_5] }
  - { name: OK, function: 2, address: 12, role: fault, active: low }
  - { name: CAL, function: 2, address: 13, role: calibration, params: [PM10] }
  - { name: HUM, function: 1, address: 0, role: humidity, params: [PM2_5, PM10] }
  - { name: PUMP, function: 1, address: 3, role: reading, param: RH }
`;
  const p = parseProfile(BITS, 'b.yaml');

  it('coalesces bits per function within the gap and the 2000-bit cap', () => {
    expect(planReads(p)).toEqual([
      { fn: 4, start: 0, count: 2 },
      { fn: 1, start: 0, count: 1 },
      { fn: 1, start: 3, count: 1 },
      { fn: 2, start: 10, count: 1 },
      { fn: 2, start: 12, count: 2 },
    ]);
    expect(planReads(p, 0, 2)).toEqual([
      { fn: 4, start: 0, count: 2 },
      { fn: 1, start: 0, count: 4 },
      { fn: 2, start: 10, count: 4 },
    ]);
    const many = Array.from({ length: 5 }, (_, i) => `  - { name: W${i}, function: 2, address: ${i * 1000}, role: fault }`).join('\n');
    const wide = parseProfile(`id: w\nmanufacturer: x\nmodel: y\nsource: a test, not a device\naddress_base: 0\nmax_bit_gap: 1998\nregisters:\n  - { param: PM2_5, function: 4, address: 0, type: uint16 }\nbits:\n${many}\n`, 'w.yaml');
    expect(planReads(wide).filter((b) => b.fn === 2)).toEqual([
      { fn: 2, start: 0, count: 1001 },
      { fn: 2, start: 2000, count: 1001 },
      { fn: 2, start: 4000, count: 1 },
    ]);
    const capped = parseProfile(`id: w\nmanufacturer: x\nmodel: y\nsource: a test, not a device\naddress_base: 0\nmax_bit_gap: 1998\nmax_bits_per_read: 500\nregisters:\n  - { param: PM2_5, function: 4, address: 0, type: uint16 }\nbits:\n${many}\n`, 'w.yaml');
    expect(planReads(capped).filter((b) => b.fn === 2).map((b) => b.count)).toEqual([1, 1, 1, 1, 1]);
  });

  const blocks = planReads(p);
  const results = (bits: { coils: number[]; di10: number; di12: number[] }): BlockResult[] => [
    { ok: true, words: [100, 200] },
    { ok: true, words: [bits.coils[0]!] },
    { ok: true, words: [bits.coils[1]!] },
    { ok: true, words: [bits.di10] },
    { ok: true, words: bits.di12 },
  ];
  const read = (bits: Parameters<typeof results>[0]) => Object.fromEntries(readingsFromBlocks(p, blocks, results(bits), T).map((r) => [r.param, r]));

  it('turns fault, calibration, humidity and reading bits into status, QC flags and a 0/1 reading', () => {
    let by = read({ coils: [0, 0], di10: 0, di12: [1, 0] });
    expect(by.PM2_5).toMatchObject({ value: 100, status: DeviceStatus.MEASURING, qc_flags: 0 });
    expect(by.PM10).toMatchObject({ value: 200, status: DeviceStatus.MEASURING, qc_flags: 0 });
    expect(by.RH).toMatchObject({ value: 0, status: DeviceStatus.MEASURING, period_s: 0, time: T });

    by = read({ coils: [1, 1], di10: 1, di12: [1, 1] });
    expect(by.PM2_5).toMatchObject({ status: DeviceStatus.DEVICE_ERROR, qc_flags: QcFlag.HUMIDITY });
    expect(by.PM10).toMatchObject({ status: DeviceStatus.CALIBRATING, qc_flags: QcFlag.HUMIDITY });
    expect(by.RH).toMatchObject({ value: 1, status: DeviceStatus.MEASURING });

    // "OK" is active low: 0 means a fault on every parameter (it names none), and wins over calibration.
    by = read({ coils: [0, 1], di10: 0, di12: [0, 1] });
    expect(by.PM2_5!.status).toBe(DeviceStatus.DEVICE_ERROR);
    expect(by.PM10!.status).toBe(DeviceStatus.DEVICE_ERROR);
    expect(by.RH).toMatchObject({ value: 1, status: DeviceStatus.DEVICE_ERROR });
  });

  it('reports 02 when a fault/calibration bit cannot be read, and null/02 for an unreadable reading bit', () => {
    const r = results({ coils: [0, 0], di10: 0, di12: [1, 0] });
    r[4] = { ok: false, error: 'Modbus exception 2' };
    r[2] = { ok: false, error: 'Modbus exception 2' };
    const by = Object.fromEntries(readingsFromBlocks(p, blocks, r, T).map((x) => [x.param, x]));
    expect(by.PM2_5).toMatchObject({ value: 100, status: DeviceStatus.DEVICE_ERROR });
    expect(by.PM10).toMatchObject({ value: 200, status: DeviceStatus.DEVICE_ERROR });
    expect(by.RH).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
  });

  it('sets QcFlag.HUMIDITY from a status register humidity bit, only for its parameters', () => {
    const node = loadProfile('envmon-node');
    const nb = planReads(node);
    const words = (humid: boolean): BlockResult[] =>
      nb.map((b) => ({ ok: true, words: Array.from({ length: b.count }, (_, i) => (b.fn === 4 && b.start + i >= 100 && b.start + i <= 101 && humid ? 1 << 2 : 0)) }));
    const flags = (humid: boolean) => Object.fromEntries(readingsFromBlocks(node, nb, words(humid), T).map((r) => [r.param, r.qc_flags]));
    expect(flags(false)).toEqual({ PM2_5: 0, PM10: 0, TEMP: 0, RH: 0, WTEMP: 0, PH: 0 });
    expect(flags(true)).toEqual({ PM2_5: QcFlag.HUMIDITY, PM10: QcFlag.HUMIDITY, TEMP: 0, RH: 0, WTEMP: 0, PH: 0 });
  });
});

describe('status entries sharing one status word (Campbell MetSENS300)', () => {
  const p = loadProfile('campbell-metsens300');
  it('reads the shared word once, in the same block as the values', () => {
    expect(planReads(p)).toEqual([{ fn: 3, start: 0, count: 12 }]);
  });
  it('gives each bit its own parameters', () => {
    const words = (status: number): BlockResult[] => [{ ok: true, words: [...encodeRegisters(1000, 'float32', 'ABCD'), ...encodeRegisters(70, 'float32', 'ABCD'), ...encodeRegisters(25, 'float32', 'ABCD'), 0, 0, 0, 0, 0, status] }];
    const st = (status: number) => Object.fromEntries(readingsFromBlocks(p, planReads(p), words(status), T).map((r) => [r.param, r.status]));
    expect(st(0)).toEqual({ PRESS: 0, RH: 0, TEMP: 0 });
    expect(st(0x10)).toEqual({ PRESS: 0, RH: 0, TEMP: 2 });
    expect(st(0x40 | 0x80)).toEqual({ PRESS: 2, RH: 2, TEMP: 0 });
    expect(st(0x20)).toEqual({ PRESS: 2, RH: 2, TEMP: 2 });
    expect(st(0x01)).toEqual({ PRESS: 0, RH: 0, TEMP: 0 }); // wind fault: no wind parameter here
  });
});

/**
 * readingsFromBlocks decodes through a per-device plan (offsets found once, words decoded in place, scaling
 * rounded with integer arithmetic); this holds it to the code it replaced, kept below verbatim: every register
 * type and word order, scales and offsets with and without decimals, sentinels, random words (NaN floats and
 * extremes included), failed blocks and the status words.
 */
describe('readingsFromBlocks: decode plan equals the former per-poll decoding', () => {
  it('on 3,000 random profiles and polls', () => {
    const base = loadProfile('generic-ambient-air');
    const params = ['PM2_5', 'PM10', 'TSP', 'SO2', 'NO2', 'CO', 'O3', 'TEMP', 'RH', 'FLOW', 'PH', 'TSS'];
    const types = ['int16', 'uint16', 'int32', 'uint32', 'float32'] as const;
    const orders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
    const scales = [1, 0.1, 0.01, 0.001, 10, 2.5, 0.3, 1e-7, 0.0625, 1 / 3, 100, 1e-6, 0.05];
    const offsets = [0, 0, -40, 273.15, 0.5, -0.3, 1e-5, 1000, 0.123456789];
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const word = (): number => pick([0, 1, 0x7fff, 0x8000, 0xffff, 0x7fc0, 0xff80, 0x7f80, Math.floor(next() * 0x10000), Math.floor(next() * 0x10000)]);
    for (let n = 0; n < 3000; n++) {
      let addr = 0;
      const registers = params.slice(0, 1 + Math.floor(next() * params.length)).map((param) => {
        const type = pick(types);
        const wireAddress = addr;
        addr += (type === 'int16' || type === 'uint16' ? 1 : 2) + (next() < 0.2 ? 1 : 0);
        return { param, function: 4 as const, address: wireAddress, wireAddress, type, wordOrder: pick(orders), scale: pick(scales), offset: pick(offsets), sentinels: next() < 0.3 ? [pick([-9999, 65535, 32767, -9999.9, 0])] : [], sim: undefined };
      });
      const profile = { ...base, maxReadGap: next() < 0.5 ? 0 : 5, registers };
      const blocks = planReads(profile);
      for (let poll = 0; poll < 3; poll++) {
        const results: BlockResult[] = blocks.map((b) => (next() < 0.05 ? { ok: false, error: 'timeout' } : { ok: true, words: Array.from({ length: b.count }, word) }));
        const ours = readingsFromBlocks(profile, blocks, results, T);
        const former = formerReadingsFromBlocks(profile, blocks, results, T);
        expect(ours).toStrictEqual(former);
      }
    }
  });
});

describe('readingsFromBlocks: rounding edge', () => {
  it('keeps the sign of a value that scales to just below zero (-3 × 0.1 + 0.3 → -0, as toFixed gave)', () => {
    const base = loadProfile('generic-ambient-air');
    const registers = [{ param: 'PM2_5', function: 4 as const, address: 0, wireAddress: 0, type: 'int16' as const, wordOrder: 'ABCD' as const, scale: 0.1, offset: 0.3, sentinels: [], sim: undefined }];
    const profile = { ...base, status: [], registers };
    const blocks = planReads(profile);
    const results: BlockResult[] = [{ ok: true, words: [0xfffd] }];
    const [r] = readingsFromBlocks(profile, blocks, results, T);
    expect(Object.is(r!.value, -0)).toBe(true);
    expect(readingsFromBlocks(profile, blocks, results, T)).toStrictEqual(formerReadingsFromBlocks(profile, blocks, results, T));
  });
});

// ---- the former readingsFromBlocks, verbatim (before the decode plan) ----
function formerReadingsFromBlocks(profile: DeviceProfile, blocks: readonly ReadBlock[], results: readonly BlockResult[], time: number): Reading[] {
  const wordsAt = (fn: FunctionCode | BitFunction, addr: number, count: number): number[] | undefined => {
    const i = blocks.findIndex((b) => b.fn === fn && addr >= b.start && addr + count <= b.start + b.count);
    const res = results[i];
    if (i < 0 || !res || !res.ok) return undefined;
    return res.words.slice(addr - blocks[i]!.start, addr - blocks[i]!.start + count);
  };

  const statusOf = new Map<string, DeviceStatus>();
  const qcOf = new Map<string, number>();
  for (const s of profile.status) {
    const w = wordsAt(s.function, s.wireAddress, 1)?.[0];
    let st: DeviceStatus = DeviceStatus.MEASURING;
    if (w === undefined) st = DeviceStatus.DEVICE_ERROR;
    else if (s.faultBit !== undefined && (w >> s.faultBit) & 1) st = DeviceStatus.DEVICE_ERROR;
    else if (s.calibrationBit !== undefined && (w >> s.calibrationBit) & 1) st = DeviceStatus.CALIBRATING;
    for (const p of s.params) statusOf.set(p, Math.max(statusOf.get(p) ?? 0, st) as DeviceStatus);
    if (w !== undefined && s.humidityBit !== undefined && (w >> s.humidityBit) & 1) {
      for (const p of s.params) qcOf.set(p, (qcOf.get(p) ?? 0) | QcFlag.HUMIDITY);
    }
  }
  const bitReadings: Reading[] = [];
  for (const b of profile.bits) {
    const bit = wordsAt(b.function, b.wireAddress, 1)?.[0];
    const active = bit === undefined ? undefined : (bit === 1) !== b.activeLow;
    if (b.role === 'reading') {
      bitReadings.push({ param: b.param!, time, qc_flags: 0, period_s: 0, value: active === undefined ? null : active ? 1 : 0, status: active === undefined ? DeviceStatus.DEVICE_ERROR : DeviceStatus.MEASURING });
      continue;
    }
    if (b.role === 'humidity') {
      if (active) for (const p of b.params) qcOf.set(p, (qcOf.get(p) ?? 0) | QcFlag.HUMIDITY);
      continue;
    }
    const st = active === undefined || (active && b.role === 'fault') ? DeviceStatus.DEVICE_ERROR : active ? DeviceStatus.CALIBRATING : DeviceStatus.MEASURING;
    for (const p of b.params) statusOf.set(p, Math.max(statusOf.get(p) ?? 0, st) as DeviceStatus);
  }

  const fromRegisters = profile.registers.map((r): Reading => {
    const words = wordsAt(r.function, r.wireAddress, wordCount(r.type));
    const base = { param: r.param, time, qc_flags: 0, period_s: 0 };
    if (!words) return { ...base, value: null, status: DeviceStatus.DEVICE_ERROR };
    const raw = decodeRegisters(words, r.type, r.wordOrder);
    if (!Number.isFinite(raw) || isSentinel(raw, r.type, r.sentinels)) return { ...base, value: null, status: DeviceStatus.DEVICE_ERROR };
    const value = tidy(raw * r.scale + r.offset, r.type === 'float32' ? undefined : decimalsFor(r.scale, r.offset));
    return { ...base, qc_flags: qcOf.get(r.param) ?? 0, value, status: statusOf.get(r.param) ?? DeviceStatus.MEASURING };
  });
  if (bitReadings.length === 0) return fromRegisters;
  for (const r of bitReadings) {
    if (r.value !== null) {
      r.status = Math.max(r.status, statusOf.get(r.param) ?? 0) as DeviceStatus;
      r.qc_flags = qcOf.get(r.param) ?? 0;
    }
  }
  return [...fromRegisters, ...bitReadings];
}

/**
 * Removes binary noise from scaling (253 × 0.1 = 25.300000000000001): integer registers keep the decimals their
 * scale and offset allow; float32 values keep the 7 significant digits a float32 carries.
 */
function tidy(v: number, decimals: number | undefined): number {
  if (decimals === undefined) return Number(v.toPrecision(7));
  return Number(v.toFixed(Math.min(decimals, 12)));
}

const decimalsCache = new Map<string, number>();
function decimalsFor(scale: number, offset: number): number {
  const key = `${scale}|${offset}`;
  let d = decimalsCache.get(key);
  if (d === undefined) {
    d = decimalsOf(scale) + decimalsOf(offset);
    decimalsCache.set(key, d);
  }
  return d;
}

function decimalsOf(x: number): number {
  const s = String(x);
  if (s.includes('e-')) return Number(s.split('e-')[1]) + (s.split('e-')[0]!.split('.')[1]?.length ?? 0);
  return s.split('.')[1]?.length ?? 0;
}
