import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Catalogue } from '@envmon/protocol';
import type { StationRegistry } from '../live/station-registry.ts';

/** `/stations`, `/stations/:id` and `/parameters` (the catalogue, for labels and units in clients). */
export function stationRoutes(registry: StationRegistry, catalogue: Catalogue): Hono {
  const app = new Hono();
  app.get('/stations', (c) => c.json({ stations: registry.list() }));
  app.get('/stations/:id', (c) => {
    const s = registry.get(c.req.param('id'));
    if (!s) throw new HTTPException(404, { message: `no station "${c.req.param('id')}"` });
    return c.json(s);
  });
  app.get('/parameters', (c) =>
    c.json({
      parameters: catalogue.parameters.map((p) => ({ code: p.code, name: p.name, unit: p.unit, decimals: p.decimals, medium: p.medium, range: p.range, tt10: p.tt10 })),
    }),
  );
  return app;
}
