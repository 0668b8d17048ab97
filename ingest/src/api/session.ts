import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import type { ApiConfig, DashboardConfig } from '../config/api-config.ts';
import { principalOf, TOKEN_COOKIE, type TokenStore } from './auth.ts';

/**
 * `/session`: the dashboard's sign-in with an API token (`POST` sets an HttpOnly, SameSite=Strict cookie, so
 * script on the page never holds the token and downloads and the live stream carry it), `GET` says who is signed
 * in, `DELETE` signs out. `/config`: what the dashboard needs to know about this server. `/admin/tokens`: who
 * holds tokens (names and roles, never hashes).
 */
export function sessionRoutes(api: ApiConfig, dashboard: DashboardConfig, tokens: TokenStore): Hono {
  const app = new Hono();

  app.get('/session', (c) => {
    const p = principalOf(c);
    return c.json({ signed_in: p !== null, name: p?.name ?? null, role: p?.role ?? null, open_data: api.open_data });
  });

  app.post('/session', async (c) => {
    let token: string | undefined;
    const body = (await c.req.json().catch(() => undefined)) as { token?: unknown } | undefined;
    if (body && typeof body.token === 'string') token = body.token.trim();
    if (!token) throw new HTTPException(400, { message: 'send {"token": "<API token>"} as JSON' });
    const p = tokens.verify(token);
    if (!p) throw new HTTPException(401, { message: 'unknown or revoked API token' });
    const secure = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
    setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure, maxAge: 30 * 86_400 });
    return c.json({ signed_in: true, name: p.name, role: p.role, open_data: api.open_data });
  });

  app.delete('/session', (c) => {
    deleteCookie(c, TOKEN_COOKIE, { path: '/' });
    return c.json({ signed_in: false, name: null, role: null, open_data: api.open_data });
  });

  app.get('/config', (c) =>
    c.json({
      open_data: api.open_data,
      map: { tile_url: dashboard.map.tile_url ?? null, tile_attribution: dashboard.map.tile_attribution ?? null },
    }),
  );

  app.get('/admin/tokens', (c) => c.json({ tokens: tokens.list() }));
  return app;
}
