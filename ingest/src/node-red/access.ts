/**
 * Who may reach Node-RED. Everything under `/flows` (editor, admin API, the editor's `/flows/comms` WebSocket)
 * needs an API token of role admin; the flows' own HTTP endpoints under `/flows/http/` need `node_red.http_in_access`.
 * A token comes as in the rest of the API (api/auth.ts): `Authorization: Bearer`, `X-API-Key`, or the `envmon_token`
 * cookie the dashboard's sign-in sets — which is how a browser opens the editor.
 *
 * Node-RED checks again behind this gate: its `adminAuth.tokens` function verifies the token this gate passes on in
 * `NODE_RED_TOKEN_HEADER` (any such header from the client is dropped first), so a route that slipped past the gate
 * would still be refused by Node-RED itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { hasRole, TOKEN_COOKIE, type Principal, type TokenStore } from '../api/auth.ts';
import type { Role } from '../config/api-config.ts';

export const FLOWS_ROOT = '/flows';
export const HTTP_IN_ROOT = '/flows/http';
/** Header the gate sets for Node-RED's `adminAuth.tokens` (lower case: Node lower-cases incoming header names). */
export const NODE_RED_TOKEN_HEADER = 'x-envmon-node-red-token';

export type Need = 'public' | Role;

export interface Caller {
  principal: Principal | null;
  token?: string;
  via?: 'header' | 'cookie';
  /** Why the request is refused, when it is. */
  refused?: { status: 401 | 403; message: string };
}

export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

export function isFlowsPath(url: string | undefined): boolean {
  const p = pathOf(url);
  return p === FLOWS_ROOT || p.startsWith(`${FLOWS_ROOT}/`);
}

export function isHttpInPath(url: string | undefined): boolean {
  const p = pathOf(url);
  return p === HTTP_IN_ROOT || p.startsWith(`${HTTP_IN_ROOT}/`);
}

function cookieToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Identifies the caller of `req` and decides whether `need` is met (the rules of api/auth.ts `apiAuth`). */
export function checkCaller(req: IncomingMessage, tokens: TokenStore, need: Need): Caller {
  const authz = req.headers.authorization;
  const key = req.headers['x-api-key'];
  let token: string | undefined;
  let via: Caller['via'];
  if (authz) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    if (!m) return { principal: null, refused: { status: 401, message: 'Authorization must be "Bearer <token>"' } };
    token = m[1]!;
    via = 'header';
  } else if (typeof key === 'string' && key.trim() !== '') {
    token = key.trim();
    via = 'header';
  } else {
    token = cookieToken(req.headers.cookie);
    if (token) via = 'cookie';
  }
  const principal = token ? (tokens.verify(token) ?? null) : null;
  if (token && !principal && via === 'header') return { principal: null, refused: { status: 401, message: 'unknown or revoked API token' } };
  if (need === 'public') return { principal, ...(principal ? { token, via } : {}) };
  if (!principal) return { principal: null, refused: { status: 401, message: `sign in: this needs a token with role ${need}` } };
  if (!hasRole(principal, need)) return { principal, refused: { status: 403, message: `role ${principal.role} may not do this: it needs ${need}` } };
  const read = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
  if (via === 'cookie' && !read && !sameOrigin(req)) return { principal, refused: { status: 403, message: 'cross-site request refused' } };
  return { principal, token: token!, via: via! };
}

/** A cookie goes with every request the browser makes, whoever asked for it: a change must come from our pages. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Express middleware: refuses, or passes the verified token on to Node-RED in `NODE_RED_TOKEN_HEADER`. */
export function gate(tokens: TokenStore, need: () => Need) {
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    delete req.headers[NODE_RED_TOKEN_HEADER];
    const caller = checkCaller(req, tokens, need());
    if (caller.refused) return refuse(req, res, caller.refused.status, caller.refused.message);
    if (caller.token) req.headers[NODE_RED_TOKEN_HEADER] = caller.token;
    next();
  };
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  const html = (req.headers.accept ?? '').includes('text/html');
  res.statusCode = status;
  res.setHeader('cache-control', 'no-store');
  if (status === 401 && !html) res.setHeader('www-authenticate', 'Bearer realm="envmon"');
  if (html) {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      `<!doctype html><meta charset="utf-8"><title>envmon flows</title><body style="font-family:sans-serif;margin:3em">` +
        `<h1>Node-RED needs an admin sign-in</h1><p>${escapeHtml(message)}.</p>` +
        `<p>Sign in on the <a href="/">dashboard</a> with a token of role <b>admin</b>, then open <a href="/flows/">/flows/</a> again.</p></body>`,
    );
  } else {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: message }));
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * `upgrade` listener for WebSockets under `/flows` (the editor's comms, `websocket in` nodes under /flows/http).
 * It runs before Node-RED's own listener (it is added when the server is made): a refused socket is answered and
 * destroyed, which Node-RED's `ws` then leaves alone; an accepted one carries the token header, so Node-RED's comms
 * treats the connection as signed in.
 */
export function upgradeGate(tokens: TokenStore, httpIn: () => Need) {
  return (req: IncomingMessage, socket: Duplex): void => {
    if (!isFlowsPath(req.url)) return;
    delete req.headers[NODE_RED_TOKEN_HEADER];
    const caller = checkCaller(req, tokens, isHttpInPath(req.url) ? httpIn() : 'admin');
    // A WebSocket handshake is a GET, but what follows changes things: the cookie must come from our own pages.
    if (!caller.refused && caller.via === 'cookie' && !sameOrigin(req)) caller.refused = { status: 403, message: 'cross-site WebSocket refused' };
    if (caller.refused) {
      const reason = caller.refused.status === 401 ? 'Unauthorized' : 'Forbidden';
      socket.end(`HTTP/1.1 ${caller.refused.status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
      return;
    }
    if (caller.token) req.headers[NODE_RED_TOKEN_HEADER] = caller.token;
  };
}
