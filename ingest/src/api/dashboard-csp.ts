import type { MiddlewareHandler } from 'hono';
import type { DashboardConfig } from '../config/api-config.ts';

/**
 * The dashboard page's Content-Security-Policy, sent as a header with its static files. The page loads nothing
 * from another origin, except map tiles from the server named in `dashboard.map.tile_url` when one is set:
 * stations are often on closed networks, and the policy makes an accidental CDN or font URL fail loudly.
 */
export function dashboardCsp(dashboard: DashboardConfig | undefined): MiddlewareHandler {
  let tiles = '';
  const url = dashboard?.map.tile_url;
  if (url && /^https?:\/\//.test(url)) tiles = ` ${new URL(url.replace(/\{[a-z]\}/g, '0')).origin}`;
  const policy = [
    "default-src 'self'",
    "connect-src 'self'",
    `img-src 'self' data:${tiles}`,
    "style-src 'self'",
    "script-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
  return async (c, next) => {
    await next();
    if (c.res.headers.get('content-type')?.startsWith('text/html')) c.res.headers.set('content-security-policy', policy);
  };
}
