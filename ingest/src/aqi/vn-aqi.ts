import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * VN_AQI per Quyết định 1459/QĐ-TCMT (12/11/2019): pure functions over hourly means. The tables (breakpoints,
 * categories, colours, advice) are data in `qd-1459-2019.yaml`; the rules are §2.2 of the Decision.
 *
 * Choices the Decision leaves open (documented in src/aqi/README.md):
 * - rounding "thành số nguyên" is half-up (x.5 → up), after snapping to 6 decimals so 109.4999999 → 110;
 * - concentrations above the top breakpoint ("≥" at level 8) give 500 (no extrapolation);
 * - NowCast uses the normalised form Σw^(i−1)c_i / Σw^(i−1) also when w = 1/2 (the text prints Σ(1/2)^i c_i, which
 *   equals it when all 12 hours are present up to the factor Σ(1/2)^(i−1) ≈ 2 that it drops; with missing hours
 *   only the normalised form stays a mean);
 * - the 24 h and 8 h means need at least 75 % of their hours (18 of 24, 6 of 8): not in the Decision, the usual
 *   rule of thumb; configurable.
 */

export const AQI_POLLUTANTS = ['PM2_5', 'PM10', 'O3', 'NO2', 'SO2', 'CO'] as const;
export type AqiPollutant = (typeof AQI_POLLUTANTS)[number];
export type BreakpointColumn = 'PM2_5' | 'PM10' | 'O3_1h' | 'O3_8h' | 'NO2' | 'SO2' | 'CO';
/** What concentration a sub-index was computed from. */
export type AqiBasis = 'nowcast' | 'mean_1h' | 'mean_24h' | 'max_1h' | 'max_8h';

const Rgb = z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]);
const TablesSchema = z.object({
  source: z.string(),
  method: z.string(),
  categories: z.array(z.object({ key: z.string(), min: z.number(), max: z.number(), vi: z.string(), en: z.string(), colour_vi: z.string(), rgb: Rgb })).length(6),
  index: z.array(z.number()).length(8),
  breakpoints: z.object({
    O3_1h: z.array(z.number()).min(2),
    O3_8h: z.array(z.number()).min(2),
    CO: z.array(z.number()).min(2),
    SO2: z.array(z.number()).min(2),
    NO2: z.array(z.number()).min(2),
    PM10: z.array(z.number()).min(2),
    PM2_5: z.array(z.number()).min(2),
  }),
  o3_8h_cutoff: z.number().positive(),
  advice: z.record(z.string(), z.object({ health: z.string(), general: z.string(), sensitive: z.string() })),
});
export type AqiTables = z.infer<typeof TablesSchema>;

export function loadAqiTables(path: string | URL = new URL('./qd-1459-2019.yaml', import.meta.url)): AqiTables {
  const t = TablesSchema.parse(parse(readFileSync(path, 'utf8')));
  for (const [col, bps] of Object.entries(t.breakpoints)) {
    if (bps.length > t.index.length) throw new Error(`${String(path)}: ${col} has more breakpoints than index levels`);
    for (let i = 1; i < bps.length; i++) if (!(bps[i]! > bps[i - 1]!)) throw new Error(`${String(path)}: ${col} breakpoints must increase`);
  }
  return t;
}

let cached: AqiTables | undefined;
/** The tables shipped with this package (QĐ 1459/QĐ-TCMT). */
export function aqiTables(): AqiTables {
  cached ??= loadAqiTables();
  return cached;
}

export interface AqiCategory {
  key: string;
  /** Vietnamese name as in Bảng 1 ("Tốt" …) and an English gloss. */
  name: { vi: string; en: string };
  /** Colour name in Bảng 1 ("Xanh" …), its RGB and the same as #rrggbb. */
  colour: { vi: string; rgb: [number, number, number]; hex: string };
  range: [number, number];
  advice: { health: string; general: string; sensitive: string };
}

/** "Làm tròn thành số nguyên": half-up, with the float noise of the interpolation removed first. */
export function roundHalfUp(x: number): number {
  return Math.floor(Number(x.toFixed(6)) + 0.5);
}

function present(c: number | null | undefined): c is number {
  return c !== null && c !== undefined && Number.isFinite(c);
}

/**
 * Công thức 1 (and 2 with the NowCast): linear interpolation on Bảng 2, unrounded. null when the concentration
 * is missing or negative, and for O3 8h above the 400 µg/m³ cut-off; 500 above the top breakpoint.
 */
export function subIndex(column: BreakpointColumn, c: number | null | undefined, t: AqiTables = aqiTables()): number | null {
  if (!present(c) || c < 0) return null;
  if (column === 'O3_8h' && c > t.o3_8h_cutoff) return null;
  const bp = t.breakpoints[column];
  for (let i = 0; i + 1 < bp.length; i++) {
    const lo = bp[i]!;
    const hi = bp[i + 1]!;
    if (c <= hi) {
      const ilo = t.index[i]!;
      const ihi = t.index[i + 1]!;
      return ((ihi - ilo) / (hi - lo)) * (c - lo) + ilo;
    }
  }
  // Above the last printed breakpoint ("≥"): the Decision defines no higher level.
  return column === 'O3_8h' ? t.index[bp.length - 1]! : t.index[t.index.length - 1]!;
}

