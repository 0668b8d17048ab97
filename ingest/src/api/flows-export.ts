import { Hono } from 'hono';

/**
 * `GET /admin/flows/export`: the deployed Node-RED flows, credentials stripped, as a `flows.json` download for
 * version control (import it again in the editor, or `POST /flows/flows`). Admin only (`/admin/*`, auth.ts).
 * Served only when Node-RED is enabled.
 */
export function flowsExportRoutes(exportFlows: () => unknown[]): Hono {
  const app = new Hono();
  app.get('/admin/flows/export', (c) => {
    c.header('content-disposition', 'attachment; filename="flows.json"');
    c.header('cache-control', 'no-store');
    return c.body(`${JSON.stringify(exportFlows(), null, 2)}\n`, 200, { 'content-type': 'application/json; charset=utf-8' });
  });
  return app;
}
