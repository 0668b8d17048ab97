import { encodeRegisters, loadProfile, parseProfile } from '@envmon/hardware';
import { DeviceStatus } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { planReads, readingsFromBlocks, type BlockResult } from './read-plan.ts';

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
