import { decodeRegisters, isSentinel, wordCount, type BitFunction, type DeviceProfile, type FunctionCode } from '@envmon/hardware';
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
