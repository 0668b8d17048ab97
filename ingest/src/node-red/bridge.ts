/**
 * What our Node-RED nodes (`nodes/*.js`, CommonJS, loaded by Node-RED itself) may do in the running ingest. The
 * embedding hands one bridge to Node-RED as `settings.envmon` before `RED.init`; a node reaches it as
 * `RED.settings.envmon`. Everything a flow does to data goes through the same code as MQTT data: `write` feeds the
 * pipeline (decode → validate → quarantine → QC → WAL → live hub), `query` reads the Store.
 */
import type { Catalogue } from '@envmon/protocol';
import type { AlarmLiveEvent } from '../alarms/engine.ts';
import { parseDuration } from '../alarms/duration.ts';
import { computeAggregates, type AggregateSeries } from '../api/aggregates.ts';
import type { StationConfig } from '../config/config.ts';
import type { LiveEvent, LiveHub } from '../live/hub.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Aggregate, Series, Store, StoredReading } from '../store/store.ts';

export interface ReadingFilter {
  /** Station ids; empty or absent = all. */
  stations?: readonly string[];
  /** Parameter codes; empty or absent = all. */
  params?: readonly string[];
  /** Only readings with status 00 (measuring) and no QC flag. */
  validOnly?: boolean;
}

export interface AlarmFilter {
  stations?: readonly string[];
  /** `raised`, `re-raised`, `acknowledged`, `cleared`, `closed`, `comment`, `calibration-started`, `calibration-ended`; empty = all. */
  actions?: readonly string[];
}

export interface WriteRejection {
  station: string | null;
  param: string | null;
  time: number | null;
  reason: string;
  detail: string;
}

export interface WriteOutcome {
  /** Readings now in the WAL (as stored: with QC flags), in input order per station. */
  accepted: StoredReading[];
  rejected: WriteRejection[];
}

export interface QueryInput {
  station?: unknown;
  param?: unknown;
  /** Unix ms or ISO 8601; default `to - last`. */
  from?: unknown;
  /** Unix ms or ISO 8601; default now. */
  to?: unknown;
  /** Span ending at `to` when `from` is not given: `24h`, `7d` …; default 24h. */
  last?: unknown;
  /** `series`: raw points or buckets of `every` with `agg`; `aggregates`: hourly/daily mean, min, max with coverage. */
  mode?: unknown;
  /** Bucket width (`5m`, `1h`, ms); empty or 0 = raw points (series), `1h` or `1d` (aggregates). */
  every?: unknown;
  agg?: unknown;
}

export type QueryOutcome =
  | ({ mode: 'series' } & Series)
  | { mode: 'aggregates'; station: string; from: number; to: number; every: '1h' | '1d'; series: AggregateSeries[] };

export interface EnvmonBridge {
  stations(): { id: string; name: string | null; medium: string; params: string[] }[];
  params(): { code: string; unit: string | null }[];
  onReadings(filter: ReadingFilter, fn: (station: string, readings: StoredReading[]) => void): () => void;
  onAlarms(filter: AlarmFilter, fn: (e: AlarmLiveEvent) => void): () => void;
  /** `source` names the writer in the quarantine's topic (`node-red/<source>`). */
  write(input: unknown, opts: { station?: string; source: string }): Promise<WriteOutcome>;
  query(q: QueryInput): Promise<QueryOutcome>;
}

export interface BridgeDeps {
  hub: LiveHub;
  pipeline: Pipeline;
  store: Store;
  stations: ReadonlyMap<string, StationConfig>;
  catalogue: Catalogue;
  now?: () => number;
}

const AGGS: readonly Aggregate[] = ['mean', 'min', 'max', 'last', 'count'];
/** Raw reads are limited like `/api/v1/series`: longer spans need buckets. */
const MAX_RAW_SPAN_MS = 31 * 86_400_000;
const NUMBER_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

