/**
 * The station page's history chart: which ranges it offers (1 hour to 1 year), and which bucket width to ask the
 * server for so that a chart never carries far more points than it has pixels. Pure, so it is unit-tested.
 */
export type RangeId = '1h' | '6h' | '24h' | '7d' | '30d' | '90d' | '1y';
export type Mode = 'avg' | 'raw';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const RANGES: readonly { id: RangeId; spanMs: number }[] = [
  { id: '1h', spanMs: HOUR },
  { id: '6h', spanMs: 6 * HOUR },
  { id: '24h', spanMs: DAY },
  { id: '7d', spanMs: 7 * DAY },
  { id: '30d', spanMs: 30 * DAY },
  { id: '90d', spanMs: 90 * DAY },
  { id: '1y', spanMs: 365 * DAY },
];

/** The ingest refuses raw series longer than this (readings.ts, MAX_RAW_SPAN_MS). */
export const MAX_RAW_SPAN_MS = 31 * DAY;

/** Bucket widths the server is asked for; hours and days stay aligned with Vietnamese clock hours (UTC+7). */
export const STEPS = [MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 3 * HOUR, 6 * HOUR, DAY] as const;

/** The smallest step giving at most `maxPoints` buckets over `spanMs` (about one per pixel or two). */
export function chooseEvery(spanMs: number, maxPoints: number): number {
  for (const s of STEPS) if (spanMs / s <= maxPoints) return s;
  return STEPS[STEPS.length - 1]!;
}

export function findRange(id: string | null | undefined): { id: RangeId; spanMs: number } | undefined {
  return RANGES.find((r) => r.id === id);
}

export function rawAllowed(spanMs: number): boolean {
  return spanMs <= MAX_RAW_SPAN_MS;
}

/** Short label of a step for the chart note: 1 min, 5 min, 1 h, 1 d. */
export function stepLabel(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY} d`;
  if (ms % HOUR === 0) return `${ms / HOUR} h`;
  return `${ms / MIN} min`;
}
