import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { LiveEvent, LiveHub } from '../live/hub.ts';

/**
 * `/stream`: Server-Sent Events of accepted readings and station status. Each client gets a bounded queue:
 * a browser that cannot keep up loses its oldest queued events (it can reload from /latest), the ingest never waits.
 */
export function streamRoutes(hub: LiveHub, opts: { heartbeatMs?: number; maxQueue?: number } = {}): Hono {
  const app = new Hono();
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxQueue = opts.maxQueue ?? 1000;

  app.get('/stream', (c) => {
    const stationFilter = c.req.query('station');
    return streamSSE(c, async (stream) => {
      const queue: LiveEvent[] = [];
      let notify: (() => void) | undefined;
      const unsubscribe = hub.subscribe((e) => {
        if (stationFilter && e.station !== stationFilter) return;
        queue.push(e);
        if (queue.length > maxQueue) queue.shift();
        notify?.();
      });
      let open = true;
      stream.onAbort(() => {
        open = false;
        notify?.();
      });
      try {
        await stream.writeSSE({ event: 'hello', data: JSON.stringify({ time: Date.now() }), retry: 2000 });
        while (open) {
          while (queue.length > 0 && open) {
            const e = queue.shift()!;
            const { type, ...data } = e;
            await stream.writeSSE({ event: type, data: JSON.stringify(data) });
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, heartbeatMs);
            notify = () => {
              clearTimeout(t);
              resolve();
            };
          });
          notify = undefined;
          if (queue.length === 0 && open) await stream.write(': keepalive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });

  return app;
}
