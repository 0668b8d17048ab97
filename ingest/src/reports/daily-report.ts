import type { Catalogue } from '@envmon/protocol';
import { DAY_MS, HOUR_MS, hourlyMeansOf, isValidPoint, rawPoints, vnDayStart, vnIso } from '../aggregate/hourly-means.ts';
import { limitInForce, type LimitEntry, type LimitProfile } from '../alarms/limits.ts';
import type { StationConfig } from '../config/config.ts';
import type { SeriesPoint, Store } from '../store/store.ts';
import type { ReportsConfig } from './config.ts';

/**
 * Daily compliance and completeness of one station, from the Store's raw readings.
 *
 * Compliance compares each limit of the station's QCVN profile (ingest/limits, loaded by alarms/limits.ts) in force
 * on the day with the value of its averaging period, built from valid readings only (status 00, no range/spike/
 * flatline flag): `instant` each reading, `1h` each hourly mean, `8h` the 24 rolling 8-hour means ending at each
 * hour of the day (≥ 6 of 8 hours), `24h` the mean of the day's hourly means (≥ 18 of 24). `annual` limits are not
 * judged by a daily report. Days are Vietnamese local days (00:00–24:00, UTC+7).
 *
 * Completeness counts records against the station's `expected_interval_s`: received (any status) and valid.
 */

export interface Exceedance {
  /** Start of the hour / end of the 8 h window / time of the reading / start of the day, ISO +07:00. */
  time: string;
  value: number;
}

export interface ComplianceRow {
  param: string;
  period: LimitEntry['period'];
  column?: 'A' | 'B';
  /** Limit applied (after Kq × Kf where it applies); null side = not limited. */
  limit: { min: number | null; max: number | null; unit: string; source: string; unconfirmed: boolean; note?: string };
  /** Values judged (readings, hours, 8 h windows or 1 for the day) and how many were available to judge. */
  evaluated: number;
  expected: number;
  exceedances: number;
  /** Worst value of the period kind (largest, or the smallest for a lower limit that was broken). */
  worst: number | null;
  status: 'compliant' | 'exceeded' | 'no_data';
  /** Up to 50 exceeding values, first first. */
  exceeded_at: Exceedance[];
}

export interface ComplianceReport {
  station: string;
  day: string;
  from: string;
  to: string;
  profile: { id: string; title: string } | null;
  /** Why there is no judgement. */
  note?: string;
  rows: ComplianceRow[];
  skipped: { param: string; period: string; reason: string }[];
}

export interface CompletenessRow {
  param: string;
  expected: number;
  received: number;
  valid: number;
  calibrating: number;
  device_error: number;
  /** received / expected and valid / expected in %, one decimal, capped at 100. */
  received_pct: number;
  valid_pct: number;
  /** Hours of the day with at least one valid reading. */
  valid_hours: number;
}

export interface CompletenessReport {
  station: string;
  day: string;
  from: string;
  to: string;
  expected_interval_s: number;
  rows: CompletenessRow[];
}

const pct = (n: number, d: number): number => (d <= 0 ? 0 : Math.min(100, Math.round((1000 * n) / d) / 10));

/** The parameters a report covers: the station's configured list, else what it has sent. */
export async function reportParams(store: Store, station: StationConfig): Promise<string[]> {
  if (station.params.length > 0) return [...station.params];
  return [...new Set((await store.latest({ station: station.id })).map((r) => r.param))].sort();
}

export async function completenessReport(store: Store, station: StationConfig, day: string): Promise<CompletenessReport> {
  const from = vnDayStart(day);
  const to = from + DAY_MS;
  const interval = station.expected_interval_s;
  const expected = Math.floor(86_400 / interval);
  const rows: CompletenessRow[] = [];
  for (const param of await reportParams(store, station)) {
    const points = await rawPoints(store, station.id, param, from, to);
    const valid = points.filter(isValidPoint);
    const hours = new Set(valid.map((p) => Math.floor((p.time - from) / HOUR_MS)));
    rows.push({
      param,
      expected,
      received: points.length,
      valid: valid.length,
      calibrating: points.filter((p) => p.status === 1).length,
      device_error: points.filter((p) => p.status === 2).length,
      received_pct: pct(points.length, expected),
      valid_pct: pct(valid.length, expected),
      valid_hours: hours.size,
    });
  }
  return { station: station.id, day, from: vnIso(from), to: vnIso(to), expected_interval_s: interval, rows };
}

export interface ComplianceContext {
  profiles: ReadonlyMap<string, LimitProfile>;
  reports: ReportsConfig | undefined;
  catalogue: Catalogue;
}

