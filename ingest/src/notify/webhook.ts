import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ProviderConfig } from './config.ts';
import { render } from './templates.ts';

export interface SmsMessage {
  to: string;
  text: string;
  /** The idempotency key: identical on every retry of the same message. */
  key: string;
  id: number;
  alarm: number;
  recipient: string;
  segments: number;
  encoding: string;
}

export type SendResult =
  | { ok: true; status: number; body: string }
  | { ok: false; retryable: boolean; status: number | null; error: string };

/** Reads a secret from an environment variable or a file; undefined when unset. Never logged. */
export function readSecret(s: { secret_env?: string; secret_file?: string }, env: NodeJS.ProcessEnv): string | undefined {
  if (s.secret_env && env[s.secret_env]) return env[s.secret_env];
  if (s.secret_file) {
    try {
      return readFileSync(s.secret_file, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function hmacHex(algorithm: string, secret: string, body: string): string {
  return createHmac(algorithm, secret).update(body, 'utf8').digest('hex');
}

/**
 * A generic SMS gateway reached by an HTTP webhook: JSON or form body built from templates, an HMAC signature of
 * the exact body, and an idempotency key header so that a retry after a lost response never sends twice.
 */
export class SmsWebhookProvider {
  constructor(
    readonly name: string,
    private readonly c: ProviderConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The URL, or undefined when none is configured (messages are then recorded as not_configured). */
  url(): string | undefined {
    if (this.c.url) return this.c.url;
    if (this.c.url_env) return this.env[this.c.url_env] || undefined;
    return undefined;
  }

  get retry(): ProviderConfig['retry'] {
    return this.c.retry;
  }

  get foldDiacritics(): boolean {
    return this.c.fold_diacritics;
  }

  get maxSegments(): number {
    return this.c.max_segments;
  }

  /** The request that would be sent (exposed for tests and the docs). */
  buildRequest(m: SmsMessage): { headers: Record<string, string>; body: string } {
    const vars = { to: m.to, text: m.text, key: m.key, id: m.id, alarm: m.alarm, recipient: m.recipient, segments: m.segments, encoding: m.encoding };
    const fields = Object.fromEntries(Object.entries(this.c.body).map(([k, t]) => [k, render(t, vars)]));
    const body = this.c.format === 'json' ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
    const headers: Record<string, string> = {
      'content-type': this.c.format === 'json' ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded; charset=utf-8',
      [this.c.idempotency_header]: m.key,
      ...this.c.headers,
    };
    for (const [h, envName] of Object.entries(this.c.headers_env)) {
      const v = this.env[envName];
      if (v) headers[h] = v;
    }
    if (this.c.signature) {
      const secret = readSecret(this.c.signature, this.env);
      if (secret) headers[this.c.signature.header] = `${this.c.signature.prefix}${hmacHex(this.c.signature.algorithm, secret, body)}`;
    }
    return { headers, body };
  }

  async send(m: SmsMessage): Promise<SendResult> {
    const url = this.url();
    if (!url) return { ok: false, retryable: false, status: null, error: 'not configured' };
    if (this.c.signature && !readSecret(this.c.signature, this.env)) {
      return { ok: false, retryable: true, status: null, error: `signature secret is not set (${this.c.signature.secret_env ?? this.c.signature.secret_file})` };
    }
    const { headers, body } = this.buildRequest(m);
    try {
      const res = await fetch(url, { method: this.c.method, headers, body, signal: AbortSignal.timeout(this.c.timeout) });
      const text = (await res.text()).slice(0, 500);
      if (res.ok) return { ok: true, status: res.status, body: text };
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      return { ok: false, retryable, status: res.status, error: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { ok: false, retryable: true, status: null, error: `${e.name === 'TimeoutError' ? 'timeout' : e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
    }
  }
}
