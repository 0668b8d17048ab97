import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { catalogue } from '@envmon/protocol';
import { ConfigError, parseYamlWith } from '../config/yaml-errors.ts';
import { Duration } from './duration.ts';
import { limitInForce, loadLimitProfiles, selectLimits, type LimitEntry, type LimitProfile } from './limits.ts';
import type { AlarmLimit, RuleKind, Severity } from './types.ts';

const Name = z.union([z.string().min(1), z.object({ vi: z.string().min(1), en: z.string().min(1) }).strict()]);
const Stations = z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]).default('*');
const ParamCode = z.string().refine((c) => catalogue().has(c), 'not a parameter code in protocol/parameters.yaml');
const Hysteresis = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?%$/, 'hysteresis is a number in the parameter unit or a percentage of the limit, e.g. 10%'),
]);
const RaiseSchema = z
  .object({
    /** The condition must hold this long (by reading time) before the alarm is raised. */
    for: Duration.optional(),
    /** ... and for at least this many consecutive readings. */
    count: z.number().int().positive().optional(),
  })
  .strict()
  .default({});
const ClearSchema = z
  .object({
    /** Clear only when the value is below this (for upper limits). */
    below: z.number().optional(),
    /** Clear only when the value is above this (for lower limits). */
    above: z.number().optional(),
    for: Duration.optional(),
    count: z.number().int().positive().optional(),
  })
  .strict()
  .default({});
const LimitRef = z
  .object({
    profile: z.string(),
    /** Defaults to the rule's param. */
    param: z.string().optional(),
    period: z.enum(['instant', '1h', '8h', '24h', 'annual']).optional(),
    /** Wastewater column; defaults to the station's station_settings.<id>.column. */
    column: z.enum(['A', 'B']).optional(),
  })
  .strict();

const Common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'rule ids are lower case letters, digits, _ . -'),
  name: Name.optional(),
  severity: z.enum(['critical', 'major', 'minor', 'warning']).default('major'),
  stations: Stations,
  /** Escalation policy in the recipients file; defaults.notify when absent; "none" = record only. */
  notify: z.string().optional(),
  enabled: z.boolean().default(true),
  raise: RaiseSchema,
  clear: ClearSchema,
};

const ThresholdRule = z
  .object({
    ...Common,
    kind: z.literal('threshold'),
    param: ParamCode,
    /** instant: each reading; mean: the rolling mean over `window`. */
    value: z.enum(['instant', 'mean']).default('instant'),
    window: Duration.optional(),
    /** A mean needs at least this many readings in the window. */
    min_samples: z.number().int().positive().default(1),
    /** Readings of this averaging period are evaluated: 0 = raw samples (default), 60/300 = gateway means. */
    period_s: z.number().int().nonnegative().default(0),
    above: z.number().optional(),
    below: z.number().optional(),
    limit: LimitRef.optional(),
    /** Accept a limit value marked unconfirmed in its profile (the alarm then says so). */
    allow_unconfirmed: z.boolean().default(false),
    hysteresis: Hysteresis.optional(),
  })
  .strict();
const RateRule = z
  .object({
    ...Common,
    kind: z.literal('rate_of_change'),
    param: ParamCode,
    period_s: z.number().int().nonnegative().default(0),
    /** Raise when |Δvalue| per `per` exceeds this. */
    max_change: z.number().positive(),
    per: Duration.default(60_000),
    hysteresis: Hysteresis.optional(),
  })
  .strict();
const FlatlineRule = z
  .object({
    ...Common,
    kind: z.literal('flatline'),
    param: ParamCode,
    period_s: z.number().int().nonnegative().default(0),
    /** Raise when the value stays within `tolerance` of itself this long. */
    for: Duration,
    tolerance: z.number().nonnegative().default(0),
  })
  .strict();
const SilentRule = z
  .object({
    ...Common,
    kind: z.literal('silent'),
    /** Raise when no reading has arrived from the station for this long (checked by a timer). */
    after: Duration,
  })
  .strict();
