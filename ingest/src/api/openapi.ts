/**
 * `/openapi.json`: the OpenAPI 3.0 description of `/api/v1`, written by hand next to the routes it describes
 * (one object per path below; ingest/test/api-access.test.ts checks that the main paths are described and that
 * every described GET answers). `/docs`: the same document rendered to plain HTML on the server — no script, no
 * CDN — so that it reads on a closed network and in any browser.
 */
import { Hono } from 'hono';
import type { ApiConfig } from '../config/api-config.ts';

type Json = Record<string, unknown>;

const str = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Json = {}): Json => ({ type: 'integer', description, ...extra });
const numOrNull = (description: string): Json => ({ type: 'number', nullable: true, description });
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const arr = (items: Json, description?: string): Json => ({ type: 'array', items, ...(description ? { description } : {}) });
const obj = (properties: Record<string, Json>, required: string[] = Object.keys(properties), description?: string): Json => ({
  type: 'object',
  properties,
  required,
  ...(description ? { description } : {}),
});

function q(name: string, description: string, schema: Json = { type: 'string' }, required = false): Json {
  return { name, in: 'query', required, description, schema };
}
const stationQ = (required = true) => q('station', 'Station id', { type: 'string' }, required);
const paramsQ = q('param', 'One parameter code, or several separated by commas (e.g. `PM2_5,PM10`)', { type: 'string' }, true);
const fromQ = q('from', 'Start (inclusive): Unix milliseconds or ISO 8601', { type: 'string' });
const toQ = q('to', 'End (exclusive): Unix milliseconds or ISO 8601; default now', { type: 'string' });
const tzQ = q('tz', 'UTC offset for days and times, whole hours (default `+07:00`, Vietnam)', { type: 'string', default: '+07:00' });

function json(schema: Json, description = 'OK'): Json {
  return { description, content: { 'application/json': { schema } } };
}
const errors = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '429': { $ref: '#/components/responses/TooManyRequests' },
};
const errors403 = { ...errors, '403': { $ref: '#/components/responses/Forbidden' } };

/** `open-data` endpoints are public or key-only by `api.open_data`; the security list says which applies here. */
function security(kind: 'open-data' | 'viewer' | 'operator' | 'admin' | 'public', api: ApiConfig): Json {
  if (kind === 'public' || (kind === 'open-data' && api.open_data === 'public')) return { security: [{}, { bearer: [] }, { apiKey: [] }] };
  return { security: [{ bearer: [] }, { apiKey: [] }, { cookie: [] }] };
}

function get(summary: string, tag: string, access: Parameters<typeof security>[0], api: ApiConfig, parameters: Json[], ok: Json, description = ''): Json {
  return {
    get: {
      summary,
      tags: [tag],
      description: `${description}${description ? '\n\n' : ''}Access: ${accessText(access, api)}.`,
      parameters,
      responses: { '200': ok, ...(access === 'public' ? {} : access === 'open-data' ? errors : errors403) },
      ...security(access, api),
    },
  };
}

function accessText(access: Parameters<typeof security>[0], api: ApiConfig): string {
  if (access === 'public') return 'public';
  if (access === 'open-data') return api.open_data === 'public' ? 'open data, public on this server' : 'open data, any valid token on this server';
  return `token with role ${access} or above`;
}

