import { decodeRegisters, isSentinel, wordCount, type BitFunction, type DeviceProfile, type FunctionCode, type RegisterType } from '@envmon/hardware';
import { DeviceStatus, QcFlag, type Reading } from '@envmon/protocol';

/**
 * Turns a profile into as few Modbus requests as possible, and the answers back into readings.
 * Pure functions: the poller does the I/O.
 */

/**
 * One read request: `count` registers from wire address `start` with function 3 or 4, or `count` bits with
 * function 1 (coils) or 2 (discrete inputs).
 */
export interface ReadBlock {
  fn: FunctionCode | BitFunction;
  start: number;
  count: number;
}

/** Modbus caps a register read at 125 registers (the response must fit 253 bytes of PDU). */
export const MODBUS_MAX_READ = 125;
/** … and a coil/discrete-input read at 2000 bits. */
export const MODBUS_MAX_BITS = 2000;

/**
 * Coalesces the profile's value and status registers into blocks: registers of the same function are read
 * together while the block stays within the profile's per-read limit (≤ 125) and the unmapped registers
 * between two neighbours number at most `maxGap` (default: the profile's `max_read_gap`, normally 0). A gap
 * is bridged only when allowed: an unmapped register in the middle makes many devices refuse the whole read
 * (exception 02), which is why Telegraf-style "read everything" optimisers break real stations.
 */
export function planReads(profile: DeviceProfile, maxGap: number = profile.maxReadGap, maxBitGap: number = profile.maxBitGap): ReadBlock[] {
  const registers: ReadBlock[] = [
    ...profile.registers.map((r) => ({ fn: r.function, start: r.wireAddress, count: wordCount(r.type) })),
    ...profile.status.map((s) => ({ fn: s.function, start: s.wireAddress, count: 1 })),
  ];
  // Coils and discrete inputs coalesce the same way: ≤ max_bits_per_read (≤ 2000) bits, gaps ≤ max_bit_gap.
  const bits: ReadBlock[] = profile.bits.map((b) => ({ fn: b.function, start: b.wireAddress, count: 1 }));
  return [
    ...coalesce(registers, Math.min(profile.maxRegistersPerRead, MODBUS_MAX_READ), maxGap),
    ...coalesce(bits, Math.min(profile.maxBitsPerRead, MODBUS_MAX_BITS), maxBitGap),
  ];
}

function coalesce(spans: ReadBlock[], limit: number, maxGap: number): ReadBlock[] {
  spans.sort((a, b) => a.fn - b.fn || a.start - b.start);
  const blocks: ReadBlock[] = [];
  for (const s of spans) {
    const last = blocks.at(-1);
    const end = last ? last.start + last.count : 0;
    if (last && last.fn === s.fn && s.start >= last.start && s.start + s.count <= end) continue; // already read (a shared status word)
    if (last && last.fn === s.fn && s.start >= end && s.start - end <= maxGap && s.start + s.count - last.start <= limit) {
      last.count = s.start + s.count - last.start;
    } else {
      blocks.push({ ...s });
    }
  }
  return blocks;
}

/** What came back for each block: the words (0/1 per bit for a bit block), or the reason the read failed. */
export type BlockResult = { ok: true; words: number[] } | { ok: false; error: string };

/**
 * Builds one reading per mapped parameter, all stamped with the poll's `time`.
 * - A value whose block failed, that is NaN or that equals a sentinel → `value: null`, status 02.
 * - Otherwise status comes from the status registers and the fault/calibration bits (coils, discrete inputs)
 *   that cover the parameter: fault → 02, calibration → 01 (fault wins). If such a status register or bit could
 *   not be read, the device's state is unknown and the value is sent with status 02 rather than passed off as a
 *   good measurement.
 * - A humidity bit (status register `humidity_bit`, or a `humidity` bit) that is set adds QcFlag.HUMIDITY to
 *   the parameters it names.
 * - A `reading` bit is a reading of its own: value 0 or 1 (inverted for an active-low bit), same status rules.
 */
