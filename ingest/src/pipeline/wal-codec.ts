import type { StoredReading } from '../store/store.ts';

/**
 * The WAL's row format for a batch of readings: a compact binary column instead of JSON text. JSON cost the
 * ingest a `JSON.stringify` per batch on the hot path and made each row ~4× larger (110 bytes per reading against
 * 28), which SQLite then wrote, fsync'd, checkpointed and deleted.
 *
 *   u8 version (1) · u32 readings · u16 strings · strings (u16 byte length, UTF-8) ·
 *   per reading: u16 station · u16 param (indexes into the strings) · u8 flags (1 value, 2 samples, 4 coverage) ·
 *                u8 status · u32 qc_flags · u32 period_s · f64 time · [f64 value] · [u32 samples] · [f64 coverage]
 *
 * Little-endian. A batch the format cannot hold exactly (a status above 255, a negative or fractional counter,
 * more than 65,535 distinct strings) is not encoded (`encodeReadings` returns undefined) and the WAL keeps it as
 * JSON text: decoding tells the two apart by the column's type, so WAL files written before this format still drain.
 */
const VERSION = 1;
const HAS_VALUE = 1;
const HAS_SAMPLES = 2;
const HAS_COVERAGE = 4;

/** The fields this format carries. A field added to StoredReading fails the type check below until it is added here. */
type Encoded = 'station' | 'param' | 'time' | 'value' | 'status' | 'qc_flags' | 'period_s' | 'samples' | 'coverage';
type Unencoded = Exclude<keyof StoredReading, Encoded>;
const allFieldsEncoded: [Unencoded] extends [never] ? true : Unencoded = true;
void allFieldsEncoded;

/** A reading with the optional counts of a mean, whether or not StoredReading declares them. */
type WithCounts = StoredReading & { samples?: number; coverage?: number };

const isU32 = (v: number): boolean => v >>> 0 === v;

export function encodeReadings(readings: readonly StoredReading[]): Buffer | undefined {
  const index = new Map<string, number>();
  const strings: string[] = [];
  let stringBytes = 0;
  let size = 1 + 4 + 2;
  const intern = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      index.set(s, i);
      strings.push(s);
      stringBytes += 2 + Buffer.byteLength(s, 'utf8');
    }
    return i;
  };
  for (const r of readings as readonly WithCounts[]) {
    intern(r.station);
    intern(r.param);
    if (!(r.status >= 0 && r.status <= 255 && Number.isInteger(r.status)) || !isU32(r.qc_flags) || !isU32(r.period_s)) return undefined;
    if (typeof r.time !== 'number') return undefined;
    size += 2 + 2 + 1 + 1 + 4 + 4 + 8;
    if (r.value !== null) {
      if (typeof r.value !== 'number') return undefined;
      size += 8;
    }
    if (r.samples !== undefined) {
      if (!isU32(r.samples)) return undefined;
      size += 4;
    }
    if (r.coverage !== undefined) {
      if (typeof r.coverage !== 'number') return undefined;
      size += 8;
    }
  }
  if (strings.length > 0xffff || strings.some((s) => Buffer.byteLength(s, 'utf8') > 0xffff)) return undefined;
  const buf = Buffer.allocUnsafe(size + stringBytes);
  let o = buf.writeUInt8(VERSION, 0);
  o = buf.writeUInt32LE(readings.length, o);
  o = buf.writeUInt16LE(strings.length, o);
  for (const s of strings) {
    const n = buf.write(s, o + 2, 'utf8');
    buf.writeUInt16LE(n, o);
    o += 2 + n;
  }
  for (const r of readings as readonly WithCounts[]) {
    o = buf.writeUInt16LE(index.get(r.station)!, o);
    o = buf.writeUInt16LE(index.get(r.param)!, o);
    o = buf.writeUInt8((r.value !== null ? HAS_VALUE : 0) | (r.samples !== undefined ? HAS_SAMPLES : 0) | (r.coverage !== undefined ? HAS_COVERAGE : 0), o);
    o = buf.writeUInt8(r.status, o);
    o = buf.writeUInt32LE(r.qc_flags, o);
    o = buf.writeUInt32LE(r.period_s, o);
    o = buf.writeDoubleLE(r.time, o);
    if (r.value !== null) o = buf.writeDoubleLE(r.value, o);
    if (r.samples !== undefined) o = buf.writeUInt32LE(r.samples, o);
    if (r.coverage !== undefined) o = buf.writeDoubleLE(r.coverage, o);
  }
  return buf;
}

/** Reads a `readings` column: this binary format, or JSON text (rows the encoder declined, and older WAL files). */
export function decodeReadings(column: Buffer | string): StoredReading[] {
  if (typeof column === 'string') return JSON.parse(column) as StoredReading[];
  if (column[0] !== VERSION) throw new Error(`WAL row: unknown readings format ${column[0]}`);
  let o = 1;
  const count = column.readUInt32LE(o);
  o += 4;
  const nStrings = column.readUInt16LE(o);
  o += 2;
  const strings: string[] = new Array(nStrings);
  for (let i = 0; i < nStrings; i++) {
    const n = column.readUInt16LE(o);
    strings[i] = column.toString('utf8', o + 2, o + 2 + n);
    o += 2 + n;
  }
  const out: StoredReading[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const station = strings[column.readUInt16LE(o)]!;
    const param = strings[column.readUInt16LE(o + 2)]!;
    const flags = column[o + 4]!;
    const status = column[o + 5]! as StoredReading['status'];
    const qc_flags = column.readUInt32LE(o + 6);
    const period_s = column.readUInt32LE(o + 10);
    const time = column.readDoubleLE(o + 14);
    o += 22;
    let value: number | null = null;
    if (flags & HAS_VALUE) {
      value = column.readDoubleLE(o);
      o += 8;
    }
    const r: WithCounts = { station, param, time, value, status, qc_flags, period_s };
    if (flags & HAS_SAMPLES) {
      r.samples = column.readUInt32LE(o);
      o += 4;
    }
    if (flags & HAS_COVERAGE) {
      r.coverage = column.readDoubleLE(o);
      o += 8;
    }
    out[i] = r;
  }
  return out;
}
