import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Catalogue } from '@envmon/protocol';
import { DAY_MS, vnDayOf, vnDayStart } from '../aggregate/hourly-means.ts';
import type { LimitProfile } from '../alarms/limits.ts';
import type { StationConfig } from '../config/config.ts';
import type { ReportsConfig } from '../reports/config.ts';
import { complianceReport, completenessReport, type ComplianceReport, type CompletenessReport } from '../reports/daily-report.ts';
import type { Store } from '../store/store.ts';

const MAX_DAYS = 31;

/**
 * `/reports/compliance` and `/reports/completeness` (JSON), `/reports/compliance.csv` and
 * `/reports/completeness.csv`: per station and Vietnamese local day. Query: `station`, and `day=YYYY-MM-DD`
 * (default yesterday) or `from=YYYY-MM-DD&to=YYYY-MM-DD` (inclusive, at most 31 days). Shapes: ingest/README.md.
 */
export function reportRoutes(store: Store, stations: ReadonlyMap<string, StationConfig>, catalogue: Catalogue, reports: ReportsConfig | undefined, profiles: () => ReadonlyMap<string, LimitProfile>): Hono {
  const app = new Hono();

  const query = (c: Context): { station: StationConfig; days: string[] } => {
    const id = c.req.query('station');
    if (!id) throw new HTTPException(400, { message: 'query parameter "station" is required' });
    const station = stations.get(id);
    if (!station) throw new HTTPException(404, { message: `no station "${id.slice(0, 64)}"` });
    const day = c.req.query('day');
    const fromDay = c.req.query('from') ?? day ?? vnDayOf(Date.now() - DAY_MS);
    const toDay = c.req.query('to') ?? day ?? fromDay;
    let a: number;
    let b: number;
    try {
      a = vnDayStart(fromDay);
      b = vnDayStart(toDay);
    } catch (err) {
      throw new HTTPException(400, { message: `"day", "from" and "to" are days YYYY-MM-DD: ${(err as Error).message}` });
    }
    if (b < a) throw new HTTPException(400, { message: '"to" must not be before "from"' });
    const n = Math.round((b - a) / DAY_MS) + 1;
    if (n > MAX_DAYS) throw new HTTPException(400, { message: `at most ${MAX_DAYS} days per request` });
    return { station, days: Array.from({ length: n }, (_, i) => vnDayOf(a + i * DAY_MS)) };
  };

  const compliance = async (c: Context): Promise<ComplianceReport[]> => {
    const q = query(c);
    const ctx = { profiles: profiles(), reports, catalogue };
    const out: ComplianceReport[] = [];
    for (const d of q.days) out.push(await complianceReport(store, q.station, d, ctx));
    return out;
  };
  const completeness = async (c: Context): Promise<CompletenessReport[]> => {
    const q = query(c);
    const out: CompletenessReport[] = [];
    for (const d of q.days) out.push(await completenessReport(store, q.station, d));
    return out;
  };

  app.get('/reports/compliance', async (c) => c.json({ reports: await compliance(c) }));
  app.get('/reports/completeness', async (c) => c.json({ reports: await completeness(c) }));

  app.get('/reports/compliance.csv', async (c) => {
    const reps = await compliance(c);
    const rows: unknown[][] = [['day', 'station', 'profile', 'param', 'period', 'column', 'limit_min', 'limit_max', 'unit', 'evaluated', 'expected', 'exceedances', 'worst', 'status', 'first_exceeded_at', 'limit_source', 'note']];
    for (const r of reps) {
      for (const x of r.rows) {
        rows.push([r.day, r.station, r.profile?.id ?? '', x.param, x.period, x.column ?? '', x.limit.min ?? '', x.limit.max ?? '', x.limit.unit, x.evaluated, x.expected, x.exceedances, x.worst === null ? '' : round(x.worst), x.status, x.exceeded_at[0]?.time ?? '', x.limit.source, [x.limit.unconfirmed ? 'unconfirmed limit' : '', x.limit.note ?? ''].filter(Boolean).join('; ')]);
      }
      if (r.note) rows.push([r.day, r.station, '', '', '', '', '', '', '', '', '', '', '', 'no_profile', '', '', r.note]);
    }
    return csv(c, rows, `envmon_compliance_${reps[0]!.station}_${reps[0]!.day}_${reps[reps.length - 1]!.day}.csv`);
  });

  app.get('/reports/completeness.csv', async (c) => {
    const reps = await completeness(c);
    const rows: unknown[][] = [['day', 'station', 'param', 'expected', 'received', 'valid', 'calibrating', 'device_error', 'received_pct', 'valid_pct', 'valid_hours', 'expected_interval_s']];
    for (const r of reps) for (const x of r.rows) rows.push([r.day, r.station, x.param, x.expected, x.received, x.valid, x.calibrating, x.device_error, x.received_pct, x.valid_pct, x.valid_hours, r.expected_interval_s]);
    return csv(c, rows, `envmon_completeness_${reps[0]!.station}_${reps[0]!.day}_${reps[reps.length - 1]!.day}.csv`);
  });

  return app;
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

function field(v: unknown): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** UTF-8 with a byte-order mark (Excel shows Vietnamese and µg/Nm³), CRLF, `.` decimals: like /export.csv. */
function csv(c: Context, rows: unknown[][], name: string): Response {
  const body = '\ufeff' + rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
  return c.body(body, 200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, '_')}"`,
  });
}
