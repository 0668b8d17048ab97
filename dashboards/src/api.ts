/**
 * Client for the ingest HTTP API (`/api/v1/...`). The dashboard depends on this API only (DESIGN.md, "Rooms"),
 * so the shapes are declared here rather than imported from `@envmon/protocol`: the browser bundle stays free of
 * protobuf/zod, and a change in the API shows up as a type error in exactly one file.
 */

export type Lang = 'vi' | 'en';
export type Medium = 'air' | 'water' | 'stack' | 'weather';
/** TT10/2021 device status: 0 measuring, 1 calibrating, 2 device error. */
export type DeviceStatus = 0 | 1 | 2;

export interface Parameter {
  code: string;
  name: Record<Lang, string>;
  unit: string;
  decimals: number;
  medium: Medium;
}

export interface Station {
  id: string;
  name: string;
  medium: Medium;
  params: string[];
  online: boolean;
  /** Unix ms of the newest reading, null when the station has never sent one. */
  last_seen: number | null;
  /** From the ingest config; stations without one are listed but not drawn on the map. */
  location?: { lat: number; lon: number } | null;
}

export interface Reading {
  station: string;
  param: string;
  /** Measurement time at the source, Unix ms. */
  time: number;
  value: number | null;
  status: DeviceStatus;
  qc_flags: number;
  /** 0 = raw sample, otherwise the averaging period in seconds. */
  period_s: number;
}

export interface SeriesPoint {
  /** Bucket start (epoch-aligned), or the reading's time when raw. */
  time: number;
  value: number | null;
  /** Readings with a value in the bucket; 1 for raw points. */
  count: number;
  /** Raw points only. */
  status?: DeviceStatus;
  qc_flags?: number;
}

export interface SeriesQuery {
  station: string;
  param: string;
  from: number;
  to: number;
  /** Bucket width in ms; 0 = raw readings. */
  every: number;
  agg: 'mean' | 'min' | 'max';
}

export interface Series {
  station: string;
  param: string;
  from: number;
  to: number;
  every: number;
  agg: string;
  points: SeriesPoint[];
  /** Readings with a value in [from, to), over all buckets (coverage; not shown yet). */
  observed: number;
}

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  signed_in: boolean;
  name: string | null;
  role: Role | null;
  open_data: 'public' | 'key';
}

export interface ServerConfig {
  open_data: 'public' | 'key';
  map: { tile_url: string | null; tile_attribution: string | null };
}

/** One regulation limit in force (`/limits`). */
export interface Limit {
  profile: string;
  param: string;
  period: 'instant' | '1h' | '8h' | '24h' | 'annual';
  column: 'A' | 'B' | null;
  max: number | null;
  min: number | null;
  unit: string;
  source: string;
  unconfirmed: boolean;
}

export interface Limits {
  at: number;
  /** Profile id per station medium (`dashboard.limits` in the ingest config). */
  by_medium: Partial<Record<Medium, string>>;
  /** Wastewater column used for colouring. */
  column: 'A' | 'B';
  limits: Limit[];
}

/** VN_AQI of one station (`/aqi`, computed by ingest/src/aqi). Only the fields the page shows. */
export interface Aqi {
  station: string;
  kind: 'hourly' | 'daily';
  aqi: number | null;
  category: { key: string; name: Record<Lang, string>; colour: { hex: string } } | null;
  dominant: string | null;
  reason?: string;
  period: { from: string; to: string; from_ms: number; to_ms: number; day?: string };
  pollutants: { param: string; aqi: number | null; concentration: number | null }[];
}

export interface AggregateBucket {
  time: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  observed: number;
  expected: number;
  coverage: number | null;
}

export interface Aggregates {
  station: string;
  from: number;
  to: number;
  every: '1h' | '1d';
  expected_interval_s: number;
  series: { param: string; unit: string | null; buckets: AggregateBucket[]; observed: number; expected: number; coverage: number | null }[];
}

export type AlarmState = 'raised' | 'acknowledged' | 'cleared' | 'closed';

/** An alarm as `/alarms` lists it (ingest/src/alarms/types.ts, AlarmView); only the fields the page shows. */
export interface Alarm {
  id: number;
  rule: string;
  rule_name: Record<Lang, string>;
  kind: string;
  severity: 'critical' | 'major' | 'minor' | 'warning';
  station: string;
  param: string;
  state: AlarmState;
  occurrences: number;
  raised_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
  value: number | null;
  limit: { above?: number; below?: number; source?: string } | null;
  detail: string;
}

/** One row of a daily compliance report (`/reports/compliance`, ingest/src/reports/daily-report.ts). */
export interface ComplianceRow {
  param: string;
  period: Limit['period'];
  column?: 'A' | 'B';
  limit: { min: number | null; max: number | null; unit: string; source: string; unconfirmed: boolean; note?: string };
  evaluated: number;
  expected: number;
  exceedances: number;
  worst: number | null;
  status: 'compliant' | 'exceeded' | 'no_data';
  exceeded_at: { time: string; value: number }[];
}

/** Compliance of one station on one Vietnamese day against its QCVN profile. */
export interface ComplianceReport {
  station: string;
  day: string;
  profile: { id: string; title: string } | null;
  note?: string;
  rows: ComplianceRow[];
  skipped: { param: string; period: string; reason: string }[];
}