/**
 * NowCast (§2.2.1.a) from hourly means, c[0] = c1 = the current hour, c[11] = 11 hours before. Only the first 12
 * are used; a missing hour has weight 0; at least 2 of c1..c3 must be present, otherwise null ("không có dữ liệu").
 */
export function nowcast(c: readonly (number | null | undefined)[]): number | null {
  const hours = c.slice(0, 12);
  if (hours.slice(0, 3).filter(present).length < 2) return null;
  const values = hours.filter(present);
  const cmin = Math.min(...values);
  const cmax = Math.max(...values);
  if (cmax <= 0) return 0;
  const wStar = cmin / cmax;
  const w = wStar <= 0.5 ? 0.5 : wStar;
  let num = 0;
  let den = 0;
  hours.forEach((ci, i) => {
    if (!present(ci)) return;
    num += w ** i * ci;
    den += w ** i;
  });
  return num / den;
}

/** Mean of the present values, or null when fewer than `minPresent` are present. */
export function meanOf(values: readonly (number | null | undefined)[], minPresent = 1): number | null {
  const v = values.filter(present);
  if (v.length === 0 || v.length < minPresent) return null;
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Largest present value, or null. */
export function maxOf(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter(present);
  return v.length === 0 ? null : Math.max(...v);
}

/**
 * Rolling means of `window` consecutive hourly values ending at each of the last `count` positions (§2.2.2.a:
 * "trung bình cộng các giá trị trung bình 1 giờ trong 8 giờ liên tiếp", 24 values per day). A window needs
 * `minPresent` values. `hours` is oldest first and must hold window − 1 hours before the first position.
 */
export function rollingMeans(hours: readonly (number | null | undefined)[], window: number, count: number, minPresent: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (let end = hours.length - count; end < hours.length; end++) {
    const from = end - window + 1;
    out.push(from < 0 ? null : meanOf(hours.slice(from, end + 1), minPresent));
  }
  return out;
}

export interface PollutantIndex {
  param: AqiPollutant;
  basis: AqiBasis;
  /** µg/m³ the sub-index was computed from (NowCast, mean or maximum); null when not enough data. */
  concentration: number | null;
  /** Rounded half-up; null when not computable. */
  aqi: number | null;
  aqi_exact: number | null;
  /** O3 daily only: the 1 h and 8 h parts (the larger one counts). */
  parts?: { basis: AqiBasis; concentration: number | null; aqi: number | null; aqi_exact: number | null; note?: string }[];
}

export interface AqiResult {
  method: string;
  source: string;
  /** max(AQIx) rounded half-up; null without a PM2.5 or PM10 sub-index. */
  aqi: number | null;
  aqi_exact: number | null;
  category: AqiCategory | null;
  /** The pollutant with the largest sub-index (ties: PM2.5, PM10, O3, NO2, SO2, CO). */
  dominant: AqiPollutant | null;
  /** Why aqi is null. */
  reason?: string;
  pollutants: PollutantIndex[];
}

export function category(aqi: number, t: AqiTables = aqiTables()): AqiCategory {
  const c = t.categories.find((x) => aqi <= x.max) ?? t.categories[t.categories.length - 1]!;
  const hex = `#${c.rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  const advice = t.advice[c.key] ?? { health: '', general: '', sensitive: '' };
  return { key: c.key, name: { vi: c.vi, en: c.en }, colour: { vi: c.colour_vi, rgb: c.rgb, hex }, range: [c.min, c.max], advice };
}

function index(param: AqiPollutant, basis: AqiBasis, column: BreakpointColumn, c: number | null, t: AqiTables): PollutantIndex {
  const exact = subIndex(column, c, t);
  return { param, basis, concentration: c, aqi: exact === null ? null : roundHalfUp(exact), aqi_exact: exact };
}

function combine(pollutants: PollutantIndex[], t: AqiTables): AqiResult {
  const base = { method: t.method, source: t.source, pollutants };
  const hasPm = pollutants.some((p) => (p.param === 'PM2_5' || p.param === 'PM10') && p.aqi_exact !== null);
  if (!hasPm) {
    return { ...base, aqi: null, aqi_exact: null, category: null, dominant: null, reason: 'VN_AQI needs a PM2.5 or PM10 sub-index (QĐ 1459 §2.1.b); there is not enough PM data' };
  }
  let best: PollutantIndex | undefined;
  for (const p of pollutants) if (p.aqi_exact !== null && (best === undefined || p.aqi_exact > best.aqi_exact!)) best = p;
  const aqi = roundHalfUp(best!.aqi_exact!);
  return { ...base, aqi, aqi_exact: best!.aqi_exact, category: category(aqi, t), dominant: best!.param };
}

/** Hourly means of the current hour and the 11 before it, current first (c1 … c12). Missing = null. */
export type HourlyInput = Partial<Record<AqiPollutant, readonly (number | null | undefined)[]>>;

/**
 * AQI giờ (§2.2.1): PM2.5 and PM10 from the NowCast of their last 12 hourly means; O3 (O3 1h column), NO2, SO2
 * and CO from the current hourly mean. AQI^h = max(AQIx), rounded half-up.
 */
export function hourlyAqi(input: HourlyInput, t: AqiTables = aqiTables()): AqiResult {
  const pollutants = AQI_POLLUTANTS.map((param) => {
    const hours = input[param] ?? [];
    if (param === 'PM2_5' || param === 'PM10') return index(param, 'nowcast', param, nowcast(hours), t);
    const c1 = hours[0];
    return index(param, 'mean_1h', param === 'O3' ? 'O3_1h' : param, present(c1) ? c1 : null, t);
  });
  return combine(pollutants, t);
}

/** The day's aggregates (§2.2.2.a), µg/m³. */
export interface DailyInput {
  PM2_5_24h?: number | null;
  PM10_24h?: number | null;
  O3_1h_max?: number | null;
  O3_8h_max?: number | null;
  NO2_1h_max?: number | null;
  SO2_1h_max?: number | null;
  CO_1h_max?: number | null;
}

/**
 * AQI ngày (§2.2.2.b): PM from the 24 h mean; SO2, NO2, CO from the day's maximum hourly mean; O3 from the larger
 * of the index of the maximum 1 h mean (O3 1h column) and of the maximum 8 h mean (O3 8h column), the latter not
 * computed when the maximum 8 h mean exceeds 400 µg/m³. AQI^d = max(AQIx), rounded half-up.
 */
export function dailyAqi(d: DailyInput, t: AqiTables = aqiTables()): AqiResult {
  const v = (x: number | null | undefined): number | null => (present(x) ? x : null);
  const o3h = index('O3', 'max_1h', 'O3_1h', v(d.O3_1h_max), t);
  const o38 = index('O3', 'max_8h', 'O3_8h', v(d.O3_8h_max), t);
  const cut = o38.concentration !== null && o38.concentration > t.o3_8h_cutoff;
  const o3win = o38.aqi_exact !== null && (o3h.aqi_exact === null || o38.aqi_exact > o3h.aqi_exact) ? o38 : o3h;
  const o3: PollutantIndex = {
    ...o3win,
    parts: [
      { basis: 'max_1h', concentration: o3h.concentration, aqi: o3h.aqi, aqi_exact: o3h.aqi_exact },
      {
        basis: 'max_8h',
        concentration: o38.concentration,
        aqi: o38.aqi,
        aqi_exact: o38.aqi_exact,
        ...(cut ? { note: `max 8 h mean above ${t.o3_8h_cutoff} µg/m³: only the 1 h index counts (QĐ 1459 §2.2.2.b)` } : {}),
      },
    ],
  };
  const pollutants: PollutantIndex[] = [
    index('PM2_5', 'mean_24h', 'PM2_5', v(d.PM2_5_24h), t),
    index('PM10', 'mean_24h', 'PM10', v(d.PM10_24h), t),
    o3,
    index('NO2', 'max_1h', 'NO2', v(d.NO2_1h_max), t),
    index('SO2', 'max_1h', 'SO2', v(d.SO2_1h_max), t),
    index('CO', 'max_1h', 'CO', v(d.CO_1h_max), t),
  ];
  return combine(pollutants, t);
}

export interface DailyRules {
  /** Hourly means a 24 h mean needs (default 18 of 24). */
  minHoursPerDay?: number;
  /** Hourly means an 8 h mean needs (default 6 of 8). */
  minHoursPer8h?: number;
}

/**
 * The day's aggregates from its 24 hourly means, oldest first (the hours ending 01:00 … 24:00 local time, i.e.
 * starting 00:00 … 23:00; the Decision's day "từ 01:00 giờ đến 00:00 hôm sau" labels hours by their end).
 * `o3Before` holds the 7 hourly O3 means before the day, so that each of the day's 24 hours ends an 8 h window.
 */
export function dailyInputFromHours(day: HourlyInput, o3Before: readonly (number | null | undefined)[] = [], rules: DailyRules = {}): DailyInput {
  const minDay = rules.minHoursPerDay ?? 18;
  const min8 = rules.minHoursPer8h ?? 6;
  const h = (p: AqiPollutant): readonly (number | null | undefined)[] => day[p] ?? [];
  const before = o3Before.slice(-7);
  const o3All = [...Array.from({ length: 7 - before.length }, () => null), ...before, ...h('O3')];
  return {
    PM2_5_24h: meanOf(h('PM2_5'), minDay),
    PM10_24h: meanOf(h('PM10'), minDay),
    O3_1h_max: maxOf(h('O3')),
    O3_8h_max: maxOf(rollingMeans(o3All, 8, h('O3').length, min8)),
    NO2_1h_max: maxOf(h('NO2')),
    SO2_1h_max: maxOf(h('SO2')),
    CO_1h_max: maxOf(h('CO')),
  };
}
