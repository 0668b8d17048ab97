import type { StoredReading } from './store.ts';

/**
 * Line protocol for the InfluxDB store, written as bytes. `toLine` (a template string per reading, then a join and
 * a UTF-8 encode of the body) cost ≈ 1 µs per reading, about a quarter of the ingest's whole CPU per reading;
 * this writes the same text straight into the request body: the series' tags once per series (kept as bytes),
 * integers as digits without a string in between. Same output as toLine, byte for byte (line-protocol.test.ts).
 */

/** Tag values: escape comma, equals sign and space; refuse backslash and control characters (see toLine). */
export function escapeTag(value: string): string {
  if (value === '') throw new TypeError('InfluxDB tag values cannot be empty');
  if (/[\\\u0000-\u001f\u007f]/.test(value)) {
    throw new TypeError(`InfluxDB tag value ${JSON.stringify(value)} contains a backslash or a control character`);
  }
  return value.replace(/[,= ]/g, '\\$&');
}

interface Prefix {
  text: string;
  bytes: Buffer;
}

/**
 * `reading,param=…,period=…,station=… ` per series, kept: a handful of stations × parameters × periods make every
 * line, so the escaping and concatenation of the tags is done once per series, not once per reading.
 */
const seriesPrefixes = new Map<string, Map<string, Map<number, Prefix>>>();
const MAX_PREFIXES = 100_000;
let prefixCount = 0;

function seriesPrefix(station: string, param: string, period: number): Prefix {
  let byParam = seriesPrefixes.get(station);
  if (byParam === undefined) seriesPrefixes.set(station, (byParam = new Map()));
  let byPeriod = byParam.get(param);
  if (byPeriod === undefined) byParam.set(param, (byPeriod = new Map()));
  let prefix = byPeriod.get(period);
  if (prefix === undefined) {
    const text = `reading,param=${escapeTag(param)},period=${period},station=${escapeTag(station)} `;
    prefix = { text, bytes: Buffer.from(text, 'utf8') };
    if (prefixCount >= MAX_PREFIXES) {
      seriesPrefixes.clear(); // a bound, not an LRU: real deployments have far fewer series
      prefixCount = 0;
    } else {
      byPeriod.set(period, prefix);
      prefixCount++;
    }
  }
  return prefix;
}

/** One `reading` line. Numbers print with JS's shortest round-trip form, which InfluxDB parses exactly (1e+21 too). */
export function toLine(r: StoredReading): string {
  const prefix = seriesPrefix(r.station, r.param, r.period_s).text;
  return r.value === null
    ? `${prefix}status=${r.status}i,qc=${r.qc_flags}i ${r.time}`
    : `${prefix}value=${r.value},status=${r.status}i,qc=${r.qc_flags}i ${r.time}`;
}

const VALUE = Buffer.from('value=');
const STATUS = Buffer.from('status=');
const QC = Buffer.from('i,qc=');
/** Bytes of a line besides its prefix, at most: value=<25> , status=<25> i,qc=<25> i <25> \n (a number's longest
 * form, e.g. -1.7976931348623157e+308, has 24 characters). */
const MAX_REST = 6 + 25 + 1 + 7 + 25 + 5 + 25 + 2 + 25 + 1;

/** Digits of a safe integer, sign included; returns the new offset. */
function writeInt(buf: Buffer, o: number, n: number): number {
  if (n < 0) {
    buf[o++] = 45; // -
    n = -n;
  }
  if (n < 10) {
    buf[o] = 48 + n;
    return o + 1;
  }
  if (n >= 1e9) {
    // Above 2^31 the digit loop below would leave int32 arithmetic: print the high part, then 9 padded digits.
    const high = Math.floor(n / 1e9);
    o = writeInt(buf, o, high);
    return writeDigits(buf, o, n - high * 1e9, 9);
  }
  let digits = 1;
  for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
  return writeDigits(buf, o, n, digits);
}

/** Exactly `digits` digits of 0 ≤ n < 10^digits ≤ 10^9, zero-padded. */
function writeDigits(buf: Buffer, o: number, n: number, digits: number): number {
  for (let i = o + digits - 1; i >= o; i--) {
    const q = (n / 10) | 0;
    buf[i] = 48 + (n - q * 10);
    n = q;
  }
  return o + digits;
}

/**
 * JS's own number form (shortest round trip, `1e+21`), ASCII. Integers up to 2^53 and values of up to 3 decimals
 * below 10^9 (what instruments report) take digit paths; the rest String().
 *
 * Why the decimal path prints what String() prints: it takes the first k ≤ 3 for which m = v·10^k is an integer
 * with m / 10^k === v, i.e. the k-decimal text m·10^-k reads back as v. Below 10^9 a double's spacing is under
 * 10^-6, so no other text of k or fewer decimals reads back as v, and String(v) — the shortest text that does —
 * is that one (it has no exponent between 10^-6 and 10^21). m ending in 0 would mean fewer decimals: String() then.
 */
function writeNumber(buf: Buffer, o: number, v: number): number {
  if (Number.isSafeInteger(v)) return writeInt(buf, o, v === 0 ? 0 : v); // -0 prints as 0, like String(-0)
  if (v > -1e9 && v < 1e9) {
    for (let k = 1, scale = 10; k <= 3; k++, scale *= 10) {
      const m = v * scale;
      if (Number.isSafeInteger(m) && m / scale === v) {
        if (m % 10 === 0) break;
        const negative = m < 0;
        const abs = negative ? -m : m;
        const whole = Math.floor(abs / scale);
        if (negative) buf[o++] = 45; // -
        o = writeInt(buf, o, whole);
        buf[o++] = 46; // .
        return writeDigits(buf, o, abs - whole * scale, k);
      }
    }
  }
  const s = String(v);
  for (let i = 0; i < s.length; i++) buf[o++] = s.charCodeAt(i);
  return o;
}

/** A short copy byte by byte: Buffer#copy crosses into C++, which costs more than a few dozen bytes in a loop. */
function put(buf: Buffer, o: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) buf[o + k] = bytes[k]!;
  return o + bytes.length;
}

/**
 * Lines `from`..`to` of `readings`, '\n'-separated, as the UTF-8 body of one write. The readings must have passed
 * checkReading (integers where the schema says integers, a finite value or null).
 */
export function encodeLines(readings: readonly StoredReading[], from = 0, to = readings.length): Buffer {
  const prefixes: Uint8Array[] = new Array(to - from);
  let size = 0;
  // Consecutive readings mostly share a series: the maps are asked only when it changes.
  let station: string | undefined;
  let param: string | undefined;
  let period: number | undefined;
  let p: Uint8Array = VALUE;
  for (let i = from; i < to; i++) {
    const r = readings[i]!;
    if (r.station !== station || r.param !== param || r.period_s !== period) {
      station = r.station;
      param = r.param;
      period = r.period_s;
      p = seriesPrefix(station, param, period).bytes;
    }
    prefixes[i - from] = p;
    size += p.length + MAX_REST;
  }
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = from; i < to; i++) {
    const r = readings[i]!;
    if (i > from) buf[o++] = 10; // \n
    o = put(buf, o, prefixes[i - from]!);
    if (r.value !== null) {
      o = put(buf, o, VALUE);
      o = writeNumber(buf, o, r.value);
      buf[o++] = 44; // ,
    }
    o = put(buf, o, STATUS);
    o = writeNumber(buf, o, r.status);
    o = put(buf, o, QC);
    o = writeNumber(buf, o, r.qc_flags);
    buf[o++] = 105; // i
    buf[o++] = 32; // space
    o = writeNumber(buf, o, r.time);
  }
  return buf.subarray(0, o);
}