export async function complianceReport(store: Store, station: StationConfig, day: string, ctx: ComplianceContext): Promise<ComplianceReport> {
  const from = vnDayStart(day);
  const to = from + DAY_MS;
  const base = { station: station.id, day, from: vnIso(from), to: vnIso(to) };
  const setting = ctx.reports?.stations[station.id];
  if (!setting) return { ...base, profile: null, note: `no QCVN profile for ${station.id}: set reports.stations.${station.id}.profile in the ingest config`, rows: [], skipped: [] };
  const profile = ctx.profiles.get(setting.profile);
  if (!profile) return { ...base, profile: null, note: `no limit profile "${setting.profile}" in ingest/limits (known: ${[...ctx.profiles.keys()].join(', ')})`, rows: [], skipped: [] };
  const params = new Set(await reportParams(store, station));
  const rows: ComplianceRow[] = [];
  const skipped: ComplianceReport['skipped'] = [];
  // One limit per (param, period, column) in force on the day.
  const groups = new Map<string, LimitEntry[]>();
  for (const e of profile.limits) {
    if (!params.has(e.param)) continue;
    if (e.column && setting.column && e.column !== setting.column) continue;
    const k = `${e.param}|${e.period}|${e.column ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  const pointsCache = new Map<string, SeriesPoint[]>();
  const points = async (param: string): Promise<SeriesPoint[]> => {
    let p = pointsCache.get(param);
    if (!p) pointsCache.set(param, (p = await rawPoints(store, station.id, param, from - 7 * HOUR_MS, to)));
    return p;
  };
  for (const entries of groups.values()) {
    const first = entries[0]!;
    if (first.column && !setting.column) {
      skipped.push({ param: first.param, period: first.period, reason: `the profile has columns A/B: set reports.stations.${station.id}.column` });
      continue;
    }
    const e = limitInForce(entries, from);
    if (!e) {
      skipped.push({ param: first.param, period: first.period, reason: `no limit in force on ${day}` });
      continue;
    }
    if (e.period === 'annual') {
      skipped.push({ param: e.param, period: e.period, reason: 'annual limits are not judged by a daily report' });
      continue;
    }
    if (e.unconfirmed && !ctx.reports?.allow_unconfirmed) {
      skipped.push({ param: e.param, period: e.period, reason: `the limit is marked unconfirmed (${e.source}); set reports.allow_unconfirmed: true to use it` });
      continue;
    }
    if (e.max == null && e.min == null) {
      skipped.push({ param: e.param, period: e.period, reason: `the limit has no known value (${e.source})` });
      continue;
    }
    let factor = 1;
    let note: string | undefined;
    if (e.kq_kf === 'applies') {
      if (setting.kq !== undefined && setting.kf !== undefined) {
        factor = setting.kq * setting.kf;
        note = `Cmax = C × Kq × Kf = ${e.max} × ${setting.kq} × ${setting.kf}`;
      } else {
        note = `compared with C: Kq and Kf are not set (reports.stations.${station.id}.kq/kf, from the permit)`;
      }
    }
    const max = e.max == null ? null : e.max * factor;
    const min = e.min ?? null;
    const all = await points(e.param);
    const judged = valuesFor(e.period, all, from, station.expected_interval_s);
    const over = judged.values.filter((v) => (max !== null && v.value > max) || (min !== null && v.value < min));
    const lowBroken = min !== null && over.some((v) => v.value < min);
    const worstOf = judged.values.length === 0 ? null : lowBroken ? Math.min(...judged.values.map((v) => v.value)) : Math.max(...judged.values.map((v) => v.value));
    rows.push({
      param: e.param,
      period: e.period,
      ...(e.column ? { column: e.column } : {}),
      limit: { min, max, unit: e.unit, source: e.source, unconfirmed: e.unconfirmed, ...(note ? { note } : {}) },
      evaluated: judged.values.length,
      expected: judged.expected,
      exceedances: over.length,
      worst: worstOf,
      status: judged.values.length === 0 ? 'no_data' : over.length > 0 ? 'exceeded' : 'compliant',
      exceeded_at: over.slice(0, 50).map((v) => ({ time: vnIso(v.time), value: v.value })),
    });
  }
  rows.sort((a, b) => a.param.localeCompare(b.param) || a.period.localeCompare(b.period));
  return { ...base, profile: { id: profile.id, title: profile.title }, rows, skipped };
}

/** The values a limit of `period` is compared with, over the day starting `from` (points start 7 h earlier). */
function valuesFor(period: LimitEntry['period'], points: readonly SeriesPoint[], from: number, intervalS: number): { values: { time: number; value: number }[]; expected: number } {
  if (period === 'instant') {
    const values = points.filter((p) => p.time >= from && isValidPoint(p)).map((p) => ({ time: p.time, value: p.value! }));
    return { values, expected: Math.floor(86_400 / intervalS) };
  }
  const hours = hourlyMeansOf(points, from - 7 * HOUR_MS, 31); // 7 hours before the day, then its 24
  const day = hours.slice(7);
  if (period === '1h') {
    return { values: day.flatMap((v, i) => (v === null ? [] : [{ time: from + i * HOUR_MS, value: v }])), expected: 24 };
  }
  if (period === '8h') {
    const values: { time: number; value: number }[] = [];
    for (let i = 0; i < 24; i++) {
      const win = hours.slice(i, i + 8).filter((v): v is number => v !== null);
      if (win.length >= 6) values.push({ time: from + (i + 1) * HOUR_MS, value: win.reduce((a, b) => a + b, 0) / win.length });
    }
    return { values, expected: 24 };
  }
  // 24h
  const present = day.filter((v): v is number => v !== null);
  return { values: present.length >= 18 ? [{ time: from, value: present.reduce((a, b) => a + b, 0) / present.length }] : [], expected: 1 };
}
