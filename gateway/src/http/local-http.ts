import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { openArchive, type ArchiveReader } from '../outbox/archive.ts';

/**
 * The gateway's local HTTP server (loopback by default): the technician's and the inspector's window on the
 * station, without the central system. TT10/2021 wants ≥ 60 days of data kept at the station; this makes them
 * queryable.
 *
 *   GET /status                                   health: uptime, outbox depth and oldest age, drops, devices, buses
 *   GET /readings?param=PH&from=…&to=…&period=300  archived readings (from/to: ISO time or Unix ms; period 0|60|300)
 *                 [&format=csv] [&limit=N]           default: the last 24 h, every parameter, raw and means
 */
export interface LocalHttp {
  port: number;
  stop(): Promise<void>;
}

export async function startLocalHttp(o: { host: string; port: number; dbPath: string; health: () => unknown; log: Logger }): Promise<LocalHttp> {
  let archive: ArchiveReader | undefined;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const send = (status: number, body: string, type = 'application/json; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: 'GET only' }));
    if (url.pathname === '/status') return send(200, JSON.stringify(o.health()));
    if (url.pathname === '/readings') {
      const to = time(url.searchParams.get('to')) ?? Date.now();
      const from = time(url.searchParams.get('from')) ?? to - 86_400_000;
      const period = url.searchParams.get('period');
      const limit = Number(url.searchParams.get('limit') ?? 100_000);
      if (Number.isNaN(from) || Number.isNaN(to) || from >= to) return send(400, JSON.stringify({ error: 'from and to: ISO 8601 times or Unix ms, from before to' }));
      if (period !== null && !/^\d+$/.test(period)) return send(400, JSON.stringify({ error: 'period: 0 (raw), 60 or 300' }));
      if (!(limit > 0 && limit <= 1_000_000)) return send(400, JSON.stringify({ error: 'limit: 1..1000000' }));
      archive ??= openArchive(o.dbPath);
      const param = url.searchParams.get('param') ?? undefined;
      const rows = archive.query({ from, to, limit, ...(param !== undefined ? { param } : {}), ...(period !== null ? { period_s: Number(period) } : {}) });
      if (url.searchParams.get('format') === 'csv') {
        const lines = ['param,time,value,status,period_s,samples,coverage', ...rows.map((r) => [r.param, new Date(r.time).toISOString(), r.value ?? '', String(r.status).padStart(2, '0'), r.period_s, r.samples ?? '', r.coverage ?? ''].join(','))];
        return send(200, `${lines.join('\n')}\n`, 'text/csv; charset=utf-8');
      }
      return send(200, JSON.stringify({ from, to, count: rows.length, readings: rows }));
    }
    send(404, JSON.stringify({ error: 'not found; try /status or /readings' }));
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'local http request failed');
      res.writeHead(500).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  o.log.info({ url: `http://${o.host}:${port}/status` }, 'local http listening');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        archive?.close();
      }),
  };
}

function time(s: string | null): number | undefined {
  if (s === null) return undefined;
  return /^\d+$/.test(s) ? Number(s) : Date.parse(s);
}
