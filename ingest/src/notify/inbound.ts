import { timingSafeEqual } from 'node:crypto';
import type { AlarmView } from '../alarms/types.ts';
import { foldToGsm7 } from './gsm7.ts';
import type { Notifier } from './notifier.ts';
import { hmacHex, readSecret } from './webhook.ts';

export interface InboundRequest {
  rawBody: string;
  contentType: string;
  header(name: string): string | undefined;
}

export interface InboundResult {
  status: 200 | 400 | 401;
  body: { ok: boolean; acknowledged?: number; reason?: string };
}

/**
 * A reply from a recipient, posted by the SMS gateway: "OK 12" (or ACK 12, XN 12, "đã nhận 12") acknowledges
 * alarm 12; a bare "OK" acknowledges the newest unacknowledged alarm this recipient was sent. The sender must
 * be a configured recipient. With a signature configured, the body's HMAC must match (else 401).
 * Other problems answer 200 with ok: false, so the gateway does not retry a reply nobody can act on.
 */
export function handleInboundSms(
  n: Notifier,
  acknowledge: (id: number, by: string, comment: string) => AlarmView,
  req: InboundRequest,
  env: NodeJS.ProcessEnv = process.env,
): InboundResult {
  const cfg = n.config.inbound;
  if (cfg.signature) {
    const secret = readSecret(cfg.signature, env);
    const given = req.header(cfg.signature.header) ?? '';
    if (!secret) return { status: 401, body: { ok: false, reason: 'inbound signature secret is not set on the server' } };
    const want = `${cfg.signature.prefix}${hmacHex(cfg.signature.algorithm, secret, req.rawBody)}`;
    if (given.length !== want.length || !timingSafeEqual(Buffer.from(given), Buffer.from(want))) {
      return { status: 401, body: { ok: false, reason: 'bad signature' } };
    }
  }
  let fields: Record<string, unknown>;
  try {
    fields = req.contentType.includes('json') ? (JSON.parse(req.rawBody) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(req.rawBody));
  } catch {
    return { status: 400, body: { ok: false, reason: 'body is neither JSON nor a form' } };
  }
  const from = String(fields[cfg.from_field] ?? '');
  const text = String(fields[cfg.text_field] ?? '');
  if (!from || !text) return { status: 400, body: { ok: false, reason: `fields "${cfg.from_field}" and "${cfg.text_field}" are required` } };
  const recipient = n.recipientByPhone(from);
  if (!recipient) return { status: 200, body: { ok: false, reason: 'sender is not a configured recipient' } };
  const m = /^\s*(ok|ack|xn|xac nhan|da nhan|nhan)\b[\s#:.-]*(\d+)?/i.exec(foldToGsm7(text).toLowerCase());
  if (!m) return { status: 200, body: { ok: false, reason: 'not an acknowledgement (reply "OK <alarm id>")' } };
  const id = m[2] ? Number(m[2]) : n.outbox.latestUnackedAlarmFor(recipient.id);
  if (!id) return { status: 200, body: { ok: false, reason: 'no unacknowledged alarm for this recipient' } };
  try {
    acknowledge(id, `sms:${recipient.id}`, `SMS reply from ${recipient.name ?? recipient.id}: "${text.slice(0, 160)}"`);
    return { status: 200, body: { ok: true, acknowledged: id } };
  } catch (err) {
    return { status: 200, body: { ok: false, reason: (err as Error).message } };
  }
}
