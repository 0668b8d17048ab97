import type { BitFunction, DeviceProfile, FunctionCode, ProfileBit, ProfileRegister } from '../profile/schema.ts';
import { encodeRegisters, rawRange } from '../registers.ts';
import { simulatedValue } from './signal.ts';

/** A forced value for one parameter: a number (engineering units), its first sentinel, or float NaN. */
export type ValueOverride = number | 'sentinel' | 'nan';

export interface DeviceState {
  fault: boolean;
  calibrating: boolean;
  /** The humidity flag (status registers' humidity_bit, humidity bits). */
  humid: boolean;
  overrides: Map<string, ValueOverride>;
  /** Bits forced by name to a wire level (true = 1), whatever the state above says. */
  bits: Map<string, boolean>;
}

/**
 * The contents of one register table (holding = function 3, input = function 4) at one instant: wire address →
 * 16-bit word. Built whole for each request, so the two halves of a 32-bit value always come from the same
 * instant and can never tear.
 */
export function registerImage(
  profile: DeviceProfile,
  fn: FunctionCode,
  timeMs: number,
  seed: number,
  state: DeviceState,
): Map<number, number> {
  const image = new Map<number, number>();
  for (const r of profile.registers) {
    if (r.function !== fn) continue;
    const words = encodeRegisters(rawFor(r, timeMs, seed, state.overrides.get(r.param)), r.type, r.wordOrder);
    words.forEach((w, i) => image.set(r.wireAddress + i, w));
  }
  for (const s of profile.status) {
    if (s.function !== fn) continue;
    let word = 0;
    if (state.fault && s.faultBit !== undefined) word |= 1 << s.faultBit;
    if (state.calibrating && s.calibrationBit !== undefined) word |= 1 << s.calibrationBit;
    if (state.humid && s.humidityBit !== undefined) word |= 1 << s.humidityBit;
    image.set(s.wireAddress, (image.get(s.wireAddress) ?? 0) | word); // entries may share one status word
  }
  if (profile.maxReadGap > 0) fillGaps(image, profile.maxReadGap);
  return image;
}

/**
 * A device whose profile allows reads across gaps answers the unmapped registers of a gap of at most
 * `maxGap` registers with 0 (larger gaps, and addresses outside the map, still get exception 02).
 */
function fillGaps(image: Map<number, number>, maxGap: number): void {
  const addrs = [...image.keys()].sort((a, b) => a - b);
  for (let i = 1; i < addrs.length; i++) {
    const gap = addrs[i]! - addrs[i - 1]! - 1;
    if (gap > 0 && gap <= maxGap) for (let a = addrs[i - 1]! + 1; a < addrs[i]!; a++) image.set(a, 0);
  }
}

/** The raw register value for a register: engineering value → (value - offset) / scale, fitted to the type. */
export function rawFor(r: ProfileRegister, timeMs: number, seed: number, override?: ValueOverride): number {
  if (override === 'sentinel') {
    const s = r.sentinels[0];
    if (s === undefined) throw new Error(`${r.param} has no sentinels in its profile; add one or force a number`);
    return s;
  }
  if (override === 'nan') {
    if (r.type !== 'float32') throw new Error(`${r.param} is ${r.type}: only float32 registers can hold NaN`);
    return NaN;
  }
  let value: number;
  if (typeof override === 'number') value = override;
  else if (r.sim) value = simulatedValue(r.sim, seed, r.param, timeMs);
  else throw new Error(`${r.param} (register ${r.address}) has no sim section; add one to simulate it`);
  const raw = (value - r.offset) / r.scale;
  if (r.type === 'float32') return raw;
  const [lo, hi] = rawRange(r.type);
  return Math.min(hi, Math.max(lo, Math.round(raw)));
}

/**
 * The bit tables (coils = function 1, discrete inputs = function 2) of a profile: wire address → the bit there,
 * or `null` for an unmapped bit inside an allowed gap (answered 0). Addresses absent from the map get exception 02.
 * Built once per device: unlike register values, which bits exist never changes.
 */
export function bitMap(profile: DeviceProfile): Map<BitFunction, Map<number, ProfileBit | null>> {
  const tables = new Map<BitFunction, Map<number, ProfileBit | null>>([[1, new Map()], [2, new Map()]]);
  for (const b of profile.bits) tables.get(b.function)!.set(b.wireAddress, b);
  if (profile.maxBitGap > 0) {
    for (const t of tables.values()) {
      const addrs = [...t.keys()].sort((a, b) => a - b);
      for (let i = 1; i < addrs.length; i++) {
        const gap = addrs[i]! - addrs[i - 1]! - 1;
        if (gap > 0 && gap <= profile.maxBitGap) for (let a = addrs[i - 1]! + 1; a < addrs[i]!; a++) t.set(a, null);
      }
    }
  }
  return tables;
}

/** The wire level (0/1) of a bit in the device's state: its role's condition, inverted for an active-low bit. */
export function bitLevel(b: ProfileBit, state: DeviceState): 0 | 1 {
  const forced = state.bits.get(b.name);
  if (forced !== undefined) return forced ? 1 : 0;
  const active = b.role === 'fault' ? state.fault : b.role === 'calibration' ? state.calibrating : b.role === 'humidity' ? state.humid : false;
  return active !== b.activeLow ? 1 : 0;
}
