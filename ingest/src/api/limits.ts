/**
 * `/limits`: the regulation limits in force at a time (now by default), from the limit profiles in ingest/limits/
 * (loaded by src/alarms/limits.ts), and which profile colours which kind of station on the dashboard
 * (`dashboard.limits` in the config). Clients compare values themselves; alarms (`/alarms`) are what the
 * ingest itself raises, with the averaging periods applied.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { limitInForce, type LimitEntry, type LimitProfile } from '../alarms/limits.ts';
import type { DashboardConfig } from '../config/api-config.ts';
import { parseTime } from './readings.ts';

export interface LimitView {
  profile: string;
  param: string;
  period: LimitEntry['period'];
  column: 'A' | 'B' | null;
  max: number | null;
  min: number | null;
  unit: string;
  source: string;
  effective_from: string;
  effective_to: string | null;
  unconfirmed: boolean;
}

export function limitsInForce(profiles: ReadonlyMap<string, LimitProfile>, at: number): LimitView[] {
  const out: LimitView[] = [];
  for (const p of profiles.values()) {
    // One row per (param, period, column) series: the one in force at `at`.
    const series = new Map<string, LimitEntry[]>();
    for (const e of p.limits) {
      const k = `${e.param}|${e.period}|${e.column ?? ''}`;
      series.set(k, [...(series.get(k) ?? []), e]);
    }
    for (const rows of series.values()) {
      const e = limitInForce(rows, at);
      if (!e || (e.max == null && e.min == null)) continue;
      out.push({
        profile: p.id,
        param: e.param,
        period: e.period,
        column: e.column ?? null,
        max: e.max ?? null,
        min: e.min ?? null,
        unit: e.unit,
        source: e.source,
        effective_from: e.effective_from,
        effective_to: e.effective_to ?? null,
        unconfirmed: e.unconfirmed,
      });
    }
  }
  return out;
}

/** `profiles` is a function so that a broken limits folder fails this endpoint, not the whole ingest. */
export function limitRoutes(profiles: () => ReadonlyMap<string, LimitProfile>, dashboard: DashboardConfig): Hono {
  const app = new Hono();
  app.get('/limits', (c) => {
    const atQ = c.req.query('at');
    const at = atQ ? parseTime(atQ, 'at') : Date.now();
    let loaded: ReadonlyMap<string, LimitProfile>;
    try {
      loaded = profiles();
    } catch (err) {
      throw new HTTPException(500, { message: `limit profiles could not be loaded: ${(err as Error).message}` });
    }
    const { column, ...byMedium } = dashboard.limits;
    return c.json({
      at,
      profiles: [...loaded.values()].map((p) => ({ id: p.id, title: p.title, issued_by: p.issued_by, effective_from: p.effective_from })),
      by_medium: byMedium,
      column,
      limits: limitsInForce(loaded, at),
    });
  });
  return app;
}
