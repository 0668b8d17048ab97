/**
 * Colouring live values against the regulation limits the ingest serves (`/limits`, from ingest/limits/*.yaml):
 * which limit applies to a station's parameter, and whether a value is within it, near it (≥ 80 %) or over it.
 *
 * This is an indication on a live value, not the legal test: QCVN limits are averages over 1 h, 8 h or 24 h, so a
 * single reading over a 24-hour limit is a warning sign, not an exceedance. Alarms (`/alarms`) apply the periods.
 * The shortest averaging period is used, as the nearest to a live reading.
 */
import type { Limit, Limits, Medium } from './api.ts';

export type Exceedance = 'none' | 'ok' | 'near' | 'over';

const PERIOD_ORDER: Limit['period'][] = ['instant', '1h', '8h', '24h'];
export const NEAR_SHARE = 0.8;

export function limitFor(limits: Limits | null, medium: Medium, param: string): Limit | undefined {
  if (!limits) return undefined;
  const profile = limits.by_medium[medium];
  if (!profile) return undefined;
  const rows = limits.limits.filter(
    (l) => l.profile === profile && l.param === param && (l.column === null || l.column === limits.column) && PERIOD_ORDER.includes(l.period),
  );
  rows.sort((a, b) => PERIOD_ORDER.indexOf(a.period) - PERIOD_ORDER.indexOf(b.period));
  return rows[0];
}

export function exceedance(value: number | null, limit: Limit | undefined): Exceedance {
  if (!limit || value === null || !Number.isFinite(value)) return 'none';
  if ((limit.max !== null && value > limit.max) || (limit.min !== null && value < limit.min)) return 'over';
  if (limit.max !== null && value >= limit.max * NEAR_SHARE) return 'near';
  return 'ok';
}
