/**
 * `/openapi.json`: the OpenAPI 3.0 description of `/api/v1`, written by hand next to the routes it describes
 * (one object per path below; ingest/test/api-access.test.ts checks that every route mounted under /api/v1 is
 * described, with the access auth.ts demands, and that every described GET answers). `/docs`: the same document
 * rendered to plain HTML on the server — no script, no CDN — so that it reads on a closed network and in any browser.
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
const idP: Json = { name: 'id', in: 'path', required: true, description: 'Alarm id', schema: { type: 'integer' } };
const reportQ: Json[] = [
  q('station', 'Station id', { type: 'string' }, true),
  q('day', 'Vietnamese local day YYYY-MM-DD; default yesterday (the last full day)', { type: 'string', format: 'date' }),
  q('from', 'First day YYYY-MM-DD (instead of `day`)', { type: 'string', format: 'date' }),
  q('to', 'Last day YYYY-MM-DD, inclusive; at most 31 days from `from`', { type: 'string', format: 'date' }),
];
const csvBody = (columns: string): Json => ({
  description: `CSV (UTF-8 with a byte-order mark, CRLF, \`.\` decimals, Content-Disposition: attachment), columns ${columns}`,
  content: { 'text/csv': { schema: { type: 'string' } } },
});
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
function security(kind: Access, api: ApiConfig): Json {
  if (kind === 'public' || (kind === 'open-data' && api.open_data === 'public')) return { security: [{}, { bearer: [] }, { apiKey: [] }] };
  return { security: [{ bearer: [] }, { apiKey: [] }, { cookie: [] }] };
}

type Access = 'open-data' | 'viewer' | 'operator' | 'admin' | 'public';

/**
 * One operation. `x-access` names what auth.ts's requiredAccess() demands for it (the test checks they agree), and
 * `security` and the error responses follow from it.
 */
function operation(summary: string, tag: string, access: Access, api: ApiConfig, parameters: Json[], ok: Json, description = '', extra: { requestBody?: Json; responses?: Json; status?: string } = {}): Json {
  return {
    summary,
    tags: [tag],
    description: `${description}${description ? '\n\n' : ''}Access: ${accessText(access, api)}.`,
    parameters,
    ...(extra.requestBody ? { requestBody: extra.requestBody } : {}),
    responses: { [extra.status ?? '200']: ok, ...(access === 'public' ? {} : access === 'open-data' ? errors : errors403), ...(extra.responses ?? {}) },
    ...security(access, api),
    'x-access': access,
  };
}

function get(summary: string, tag: string, access: Access, api: ApiConfig, parameters: Json[], ok: Json, description = '', extra: { responses?: Json } = {}): Json {
  return { get: operation(summary, tag, access, api, parameters, ok, description, extra) };
}