export interface Api {
  parameters(): Promise<Parameter[]>;
  stations(): Promise<Station[]>;
  latest(station?: string): Promise<Reading[]>;
  series(q: SeriesQuery): Promise<Series>;
  config(): Promise<ServerConfig>;
  session(): Promise<Session>;
  signIn(token: string): Promise<Session>;
  signOut(): Promise<Session>;
  limits(): Promise<Limits>;
  aqi(station: string, kind: 'hourly' | 'daily'): Promise<Aqi>;
  aggregates(q: { station: string; params: string[]; from: number; to: number; every: '1h' | '1d' }): Promise<Aggregates>;
  alarms(station?: string): Promise<Alarm[]>;
  acknowledge(id: number, comment?: string): Promise<Alarm>;
  /** Needs a viewer token (the session cookie). */
  compliance(station: string, day: string): Promise<ComplianceReport>;
}

/** `/reports/compliance.csv` of one station and day (YYYY-MM-DD, Vietnam time); a plain link like /export.csv. */
export function complianceCsvUrl(base: string, station: string, day: string): string {
  return `${base}/api/v1/reports/compliance.csv?${new URLSearchParams({ station, day }).toString()}`;
}

/** `/export.csv` for a range; a plain link, so the browser streams the download to disk. */
export function exportUrl(base: string, q: { station: string; params: string[]; from: number; to: number; every: string }): string {
  const p = new URLSearchParams({ station: q.station, param: q.params.join(','), from: String(q.from), to: String(q.to) });
  if (q.every !== 'raw') p.set('every', q.every);
  return `${base}/api/v1/export.csv?${p.toString()}`;
}

export class ApiError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Builds `/api/v1/series?...`; every=0 is left out because the API reads "omitted" as raw. */
export function seriesUrl(base: string, q: SeriesQuery): string {
  const p = new URLSearchParams({ station: q.station, param: q.param, from: String(q.from), to: String(q.to) });
  if (q.every > 0) {
    p.set('every', String(q.every));
    p.set('agg', q.agg);
  }
  return `${base}/api/v1/series?${p.toString()}`;
}

/**
 * @param base  origin prefix, '' for same-origin (the ingest serves the page and the API together).
 * @param fetchFn injectable so the URL building and error handling are testable without a server.
 */
export function createApi(base = '', fetchFn: typeof fetch = (...a) => fetch(...a)): Api {
  /** Fetches JSON and checks that `field` is present, so a wrong route fails loudly here, not deep in a view. */
  async function get(url: string, field: string | null, init: RequestInit = {}): Promise<Record<string, unknown>> {
    // Same-origin requests carry the session cookie (POST /session) by default.
    const res = await fetchFn(url, { ...init, headers: { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    if (!res.ok) {
      // The ingest answers errors as JSON `{ error: ... }`; fall back to the status text if it did not.
      let detail = res.statusText;
      try {
        const body = (await res.json()) as { error?: unknown; message?: unknown };
        const msg = body.error ?? body.message;
        if (typeof msg === 'string') detail = msg;
      } catch {
        /* body was not JSON; the status text is the best we have */
      }
      throw new ApiError(url, res.status, `${init.method ?? 'GET'} ${url}: HTTP ${res.status} ${detail}`.trim());
    }
    const body = (await res.json()) as Record<string, unknown>;
    if (field !== null && !Array.isArray(body[field])) {
      throw new ApiError(url, res.status, `GET ${url}: expected an array in "${field}", got ${typeof body[field]}`);
    }
    return body;
  }

  return {
    parameters: async () => (await get(`${base}/api/v1/parameters`, 'parameters')).parameters as Parameter[],
    stations: async () => (await get(`${base}/api/v1/stations`, 'stations')).stations as Station[],
    latest: async (station) => {
      const q = station ? `?station=${encodeURIComponent(station)}` : '';
      return (await get(`${base}/api/v1/latest${q}`, 'readings')).readings as Reading[];
    },
    series: async (q) => (await get(seriesUrl(base, q), 'points')) as unknown as Series,
    config: async () => (await get(`${base}/api/v1/config`, null)) as unknown as ServerConfig,
    session: async () => (await get(`${base}/api/v1/session`, null)) as unknown as Session,
    signIn: async (token) => (await get(`${base}/api/v1/session`, null, { method: 'POST', body: JSON.stringify({ token }) })) as unknown as Session,
    signOut: async () => (await get(`${base}/api/v1/session`, null, { method: 'DELETE' })) as unknown as Session,
    limits: async () => (await get(`${base}/api/v1/limits`, 'limits')) as unknown as Limits,
    aqi: async (station, kind) =>
      (await get(`${base}/api/v1/aqi?station=${encodeURIComponent(station)}&kind=${kind}`, 'pollutants')) as unknown as Aqi,
    aggregates: async (q) => {
      const p = new URLSearchParams({ station: q.station, param: q.params.join(','), from: String(q.from), to: String(q.to), every: q.every });
      return (await get(`${base}/api/v1/aggregates?${p.toString()}`, 'series')) as unknown as Aggregates;
    },
    alarms: async (station) => {
      const q = station ? `?station=${encodeURIComponent(station)}` : '';
      return (await get(`${base}/api/v1/alarms${q}`, 'alarms')).alarms as Alarm[];
    },
    acknowledge: async (id, comment) =>
      (await get(`${base}/api/v1/alarms/${id}/ack`, null, { method: 'POST', body: JSON.stringify(comment ? { comment } : {}) })).alarm as Alarm,
    compliance: async (station, day) => {
      const p = new URLSearchParams({ station, day });
      const reports = (await get(`${base}/api/v1/reports/compliance?${p.toString()}`, 'reports')).reports as ComplianceReport[];
      const r = reports[0];
      if (!r) throw new ApiError(`${base}/api/v1/reports/compliance`, 200, `no report for ${station} on ${day}`);
      return r;
    },
  };
}