const FaultRule = z
  .object({
    ...Common,
    kind: z.literal('device_fault'),
    /** Parameters watched; default all the station reports. */
    params: z.union([z.literal('*'), z.array(ParamCode).min(1)]).default('*'),
  })
  .strict();

const RuleSchema = z.discriminatedUnion('kind', [ThresholdRule, RateRule, FlatlineRule, SilentRule, FaultRule]);
type RuleInput = z.infer<typeof RuleSchema>;

const StationSettings = z
  .object({
    /** QCVN 40 column for this discharge (A or B). */
    column: z.enum(['A', 'B']).optional(),
    /** QCVN 40:2011 Kq (receiving water) and Kf (discharge flow) coefficients: Cmax = C × Kq × Kf. */
    kq: z.number().positive().optional(),
    kf: z.number().positive().optional(),
  })
  .strict();

const RulesFileSchema = z
  .object({
    version: z.literal(1),
    defaults: z.object({ notify: z.string().optional() }).strict().default({}),
    station_settings: z.record(z.string(), StationSettings).default({}),
    rules: z.array(RuleSchema),
  })
  .strict();
export type StationSettingsT = z.infer<typeof StationSettings>;

export interface ResolvedLimit extends AlarmLimit {
  /** Human text: "50 µg/Nm³ (QCVN 05:2023 ...)". */
  label: string;
}

/** A rule ready to evaluate: names, durations in ms, limit resolved per station and time. */
export interface CompiledRule {
  id: string;
  name: { vi: string; en: string };
  kind: RuleKind;
  severity: Severity;
  notify: string | undefined;
  stations: '*' | ReadonlySet<string>;
  /** The parameter a limit rule watches; "*" for silent; device_fault: params or '*'. */
  params: '*' | readonly string[];
  period_s: number;
  value: 'instant' | 'mean';
  windowMs: number;
  minSamples: number;
  raise: { forMs: number; count: number };
  clear: { forMs: number; count: number; below?: number; above?: number };
  hysteresis?: { abs?: number; pct?: number };
  maxChange?: number;
  perMs?: number;
  flatForMs?: number;
  tolerance?: number;
  silentAfterMs?: number;
  /** Threshold rules: the limit in force for a station at a time, undefined when none is. */
  limitFor?(station: string, time: number): ResolvedLimit | undefined;
  /** Calibration (status 01) suppresses this rule: true for limit rules. */
  suppressedByCalibration: boolean;
}

export interface RuleSet {
  rules: CompiledRule[];
  stationSettings: Record<string, StationSettingsT>;
}

export interface RuleLoadOptions {
  profiles?: Map<string, LimitProfile>;
  /** Known station ids: a rule naming another is an error. */
  stations?: readonly string[];
  /** Known escalation policies: a rule naming another is an error. */
  policies?: readonly string[];
}

export function parseRules(text: string, fileName: string, o: RuleLoadOptions = {}): RuleSet {
  const file = parseYamlWith(RulesFileSchema, text, fileName);
  const profiles = o.profiles ?? loadLimitProfiles();
  const seen = new Set<string>();
  const rules: CompiledRule[] = [];
  file.rules.forEach((r, i) => {
    const where = `${fileName}: rules.${i} (${r.id})`;
    if (seen.has(r.id)) throw new ConfigError(`${where}: rule id is used twice; give each rule its own id`);
    seen.add(r.id);
    if (!r.enabled) return;
    if (o.stations && r.stations !== '*') {
      for (const s of r.stations) if (!o.stations.includes(s)) throw new ConfigError(`${where}: station "${s}" is not configured (known: ${o.stations.join(', ')})`);
    }
    const notify = r.notify ?? file.defaults.notify;
    if (notify && notify !== 'none' && o.policies && !o.policies.includes(notify)) {
      throw new ConfigError(`${where}: notify: no escalation policy "${notify}" in the recipients file (known: ${o.policies.join(', ') || 'none'})`);
    }
    try {
      rules.push(compile(r, notify === 'none' ? undefined : notify, profiles, file.station_settings));
    } catch (err) {
      throw new ConfigError(`${where}: ${(err as Error).message}`);
    }
  });
  return { rules, stationSettings: file.station_settings };
}