export function readingsFromBlocks(profile: DeviceProfile, blocks: readonly ReadBlock[], results: readonly BlockResult[], time: number): Reading[] {
  const plan = decodePlanFor(profile, blocks);
  const wordAt = (loc: Location): number | undefined => {
    const res = loc.block < 0 ? undefined : results[loc.block];
    return res && res.ok ? res.words[loc.offset] : undefined;
  };

  const statusOf = new Map<string, DeviceStatus>();
  const qcOf = new Map<string, number>();
  for (let k = 0; k < profile.status.length; k++) {
    const s = profile.status[k]!;
    const w = wordAt(plan.status[k]!);
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
  for (let k = 0; k < profile.bits.length; k++) {
    const b = profile.bits[k]!;
    const bit = wordAt(plan.bits[k]!);
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

  const hasStatus = statusOf.size > 0;
  const hasQc = qcOf.size > 0;
  const out: Reading[] = new Array(plan.registers.length);
  for (let k = 0; k < plan.registers.length; k++) {
    const r = plan.registers[k]!;
    const res = r.block < 0 ? undefined : results[r.block];
    const value = res && res.ok ? decodeValue(r, res.words) : null;
    out[k] =
      value === null
        ? { param: r.param, time, qc_flags: 0, period_s: 0, value: null, status: DeviceStatus.DEVICE_ERROR }
        : { param: r.param, time, qc_flags: hasQc ? (qcOf.get(r.param) ?? 0) : 0, period_s: 0, value, status: hasStatus ? (statusOf.get(r.param) ?? DeviceStatus.MEASURING) : DeviceStatus.MEASURING };
  }
  if (bitReadings.length === 0) return out;
  for (const r of bitReadings) {
    if (r.value !== null) {
      r.status = Math.max(r.status, statusOf.get(r.param) ?? 0) as DeviceStatus;
      r.qc_flags = qcOf.get(r.param) ?? 0;
    }
  }
  for (const r of bitReadings) out.push(r);
  return out;
}

/**
 * Where each mapped register, status register and bit sits in the blocks, and how a register's words become its
 * value: worked out once per device (its profile and read plan), so a poll decodes the words in place, without
 * searching the blocks, copying words or formatting numbers. `read-plan.test.ts` holds it to the former per-poll
 * code (decodeRegisters, then toFixed/toPrecision) over every type and word order.
 */
interface Location {
  /** Index of the first block that covers the span, -1 if none does. */
  block: number;
  offset: number;
}

interface RegisterPlan extends Location {
  param: string;
  type: RegisterType;
  /** The words as the big-endian high word (index into the span) and whether each word's bytes are swapped. */
  hiWord: 0 | 1;
  swapBytes: boolean;
  scale: number;
  offsetValue: number;
  sentinels: readonly number[];
  /** Integer types: the value is exactly (raw × scaleUnits + offsetUnits) / 10^decimals, see `decodeValue`. */
  exact: { scaleUnits: number; offsetUnits: number; divisor: number } | undefined;
  decimals: number;
}

interface DecodePlan {
  profile: DeviceProfile;
  registers: RegisterPlan[];
  status: Location[];
  bits: Location[];
}

const plans = new WeakMap<readonly ReadBlock[], DecodePlan>();

function decodePlanFor(profile: DeviceProfile, blocks: readonly ReadBlock[]): DecodePlan {
  const cached = plans.get(blocks);
  if (cached && cached.profile === profile) return cached;
  const locate = (fn: FunctionCode | BitFunction, addr: number, count: number): Location => {
    const i = blocks.findIndex((b) => b.fn === fn && addr >= b.start && addr + count <= b.start + b.count);
    return { block: i, offset: i < 0 ? 0 : addr - blocks[i]!.start };
  };
  const plan: DecodePlan = {
    profile,
    registers: profile.registers.map((r): RegisterPlan => {
      const order = r.wordOrder ?? 'ABCD';
      const decimals = r.type === 'float32' ? 0 : decimalsFor(r.scale, r.offset);
      return {
        ...locate(r.function, r.wireAddress, wordCount(r.type)),
        param: r.param,
        type: r.type,
        hiWord: order === 'CDAB' || order === 'DCBA' ? 1 : 0,
        swapBytes: order === 'BADC' || order === 'DCBA',
        scale: r.scale,
        offsetValue: r.offset,
        sentinels: r.sentinels,
        exact: r.type === 'float32' ? undefined : exactScaling(r.scale, r.offset),
        decimals,
      };
    }),
    status: profile.status.map((s) => locate(s.function, s.wireAddress, 1)),
    bits: profile.bits.map((b) => locate(b.function, b.wireAddress, 1)),
  };
  plans.set(blocks, plan);
  return plan;
}

/** 2^40: far below 2^53, so the integer arithmetic is exact and the float computation is within 10^-decimals / 2. */
const EXACT_LIMIT = 2 ** 40;

/**
 * scale = S / 10^ds and offset = O / 10^do with S and O integers (ds, do their decimals as written): then the
 * value raw × scale + offset is exactly N / 10^(ds+do) with N = raw × S × 10^do + O × 10^ds, and the former
 * Number((raw × scale + offset).toFixed(ds + do)) is N / 10^(ds+do), one correctly rounded division, as long as
 * N stays far from 2^53 (checked per value; beyond it, or with more than 12 decimals, the former code runs).
 */
function exactScaling(scale: number, offset: number): RegisterPlan['exact'] {
  const ds = decimalsOf(scale);
  const dOff = decimalsOf(offset);
  if (ds + dOff > 12 || !Number.isFinite(scale) || !Number.isFinite(offset)) return undefined;
  const s = Math.round(scale * 10 ** ds);
  const o = Math.round(offset * 10 ** dOff);
  if (s / 10 ** ds !== scale || o / 10 ** dOff !== offset) return undefined;
  const scaleUnits = s * 10 ** dOff;
  const offsetUnits = o * 10 ** ds;
  if (Math.abs(scaleUnits) > EXACT_LIMIT || Math.abs(offsetUnits) > EXACT_LIMIT) return undefined;
  return { scaleUnits, offsetUnits, divisor: 10 ** (ds + dOff) };
}

const f32 = new DataView(new ArrayBuffer(4));
const swap16 = (w: number): number => ((w & 0xff) << 8) | (w >> 8);

/** The reading's value from its block's words, or null (NaN, infinite, a sentinel). */
function decodeValue(r: RegisterPlan, words: readonly number[]): number | null {
  const i = r.offset;
  let raw: number;
  if (r.type === 'int16' || r.type === 'uint16') {
    const w0 = words[i]!;
    if (!isWord(w0)) decodeRegisters(words.slice(i, i + 1), r.type, 'ABCD'); // throws as before
    const w = r.swapBytes ? swap16(w0) : w0;
    raw = r.type === 'int16' ? (w << 16) >> 16 : w;
  } else {
    const a = words[i]!;
    const b = words[i + 1]!;
    if (!isWord(a) || !isWord(b)) decodeRegisters(words.slice(i, i + 2), r.type, 'ABCD'); // throws as before
    let hi = r.hiWord === 0 ? a : b;
    let lo = r.hiWord === 0 ? b : a;
    if (r.swapBytes) {
      hi = swap16(hi);
      lo = swap16(lo);
    }
    if (r.type === 'uint32') raw = hi * 0x10000 + lo;
    else if (r.type === 'int32') raw = (hi << 16) | lo;
    else {
      f32.setUint16(0, hi);
      f32.setUint16(2, lo);
      raw = f32.getFloat32(0);
    }
  }
  if (!Number.isFinite(raw) || (r.sentinels.length > 0 && isSentinel(raw, r.type, r.sentinels))) return null;
  const v = raw * r.scale + r.offsetValue;
  const e = r.exact;
  if (e !== undefined) {
    const scaled = raw * e.scaleUnits;
    const n = scaled + e.offsetUnits;
    if (Math.abs(scaled) <= EXACT_LIMIT && Math.abs(n) <= EXACT_LIMIT) return n === 0 ? (v < 0 ? -0 : 0) : n / e.divisor;
  }
  return tidy(v, r.type === 'float32' ? undefined : r.decimals);
}

function isWord(w: number | undefined): w is number {
  return w !== undefined && (w & 0xffff) === w;
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