export function openApiDocument(api: ApiConfig): Json {
  const schemas: Record<string, Json> = {
    Error: obj({ error: str('What went wrong and, where possible, what to send instead') }),
    Station: obj(
      {
        id: str('Station id (also the MQTT username)'),
        name: str('Display name'),
        medium: str('air | water | stack | weather', { enum: ['air', 'water', 'stack', 'weather'] }),
        params: arr({ type: 'string' }, 'Parameter codes the station reports'),
        online: { type: 'boolean', description: "From the gateway's retained status (birth / last will)" },
        last_seen: { type: 'integer', nullable: true, description: 'Source time of the newest raw reading, Unix ms' },
        location: { type: 'object', nullable: true, properties: { lat: { type: 'number' }, lon: { type: 'number' } } },
      },
      ['id', 'name', 'medium', 'params', 'online', 'last_seen'],
    ),
    Parameter: obj({
      code: str('Catalogue code, e.g. PM2_5'),
      name: obj({ vi: str('Vietnamese name'), en: str('English name') }),
      unit: str('Unit, e.g. µg/Nm³'),
      decimals: int('Decimals to show'),
      medium: str('air | water | stack | weather'),
    }, ['code', 'name', 'unit', 'decimals', 'medium']),
    Reading: obj({
      station: str('Station id'),
      param: str('Parameter code'),
      time: int('Source time, Unix ms'),
      value: numOrNull('null when the device gave no usable value'),
      status: int('TT10 device status: 0 measuring, 1 calibrating, 2 device error', { enum: [0, 1, 2] }),
      qc_flags: int('QC bits: 1 range, 2 spike, 4 flatline, 8 stale, 16 replayed'),
      period_s: int('0 = raw sample; 60 / 300 = gateway means'),
    }),
    SeriesPoint: obj({
      time: int('Bucket start (epoch-aligned) or the raw reading time, Unix ms'),
      value: numOrNull('The aggregate, or the raw value'),
      count: int('Readings with a value in the bucket (1 for raw points)'),
      status: int('Raw points only'),
      qc_flags: int('Raw points only'),
    }, ['time', 'value', 'count']),
    Series: obj({
      station: str('Station id'),
      param: str('Parameter code'),
      from: int('Unix ms'),
      to: int('Unix ms'),
      every: int('Bucket width in ms; 0 = raw'),
      agg: str('raw | mean | min | max | last | count'),
      points: arr(ref('SeriesPoint')),
      observed: int('Readings with a value in [from, to)'),
    }),
    AggregateBucket: obj({
      time: int('Bucket start, Unix ms: the hour, or local midnight in `tz` for days'),
      mean: numOrNull('Mean of the readings in the bucket'),
      min: numOrNull('Minimum'),
      max: numOrNull('Maximum'),
      observed: int('Readings with a value in the bucket'),
      expected: int("Readings the station should have sent in the bucket's part of [from, min(to, now)), at one per expected_interval_s"),
      coverage: numOrNull('observed / expected, at most 1; null when nothing was expected'),
    }),
    Aggregates: obj({
      station: str('Station id'),
      from: int('Unix ms'),
      to: int('Unix ms'),
      every: str('1h | 1d'),
      tz: str('UTC offset of the days'),
      expected_interval_s: { type: 'number', description: "The station's configured sampling interval" },
      series: arr(obj({
        param: str('Parameter code'),
        unit: { type: 'string', nullable: true },
        buckets: arr(ref('AggregateBucket')),
        observed: int('Over the whole range'),
        expected: int('Over the whole range'),
        coverage: numOrNull('Over the whole range'),
      })),
    }),
    Limit: obj({
      profile: str('Limit profile id (ingest/limits/<id>.yaml)'),
      param: str('Parameter code'),
      period: str('instant | 1h | 8h | 24h | annual'),
      column: { type: 'string', nullable: true, description: 'Wastewater column A or B' },
      max: numOrNull('Upper limit'),
      min: numOrNull('Lower limit (pH)'),
      unit: str('Unit'),
      source: str('Regulation, table and row'),
      effective_from: str('YYYY-MM-DD'),
      effective_to: { type: 'string', nullable: true },
      unconfirmed: { type: 'boolean' },
    }),
    Aqi: {
      type: 'object',
      description: 'VN_AQI (QĐ 1459/QĐ-TCMT) of one station; see ingest/README.md, "VN_AQI"',
      properties: {
        station: str('Station id'),
        kind: str('hourly | daily'),
        aqi: { type: 'integer', nullable: true },
        category: {
          type: 'object',
          nullable: true,
          properties: { key: { type: 'string' }, name: obj({ vi: str('Vietnamese'), en: str('English') }), colour: obj({ hex: str('#rrggbb, the official colour') }, ['hex']) },
        },
        dominant: { type: 'string', nullable: true, description: 'Pollutant with the largest sub-index' },
        pollutants: arr(obj({ param: str('Pollutant'), aqi: { type: 'integer', nullable: true }, concentration: { type: 'number', nullable: true } }, ['param'])),
        period: obj({ from: str('ISO'), to: str('ISO') }),
      },
    },
    Session: obj({
      signed_in: { type: 'boolean' },
      name: { type: 'string', nullable: true },
      role: { type: 'string', nullable: true, enum: ['viewer', 'operator', 'admin', null] },
      open_data: str('public | key'),
    }),
  };

  const paths: Record<string, Json> = {
    '/stations': get('List stations', 'Stations', 'open-data', api, [], json(obj({ stations: arr(ref('Station')) }))),
    '/stations/{id}': get('One station', 'Stations', 'open-data', api, [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], json(ref('Station'))),
    '/parameters': get('The parameter catalogue', 'Stations', 'open-data', api, [], json(obj({ parameters: arr(ref('Parameter')) }))),
    '/latest': get('Newest raw reading per station and parameter', 'Data', 'open-data', api, [stationQ(false), q('param', 'Parameter code')], json(obj({ readings: arr(ref('Reading')) }))),
    '/series': get(
      'Raw readings or epoch-aligned buckets of one parameter',
      'Data',
      'open-data',
      api,
      [stationQ(), q('param', 'Parameter code', { type: 'string' }, true), fromQ, toQ, q('every', 'Bucket width: ms or 30s, 5m, 1h, 1d; omitted = raw (at most 31 days)'), q('agg', 'mean (default), min, max, last, count', { type: 'string', enum: ['mean', 'min', 'max', 'last', 'count'] })],
      json(ref('Series')),
    ),
    '/aggregates': get(
      'Hourly or daily mean/min/max with coverage (expected vs observed readings)',
      'Data',
      'open-data',
      api,
      [stationQ(), paramsQ, q('from', 'Start: Unix ms or ISO 8601; default 24 h (1h) or 30 days (1d) before `to`'), toQ, q('every', '1h (default) or 1d', { type: 'string', enum: ['1h', '1d'] }), tzQ],
      json(ref('Aggregates')),
      "`expected` comes from the station's `expected_interval_s` (default 60 s). Days are calendar days in `tz`.",
    ),
    '/export.csv': get(
      'CSV export of any range, streamed',
      'Data',
      'open-data',
      api,
      [stationQ(), paramsQ, q('from', 'Start: Unix ms or ISO 8601; default 24 h before `to`'), toQ, q('every', 'raw (default), a duration 1s–12h, or 1d (calendar days in `tz`)'), tzQ, q('bom', '0 leaves out the UTF-8 byte-order mark', { type: 'string', enum: ['0', '1'] })],
      { description: 'CSV, one row per time: raw `time,station,<P> (<unit>),<P> status,…`; bucketed `…,<P> (<unit>),<P> n,…`', content: { 'text/csv': { schema: { type: 'string' } } } },
    ),
    '/aqi': get(
      'VN_AQI of a station, hourly or daily, with the dominant pollutant and official colour',
      'Data',
      'open-data',
      api,
      [stationQ(), q('kind', 'hourly (default) or daily', { type: 'string', enum: ['hourly', 'daily'] }), q('at', 'hourly: a time; daily: a local day YYYY-MM-DD (default yesterday)')],
      json(ref('Aqi')),
    ),
    '/limits': get(
      'Regulation limits in force, and which profile colours which medium',
      'Data',
      'open-data',
      api,
      [q('at', 'Time: Unix ms or ISO 8601; default now')],
      json(obj({ at: int('Unix ms'), by_medium: { type: 'object', additionalProperties: { type: 'string' } }, column: str('A | B'), limits: arr(ref('Limit')) }, ['at', 'limits'])),
    ),
    '/stream': get(
      'Live readings and station status (Server-Sent Events)',
      'Data',
      'open-data',
      api,
      [stationQ(false)],
      { description: 'text/event-stream: `event: readings` {station, readings[]}, `event: status` {station, online, time}', content: { 'text/event-stream': { schema: { type: 'string' } } } },
    ),
    '/alarms': get(
      'Alarms (state machine raised → acknowledged → cleared → closed)',
      'Alarms',
      'viewer',
      api,
      [stationQ(false), q('state', 'Filter by state')],
      json(obj({ alarms: arr({ type: 'object' }) }, ['alarms'])),
      'Served by the alarm engine (ingest/src/alarms). Acknowledging (POST) needs role operator.',
    ),
    '/alarms/{id}/ack': {
      post: {
        summary: 'Acknowledge an alarm (raised → acknowledged, cleared → closed); stops its escalation',
        tags: ['Alarms'],
        description: 'Access: token with role operator or above. The acknowledger is the token holder; "by" names a person when a token is shared.',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        requestBody: { required: false, content: { 'application/json': { schema: obj({ by: str('Person acknowledging'), comment: str('Comment') }, []) } } },
        responses: { '200': json(obj({ alarm: { type: 'object' } })), '404': json(ref('Error'), 'No such alarm'), '409': json(ref('Error'), 'Already acknowledged or closed'), ...errors403 },
        security: [{ bearer: [] }, { apiKey: [] }, { cookie: [] }],
      },
    },
    '/rejects': get(
      'Quarantined input with reasons and raw payloads',
      'Operations',
      'viewer',
      api,
      [stationQ(false), q('reason', 'Reject reason'), q('limit', 'Max items (default 100)', { type: 'integer' })],
      json(obj({ counts: { type: 'object', additionalProperties: { type: 'integer' } }, items: arr({ type: 'object' }) })),
    ),
    '/session': {
      ...get('Who is signed in', 'Access', 'public', api, [], json(ref('Session'))),
      post: {
        summary: 'Sign in with an API token (sets an HttpOnly cookie for the dashboard)',
        tags: ['Access'],
        requestBody: { required: true, content: { 'application/json': { schema: obj({ token: str('API token') }) } } },
        responses: { '200': json(ref('Session')), '400': errors['400'], '401': errors['401'] },
      },
      delete: { summary: 'Sign out (clears the cookie)', tags: ['Access'], responses: { '200': json(ref('Session')) } },
    },
    '/config': get('What the dashboard needs to know about this server (open data mode, map tiles)', 'Access', 'public', api, [], json(obj({ open_data: str('public | key'), map: obj({ tile_url: { type: 'string', nullable: true }, tile_attribution: { type: 'string', nullable: true } }) }))),
    '/admin/tokens': get('Token holders (names and roles, never the tokens)', 'Access', 'admin', api, [], json(obj({ tokens: arr(obj({ name: str('Holder'), role: str('Role') })) }))),
    '/openapi.json': get('This document', 'Access', 'public', api, [], json({ type: 'object' })),
    '/docs': get('This document as HTML', 'Access', 'public', api, [], { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } }),
  };

  return {
    openapi: '3.0.3',
    info: {
      title: 'envmon API',
      version: '1',
      description:
        'Automatic environmental monitoring: stations, readings, aggregates with coverage, CSV export, VN_AQI, limits and alarms. ' +
        'Times are Unix milliseconds (UTC) unless a parameter says otherwise; days are Vietnamese calendar days (UTC+7). ' +
        'Send a token as `Authorization: Bearer <token>` or `X-API-Key: <token>`. Roles: viewer (read), operator (acknowledge alarms), admin. ' +
        `Open-data reads are ${api.open_data === 'public' ? 'public' : 'for token holders only'} on this server. ` +
        `Rate limits: ${api.rate_limit.anonymous.per_second}/s (burst ${api.rate_limit.anonymous.burst}) per IP without a token, ` +
        `${api.rate_limit.token.per_second}/s (burst ${api.rate_limit.token.burst}) per token; over the limit: 429 with Retry-After.`,
      license: { name: 'Apache-2.0' },
    },
    servers: [{ url: '/api/v1' }],
    tags: [
      { name: 'Stations' },
      { name: 'Data', description: 'Open data: public or key-only by configuration' },
      { name: 'Alarms' },
      { name: 'Operations' },
      { name: 'Access' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API token' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'envmon_token', description: 'Set by POST /session (the dashboard)' },
      },
      responses: {
        BadRequest: json(ref('Error'), 'A parameter is missing or malformed'),
        Unauthorized: json(ref('Error'), 'No token, or an unknown one, where one is needed'),
        Forbidden: json(ref('Error'), "The token's role is too low"),
        TooManyRequests: json(ref('Error'), 'Rate limit exceeded: see the Retry-After header'),
      },
    },
  };
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** Inline code spans (`x`) of the descriptions, on already-escaped text. */
const md = (s: unknown): string => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