export function loadRules(path: string, o: RuleLoadOptions = {}): RuleSet {
  return parseRules(readFileSync(path, 'utf8'), path, o);
}

function nameOf(r: RuleInput): { vi: string; en: string } {
  if (!r.name) return { vi: r.id, en: r.id };
  return typeof r.name === 'string' ? { vi: r.name, en: r.name } : r.name;
}

function hysteresisOf(h: number | string | undefined): CompiledRule['hysteresis'] {
  if (h === undefined) return undefined;
  if (typeof h === 'number') return { abs: h };
  return { pct: Number(h.slice(0, -1)) };
}

const PERIOD_MS: Record<string, number> = { '1h': 3_600_000, '8h': 8 * 3_600_000, '24h': 86_400_000 };

function compile(r: RuleInput, notify: string | undefined, profiles: Map<string, LimitProfile>, settings: Record<string, StationSettingsT>): CompiledRule {
  const base = {
    id: r.id,
    name: nameOf(r),
    kind: r.kind,
    severity: r.severity as Severity,
    notify,
    stations: r.stations === '*' ? ('*' as const) : new Set(r.stations),
    raise: { forMs: r.raise.for ?? 0, count: r.raise.count ?? 1 },
    clear: { forMs: r.clear.for ?? 0, count: r.clear.count ?? 1, below: r.clear.below, above: r.clear.above },
    period_s: 0,
    value: 'instant' as const,
    windowMs: 0,
    minSamples: 1,
    suppressedByCalibration: false,
  };
  switch (r.kind) {
    case 'silent':
      return { ...base, params: '*', silentAfterMs: r.after };
    case 'device_fault':
      return { ...base, params: r.params === '*' ? '*' : r.params };
    case 'flatline':
      return { ...base, params: [r.param], period_s: r.period_s, flatForMs: r.for, tolerance: r.tolerance, suppressedByCalibration: true };
    case 'rate_of_change':
      return { ...base, params: [r.param], period_s: r.period_s, maxChange: r.max_change, perMs: r.per, hysteresis: hysteresisOf(r.hysteresis), suppressedByCalibration: true };
    case 'threshold': {
      let windowMs = r.window ?? 0;
      let limitFor: CompiledRule['limitFor'];
      if (r.limit) {
        if (r.above !== undefined || r.below !== undefined) throw new Error('give either limit: (from a profile) or above:/below:, not both');
        const sel = r.limit;
        const param = sel.param ?? r.param;
        const profile = profiles.get(sel.profile);
        if (!profile) throw new Error(`limit.profile: no limit profile "${sel.profile}" (known: ${[...profiles.keys()].join(', ')})`);
        const needsColumn = profile.limits.some((e) => e.param === param && e.column);
        // One row set per column actually used by the stations this rule covers.
        const rowsByColumn = new Map<string, LimitEntry[]>();
        const columnFor = (station: string): 'A' | 'B' | undefined => sel.column ?? settings[station]?.column;
        const rowsFor = (column: 'A' | 'B' | undefined): LimitEntry[] => {
          const key = column ?? '';
          let rows = rowsByColumn.get(key);
          if (!rows) {
            rows = selectLimits(profiles, { profile: sel.profile, param, period: sel.period, column });
            for (const e of rows) {
              if (e.unconfirmed && !r.allow_unconfirmed) {
                throw new Error(`the ${e.param} ${e.period}${e.column ? ` column ${e.column}` : ''} limit in ${sel.profile} is marked unconfirmed (${e.source}); set allow_unconfirmed: true to use it anyway`);
              }
              if (e.max == null && e.min == null) throw new Error(`the ${e.param} limit in ${sel.profile} has no known value (${e.source})`);
            }
            rowsByColumn.set(key, rows);
          }
          return rows;
        };
        if (needsColumn) {
          if (!sel.column && r.stations === '*') throw new Error('limit: this profile has columns A/B: set limit.column, or list the stations and give each station_settings.<id>.column');
          const stationList = r.stations === '*' ? [] : r.stations;
          for (const s of stationList) {
            const col = columnFor(s);
            if (!col) throw new Error(`limit: station ${s} has no column: set limit.column or station_settings.${s}.column`);
            const rows = rowsFor(col);
            if (rows.some((e) => e.kq_kf === 'applies') && (settings[s]?.kq === undefined || settings[s]?.kf === undefined)) {
              throw new Error(`limit: ${sel.profile} computes Cmax = C × Kq × Kf for ${param}: set station_settings.${s}.kq and .kf (their tables are unconfirmed; take them from the station's permit)`);
            }
          }
          if (sel.column) rowsFor(sel.column);
        } else {
          rowsFor(undefined);
        }
        const rows0 = rowsFor(needsColumn ? (sel.column ?? columnFor(r.stations === '*' ? '' : r.stations[0]!)) : undefined);
        const period = rows0[0]!.period;
        if (r.value === 'mean' && !r.window) {
          if (!(period in PERIOD_MS)) throw new Error(`value: mean needs a window (the ${period} limit has no averaging window)`);
          windowMs = PERIOD_MS[period]!;
        }
        limitFor = (station, time) => {
          const col = needsColumn ? columnFor(station) : undefined;
          if (needsColumn && !col) return undefined;
          let rows: LimitEntry[];
          try {
            rows = rowsFor(col);
          } catch {
            return undefined;
          }
          const e = limitInForce(rows, time);
          if (!e) return undefined;
          const factor = e.kq_kf === 'applies' ? (settings[station]?.kq ?? 1) * (settings[station]?.kf ?? 1) : 1;
          const above = e.max == null ? undefined : round(e.max * factor);
          const below = e.min == null ? undefined : e.min;
          const factorText = e.kq_kf === 'applies' ? ` × Kq ${settings[station]?.kq} × Kf ${settings[station]?.kf}` : '';
          const bound = above !== undefined && below !== undefined ? `${below}–${above}` : `${above ?? below}`;
          return {
            above,
            below,
            profile: sel.profile,
            source: e.source + factorText,
            unconfirmed: e.unconfirmed || undefined,
            label: `${bound} ${e.unit} (${e.source}${factorText}${e.unconfirmed ? ', UNCONFIRMED' : ''})`,
          };
        };
      } else {
        if (r.above === undefined && r.below === undefined) throw new Error('a threshold rule needs above:, below: or limit:');
        const lim = { above: r.above, below: r.below };
        const unit = catalogue().get(r.param)?.unit ?? '';
        const bound = lim.above !== undefined && lim.below !== undefined ? `${lim.below}–${lim.above}` : `${lim.above ?? lim.below}`;
        limitFor = () => ({ ...lim, label: `${bound} ${unit}`.trim() });
      }
      if (r.value === 'mean' && windowMs <= 0) throw new Error('value: mean needs window: (e.g. 1h, 8h, 24h)');
      if (r.value === 'instant' && r.window) throw new Error('window: only applies to value: mean');
      return {
        ...base,
        params: [r.param],
        period_s: r.period_s,
        value: r.value,
        windowMs,
        minSamples: r.min_samples,
        hysteresis: hysteresisOf(r.hysteresis),
        limitFor,
        suppressedByCalibration: true,
      };
    }
  }
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

export function ruleApplies(rule: CompiledRule, station: string): boolean {
  return rule.stations === '*' || rule.stations.has(station);
}
