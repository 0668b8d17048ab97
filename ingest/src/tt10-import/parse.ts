import type { Catalogue, Reading } from '@envmon/protocol';

/**
 * Tolerant reader of TT10/2021 TXT files as third-party dataloggers write them (shared/research/vn-regulations.md
 * §1.3): `\r\n`, `\n` or `\r` line ends, UTF-8 with or without BOM, comma or dot decimals, `PM2,5` / `PM2.5` /
 * `PM25`, status `00`/`0`, blank lines, an empty value (no value, e.g. with status 02).
 *
 * A format error anywhere rejects the whole file (it goes to rejected/ with the reason). A well-formed line whose
 * symbol we do not know is passed on under its own name, so the pipeline quarantines it as `unknown_param` like any
 * other unknown parameter: one validation path for MQTT and files.
 */

export class Tt10FormatError extends Error {}

export interface ParsedTt10 {
  /** File name prefix (TenTinh_TenCoSo_TenTram) and its 14-digit stamp. */
  prefix: string;
  stamp: string;
  fileTime: number;
  readings: Reading[];
}

const NAME = /^(.+)_(\d{14})\.txt$/i;
const NUMBER = /^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$/;

export function splitFileName(name: string): { prefix: string; stamp: string } | undefined {
  const m = NAME.exec(name);
  return m ? { prefix: m[1]!, stamp: m[2]! } : undefined;
}

/** Unix ms of yyyyMMddHHmmss written at `utcOffsetMin` minutes east of UTC; NaN when not a real time. */
export function parseStamp(s: string, utcOffsetMin: number): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t).toISOString();
  const again = back.slice(0, 4) + back.slice(5, 7) + back.slice(8, 10) + back.slice(11, 13) + back.slice(14, 16) + back.slice(17, 19);
  return again === s ? t - utcOffsetMin * 60_000 : Number.NaN;
}

/** `PM2,5` → `pm25`: how symbols are compared. */
export function symbolKey(s: string): string {
  return s.normalize('NFC').toLowerCase().replace(/[\s.,_+-]/g, '');
}

/**
 * Symbol → catalogue code: the catalogue's TT10 symbols and codes, the station's own overrides first. A symbol
 * two codes share (`Temp`: air or water temperature) goes to the one of the station's medium.
 */
export function symbolMap(catalogue: Catalogue, medium: string, overrides: Readonly<Record<string, string>> = {}): Map<string, string> {
  const map = new Map<string, string>();
  const byKey = new Map<string, string[]>();
  for (const p of catalogue.parameters) {
    for (const k of new Set([symbolKey(p.tt10), symbolKey(p.code)])) byKey.set(k, [...(byKey.get(k) ?? []), p.code]);
  }
  for (const [k, codes] of byKey) {
    const med = (c: string): string => catalogue.get(c)!.medium;
    const own = codes.find((c) => med(c) === medium) ?? (medium === 'water' ? undefined : codes.find((c) => med(c) !== 'water')) ?? codes[0]!;
    map.set(k, own);
  }
  for (const [sym, code] of Object.entries(overrides)) map.set(symbolKey(sym), code);
  return map;
}

export function parseTt10(name: string, bytes: Uint8Array, symbols: ReadonlyMap<string, string>, utcOffsetMin: number): ParsedTt10 {
  const parts = splitFileName(name);
  if (!parts) throw new Tt10FormatError(`file name "${name}" is not <TenTinh>_<TenCoSo>_<TenTram>_<yyyyMMddHHmmss>.txt`);
  const fileTime = parseStamp(parts.stamp, utcOffsetMin);
  if (Number.isNaN(fileTime)) throw new Tt10FormatError(`file name time ${parts.stamp} is not a valid yyyyMMddHHmmss`);
  let text = new TextDecoder('utf-8').decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const readings: Reading[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/[ \u00a0]+$/, '');
    if (line.trim() === '') return;
    const where = `line ${i + 1}`;
    let fields = line.split('\t');
    while (fields.length > 5 && fields[fields.length - 1]!.trim() === '') fields = fields.slice(0, -1);
    if (fields.length !== 5) {
      throw new Tt10FormatError(`${where}: expected 5 TAB-separated fields (symbol, value, unit, yyyyMMddHHmmss, status), found ${fields.length}: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const [symbol, valueText, , timeText, statusText] = fields.map((f) => f.trim()) as [string, string, string, string, string];
    if (symbol === '') throw new Tt10FormatError(`${where}: the parameter symbol is empty`);
    let value: number | null = null;
    if (valueText !== '') {
      if (!NUMBER.test(valueText) || (valueText.includes(',') && valueText.includes('.'))) throw new Tt10FormatError(`${where}: value ${JSON.stringify(valueText.slice(0, 30))} of ${symbol} is not a number`);
      value = Number(valueText.replace(',', '.'));
    }
    const time = parseStamp(timeText, utcOffsetMin);
    if (Number.isNaN(time)) throw new Tt10FormatError(`${where}: time ${JSON.stringify(timeText.slice(0, 20))} of ${symbol} is not yyyyMMddHHmmss`);
    if (!/^0?[012]$/.test(statusText)) throw new Tt10FormatError(`${where}: status ${JSON.stringify(statusText.slice(0, 10))} of ${symbol} is not 00, 01 or 02`);
    const param = symbols.get(symbolKey(symbol)) ?? symbol;
    readings.push({ param, time, value, status: Number(statusText) as 0 | 1 | 2, qc_flags: 0, period_s: 0 });
  });
  if (readings.length === 0) throw new Tt10FormatError('the file holds no data line');
  return { prefix: parts.prefix, stamp: parts.stamp, fileTime, readings };
}