function schemaText(schema: Json | undefined, doc: Json, depth = 0): string {
  if (!schema) return '';
  const r = schema.$ref as string | undefined;
  if (r) {
    const name = r.split('/').pop()!;
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if (schema.type === 'array') return `array of ${schemaText(schema.items as Json, doc, depth)}`;
  if (schema.type === 'object' && schema.properties && depth < 3) {
    const props = Object.entries(schema.properties as Record<string, Json>)
      .map(([k, v]) => `<li><code>${esc(k)}</code> ${schemaText(v, doc, depth + 1)}${v.description ? ` — ${md(v.description)}` : ''}</li>`)
      .join('');
    return `object<ul>${props}</ul>`;
  }
  return `<em>${esc(schema.type ?? 'any')}${schema.nullable ? ' | null' : ''}</em>${schema.enum ? ` (${(schema.enum as unknown[]).map(esc).join(', ')})` : ''}`;
}

/** The document as one self-contained HTML page: no script, styles inline, links within the page. */
export function renderDocsHtml(doc: Json): string {
  const info = doc.info as Json;
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const schemas = (doc.components as Json).schemas as Record<string, Json>;
  const ops: string[] = [];
  const toc: string[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const id = `op-${method}-${path.replace(/[^a-z0-9]+/gi, '-')}`;
      toc.push(`<li><a href="#${id}"><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> ${esc(path)}</a></li>`);
      const params = ((op.parameters as Json[] | undefined) ?? [])
        .map((p) => `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <strong>required</strong>' : ''}</td><td>${esc(p.in)}</td><td>${md(p.description ?? '')}</td></tr>`)
        .join('');
      const responses = Object.entries((op.responses as Record<string, Json>) ?? {})
        .map(([code, r]) => {
          const resolved = r.$ref ? ((doc.components as Json).responses as Record<string, Json>)[(r.$ref as string).split('/').pop()!]! : r;
          const content = resolved.content as Record<string, Json> | undefined;
          const body = content ? Object.entries(content).map(([type, c]) => `<code>${esc(type)}</code>: ${schemaText(c.schema as Json, doc)}`).join('<br>') : '';
          return `<tr><td>${esc(code)}</td><td>${md(resolved.description ?? '')}${body ? `<br>${body}` : ''}</td></tr>`;
        })
        .join('');
      const example = method === 'get' ? `<pre>curl -H "Authorization: Bearer $TOKEN" "http://HOST/api/v1${esc(path)}"</pre>` : '';
      ops.push(`<section id="${id}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> /api/v1${esc(path)}</h3>
<p>${md(op.summary ?? '')}</p>${op.description ? `<p>${md(op.description).replace(/\n\n/g, '</p><p>')}</p>` : ''}
${params ? `<table><thead><tr><th>Parameter</th><th>In</th><th>Meaning</th></tr></thead><tbody>${params}</tbody></table>` : ''}
<table><thead><tr><th>Status</th><th>Response</th></tr></thead><tbody>${responses}</tbody></table>${example}</section>`);
    }
  }
  const schemaHtml = Object.entries(schemas)
    .map(([name, s]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${s.description ? `<p>${md(s.description)}</p>` : ''}${schemaText({ ...s, $ref: undefined } as Json, doc)}</section>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} — reference</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2329;background:#fff}
header{background:#0b5f8a;color:#fff;padding:1rem 1.5rem}header a{color:#fff}
main{display:grid;grid-template-columns:minmax(14rem,20rem) 1fr;gap:2rem;padding:1rem 1.5rem}
nav ul{list-style:none;padding:0;margin:0}nav li{margin:.2rem 0}nav a{text-decoration:none;color:#0b5f8a}
section{border-top:1px solid #dfe4e8;padding:.5rem 0}
table{border-collapse:collapse;margin:.5rem 0;width:100%}td,th{border:1px solid #dfe4e8;padding:.25rem .5rem;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f3f5f7;padding:.5rem;overflow:auto}
.m{display:inline-block;min-width:3.8rem;font-weight:700;font-size:.8em}.get{color:#0b6b2f}.post{color:#8a4b00}.delete{color:#a01919}
@media (max-width:50rem){main{grid-template-columns:1fr}}
</style></head><body>
<header><h1>${esc(info.title)} <small>v${esc(info.version)}</small></h1><p>${md(info.description)}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p></header>
<main><nav aria-label="Endpoints"><h2>Endpoints</h2><ul>${toc.join('')}</ul><h2>Schemas</h2><ul>${Object.keys(schemas)
    .map((n) => `<li><a href="#schema-${esc(n)}">${esc(n)}</a></li>`)
    .join('')}</ul></nav>
<div><h2>Endpoints</h2>${ops.join('\n')}<h2>Schemas</h2>${schemaHtml}</div></main></body></html>`;
}

export function openApiRoutes(api: ApiConfig): Hono {
  const app = new Hono();
  const doc = openApiDocument(api);
  const html = renderDocsHtml(doc);
  app.get('/openapi.json', (c) => c.json(doc));
  app.get('/docs', (c) =>
    c.html(html, 200, { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'" }),
  );
  return app;
}
