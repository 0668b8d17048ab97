import { DeviceStatus, tt10StatusCode } from '@envmon/protocol';

/**
 * The TT10/2021 data file ("Phụ lục 15" TXT) as every open-source writer and receiver produces it (the annex itself
 * was not read: see shared/research/vn-regulations.md §1.3). What is de facto rather than confirmed is configurable:
 * the unit and precision of each symbol, the line ending, the time zone of the timestamps.
 *
 *   file   <TenTinh>_<TenCoSo>_<TenTram>_<yyyyMMddHHmmss>.txt
 *   line   <symbol> TAB <value> TAB <unit> TAB <yyyyMMddHHmmss> TAB <00|01|02> <line ending>
 */

export interface Tt10Param {
  /** Catalogue code (PM2_5 …). */
  code: string;
  /** Symbol in the file (PM2,5 …). */
  symbol: string;
  unit: string;
  decimals: number;
}

export interface Tt10Record {
  param: Tt10Param;
  /** null: written as an empty value (status 02 unless the device said otherwise). */
  value: number | null;
  status: DeviceStatus;
}

export interface Tt10FormatOptions {
  /** Minutes east of UTC of the timestamps (default 420, Vietnam). */
  utcOffsetMin: number;
  lineEnding: '\n' | '\r\n';
}

/** yyyyMMddHHmmss of `t` (Unix ms) at the given UTC offset. */
export function tt10Time(t: number, utcOffsetMin: number): string {
  const d = new Date(t + utcOffsetMin * 60_000).toISOString(); // 2025-03-10T19:05:00.000Z
  return d.slice(0, 4) + d.slice(5, 7) + d.slice(8, 10) + d.slice(11, 13) + d.slice(14, 16) + d.slice(17, 19);
}

/** Unix ms of a yyyyMMddHHmmss stamp written at the given UTC offset; NaN when it is not a valid time. */
export function parseTt10Time(s: string, utcOffsetMin: number): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  // Reject rollovers such as month 13 or 25:00.
  return tt10Time(t, 0) === s ? t - utcOffsetMin * 60_000 : Number.NaN;
}

export function tt10FileName(prefix: { province: string; facility: string; station: string }, t: number, utcOffsetMin: number): string {
  return `${prefix.province}_${prefix.facility}_${prefix.station}_${tt10Time(t, utcOffsetMin)}.txt`;
}

/** The 14-digit stamp of a TT10 file name (the last 14 characters before `.txt`), or undefined. */
export function fileNameStamp(name: string): string | undefined {
  return /(\d{14})\.txt$/i.exec(name)?.[1];
}