export function createBridge(d: BridgeDeps): EnvmonBridge {
  const now = d.now ?? Date.now;
  let lastSeq = 0;
  const nextSeq = () => (lastSeq = Math.max(lastSeq + 1, now()));

  return {
    stations: () =>
      [...d.stations.values()].map((s) => ({ id: s.id, name: s.name ?? null, medium: s.medium, params: [...s.params] })),
    params: () => d.catalogue.codes().map((code) => ({ code, unit: d.catalogue.get(code)?.unit ?? null })),

    onReadings(filter, fn) {
      const stations = toSet(filter.stations);
      const params = toSet(filter.params);
      return d.hub.subscribe((e: LiveEvent) => {
        if (e.type !== 'readings' || (stations && !stations.has(e.station))) return;
        const picked = e.readings.filter(
          (r) => (!params || params.has(r.param)) && (!filter.validOnly || (r.status === 0 && r.qc_flags === 0 && r.value !== null)),
        );
        if (picked.length > 0) fn(e.station, picked);
      });
    },

    onAlarms(filter, fn) {
      const stations = toSet(filter.stations);
      const actions = toSet(filter.actions);
      return d.hub.subscribe((e: LiveEvent) => {
        if (e.type !== 'alarm' || (stations && !stations.has(e.station)) || (actions && !actions.has(e.action))) return;
        fn(e);
      });
    },

    async write(input, opts) {
      const rejected: WriteRejection[] = [];
      const accepted: StoredReading[] = [];
      const topic = `node-red/${opts.source}`;
      // Group by station, keeping the order; a reading whose shape is wrong goes alone, so the pipeline quarantines
      // it with its own reason while its neighbours are kept.
      const groups = new Map<string, Record<string, unknown>[]>();
      const alone: { station: string; reading: Record<string, unknown> }[] = [];
      for (const raw of readingsOf(input)) {
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
          rejected.push({ station: null, param: null, time: null, reason: 'schema', detail: 'a reading must be an object {station, param, time, value}' });
          continue;
        }
        const r = raw as Record<string, unknown>;
        const station = typeof r.station === 'string' && r.station !== '' ? r.station : opts.station;
        if (!station) {
          rejected.push({
            station: null,
            param: typeof r.param === 'string' ? r.param : null,
            time: typeof r.time === 'number' ? r.time : null,
            reason: 'schema',
            detail: 'no station: set "station" in the reading or the node',
          });
          continue;
        }
        const reading = normaliseReading(r);
        if (reading.ok) {
          const list = groups.get(station) ?? [];
          list.push(reading.value);
          groups.set(station, list);
        } else {
          alone.push({ station, reading: reading.value });
        }
      }
      const send = async (station: string, readings: Record<string, unknown>[]) => {
        const batch = { station, seq: nextSeq(), sent_at: now(), readings };
        const result = await d.pipeline.handleData(station, topic, Buffer.from(JSON.stringify(batch)));
        accepted.push(...result.accepted);
        for (const x of result.rejected) {
          // A batch-level reason (unknown station, schema) concerns every reading of it.
          const whole = x.param === undefined;
          const of = whole && readings.length === 1 ? readings[0]! : undefined;
          rejected.push({
            station,
            param: x.param ?? (typeof of?.param === 'string' ? of.param : null),
            time: x.time ?? (typeof of?.time === 'number' ? of.time : null),
            reason: x.reason,
            detail: whole && readings.length > 1 ? `${x.detail} (all ${readings.length} readings of the batch)` : x.detail,
          });
        }
      };
      for (const [station, readings] of groups) await send(station, readings);
      for (const a of alone) await send(a.station, [a.reading]);
      return { accepted, rejected };
    },

    async query(q) {
      const station = text(q.station, 'station');
      if (!d.stations.has(station)) throw new Error(`no station "${station}"`);
      const mode = q.mode === undefined || q.mode === '' ? 'series' : q.mode;
      if (mode !== 'series' && mode !== 'aggregates') throw new Error('"mode" must be series or aggregates');
      const to = q.to === undefined || q.to === '' ? now() : time(q.to, 'to');
      const from = q.from === undefined || q.from === '' ? to - duration(q.last ?? '24h', 'last') : time(q.from, 'from');
      if (from >= to) throw new Error('"from" must be before "to"');

      if (mode === 'aggregates') {
        const every = q.every === undefined || q.every === '' ? '1h' : q.every;
        if (every !== '1h' && every !== '1d') throw new Error('aggregates: "every" must be 1h or 1d');
        const params = paramList(q.param);
        const cfg = d.stations.get(station)!;
        const series = await computeAggregates(d.store, d.catalogue, {
          station,
          params: params.length > 0 ? params : cfg.params,
          from,
          to,
          every,
          tzOffsetMin: 420,
          expectedIntervalS: cfg.expected_interval_s,
          now: now(),
        });
        return { mode: 'aggregates', station, from, to, every, series };
      }

      const param = text(q.param, 'param');
      const every = q.every === undefined || q.every === '' || q.every === 0 || q.every === '0' ? 0 : duration(q.every, 'every');
      if (every === 0 && to - from > MAX_RAW_SPAN_MS) throw new Error('raw series are limited to 31 days: set "every" (e.g. 1h) for longer spans');
      const agg = q.agg === undefined || q.agg === '' ? 'mean' : q.agg;
      if (!AGGS.includes(agg as Aggregate)) throw new Error(`"agg" must be one of ${AGGS.join(', ')}`);
      const series = await d.store.series({ station, param, from, to, every, agg: agg as Aggregate });
      return { mode: 'series', ...series };
    },
  };
}

