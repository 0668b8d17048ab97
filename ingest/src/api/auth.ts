/**
 * API access: who is asking (a token, or nobody), what they may do (a role), and how often (a token bucket per
 * token or per client IP).
 *
 * - Tokens are high-entropy random strings (`npm run make-token -w @envmon/ingest`); the config keeps only
 *   `sha256$<hex>` of each. A plain SHA-256 is enough for 256-bit random tokens (nothing to brute-force), and it
 *   is fast enough to check on every request, unlike the scrypt used for human-chosen station secrets.
 * - A client sends the token as `Authorization: Bearer <token>`, `X-API-Key: <token>`, or the `envmon_token`
 *   cookie that `POST /api/v1/session` sets for the dashboard (so downloads and EventSource carry it too).
 * - Roles are ordered: viewer < operator < admin. What each request needs is decided here, by method and path
 *   (`requiredAccess`), so a route added later is protected by default: reads need viewer, changes need operator.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { ApiConfig, BucketConfig, Role } from '../config/api-config.ts';

export const TOKEN_COOKIE = 'envmon_token';
const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Principal {
  name: string;
  role: Role;
}

/** `sha256$<hex>` of a token, as the config stores it. */
export function hashToken(token: string): string {
  return `sha256$${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** A new token: 32 random bytes, base64url, with a prefix that makes a leaked one easy to grep for. */
export function makeToken(): string {
  return `envmon_${randomBytes(32).toString('base64url')}`;
}

export function hasRole(p: Principal | null, role: Role): boolean {
  return p !== null && ROLE_RANK[p.role] >= ROLE_RANK[role];
}

/** Looks tokens up by hash; the hash of any input is computed, so the lookup time says nothing about the token. */
export class TokenStore {
  private readonly byHash = new Map<string, Principal>();
  constructor(tokens: ApiConfig['tokens']) {
    for (const t of tokens) this.byHash.set(t.token_hash, { name: t.name, role: t.role });
  }
  verify(token: string): Principal | undefined {
    if (token.length === 0 || token.length > 512) return undefined;
    return this.byHash.get(hashToken(token));
  }
  list(): Principal[] {
    return [...this.byHash.values()];
  }
}

/**
 * Token buckets keyed by client (token name or IP). A bucket holds up to `burst` requests and refills at
 * `per_second`; a full bucket is forgotten, so idle clients cost no memory.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; cfg: BucketConfig }>();
  private sweeps = 0;
  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one request from `key`'s bucket. */
  take(key: string, cfg: BucketConfig): { ok: boolean; remaining: number; retryAfterS: number } {
    const now = this.now();
    if (++this.sweeps % 1000 === 0) this.sweep(now);
    const b = this.buckets.get(key) ?? { tokens: cfg.burst, at: now, cfg };
    b.tokens = Math.min(cfg.burst, b.tokens + ((now - b.at) / 1000) * cfg.per_second);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens), retryAfterS: 0 };
    }
    return { ok: false, remaining: 0, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / cfg.per_second)) };
  }

  private sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * b.cfg.per_second >= b.cfg.burst) this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** What a request needs: nothing, a token of any role when open data is by key, or at least `role`. */
export type Access = 'public' | 'open-data' | Role;

/** GET endpoints that are open data: public or key-required according to `api.open_data`. */
const OPEN_DATA = ['/stations', '/parameters', '/latest', '/series', '/aggregates', '/export.csv', '/aqi', '/limits', '/stream'];
/**
 * Always public: the docs, the login itself, and the dashboard's own settings (no data in them); and the SMS
 * gateway's reply webhook, which authenticates by HMAC signature instead (api/alarms.ts refuses it unsigned).
 */
const PUBLIC = ['/openapi.json', '/docs', '/session', '/config', '/alarms/sms-inbound'];

/** `path` is relative to /api/v1 (e.g. `/alarms/3/ack`). */
export function requiredAccess(method: string, path: string): Access {
  const under = (list: readonly string[]) => list.some((p) => path === p || path.startsWith(`${p}/`));
  if (under(PUBLIC)) return 'public';
  if (path === '/admin' || path.startsWith('/admin/')) return 'admin';
  const read = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  if (!read) return 'operator';
  return under(OPEN_DATA) ? 'open-data' : 'viewer';
}

/** The token a request carries, and where it came from (cookies get a same-origin check on changes). */
function presentedToken(c: Context): { token: string; via: 'header' | 'cookie' } | undefined {
  const authz = c.req.header('authorization');
  if (authz) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    if (!m) throw new HTTPException(401, { message: 'Authorization must be "Bearer <token>"' });
    return { token: m[1]!, via: 'header' };
  }
  const key = c.req.header('x-api-key');
  if (key) return { token: key.trim(), via: 'header' };
  const cookie = getCookie(c, TOKEN_COOKIE);
  if (cookie) return { token: cookie, via: 'cookie' };
  return undefined;
}

export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (fwd) return fwd;
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

export interface AuthOptions {
  config: ApiConfig;
  tokens?: TokenStore;
  limiter?: RateLimiter;
}

/**
 * Middleware for `/api/v1/*`: identifies the caller, rate-limits, and refuses what the caller's role does not
 * allow (401 without a usable token, 403 with a token of too low a role, 429 over the rate).
 * Routes read the caller with `principalOf(c)`.
 */
export function apiAuth(o: AuthOptions): MiddlewareHandler {
  const tokens = o.tokens ?? new TokenStore(o.config.tokens);
  const limiter = o.limiter ?? new RateLimiter();
  const rl = o.config.rate_limit;

  return async (c, next) => {
    const presented = presentedToken(c);
    let principal: Principal | null = null;
    if (presented) {
      principal = tokens.verify(presented.token) ?? null;
      // A wrong token is an error even where none is needed: a client with a revoked key should find out.
      // A stale cookie is not (the dashboard just logs out): the request goes on anonymously.
      if (!principal && presented.via === 'header') throw new HTTPException(401, { message: 'unknown or revoked API token' });
    }
    c.set('principal' as never, principal as never);

    const limited = principal
      ? limiter.take(`token:${principal.name}`, rl.token)
      : limiter.take(`ip:${clientIp(c, rl.trust_proxy)}`, rl.anonymous);
    const cfg = principal ? rl.token : rl.anonymous;
    c.header('RateLimit-Limit', String(cfg.burst));
    c.header('RateLimit-Remaining', String(limited.remaining));
    if (!limited.ok) {
      c.header('Retry-After', String(limited.retryAfterS));
      return c.json({ error: `rate limit exceeded (${cfg.per_second}/s, burst ${cfg.burst}); retry in ${limited.retryAfterS} s` }, 429);
    }

    const path = c.req.path.replace(/^\/api\/v1/, '') || '/';
    const access = requiredAccess(c.req.method, path);
    if (access === 'open-data') {
      if (o.config.open_data === 'key' && !principal) throw new HTTPException(401, { message: 'this server requires an API token for data: send "Authorization: Bearer <token>"' });
    } else if (access !== 'public') {
      if (!principal) throw new HTTPException(401, { message: `sign in: this needs a token with role ${access} or above` });
      if (!hasRole(principal, access)) throw new HTTPException(403, { message: `role ${principal.role} may not do this: it needs ${access} or above` });
      // A cookie is sent by the browser on its own: a change made with one must come from our own pages.
      if (presented?.via === 'cookie' && access !== 'viewer') checkSameOrigin(c);
    }
    await next();
  };
}

/** Refuses a cookie-authenticated change whose Origin is another site (SameSite=Strict already stops most). */
function checkSameOrigin(c: Context): void {
  const origin = c.req.header('origin');
  if (!origin) return;
  const host = c.req.header('host');
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new HTTPException(403, { message: 'bad Origin header' });
  }
  if (originHost !== host) throw new HTTPException(403, { message: 'cross-site request refused' });
}

/** The caller of this request (set by `apiAuth`), null when anonymous. */
export function principalOf(c: Context): Principal | null {
  return (c.get('principal' as never) as Principal | null | undefined) ?? null;
}

/** For use inside a route that needs more than `requiredAccess` gives it. */
export function requireRole(c: Context, role: Role): Principal {
  const p = principalOf(c);
  if (!p) throw new HTTPException(401, { message: `sign in: this needs a token with role ${role} or above` });
  if (!hasRole(p, role)) throw new HTTPException(403, { message: `role ${p.role} may not do this: it needs ${role} or above` });
  return p;
}
