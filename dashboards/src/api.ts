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
  agg: 'mean';
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

export interface Api {
  parameters(): Promise<Parameter[]>;
  stations(): Promise<Station[]>;
  latest(station?: string): Promise<Reading[]>;
  series(q: SeriesQuery): Promise<Series>;
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
  async function get(url: string, field: string): Promise<Record<string, unknown>> {
    const res = await fetchFn(url, { headers: { accept: 'application/json' } });
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
      throw new ApiError(url, res.status, `GET ${url}: HTTP ${res.status} ${detail}`.trim());
    }
    const body = (await res.json()) as Record<string, unknown>;
    if (!Array.isArray(body[field])) {
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
  };
}
