import { DeviceStatus, QcFlag } from '@envmon/protocol';
import type { SeriesPoint, Store } from '../store/store.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Vietnam (ICT, UTC+7, no daylight saving): days of reports and of the daily AQI are local days. */
export const VN_UTC_OFFSET_MS = 7 * HOUR_MS;

/** QC flags that make a value invalid for means (QĐ 1459 §2.1: only data that passed QA/QC counts). */
export const INVALIDATING_QC = QcFlag.RANGE | QcFlag.SPIKE | QcFlag.FLATLINE;

/** A value counts for means and compliance only when measuring (status 00) and not flagged range/spike/flatline. */
export function isValidPoint(p: Pick<SeriesPoint, 'value' | 'status' | 'qc_flags'>): boolean {
  return p.value !== null && (p.status ?? DeviceStatus.MEASURING) === DeviceStatus.MEASURING && ((p.qc_flags ?? 0) & INVALIDATING_QC) === 0;
}

/** Raw points (period_s 0) of one station and parameter in [from, to). */
export async function rawPoints(store: Store, station: string, param: string, from: number, to: number): Promise<SeriesPoint[]> {
  return (await store.series({ station, param, from, to, every: 0, period_s: 0 })).points;
}

/**
 * Hourly means of valid values, `hours` hours from `from` (aligned to the hour), oldest first; null for an hour
 * without a valid value. Read from the Store's raw points rather than its `mean` buckets because the buckets
 * average every non-null value, calibration (01) and device-error (02) values included.
 */
export async function hourlyMeans(store: Store, station: string, param: string, from: number, hours: number): Promise<(number | null)[]> {
  return hourlyMeansOf(await rawPoints(store, station, param, from, from + hours * HOUR_MS), from, hours);
}

export function hourlyMeansOf(points: readonly SeriesPoint[], from: number, hours: number): (number | null)[] {
  const sum = new Array<number>(hours).fill(0);
  const n = new Array<number>(hours).fill(0);
  for (const p of points) {
    if (!isValidPoint(p)) continue;
    const h = Math.floor((p.time - from) / HOUR_MS);
    if (h < 0 || h >= hours) continue;
    sum[h]! += p.value!;
    n[h]!++;
  }
  return sum.map((s, i) => (n[i]! > 0 ? s / n[i]! : null));
}

/** Start (UTC ms) of the Vietnamese local day `YYYY-MM-DD`. */
export function vnDayStart(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new RangeError(`a day is YYYY-MM-DD, got ${JSON.stringify(day.slice(0, 20))}`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - VN_UTC_OFFSET_MS;
  if (new Date(t + VN_UTC_OFFSET_MS).toISOString().slice(0, 10) !== day) throw new RangeError(`${day} is not a calendar day`);
  return t;
}

/** The Vietnamese local day (YYYY-MM-DD) that contains `t`. */
export function vnDayOf(t: number): string {
  return new Date(t + VN_UTC_OFFSET_MS).toISOString().slice(0, 10);
}

/** ISO 8601 with the +07:00 offset, as agencies read times. */
export function vnIso(t: number): string {
  return `${new Date(t + VN_UTC_OFFSET_MS).toISOString().slice(0, 19)}+07:00`;
}