function toSet(list: readonly string[] | undefined): Set<string> | undefined {
  const clean = (list ?? []).map((s) => s.trim()).filter(Boolean);
  return clean.length > 0 ? new Set(clean) : undefined;
}

/** A reading, an array of readings, or a batch-like `{station, readings: [...]}` (its station applies to each). */
function readingsOf(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (typeof input === 'object' && input !== null && Array.isArray((input as { readings?: unknown }).readings)) {
    const b = input as { station?: unknown; readings: unknown[] };
    return b.readings.map((r) =>
      typeof r === 'object' && r !== null && !Array.isArray(r) && (r as { station?: unknown }).station === undefined && typeof b.station === 'string'
        ? { ...r, station: b.station }
        : r,
    );
  }
  return [input];
}

/**
 * The JSON-twin reading from what a flow holds: ISO times and numeric text (CSV) converted, `station` removed.
 * Anything else is left for the pipeline to judge; `ok: false` when the shape will fail its schema check.
 */
function normaliseReading(r: Record<string, unknown>): { ok: boolean; value: Record<string, unknown> } {
  const out: Record<string, unknown> = {};
  for (const k of ['param', 'time', 'value', 'status', 'qc_flags', 'period_s']) if (r[k] !== undefined) out[k] = r[k];
  if (typeof out.time === 'string') {
    const t = /^\d+$/.test(out.time) ? Number(out.time) : Date.parse(out.time);
    if (Number.isFinite(t)) out.time = t;
  } else if (out.time instanceof Date) {
    out.time = out.time.getTime();
  }
  if (typeof out.value === 'string') out.value = out.value.trim() === '' ? null : NUMBER_TEXT.test(out.value) ? Number(out.value) : out.value;
  const whole = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  const ok =
    typeof out.param === 'string' &&
    typeof out.time === 'number' &&
    whole(out.time) &&
    (out.value === null || out.value === undefined || typeof out.value === 'number') &&
    (out.status === undefined || [0, 1, 2, '0', '1', '2', '00', '01', '02'].includes(out.status as never)) &&
    whole(out.qc_flags) &&
    whole(out.period_s);
  return { ok, value: out };
}

function text(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new Error(`"${name}" is required`);
  return v.trim();
}

function paramList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  return [];
}

function time(v: unknown, name: string): number {
  const t = typeof v === 'number' ? v : v instanceof Date ? v.getTime() : typeof v === 'string' ? (/^\d+$/.test(v) ? Number(v) : Date.parse(v)) : NaN;
  if (!Number.isFinite(t)) throw new Error(`"${name}" must be Unix milliseconds or an ISO 8601 time`);
  return t;
}

function duration(v: unknown, name: string): number {
  if (typeof v === 'number') return v; // milliseconds, as msg properties usually are
  if (typeof v !== 'string') throw new Error(`"${name}" must be a duration like 5m, 1h, 24h`);
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  try {
    return parseDuration(v);
  } catch (err) {
    throw new Error(`"${name}": ${(err as Error).message}`);
  }
}
