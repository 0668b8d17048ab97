import { Hono } from 'hono';
import type { Quarantine } from '../pipeline/quarantine.ts';

/** `/rejects`: what was refused and why, with the raw payload, so a station operator can fix the sender. */
export function rejectRoutes(quarantine: Quarantine): Hono {
  const app = new Hono();
  app.get('/rejects', (c) => {
    const station = c.req.query('station');
    const reason = c.req.query('reason');
    const limit = Number(c.req.query('limit') ?? 100);
    return c.json({
      counts: quarantine.countsByReason(),
      items: quarantine.list({ ...(station ? { station } : {}), ...(reason ? { reason } : {}), limit: Number.isFinite(limit) ? limit : 100 }),
    });
  });
  return app;
}
