/**
 * The HTTP API's access rules, aggregates with coverage, streaming CSV export and OpenAPI document, against a
 * real ingest on loopback (readings written through the store, as the pipeline's writer does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/broker/secrets.ts';
import { hashToken, RateLimiter, requiredAccess } from '../src/api/auth.ts';
import { createApp, type AppDeps } from '../src/api/app.ts';
import { csvChunks } from '../src/api/export.ts';
import { openApiDocument } from '../src/api/openapi.ts';
import type { AlarmEngine } from '../src/alarms/engine.ts';
import { API_DEFAULTS } from '../src/config/api-config.ts';
import { parseIngestConfig } from '../src/config/config.ts';
import { SECRET, startTestIngest } from './helpers.ts';

const TOKENS = { viewer: 'tok-viewer-0123456789abcdef', operator: 'tok-operator-0123456789abcdef', admin: 'tok-admin-0123456789abcdef' };
const HOUR = 3_600_000;
const DAY = 86_400_000;

async function config(extra: string) {
  const hash = await hashSecret(SECRET);
  return parseIngestConfig(`
stations:
  - { id: S1, medium: air, params: [PM2_5, PM10], secret_hash: "${hash}", expected_interval_s: 60 }
  - { id: S2, medium: water, secret_hash: "${hash}", expected_interval_s: 300 }
api:
  tokens:
    - { name: wall, role: viewer, token_hash: "${hashToken(TOKENS.viewer)}" }
    - { name: duty, role: operator, token_hash: "${hashToken(TOKENS.operator)}" }
    - { name: root, role: admin, token_hash: "${hashToken(TOKENS.admin)}" }
${extra}`);
}

describe('access rules', () => {
  it('maps method and path to the access a request needs, protecting unknown routes by default', () => {
    expect(requiredAccess('GET', '/latest')).toBe('open-data');
    expect(requiredAccess('GET', '/stations/S1')).toBe('open-data');
    expect(requiredAccess('GET', '/export.csv')).toBe('open-data');
    expect(requiredAccess('GET', '/alarms')).toBe('viewer');
    expect(requiredAccess('GET', '/something-new')).toBe('viewer');
    expect(requiredAccess('POST', '/alarms/3/ack')).toBe('operator');
    expect(requiredAccess('POST', '/latest')).toBe('operator');
    expect(requiredAccess('GET', '/admin/tokens')).toBe('admin');
    expect(requiredAccess('POST', '/session')).toBe('public');
    expect(requiredAccess('GET', '/openapi.json')).toBe('public');
    expect(requiredAccess('GET', '/latestx')).toBe('viewer'); // a prefix is a whole path segment
  });

  it('the OpenAPI document describes every route mounted under /api/v1, with the access auth.ts demands', () => {
    // The app with every optional part (alarm engine, Node-RED export) mounted; the routes are only listed, never
    // called, so the dependencies are empty shells.
    const app = createApp({ ...({} as AppDeps), alarms: { engine: {} as AlarmEngine }, flowsExport: () => [] });
    const doc = openApiDocument(API_DEFAULTS) as { paths: Record<string, Record<string, { 'x-access'?: string; security?: unknown[] }>> };
    const mounted = new Set<string>();
    for (const r of app.routes) {
      if (!r.path.startsWith('/api/v1/') || r.method === 'ALL') continue; // middleware (auth) is not a route
      const path = r.path.slice('/api/v1'.length).replace(/:(\w+)/g, '{$1}');
      const method = r.method.toLowerCase();
      mounted.add(`${method} ${path}`);
      const op = doc.paths[path]?.[method];
      expect(op, `${r.method} /api/v1${path} is mounted but not in openapi.ts`).toBeDefined();
      expect(op!['x-access'], `${r.method} ${path}: documented access`).toBe(requiredAccess(r.method, path.replace(/\{\w+\}/g, '1')));
      expect(op!.security, `${r.method} ${path}: security`).toBeDefined();
    }
    expect(mounted.size).toBeGreaterThan(25);
    // And nothing is documented that is not served.
    for (const [path, ops] of Object.entries(doc.paths)) for (const method of Object.keys(ops)) expect(mounted.has(`${method} ${path}`), `${method.toUpperCase()} ${path} is documented but not mounted`).toBe(true);
  });

  it('token bucket: a burst, then the sustained rate, with a retry time', () => {
    let now = 0;
    const rl = new RateLimiter(() => now);
    const cfg = { per_second: 2, burst: 3 };
    expect([1, 2, 3].map(() => rl.take('a', cfg).ok)).toEqual([true, true, true]);
    const refused = rl.take('a', cfg);
    expect(refused.ok).toBe(false);
    expect(refused.retryAfterS).toBe(1);
    expect(rl.take('b', cfg).ok).toBe(true); // buckets are per key
    now += 500; // one request refilled
    expect(rl.take('a', cfg).ok).toBe(true);
    expect(rl.take('a', cfg).ok).toBe(false);
  });
});

describe('API over HTTP (open data public)', () => {
  let ingest: Awaited<ReturnType<typeof startTestIngest>>;
  let base: string;
  const t0 = Date.UTC(2025, 0, 10, 17, 0, 0); // 2025-01-11 00:00 in Vietnam

  beforeAll(async () => {
    ingest = await startTestIngest({ config: await config('  rate_limit: { anonymous: { per_second: 1, burst: 1000 } }') });
    base = `${ingest.httpUrl}api/v1`;
    // S1: one reading per minute for 2 Vietnamese days, except hour 3 of day 1 (missing) and PM10 only on day 2.
    const readings = [];
    for (let t = t0; t < t0 + 2 * DAY; t += 60_000) {
      if (t >= t0 + 3 * HOUR && t < t0 + 4 * HOUR) continue;
      readings.push({ station: 'S1', param: 'PM2_5', time: t, value: 10 + ((t - t0) / 60_000) % 10, status: 0 as const, qc_flags: 0, period_s: 0 });
      if (t >= t0 + DAY) readings.push({ station: 'S1', param: 'PM10', time: t, value: 40, status: 1 as const, qc_flags: 0, period_s: 0 });
    }
    await ingest.store.write(readings);
  });
  afterAll(async () => ingest?.cleanup());

  const get = (path: string, token?: string) => fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('serves open data without a token, and refuses an unknown token', async () => {
    expect((await get('/stations')).status).toBe(200);
    const bad = await get('/stations', 'nope');
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: string }).error).toMatch(/unknown or revoked/);
  });

  it('needs a token for non-open reads and the right role for changes', async () => {
    expect((await get('/rejects')).status).toBe(401);
    expect((await get('/rejects', TOKENS.viewer)).status).toBe(200);
    const post = (token?: string) => fetch(`${base}/alarms/1/ack`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await post()).status).toBe(401);
    const viewer = await post(TOKENS.viewer);
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { error: string }).error).toMatch(/role viewer may not/);
    expect((await post(TOKENS.operator)).status).not.toBe(403); // passes access control (then whatever the alarm route says)
    expect((await get('/admin/tokens', TOKENS.operator)).status).toBe(403);
    const admin = await get('/admin/tokens', TOKENS.admin);
    expect(await admin.json()).toEqual({ tokens: [{ name: 'wall', role: 'viewer' }, { name: 'duty', role: 'operator' }, { name: 'root', role: 'admin' }] });
  });

  it('signs the dashboard in with a cookie, refuses a cross-site change with it, and signs out', async () => {
    const login = await fetch(`${base}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKENS.operator }) });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ signed_in: true, name: 'duty', role: 'operator' });
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/envmon_token=.+HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const jar = cookie.split(';')[0]!;
    expect(await (await fetch(`${base}/session`, { headers: { cookie: jar } })).json()).toMatchObject({ role: 'operator' });
    const cross = await fetch(`${base}/alarms/1/ack`, { method: 'POST', headers: { cookie: jar, origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    const wrong = await fetch(`${base}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x' }) });
    expect(wrong.status).toBe(401);
    const out = await fetch(`${base}/session`, { method: 'DELETE', headers: { cookie: jar } });
    expect(out.headers.get('set-cookie')).toMatch(/envmon_token=;/);
  });

  it('hourly aggregates carry expected and observed counts', async () => {
    const res = await get(`/aggregates?station=S1&param=PM2_5,PM10&from=${t0}&to=${t0 + 6 * HOUR}&every=1h`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { expected_interval_s: number; series: { param: string; buckets: { time: number; observed: number; expected: number; coverage: number | null; mean: number | null; min: number | null; max: number | null }[]; coverage: number }[] };
    expect(body.expected_interval_s).toBe(60);
    const pm25 = body.series.find((s) => s.param === 'PM2_5')!;
    expect(pm25.buckets.map((b) => [b.observed, b.expected])).toEqual([[60, 60], [60, 60], [60, 60], [0, 60], [60, 60], [60, 60]]);
    expect(pm25.buckets[3]!.coverage).toBe(0);
    expect(pm25.buckets[0]).toMatchObject({ coverage: 1, mean: 14.5, min: 10, max: 19 });
    expect(pm25.coverage).toBeCloseTo(5 / 6);
    const pm10 = body.series.find((s) => s.param === 'PM10')!;
    expect(pm10.buckets.every((b) => b.observed === 0 && b.mean === null)).toBe(true);
  });

  it('daily aggregates are Vietnamese days; a day in progress expects only what has passed', async () => {
    const res = await get(`/aggregates?station=S1&param=PM2_5,PM10&from=${t0}&to=${t0 + 2 * DAY}&every=1d`);
    const body = (await res.json()) as { tz: string; series: { param: string; buckets: { time: number; observed: number; expected: number }[] }[] };
    expect(body.tz).toBe('+07:00');
    const pm25 = body.series[0]!;
    expect(pm25.buckets.map((b) => b.time)).toEqual([t0, t0 + DAY]);
    expect(pm25.buckets.map((b) => [b.observed, b.expected])).toEqual([[1380, 1440], [1440, 1440]]);
    expect(body.series[1]!.buckets.map((b) => b.observed)).toEqual([0, 1440]);

    const s2 = (await (await get(`/aggregates?station=S2&param=PH&from=${Date.now() - HOUR}&every=1h`)).json()) as { series: { expected: number }[] };
    expect(s2.series[0]!.expected).toBeGreaterThanOrEqual(11); // 300 s interval: 12 an hour, minus the part still to come
    expect(s2.series[0]!.expected).toBeLessThanOrEqual(12);
  });

  it('rejects malformed aggregate queries with a message that says what to send', async () => {
    expect(((await (await get('/aggregates?station=S1')).json()) as { error: string }).error).toMatch(/"param" is required/);
    expect((await get('/aggregates?station=NOPE&param=PM2_5')).status).toBe(404);
    expect(((await (await get('/aggregates?station=S1&param=PM2_5&every=5m')).json()) as { error: string }).error).toMatch(/1h or 1d/);
    expect((await get('/aggregates?station=S1&param=PM2_5&every=1d&tz=%2B05:30')).status).toBe(400);
  });

  it('exports raw CSV with one row per time, statuses, Vietnam times and a BOM', async () => {
    const res = await get(`/export.csv?station=S1&param=PM2_5,PM10&from=${t0 + DAY}&to=${t0 + DAY + 3 * 60_000}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="envmon_S1_20250112-20250112.csv"');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 byte-order mark, for Excel
    const text = new TextDecoder().decode(bytes); // (the decoder drops the mark)
    expect(text.split('\r\n')).toEqual([
      'time,station,PM2_5 (µg/Nm³),PM2_5 status,PM10 (µg/Nm³),PM10 status',
      '2025-01-12T00:00:00+07:00,S1,10,00,40,01',
      '2025-01-12T00:01:00+07:00,S1,11,00,40,01',
      '2025-01-12T00:02:00+07:00,S1,12,00,40,01',
      '',
    ]);
  });

  it('streams a long raw export chunk by chunk, and exports hourly and daily means with counts', async () => {
    const res = await get(`/export.csv?station=S1&param=PM2_5&from=${t0}&to=${t0 + 2 * DAY}&bom=0`);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines.length).toBe(1 + 2 * 1440 - 60);
    expect(lines[1]).toBe('2025-01-11T00:00:00+07:00,S1,10,00');
    expect(lines.at(-1)).toBe('2025-01-12T23:59:00+07:00,S1,19,00');
    // The body is produced 6 hours at a time, each piece read from the store only when the previous one was taken.
    const pieces = csvChunks(ingest.store, undefined, { station: 'S1', params: ['PM2_5'], from: t0, to: t0 + 2 * DAY, every: 0, tzOffsetMin: 420, expectedIntervalS: 60 });
    const sizes = [];
    for await (const piece of pieces) sizes.push(piece.split('\r\n').length - 1);
    expect(sizes).toEqual([1, 300, 360, 360, 360, 360, 360, 360, 360]);

    const hourly = (await (await get(`/export.csv?station=S1&param=PM2_5&from=${t0}&to=${t0 + 5 * HOUR}&every=1h&bom=0`)).text()).trim().split('\r\n');
    expect(hourly).toEqual([
      'time,station,PM2_5 (µg/Nm³),PM2_5 n',
      '2025-01-11T00:00:00+07:00,S1,14.5,60',
      '2025-01-11T01:00:00+07:00,S1,14.5,60',
      '2025-01-11T02:00:00+07:00,S1,14.5,60',
      '2025-01-11T04:00:00+07:00,S1,14.5,60',
    ]);
    const daily = (await (await get(`/export.csv?station=S1&param=PM10&from=${t0}&to=${t0 + 2 * DAY}&every=1d&bom=0`)).text()).trim().split('\r\n');
    expect(daily).toEqual(['time,station,PM10 (µg/Nm³),PM10 n', '2025-01-12T00:00:00+07:00,S1,40,1440']);
  });

  it('limits: what is in force, from the profiles in ingest/limits', async () => {
    const body = (await (await get(`/limits?at=2026-02-01T00:00:00%2B07:00`)).json()) as { by_medium: Record<string, string>; limits: { profile: string; param: string; period: string; max: number | null }[] };
    expect(body.by_medium.air).toBe('qcvn-05-2023');
    const pm25 = body.limits.filter((l) => l.profile === 'qcvn-05-2023' && l.param === 'PM2_5' && l.period === '24h');
    expect(pm25.map((l) => l.max)).toEqual([45]);
    const before = (await (await get(`/limits?at=2025-06-01`)).json()) as typeof body;
    expect(before.limits.filter((l) => l.param === 'PM2_5' && l.period === '24h').map((l) => l.max)).toEqual([50]);
  });

  it('describes every route in OpenAPI 3 and renders it as HTML without script', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/stations', '/latest', '/series', '/aggregates', '/export.csv', '/aqi', '/limits', '/stream', '/alarms', '/alarms/{id}/ack', '/reports/compliance', '/reports/compliance.csv', '/reports/completeness', '/reports/completeness.csv', '/rejects', '/admin/flows/export', '/session']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    // Every documented GET without path parameters answers (not 404); alarms and the Node-RED export are served
    // only when configured, which this ingest is not.
    for (const [p, ops] of Object.entries(doc.paths)) {
      if (!ops.get || p.includes('{') || p === '/stream' || p.startsWith('/alarms') || p === '/admin/flows/export') continue;
      const res = await get(`${p}${p === '/aqi' || p === '/aggregates' || p === '/export.csv' || p === '/series' || p.startsWith('/reports/') ? '?station=S1&param=PM2_5' : ''}`, TOKENS.admin);
      expect(res.status, p).not.toBe(404);
      await res.body?.cancel();
    }
    const html = await get('/docs');
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const text = await html.text();
    expect(text).toContain('/api/v1/aggregates');
    expect(text).not.toMatch(/<script|https?:\/\/(?!HOST)/);
  });

  it('rate-limits anonymous clients per IP and tells them when to retry', async () => {
    const limited = await startTestIngest({ config: await config('  rate_limit: { anonymous: { per_second: 0.5, burst: 3 } }') });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${limited.httpUrl}api/v1/stations`)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const res = await fetch(`${limited.httpUrl}api/v1/stations`);
      expect(res.headers.get('retry-after')).toBe('2');
      // A token has its own bucket.
      expect((await fetch(`${limited.httpUrl}api/v1/stations`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).status).toBe(200);
    } finally {
      await limited.cleanup();
    }
  });
});

describe('API over HTTP (open data by key)', () => {
  it('refuses open data without a token and serves it with one; docs stay public', async () => {
    const ingest = await startTestIngest({ config: await config('  open_data: key') });
    try {
      const base = `${ingest.httpUrl}api/v1`;
      expect((await fetch(`${base}/latest`)).status).toBe(401);
      expect((await fetch(`${base}/latest`, { headers: { 'x-api-key': TOKENS.viewer } })).status).toBe(200);
      expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
      expect(await (await fetch(`${base}/config`)).json()).toMatchObject({ open_data: 'key' });
    } finally {
      await ingest.cleanup();
    }
  });
});
