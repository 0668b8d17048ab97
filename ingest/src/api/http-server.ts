import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { isFlowsPath } from '../node-red/access.ts';

export type FlowsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The ingest's one HTTP server: `/flows` and `/flows/*` go to embedded Node-RED when `flows()` returns a handler
 * (src/node-red/embed.ts); everything else — and `/flows` when Node-RED is off, which Hono answers 404 — goes to
 * Hono, exactly as `serve()` of @hono/node-server would. Made here, not by `serve()`, so Node-RED can attach its
 * WebSocket to the raw server before it listens.
 */
export function createHttpServer(app: Pick<Hono, 'fetch'>, flows: () => FlowsHandler | undefined): Server {
  const hono = getRequestListener(app.fetch);
  return createServer((req, res) => {
    const toFlows = isFlowsPath(req.url) ? flows() : undefined;
    if (toFlows) toFlows(req, res);
    else void hono(req, res);
  });
}

export function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
