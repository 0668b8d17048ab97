import { decodeRegisters, isSentinel, wordCount, type DeviceProfile, type FunctionCode } from '@envmon/hardware';
import { DeviceStatus, type Reading } from '@envmon/protocol';

/**
 * Turns a profile into as few Modbus requests as possible, and the answers back into readings.
 * Pure functions: the poller does the I/O.
 */

/** One read request: `count` registers from wire address `start` with function 3 or 4. */
export interface ReadBlock {
  fn: FunctionCode;
  start: number;
  count: number;
}

/** Modbus caps a register read at 125 registers (the response must fit 253 bytes of PDU). */
export const MODBUS_MAX_READ = 125;

/**
 * Coalesces the profile's value and status registers into blocks: registers of the same function are read
 * together while the block stays within the profile's per-read limit (≤ 125) and the unmapped registers
 * between two neighbours number at most `maxGap` (default: the profile's `max_read_gap`, normally 0). A gap
 * is bridged only when allowed: an unmapped register in the middle makes many devices refuse the whole read
 * (exception 02), which is why Telegraf-style "read everything" optimisers break real stations.
 */
export function planReads(profile: DeviceProfile, maxGap: number = profile.maxReadGap): ReadBlock[] {
  const limit = Math.min(profile.maxRegistersPerRead, MODBUS_MAX_READ);
  const spans = [
    ...profile.registers.map((r) => ({ fn: r.function, start: r.wireAddress, count: wordCount(r.type) })),
    ...profile.status.map((s) => ({ fn: s.function, start: s.wireAddress, count: 1 })),
  ].sort((a, b) => a.fn - b.fn || a.start - b.start);
  const blocks: ReadBlock[] = [];
  for (const s of spans) {
    const last = blocks.at(-1);
    const end = last ? last.start + last.count : 0;
    if (last && last.fn === s.fn && s.start >= end && s.start - end <= maxGap && s.start + s.count - last.start <= limit) {
      last.count = s.start + s.count - last.start;
    } else {
      blocks.push({ ...s });
    }
  }
  return blocks;
}

/** What came back for each block: the words, or the reason the read failed. */
export type BlockResult = { ok: true; words: number[] } | { ok: false; error: string };

/**
 * Builds one reading per mapped parameter, all stamped with the poll's `time`.
 * - A value whose block failed, that is NaN or that equals a sentinel → `value: null`, status 02.
 * - Otherwise status comes from the status registers that cover the parameter: fault bit → 02,
 *   calibration bit → 01 (fault wins). If such a status register could not be read, the device's state is
 *   unknown and the value is sent with status 02 rather than passed off as a good measurement.
 */
export function readingsFromBlocks(profile: DeviceProfile, blocks: readonly ReadBlock[], results: readonly BlockResult[], time: number): Reading[] {
  const wordsAt = (fn: FunctionCode, addr: number, count: number): number[] | undefined => {
    const i = blocks.findIndex((b) => b.fn === fn && addr >= b.start && addr + count <= b.start + b.count);
    const res = results[i];
    if (i < 0 || !res || !res.ok) return undefined;
    return res.words.slice(addr - blocks[i]!.start, addr - blocks[i]!.start + count);
  };

  const statusOf = new Map<string, DeviceStatus>();
  for (const s of profile.status) {
    const w = wordsAt(s.function, s.wireAddress, 1)?.[0];
    let st: DeviceStatus = DeviceStatus.MEASURING;
    if (w === undefined) st = DeviceStatus.DEVICE_ERROR;
    else if (s.faultBit !== undefined && (w >> s.faultBit) & 1) st = DeviceStatus.DEVICE_ERROR;
    else if (s.calibrationBit !== undefined && (w >> s.calibrationBit) & 1) st = DeviceStatus.CALIBRATING;
    for (const p of s.params) statusOf.set(p, Math.max(statusOf.get(p) ?? 0, st) as DeviceStatus);
  }

  return profile.registers.map((r): Reading => {
    const words = wordsAt(r.function, r.wireAddress, wordCount(r.type));
    const base = { param: r.param, time, qc_flags: 0, period_s: 0 };
    if (!words) return { ...base, value: null, status: DeviceStatus.DEVICE_ERROR };
    const raw = decodeRegisters(words, r.type, r.wordOrder);
    if (!Number.isFinite(raw) || isSentinel(raw, r.type, r.sentinels)) return { ...base, value: null, status: DeviceStatus.DEVICE_ERROR };
    const value = tidy(raw * r.scale + r.offset, r.type === 'float32' ? undefined : decimalsFor(r.scale, r.offset));
    return { ...base, value, status: statusOf.get(r.param) ?? DeviceStatus.MEASURING };
  });
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