export function formatValue(v: number | null, decimals: number): string {
  if (v === null || !Number.isFinite(v)) return '';
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** The file's text: one line per record, every line stamped with the file time `t`. */
export function formatTt10(records: readonly Tt10Record[], t: number, o: Tt10FormatOptions): string {
  const stamp = tt10Time(t, o.utcOffsetMin);
  return records
    .map((r) => [r.param.symbol, formatValue(r.value, r.param.decimals), r.param.unit, stamp, tt10StatusCode(r.status)].join('\t') + o.lineEnding)
    .join('');
}

export interface WindowReading {
  param: string;
  value: number | null;
  status: number;
}

/**
 * One record per parameter for an averaging window:
 * - the mean of the values measured with status 00, status 00;
 * - else (the analyser calibrated all window long) the mean of the calibration values, status 01;
 * - else (only errors, or nothing) an empty value with status 02, or no line when `missing` is 'omit' and the
 *   parameter had no reading at all.
 */
export function averageWindow(params: readonly Tt10Param[], readings: readonly WindowReading[], missing: 'error' | 'omit'): Tt10Record[] {
  const acc = new Map<string, { sum: [number, number]; n: [number, number]; any: boolean }>();
  for (const r of readings) {
    let a = acc.get(r.param);
    if (!a) acc.set(r.param, (a = { sum: [0, 0], n: [0, 0], any: false }));
    a.any = true;
    if (r.value === null || !Number.isFinite(r.value)) continue;
    if (r.status === DeviceStatus.MEASURING || r.status === DeviceStatus.CALIBRATING) {
      a.sum[r.status] += r.value;
      a.n[r.status]++;
    }
  }
  const out: Tt10Record[] = [];
  for (const param of params) {
    const a = acc.get(param.code);
    if (a && a.n[0] > 0) out.push({ param, value: a.sum[0] / a.n[0], status: DeviceStatus.MEASURING });
    else if (a && a.n[1] > 0) out.push({ param, value: a.sum[1] / a.n[1], status: DeviceStatus.CALIBRATING });
    else if (a?.any || missing === 'error') out.push({ param, value: null, status: DeviceStatus.DEVICE_ERROR });
  }
  return out;
}

/** A mean the gateway computed (archive rows with period_s > 0). */
export interface WindowMean extends WindowReading {
  /** Raw samples that went into the mean (0 for a mean without a value). */
  samples: number | null;
}

/**
 * One record per parameter for a window, from the gateway's own means of a period that divides the window (the
 * window's mean itself when the periods are equal):
 * - one mean: its value and its status, as the gateway published it;
 * - several (a 10-minute window from 5-minute means): the sample-weighted mean of the 00 means (status 00), else
 *   of the 01 means (status 01), else empty with 02;
 * - a parameter without any mean in the window (its period was not closed yet, or means were off for a while)
 *   falls back to the raw readings, as `averageWindow` does.
 */
export function averageWindowFromMeans(params: readonly Tt10Param[], means: readonly WindowMean[], raw: readonly WindowReading[], missing: 'error' | 'omit'): Tt10Record[] {
  const acc = new Map<string, { sum: [number, number]; w: [number, number] }>();
  for (const m of means) {
    let a = acc.get(m.param);
    if (!a) acc.set(m.param, (a = { sum: [0, 0], w: [0, 0] }));
    if (m.value === null || !Number.isFinite(m.value)) continue;
    if (m.status === DeviceStatus.MEASURING || m.status === DeviceStatus.CALIBRATING) {
      const w = Math.max(1, m.samples ?? 1);
      a.sum[m.status] += m.value * w;
      a.w[m.status] += w;
    }
  }
  const out: Tt10Record[] = [];
  const fallback = params.filter((p) => !acc.has(p.code));
  const fromRaw = new Map(averageWindow(fallback, raw, missing).map((r) => [r.param.code, r]));
  for (const param of params) {
    const a = acc.get(param.code);
    if (!a) {
      const r = fromRaw.get(param.code);
      if (r) out.push(r);
    } else if (a.w[0] > 0) out.push({ param, value: a.sum[0] / a.w[0], status: DeviceStatus.MEASURING });
    else if (a.w[1] > 0) out.push({ param, value: a.sum[1] / a.w[1], status: DeviceStatus.CALIBRATING });
    else out.push({ param, value: null, status: DeviceStatus.DEVICE_ERROR });
  }
  return out;
}

/** The mean period (seconds) a window of `windowS` is made of: the longest of `periodsS` that divides it, if any. */
export function meanPeriodFor(windowS: number, periodsS: readonly number[]): number | undefined {
  return [...periodsS].filter((p) => p > 0 && p <= windowS && windowS % p === 0).sort((a, b) => b - a)[0];
}

/** `yyyy/MM/dd`-style templates: yyyy, MM, dd, HH and {station} {province} {facility}, in the file's local time. */
export function expandTemplate(template: string, t: number, utcOffsetMin: number, names: { province: string; facility: string; station: string }): string {
  const s = tt10Time(t, utcOffsetMin);
  const tokens: Record<string, string> = {
    '{station}': names.station,
    '{province}': names.province,
    '{facility}': names.facility,
    yyyy: s.slice(0, 4),
    MM: s.slice(4, 6),
    dd: s.slice(6, 8),
    HH: s.slice(8, 10),
  };
  // One pass, so a name that contains "MM" or "dd" is never rewritten.
  return template.replace(/\{station\}|\{province\}|\{facility\}|yyyy|MM|dd|HH/g, (k) => tokens[k]!);
}
