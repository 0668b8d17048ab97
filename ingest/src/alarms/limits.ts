import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { catalogue } from '@envmon/protocol';
import { ConfigError, parseYamlWith } from '../config/yaml-errors.ts';

/** Effective dates are Vietnamese calendar days: they start at 00:00 Asia/Ho_Chi_Minh (UTC+7, no DST). */
export function vnDayStart(date: string): number {
  return Date.parse(`${date}T00:00:00+07:00`);
}

const DateText = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'write dates as YYYY-MM-DD (quoted)');

const LimitEntrySchema = z
  .object({
    /** Parameter code: a protocol catalogue code where one exists (PM2_5, COD, ...). */
    param: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'parameter codes are upper case letters, digits and _'),
    name: z.string().optional(),
    /** Averaging period of the limit: 1h, 8h, 24h, annual; "instant" for values compared sample by sample (wastewater). */
    period: z.enum(['instant', '1h', '8h', '24h', 'annual']),
    /** Wastewater column (A: water used for domestic supply, B: not); absent for air. */
    column: z.enum(['A', 'B']).optional(),
    /** Upper limit; null when the value is not known (must then be marked unconfirmed). */
    max: z.number().nullable().optional(),
    /** Lower limit (pH). */
    min: z.number().nullable().optional(),
    unit: z.string(),
    effective_from: DateText,
    /** Last day in force (inclusive); absent = still in force. */
    effective_to: DateText.optional(),
    /** Where the value comes from: regulation, table and row. */
    source: z.string().min(3),
    /** P = primary text, S = secondary, C = open-source convention (see shared/research/vn-regulations.md). */
    tag: z.enum(['P', 'S', 'C']),
    /** Not confirmed from the primary text: rules must opt in with allow_unconfirmed. */
    unconfirmed: z.boolean().default(false),
    /** QCVN 40 only: whether Cmax = C × Kq × Kf applies to this parameter. */
    kq_kf: z.enum(['applies', 'exempt']).optional(),
    /** The Kq/Kf applicability of this row is itself unconfirmed. */
    kq_kf_unconfirmed: z.boolean().optional(),
    note: z.string().optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.max == null && e.min == null && !e.unconfirmed) ctx.addIssue({ code: 'custom', message: 'a limit needs max and/or min; a value nobody could confirm is written max: null with unconfirmed: true' });
  });
export type LimitEntry = z.infer<typeof LimitEntrySchema>;

const ProfileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'profile ids are lower case, digits and -'),
    title: z.string(),
    /** The legal instrument that issued it and when. */
    issued_by: z.string(),
    effective_from: DateText,
    superseded_by: z.string().optional(),
    /** How the allowed value is computed, e.g. "Cmax = C × Kq × Kf". */
    formula: z.string().optional(),
    sources: z.array(z.string()).min(1),
    limits: z.array(LimitEntrySchema).min(1),
  })
  .strict();
export type LimitProfile = z.infer<typeof ProfileSchema>;

export const DEFAULT_LIMITS_DIR = fileURLToPath(new URL('../../limits/', import.meta.url));

export function parseLimitProfile(text: string, fileName: string): LimitProfile {
  const p = parseYamlWith(ProfileSchema, text, fileName);
  const cat = catalogue();
  p.limits.forEach((e, i) => {
    const known = cat.get(e.param);
    if (known && known.unit !== e.unit && !(known.unit === 'pH' && e.unit === '-')) {
      throw new ConfigError(`${fileName}: limits.${i} (${e.param}): unit "${e.unit}" differs from the catalogue's "${known.unit}"; convert the value or fix the unit`);
    }
    if (e.effective_to && vnDayStart(e.effective_to) < vnDayStart(e.effective_from)) {
      throw new ConfigError(`${fileName}: limits.${i} (${e.param}): effective_to is before effective_from`);
    }
  });
  return p;
}

/** Every `*.yaml` profile in a folder (default: ingest/limits/), by id. */
export function loadLimitProfiles(dir = DEFAULT_LIMITS_DIR): Map<string, LimitProfile> {
  const out = new Map<string, LimitProfile>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    const path = join(dir, f);
    const p = parseLimitProfile(readFileSync(path, 'utf8'), path);
    if (out.has(p.id)) throw new ConfigError(`${path}: profile id ${p.id} is used twice`);
    out.set(p.id, p);
  }
  return out;
}

export interface LimitSelector {
  profile: string;
  param: string;
  period?: LimitEntry['period'];
  column?: 'A' | 'B';
}

/** The profile rows a selector matches (all effective periods), in date order. */
export function selectLimits(profiles: Map<string, LimitProfile>, s: LimitSelector): LimitEntry[] {
  const p = profiles.get(s.profile);
  if (!p) throw new Error(`no limit profile "${s.profile}" (known: ${[...profiles.keys()].join(', ') || 'none'})`);
  const rows = p.limits.filter((e) => e.param === s.param && (!s.period || e.period === s.period) && (!s.column || e.column === s.column));
  if (rows.length === 0) {
    throw new Error(`profile ${s.profile} has no limit for ${s.param}${s.period ? ` ${s.period}` : ''}${s.column ? ` column ${s.column}` : ''}`);
  }
  const periods = new Set(rows.map((r) => `${r.period}/${r.column ?? ''}`));
  if (periods.size > 1) throw new Error(`profile ${s.profile} has several limits for ${s.param} (${[...periods].join(', ')}): name the period${rows.some((r) => r.column) ? ' and column' : ''}`);
  return rows.sort((a, b) => vnDayStart(a.effective_from) - vnDayStart(b.effective_from));
}

/** The row in force at `time` (Unix ms), or undefined. */
export function limitInForce(rows: readonly LimitEntry[], time: number): LimitEntry | undefined {
  return rows.find((e) => vnDayStart(e.effective_from) <= time && (!e.effective_to || time < vnDayStart(e.effective_to) + 86_400_000));
}
