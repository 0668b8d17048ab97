import type { Batch, Catalogue, Parameter, Reading } from '@envmon/protocol';
import type { StationConfig } from '../config/config.ts';
import type { StoredReading } from '../store/store.ts';

/** Stable reason codes: counted in /metrics, listed by /api/v1/rejects, kept in the quarantine. */
export type RejectReason =
  | 'empty'
  | 'malformed_protobuf'
  | 'malformed_json'
  | 'schema'
  | 'unknown_station'
  | 'station_mismatch'
  | 'unknown_param'
  | 'param_not_configured'
  | 'value_not_finite'
  | 'out_of_range'
  | 'time_in_future'
  | 'time_too_old';

export interface Rejected {
  reason: RejectReason;
  detail: string;
  reading: Reading;
}

export interface ValidationContext {
  catalogue: Catalogue;
  stations: ReadonlyMap<string, StationConfig>;
  maxFutureSkewMs: number;
  maxBackfillMs: number;
  now: number;
}

/**
 * Checks each reading of a decoded batch on its own: one bad reading is rejected with a reason,
 * the good ones beside it go on. Nothing here throws.
 */
export function validateBatch(
  batch: Batch,
  topicStation: string,
  ctx: ValidationContext,
): { accepted: StoredReading[]; rejected: Rejected[]; batchError?: { reason: RejectReason; detail: string } } {
  if (batch.station !== topicStation) {
    return {
      accepted: [],
      rejected: [],
      batchError: { reason: 'station_mismatch', detail: `batch says station "${batch.station.slice(0, 64)}" but was published under "${topicStation}"` },
    };
  }
  const station = ctx.stations.get(topicStation);
  if (!station) {
    return { accepted: [], rejected: [], batchError: { reason: 'unknown_station', detail: `station "${topicStation}" is not configured` } };
  }
  const accepted: StoredReading[] = [];
  const rejected: Rejected[] = [];
  const reject = (reading: Reading, reason: RejectReason, detail: string) => rejected.push({ reading, reason, detail });
  const anyParam = station.params.length === 0;
  const newest = ctx.now + ctx.maxFutureSkewMs;
  const oldest = ctx.now - ctx.maxBackfillMs;
  // A batch is long runs of a few parameters: the catalogue and station lookups are redone only when it changes.
  let code: string | undefined;
  let param: Parameter | undefined;
  let configured = false;
  for (const r of batch.readings) {
    if (r.param !== code) {
      code = r.param;
      param = ctx.catalogue.get(code);
      configured = anyParam || station.params.includes(code);
    }
    if (!param) {
      reject(r, 'unknown_param', `parameter "${r.param.slice(0, 64)}" is not in the catalogue`);
      continue;
    }
    if (!configured) {
      reject(r, 'param_not_configured', `station ${station.id} is not configured to report ${r.param}`);
      continue;
    }
    if (r.value !== null && !Number.isFinite(r.value)) {
      reject(r, 'value_not_finite', `${r.param} value ${String(r.value)} is not a finite number`);
      continue;
    }
    if (r.value !== null && (r.value < param.range[0] || r.value > param.range[1])) {
      reject(r, 'out_of_range', `${r.param} = ${r.value} ${param.unit} is outside the physical range [${param.range[0]}, ${param.range[1]}]`);
      continue;
    }
    if (r.time > newest) {
      reject(r, 'time_in_future', `${r.param} time ${new Date(r.time).toISOString()} is ahead of the ingest clock by more than ${ctx.maxFutureSkewMs / 1000} s`);
      continue;
    }
    if (r.time < oldest) {
      reject(r, 'time_too_old', `${r.param} time ${safeIso(r.time)} is older than the backfill window`);
      continue;
    }
    accepted.push({ station: topicStation, param: r.param, time: r.time, value: r.value, status: r.status, qc_flags: r.qc_flags, period_s: r.period_s });
  }
  return { accepted, rejected };
}

function safeIso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}
