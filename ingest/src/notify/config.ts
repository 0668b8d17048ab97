import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Duration } from '../alarms/duration.ts';
import { ConfigError, parseYamlWith } from '../config/yaml-errors.ts';

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'ids are letters, digits, _ . - (no spaces)');
const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, e.g. ENVMON_SMS_URL');
const RateLimit = z.object({ max: z.number().int().positive(), per: Duration }).strict();

const SignatureSchema = z
  .object({
    /** The shared secret comes from this environment variable or file, never from the YAML. */
    secret_env: EnvName.optional(),
    secret_file: z.string().optional(),
    header: z.string().default('X-Signature'),
    algorithm: z.enum(['sha256', 'sha1', 'sha512']).default('sha256'),
    /** Written before the hex digest, e.g. "sha256=". */
    prefix: z.string().default('sha256='),
  })
  .strict()
  .refine((s) => s.secret_env || s.secret_file, 'give secret_env (an environment variable name) or secret_file');

const ProviderSchema = z
  .object({
    kind: z.literal('sms_webhook').default('sms_webhook'),
    /** The gateway URL, or the name of the environment variable holding it (URLs often carry tokens). */
    url: z.string().url().optional(),
    url_env: EnvName.optional(),
    method: z.enum(['POST', 'PUT']).default('POST'),
    /** json: a JSON object; form: application/x-www-form-urlencoded. */
    format: z.enum(['json', 'form']).default('json'),
    /** Request fields → templates. Placeholders: {to} {text} {key} {id} {alarm} {recipient} {segments} {encoding}. */
    body: z.record(z.string(), z.string()).default({ to: '{to}', text: '{text}' }),
    /** Extra headers whose values come from environment variables (e.g. an API key): header → variable name. */
    headers_env: z.record(z.string(), EnvName).default({}),
    headers: z.record(z.string(), z.string()).default({}),
    /** HMAC of the exact request body. */
    signature: SignatureSchema.optional(),
    /** Header carrying the idempotency key: the same message always has the same key, retries included. */
    idempotency_header: z.string().default('Idempotency-Key'),
    timeout: Duration.default(10_000),
    /** Fold Vietnamese to unaccented GSM-7 so more fits in one SMS (per recipient overridable). */
    fold_diacritics: z.boolean().default(false),
    /** Longer messages are shortened to this many SMS segments. */
    max_segments: z.number().int().positive().default(3),
    retry: z
      .object({ max_attempts: z.number().int().positive().default(10), backoff: Duration.default(5_000), max_backoff: Duration.default(600_000) })
      .strict()
      .default({ max_attempts: 10, backoff: 5_000, max_backoff: 600_000 }),
  })
  .strict()
  .refine((p) => !(p.url && p.url_env), 'give url or url_env, not both');
export type ProviderConfig = z.infer<typeof ProviderSchema>;

const RecipientSchema = z
  .object({
    id: Id,
    name: z.string().optional(),
    /** E.164 (+84...) or national (0...) form; inbound replies are matched on it. */
    phone: z.string().regex(/^\+?[0-9 .-]{6,20}$/, 'a phone number: +84901234567 or 0901234567'),
    lang: z.enum(['vi', 'en']).default('vi'),
    provider: z.string(),
    fold_diacritics: z.boolean().optional(),
    rate_limit: RateLimit.optional(),
  })
  .strict();
export type RecipientConfig = z.infer<typeof RecipientSchema>;

const StageSchema = z
  .object({
    /** Time since the alarm was raised before this stage is notified. */
    after: Duration.default(0),
    /** Group names and/or recipient ids. */
    notify: z.array(z.string()).min(1),
  })
  .strict();

const PolicySchema = z
  .object({
    /** Stages in order; each fires only if the alarm is still raised and unacknowledged at its time. */
    stages: z.array(StageSchema).min(1),
    /** Tell the recipients already notified when the alarm clears. */
    notify_clear: z.boolean().default(false),
    /** Tell the recipients already notified when someone acknowledges (the one who replied by SMS is always told). */
    notify_ack: z.boolean().default(false),
  })
  .strict();
export type PolicyConfig = z.infer<typeof PolicySchema>;

const TemplateSet = z
  .object({ raised: z.string().optional(), escalated: z.string().optional(), cleared: z.string().optional(), acknowledged: z.string().optional() })
  .strict();

const InboundSchema = z
  .object({
    signature: SignatureSchema.optional(),
    from_field: z.string().default('from'),
    text_field: z.string().default('text'),
  })
  .strict();

const NotifyFileSchema = z
  .object({
    version: z.literal(1),
    providers: z.record(Id, ProviderSchema).default({}),
    /** Default per-recipient limit. */
    rate_limit: RateLimit.default({ max: 10, per: 3_600_000 }),
    recipients: z.array(RecipientSchema).default([]),
    groups: z.record(Id, z.array(z.string()).min(1)).default({}),
    policies: z.record(Id, PolicySchema).default({}),
    templates: z.object({ vi: TemplateSet.optional(), en: TemplateSet.optional() }).strict().default({}),
    inbound: InboundSchema.default({ from_field: 'from', text_field: 'text' }),
  })
  .strict();
export type NotifyConfig = z.infer<typeof NotifyFileSchema>;

export function parseNotifyConfig(text: string, fileName: string): NotifyConfig {
  const c = parseYamlWith(NotifyFileSchema, text, fileName);
  const ids = new Set<string>();
  c.recipients.forEach((r, i) => {
    if (ids.has(r.id)) throw new ConfigError(`${fileName}: recipients.${i}: id ${r.id} is used twice`);
    ids.add(r.id);
    if (!c.providers[r.provider]) throw new ConfigError(`${fileName}: recipients.${i} (${r.id}): no provider "${r.provider}" under providers (known: ${Object.keys(c.providers).join(', ') || 'none'})`);
  });
  for (const [g, members] of Object.entries(c.groups)) {
    if (ids.has(g)) throw new ConfigError(`${fileName}: groups.${g}: a group may not have a recipient's id`);
    for (const m of members) if (!ids.has(m)) throw new ConfigError(`${fileName}: groups.${g}: "${m}" is not a recipient id`);
  }
  for (const [p, policy] of Object.entries(c.policies)) {
    policy.stages.forEach((s, i) => {
      for (const n of s.notify) if (!ids.has(n) && !c.groups[n]) throw new ConfigError(`${fileName}: policies.${p}.stages.${i}: "${n}" is neither a group nor a recipient id`);
      if (i > 0 && s.after < policy.stages[i - 1]!.after) throw new ConfigError(`${fileName}: policies.${p}.stages.${i}: after must not be earlier than the previous stage's`);
    });
  }
  return c;
}

export function loadNotifyConfig(path: string): NotifyConfig {
  return parseNotifyConfig(readFileSync(path, 'utf8'), path);
}

/** Recipient ids of a stage's notify list (groups expanded, duplicates removed, order kept). */
export function expandTargets(c: NotifyConfig, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of names) for (const id of c.groups[n] ?? [n]) if (!out.includes(id)) out.push(id);
  return out;
}

/** Digits only, national form: "+84 90 123 4567" and "0901234567" both → "901234567". */
export function normalisePhone(p: string): string {
  const d = p.replace(/[^0-9]/g, '');
  if (d.startsWith('84') && d.length >= 11) return d.slice(2);
  if (d.startsWith('0')) return d.slice(1);
  return d;
}