function accessText(access: Access, api: ApiConfig): string {
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
      qc_flags: int('QC bits: 1 range, 2 spike, 4 flatline, 8 stale, 16 replayed, 32 humidity (set by the source: a PM reading taken in humid air)'),
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
    Alarm: obj(
      {
        id: int('Alarm id'),
        rule: str('Rule id (alarm rules file)'),
        rule_name: obj({ vi: str('Vietnamese'), en: str('English') }),
        kind: str('Rule kind: threshold, mean, rate, flatline, silent, fault, …'),
        severity: str('critical | major | minor | warning', { enum: ['critical', 'major', 'minor', 'warning'] }),
        station: str('Station id'),
        param: str('Parameter code, or * for station-level rules (silent)'),
        state: str('raised | acknowledged | cleared | closed', { enum: ['raised', 'acknowledged', 'cleared', 'closed'] }),
        occurrences: int('How many times the condition came back while open (1 = raised once)'),
        raised_at: int('Source time of the reading that raised it, Unix ms'),
        acknowledged_at: { type: 'integer', nullable: true },
        acknowledged_by: { type: 'string', nullable: true },
        cleared_at: { type: 'integer', nullable: true },
        closed_at: { type: 'integer', nullable: true },
        value: numOrNull('The value that raised it (the rolling mean for mean rules)'),
        last_value: numOrNull('The newest value seen while open'),
        limit: {
          type: 'object',
          nullable: true,
          description: 'The limit in force when it was raised',
          properties: { above: { type: 'number' }, below: { type: 'number' }, source: { type: 'string' }, profile: { type: 'string' }, unconfirmed: { type: 'boolean' } },
        },
        detail: str('Human-readable cause, English'),
        updated_at: int('Unix ms'),
        calibrating: { type: 'boolean', description: '`GET /alarms` only: the parameter is calibrating now (suppressed)' },
      },
      ['id', 'rule', 'rule_name', 'kind', 'severity', 'station', 'param', 'state', 'occurrences', 'raised_at', 'value', 'limit', 'detail'],
    ),
    AlarmHistoryEntry: obj({
      id: int('Entry id'),
      alarm_id: int('Alarm id'),
      time: int('Unix ms'),
      action: str('raised | re-raised | acknowledged | cleared | closed | comment | calibration | escalated | notified'),
      by: { type: 'string', nullable: true },
      text: { type: 'string', nullable: true },
    }),
    Notification: { type: 'object', description: 'One message of the notification outbox (ingest/src/notify/outbox.ts): id, alarm_id, stage, recipient, phone, provider, lang, text, status, attempts, times', additionalProperties: true },
    Reject: obj({
      id: int('Reject id'),
      received_at: int('Unix ms'),
      station: { type: 'string', nullable: true },
      topic: str('MQTT topic or source (e.g. the TT10 file)'),
      reason: str('Reject reason'),
      detail: str('What was wrong'),
      payload: str('Base64 of the raw payload (at most 4 KiB)'),
    }),
    ComplianceRow: obj(
      {
        param: str('Parameter code'),
        period: str('Averaging period of the limit: instant (each reading), 1h (hourly means), 8h (rolling 8-hour means, ≥ 6 of 8 h), 24h (mean of the hourly means, ≥ 18 of 24)', { enum: ['instant', '1h', '8h', '24h'] }),
        column: str('QCVN 40 column A or B', { enum: ['A', 'B'] }),
        limit: obj(
          { min: numOrNull('Lower limit'), max: numOrNull('Upper limit (after Kq × Kf where it applies)'), unit: str('Unit'), source: str('Regulation, table and row'), unconfirmed: { type: 'boolean' }, note: str('How the limit was applied') },
          ['min', 'max', 'unit', 'source', 'unconfirmed'],
        ),
        evaluated: int('Values judged (readings, hours, 8 h windows, or 1 for the day)'),
        expected: int('Values there should have been'),
        exceedances: int('Values outside the limit'),
        worst: numOrNull('Largest value (smallest when a lower limit was broken)'),
        status: str('compliant | exceeded | no_data', { enum: ['compliant', 'exceeded', 'no_data'] }),
        exceeded_at: arr(obj({ time: str('ISO 8601 +07:00: start of the hour, end of the 8 h window, the reading, or the day'), value: { type: 'number' } }), 'Up to 50 exceeding values, first first'),
      },
      ['param', 'period', 'limit', 'evaluated', 'expected', 'exceedances', 'worst', 'status', 'exceeded_at'],
    ),
    ComplianceReport: obj(
      {
        station: str('Station id'),
        day: str('Vietnamese local day YYYY-MM-DD'),
        from: str('ISO 8601 +07:00'),
        to: str('ISO 8601 +07:00'),
        profile: { type: 'object', nullable: true, properties: { id: str('Limit profile id'), title: str('Regulation title') }, description: 'null when the station has no profile (see note)' },
        note: str('Why there is no judgement'),
        rows: arr(ref('ComplianceRow')),
        skipped: arr(obj({ param: str('Parameter'), period: str('Period'), reason: str('Why this limit was not judged') })),
      },
      ['station', 'day', 'from', 'to', 'profile', 'rows', 'skipped'],
    ),
    CompletenessReport: obj({
      station: str('Station id'),
      day: str('Vietnamese local day YYYY-MM-DD'),
      from: str('ISO 8601 +07:00'),
      to: str('ISO 8601 +07:00'),
      expected_interval_s: int("The station's configured sampling interval"),
      rows: arr(
        obj({
          param: str('Parameter code'),
          expected: int('Records expected in the day (86400 / expected_interval_s)'),
          received: int('Records received, any status'),
          valid: int('Valid records (status 00, no QC flag)'),
          calibrating: int('Records with status 01'),
          device_error: int('Records with status 02'),
          received_pct: { type: 'number', description: 'received / expected in %, one decimal, at most 100' },
          valid_pct: { type: 'number', description: 'valid / expected in %, one decimal, at most 100' },
          valid_hours: int('Hours of the day with at least one valid record'),
        }),
      ),
    }),
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
      'Alarms (state machine raised → acknowledged → cleared → closed), newest first',
      'Alarms',
      'viewer',
      api,
      [
        stationQ(false),
        q('param', 'Parameter code'),
        q('rule', 'Rule id'),
        q('severity', 'critical | major | minor | warning'),
        q('state', 'One or more of raised, acknowledged, cleared, closed, comma-separated'),
        q('active', '`true`: raised and acknowledged only (when `state` is not given)', { type: 'string', enum: ['true', 'false'] }),
        q('from', 'Raised at or after: Unix ms or ISO 8601'),
        q('to', 'Raised before: Unix ms or ISO 8601'),
        q('before', 'Paging: alarms with an id below this'),
        q('limit', 'Max items', { type: 'integer' }),
      ],
      json(obj({ alarms: arr(ref('Alarm')) })),
      'Served when the alarm engine runs (`alarms:` in the ingest config). Acknowledging and commenting need role operator.',
    ),
    '/alarms/{id}': get(
      'One alarm with its history, notifications and escalation',
      'Alarms',
      'viewer',
      api,
      [idP],
      json(obj({ alarm: ref('Alarm'), history: arr(ref('AlarmHistoryEntry')), notifications: arr(ref('Notification')), escalation: { type: 'object', nullable: true, description: 'Escalation schedule: policy, next_stage, next_at, status active | stopped | done' } })),
      '',
      { responses: { '404': json(ref('Error'), 'No such alarm') } },
    ),
    '/alarms/{id}/history': get('History of one alarm (transitions, comments, notifications)', 'Alarms', 'viewer', api, [idP], json(obj({ history: arr(ref('AlarmHistoryEntry')) })), '', { responses: { '404': json(ref('Error'), 'No such alarm') } }),
    '/alarms/{id}/ack': {
      post: operation(
        'Acknowledge an alarm (raised → acknowledged, cleared → closed); stops its escalation',
        'Alarms',
        'operator',
        api,
        [idP],
        json(obj({ alarm: ref('Alarm') })),
        'The acknowledger is the token holder; "by" names a person when a token is shared. With the dashboard cookie, the request must come from the same origin.',
        {
          requestBody: { required: false, content: { 'application/json': { schema: obj({ by: str('Person acknowledging'), comment: str('Comment') }, []) } } },
          responses: { '404': json(ref('Error'), 'No such alarm'), '409': json(ref('Error'), 'Already acknowledged or closed') },
        },
      ),
    },
    '/alarms/{id}/comments': {
      post: operation(
        'Add a comment to the history of an alarm',
        'Alarms',
        'operator',
        api,
        [idP],
        json(obj({ history: arr(ref('AlarmHistoryEntry')) }), 'Created: the history with the comment'),
        '',
        {
          status: '201',
          requestBody: { required: true, content: { 'application/json': { schema: obj({ text: str('The comment'), by: str('Person commenting (added to the token name)') }, ['text']) } } },
          responses: { '404': json(ref('Error'), 'No such alarm') },
        },
      ),
    },
    '/alarms/suppressions': get(
      'Parameters whose alarms are suppressed now because they are calibrating (status 01)',
      'Alarms',
      'viewer',
      api,
      [],
      json(obj({ suppressions: arr(obj({ station: str('Station id'), param: str('Parameter code'), since: int('Source time of the first calibrating reading, Unix ms'), note: str('Why') })) })),
    ),
    '/alarms/rules': get(
      'The alarm rules in force',
      'Alarms',
      'viewer',
      api,
      [],
      json(obj({ rules: arr({ type: 'object', description: 'id, name {vi,en}, kind, severity, notify, stations ("*" or ids), params, value, window_ms, raise, clear, hysteresis', additionalProperties: true }) })),
    ),
    '/alarms/notifications': get(
      'The notification outbox (SMS, e-mail, …) with delivery status',
      'Alarms',
      'viewer',
      api,
      [q('alarm', 'Alarm id', { type: 'integer' }), q('status', 'Delivery status'), q('recipient', 'Recipient id'), q('limit', 'Max items (default 100)', { type: 'integer' })],
      json(obj({ configured: { type: 'boolean', description: 'false when no recipients file is configured' }, notifications: arr(ref('Notification')) })),
    ),
    '/alarms/sms-inbound': {
      post: operation(
        "Webhook for the SMS gateway: a recipient's reply (OK 12, ACK 12, XN 12) acknowledges an alarm",
        'Alarms',
        'public',
        api,
        [],
        json(obj({ ok: { type: 'boolean' }, acknowledged: int('Alarm acknowledged'), reason: str('Why nothing was done') }, ['ok']), 'Taken (ok: false when nothing could be done, so the gateway does not retry)'),
        'No token needed, but the body must carry the HMAC signature configured under `inbound.signature` in the recipients file (or the call must carry an operator token). 404 when no recipients file is configured.',
        {
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': { schema: { type: 'object', description: 'Sender and text fields, named by inbound.from_field and inbound.text_field' } },
              'application/json': { schema: { type: 'object', description: 'Sender and text fields, named by inbound.from_field and inbound.text_field' } },
            },
          },
          responses: { '400': json(ref('Error'), 'Sender or text missing'), '401': json(ref('Error'), 'Bad or missing signature'), '404': json(ref('Error'), 'No recipients file configured') },
        },
      ),
    },
    '/reports/compliance': get(
      "Daily QCVN compliance of a station: exceedances against its limit profile with each limit's averaging period",
      'Reports',
      'viewer',
      api,
      reportQ,
      json(obj({ reports: arr(ref('ComplianceReport'), 'One per day') })),
      'The profile per station is `reports.stations.<id>.profile` in the ingest config; only valid readings (status 00, no QC flag) are judged. Annual limits are not judged by a daily report.',
      { responses: { '404': json(ref('Error'), 'No such station') } },
    ),
    '/reports/compliance.csv': get(
      'The compliance report as CSV, one row per day, parameter and period',
      'Reports',
      'viewer',
      api,
      reportQ,
      csvBody('`day,station,profile,param,period,column,limit_min,limit_max,unit,evaluated,expected,exceedances,worst,status,first_exceeded_at,limit_source,note`'),
      '',
      { responses: { '404': json(ref('Error'), 'No such station') } },
    ),
    '/reports/completeness': get(
      'Daily data completeness of a station: records received and valid against those expected, per parameter',
      'Reports',
      'viewer',
      api,
      reportQ,
      json(obj({ reports: arr(ref('CompletenessReport'), 'One per day') })),
      "Expected records come from the station's `expected_interval_s`.",
      { responses: { '404': json(ref('Error'), 'No such station') } },
    ),
    '/reports/completeness.csv': get(
      'The completeness report as CSV, one row per day and parameter',
      'Reports',
      'viewer',
      api,
      reportQ,
      csvBody('`day,station,param,expected,received,valid,calibrating,device_error,received_pct,valid_pct,valid_hours,expected_interval_s`'),
      '',
      { responses: { '404': json(ref('Error'), 'No such station') } },
    ),
    '/rejects': get(
      'Quarantined input with reasons and raw payloads',
      'Operations',
      'viewer',
      api,
      [stationQ(false), q('reason', 'Reject reason'), q('limit', 'Max items (default 100)', { type: 'integer' })],
      json(obj({ counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Rejects kept, per reason' }, items: arr(ref('Reject')) })),
    ),
    '/admin/flows/export': get(
      'The deployed Node-RED flows without credentials, as a flows.json download',
      'Operations',
      'admin',
      api,
      [],
      { description: 'flows.json (Content-Disposition: attachment), for version control or import into the editor', content: { 'application/json': { schema: arr({ type: 'object', additionalProperties: true }) } } },
      'Served only when Node-RED is enabled in the ingest.',
    ),
    '/session': {
      ...get('Who is signed in', 'Access', 'public', api, [], json(ref('Session'))),
      post: operation('Sign in with an API token (sets an HttpOnly cookie for the dashboard)', 'Access', 'public', api, [], json(ref('Session')), '', {
        requestBody: { required: true, content: { 'application/json': { schema: obj({ token: str('API token') }) } } },
        responses: { '400': errors['400'], '401': errors['401'] },
      }),
      delete: operation('Sign out (clears the cookie)', 'Access', 'public', api, [], json(ref('Session'))),
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
      { name: 'Reports', description: 'Daily QCVN compliance and data completeness, JSON and CSV' },
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
