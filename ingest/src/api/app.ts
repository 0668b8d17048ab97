import { existsSync } from 'node:fs';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Catalogue } from '@envmon/protocol';
import type { LiveHub } from '../live/hub.ts';
import type { StationRegistry } from '../live/station-registry.ts';
import type { Quarantine } from '../pipeline/quarantine.ts';
import type { Store } from '../store/store.ts';
import { loadLimitProfiles, type LimitProfile } from '../alarms/limits.ts';
import { API_DEFAULTS, DASHBOARD_DEFAULTS } from '../config/api-config.ts';
import type { IngestConfig } from '../config/config.ts';
import type { AlarmEngine } from '../alarms/engine.ts';
import type { Notifier } from '../notify/notifier.ts';
import { aggregateRoutes } from './aggregates.ts';
import { alarmRoutes } from './alarms.ts';
import { aqiRoutes } from './aqi.ts';
import { reportRoutes } from './reports.ts';
import { apiAuth, TokenStore } from './auth.ts';
import { dashboardCsp } from './dashboard-csp.ts';
import { exportRoutes } from './export.ts';
import { flowsExportRoutes } from './flows-export.ts';
import { limitRoutes } from './limits.ts';
import { openApiRoutes } from './openapi.ts';
import { sessionRoutes } from './session.ts';
import { healthRoutes, type HealthDeps } from './health.ts';
import { readingsRoutes } from './readings.ts';
import { rejectRoutes } from './rejects.ts';
import { stationRoutes } from './stations.ts';
import { streamRoutes } from './stream.ts';

export interface AppDeps extends HealthDeps {
  store: Store;
  hub: LiveHub;
  registry: StationRegistry;
  catalogue: Catalogue;
  quarantine: Quarantine;
  /** Folder of the built dashboard (dashboards/dist); not served when absent. */
  dashboardDir?: string;
  /** Stations (expected sampling interval), `api` (tokens, open data, rate limits) and `dashboard` sections. */
  config?: Pick<IngestConfig, 'stations' | 'api' | 'dashboard' | 'reports'>;
  /** Limit profiles for /limits (default: ingest/limits/*.yaml, loaded on first use). */
  limitProfiles?: () => ReadonlyMap<string, LimitProfile>;
  /** Alarm engine and notifier (src/alarms, src/notify): `/alarms` is served only when present. */
  alarms?: { engine: AlarmEngine; notifier?: Notifier; env?: NodeJS.ProcessEnv };
  /** Deployed Node-RED flows without credentials: `/admin/flows/export` is served only when present. */
  flowsExport?: () => unknown[];
}

/** The HTTP surface: `/api/v1/*`, health and metrics, and the dashboard's static files at `/`. */
export function createApp(d: AppDeps): Hono {
  const app = new Hono();
  const api = new Hono();
  // Access first: every /api/v1 route below is behind tokens, roles and rate limits (auth.ts decides which).
  const apiConfig = d.config?.api ?? API_DEFAULTS;
  const dashboardConfig = d.config?.dashboard ?? DASHBOARD_DEFAULTS;
  const tokens = new TokenStore(apiConfig.tokens);
  const stationConfigs = new Map((d.config?.stations ?? []).map((s) => [s.id, s]));
  let profiles: ReadonlyMap<string, LimitProfile> | undefined;
  api.use('*', apiAuth({ config: apiConfig, tokens }));
  api.route('/', sessionRoutes(apiConfig, dashboardConfig, tokens));
  api.route('/', openApiRoutes(apiConfig));
  api.route('/', aggregateRoutes(d.store, stationConfigs, d.catalogue));
  api.route('/', exportRoutes(d.store, stationConfigs, d.catalogue));
  const limitProfiles = d.limitProfiles ?? (() => (profiles ??= loadLimitProfiles()));
  // Parsed once, just after start, so the first dashboard to ask does not wait for it; a bad file fails /limits only.
  setTimeout(() => {
    try {
      limitProfiles();
    } catch {
      /* reported by GET /limits */
    }
  }, 0).unref();
  api.route('/', limitRoutes(limitProfiles, dashboardConfig));
  api.route('/', stationRoutes(d.registry, d.catalogue));
  api.route('/', readingsRoutes(d.store));
  api.route('/', streamRoutes(d.hub));
  api.route('/', rejectRoutes(d.quarantine));
  api.route('/', aqiRoutes(d.store, (id) => d.registry.get(id) !== undefined));
  api.route('/', reportRoutes(d.store, stationConfigs, d.catalogue, d.config?.reports, d.limitProfiles ?? (() => (profiles ??= loadLimitProfiles()))));
  if (d.alarms) api.route('/', alarmRoutes(d.alarms.engine, d.alarms.notifier, d.alarms.env));
  if (d.flowsExport) api.route('/', flowsExportRoutes(d.flowsExport));
  app.route('/api/v1', api);
  app.route('/', healthRoutes(d));

  if (d.dashboardDir && existsSync(d.dashboardDir)) {
    app.use('/*', dashboardCsp(dashboardConfig), serveStatic({ root: d.dashboardDir }));
  } else {
    app.get('/', (c) => c.text('envmon ingest is running. The dashboard is not built: run `npm run build` at the repository root.\n'));
  }

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    return c.json({ error: 'internal error', detail: err.message }, 500);
  });
  return app;
}
