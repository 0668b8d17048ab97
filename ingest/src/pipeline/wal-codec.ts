import type { StoredReading } from '../store/store.ts';

/**
 * The WAL's row format for a batch of readings: a compact binary column instead of JSON text. JSON cost the
 * ingest a `JSON.stringify` per batch on the hot path and made each row ~4× larger (110 bytes per reading against
 * 28), which SQLite then wrote, fsync'd, checkpointed and deleted.
 *
 *   u8 version (2) · u32 readings · u32 offset of the string table ·
 *   per reading: u16 station · u16 param (indexes into the strings) · u8 flags (1 value, 2 samples, 4 coverage) ·
 *                u8 status · u32 qc_flags · u32 period_s · f64 time · [f64 value] · [u32 samples] · [f64 coverage]
 *   string table: u16 strings · per string u16 byte length, UTF-8
 *
 * Little-endian, written in one pass (the strings last, so their number need not be known first). A batch the
 * format cannot hold exactly (a status above 255, a negative or fractional counter, more than 65,535 distinct
 * strings) is not encoded (`encodeReadings` returns undefined) and the WAL keeps it as JSON text: decoding tells
 * the two apart by the column's type, so WAL files written before this format still drain.
 */
const VERSION = 2;
const HAS_VALUE = 1;
const HAS_SAMPLES = 2;
const HAS_COVERAGE = 4;
const FIXED = 22; // bytes of a reading without its optional fields
const MAX_READING = FIXED + 8 + 4 + 8;

/** The fields this format carries. A field added to StoredReading fails the type check below until it is added here. */
type Encoded = 'station' | 'param' | 'time' | 'value' | 'status' | 'qc_flags' | 'period_s' | 'samples' | 'coverage';
type Unencoded = Exclude<keyof StoredReading, Encoded>;
const allFieldsEncoded: [Unencoded] extends [never] ? true : Unencoded = true;
void allFieldsEncoded;

/** A reading with the optional counts of a mean, whether or not StoredReading declares them. */
type WithCounts = StoredReading & { samples?: number; coverage?: number };

const isU32 = (v: number): boolean => v >>> 0 === v;

export function encodeReadings(readings: readonly StoredReading[]): Buffer | undefined {
  const n = readings.length;
  const buf = Buffer.allocUnsafe(9 + n * MAX_READING);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const strings: string[] = [];
  let index: Map<string, number> | undefined;
  // Batches are long runs of one station and few parameters: the last two strings are checked before the map.
  let lastA = '';
  let lastAi = -1;
  let lastB = '';
  let lastBi = -1;
  const intern = (s: string): number => {
    if (s === lastA) return lastAi;
    if (s === lastB) return lastBi;
    index ??= new Map();
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      index.set(s, i);
      strings.push(s);
    }
    lastB = lastA;
    lastBi = lastAi;
    lastA = s;
    lastAi = i;
    return i;
  };
  view.setUint8(0, VERSION);
  view.setUint32(1, n, true);
  let o = 9;
  for (let k = 0; k < n; k++) {
    const r = readings[k] as WithCounts;
    const status = r.status as number;
    const value = r.value;
    const samples = r.samples;
    const coverage = r.coverage;
    if (!(status >= 0 && status <= 255 && (status | 0) === status) || !isU32(r.qc_flags) || !isU32(r.period_s) || typeof r.time !== 'number') return undefined;
    if ((value !== null && typeof value !== 'number') || (samples !== undefined && !isU32(samples)) || (coverage !== undefined && typeof coverage !== 'number')) {
      return undefined;
    }
    if (typeof r.station !== 'string' || typeof r.param !== 'string') return undefined;
    view.setUint16(o, intern(r.station), true);
    view.setUint16(o + 2, intern(r.param), true);
    view.setUint8(o + 4, (value !== null ? HAS_VALUE : 0) | (samples !== undefined ? HAS_SAMPLES : 0) | (coverage !== undefined ? HAS_COVERAGE : 0));
    view.setUint8(o + 5, status);
    view.setUint32(o + 6, r.qc_flags, true);
    view.setUint32(o + 10, r.period_s, true);
    view.setFloat64(o + 14, r.time, true);
    o += FIXED;
    if (value !== null) {
      view.setFloat64(o, value, true);
      o += 8;
    }
    if (samples !== undefined) {
      view.setUint32(o, samples, true);
      o += 4;
    }
    if (coverage !== undefined) {
      view.setFloat64(o, coverage, true);
      o += 8;
    }
  }
  if (strings.length > 0xffff) return undefined;
  const tableAt = o;
  let tableBytes = 2;
  for (const s of strings) tableBytes += 2 + Buffer.byteLength(s, 'utf8');
  const out = tableAt + tableBytes <= buf.length ? buf : Buffer.concat([buf.subarray(0, tableAt), Buffer.allocUnsafe(tableBytes)]);
  out.writeUInt32LE(tableAt, 5);
  out.writeUInt16LE(strings.length, tableAt);
  o = tableAt + 2;
  for (const s of strings) {
    const len = out.write(s, o + 2, 'utf8');
    if (len > 0xffff) return undefined;
    out.writeUInt16LE(len, o);
    o += 2 + len;
  }
  // A copy of the used part: the WAL keeps it (in memory and on disk), not the oversized scratch buffer.
  return Buffer.from(out.subarray(0, o));
}

/** Reads a `readings` column: this binary format, or JSON text (rows the encoder declined, and older WAL files). */
export function decodeReadings(column: Buffer | string): StoredReading[] {
  if (typeof column === 'string') return JSON.parse(column) as StoredReading[];
  if (column[0] !== VERSION) throw new Error(`WAL row: unknown readings format ${column[0]}`);
  const view = new DataView(column.buffer, column.byteOffset, column.byteLength);
  const count = view.getUint32(1, true);
  let t = view.getUint32(5, true);
  const nStrings = view.getUint16(t, true);
  t += 2;
  const strings: string[] = new Array(nStrings);
  for (let i = 0; i < nStrings; i++) {
    const n = view.getUint16(t, true);
    strings[i] = column.toString('utf8', t + 2, t + 2 + n);
    t += 2 + n;
  }
  const out: StoredReading[] = new Array(count);
  let o = 9;
  for (let i = 0; i < count; i++) {
    const station = strings[view.getUint16(o, true)]!;
    const param = strings[view.getUint16(o + 2, true)]!;
    const flags = view.getUint8(o + 4);
    const status = view.getUint8(o + 5) as StoredReading['status'];
    const qc_flags = view.getUint32(o + 6, true);
    const period_s = view.getUint32(o + 10, true);
    const time = view.getFloat64(o + 14, true);
    o += FIXED;
    let value: number | null = null;
    if (flags & HAS_VALUE) {
      value = view.getFloat64(o, true);
      o += 8;
    }
    const r: WithCounts = { station, param, time, value, status, qc_flags, period_s };
    if (flags & HAS_SAMPLES) {
      r.samples = view.getUint32(o, true);
      o += 4;
    }
    if (flags & HAS_COVERAGE) {
      r.coverage = view.getFloat64(o, true);
      o += 8;
    }
    out[i] = r;
  }
  return out;
}
