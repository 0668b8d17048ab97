import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AlarmError, type AlarmEngine } from '../alarms/engine.ts';
import type { AlarmState } from '../alarms/types.ts';
import { handleInboundSms } from '../notify/inbound.ts';
import { hasRole, principalOf } from './auth.ts';
import type { Notifier } from '../notify/notifier.ts';

const STATES: AlarmState[] = ['raised', 'acknowledged', 'cleared', 'closed'];

/**
 * `/alarms`: list and filter, one alarm with its history and notifications, acknowledge, comment; calibration
 * suppressions in force; the notification outbox; and `/alarms/sms-inbound`, where the SMS gateway posts replies.
 */
export function alarmRoutes(engine: AlarmEngine, notifier?: Notifier, env: NodeJS.ProcessEnv = process.env): Hono {
  const app = new Hono();

  app.get('/alarms', (c) => {
    const q = (k: string) => c.req.query(k) || undefined;
    const states = q('state')?.split(',');
    for (const s of states ?? []) if (!STATES.includes(s as AlarmState)) throw new HTTPException(400, { message: `"state" must be one or more of ${STATES.join(', ')} (comma-separated)` });
    const active = q('active');
    const num = (k: string) => {
      const v = q(k);
      if (v === undefined) return undefined;
      const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
      if (!Number.isFinite(n)) throw new HTTPException(400, { message: `"${k}" must be Unix ms or an ISO date` });
      return n;
    };
    const alarms = engine.list({
      station: q('station'),
      param: q('param'),
      rule: q('rule'),
      severity: q('severity'),
      states: (states as AlarmState[] | undefined) ?? (active === 'true' ? ['raised', 'acknowledged'] : undefined),
      from: num('from'),
      to: num('to'),
      before: num('before'),
      limit: num('limit'),
    });
    const calibrating = new Set(engine.calibrations().map((s) => `${s.station}\u0000${s.param}`));
    return c.json({ alarms: alarms.map((a) => ({ ...a, calibrating: calibrating.has(`${a.station}\u0000${a.param}`) })) });
  });

  app.get('/alarms/suppressions', (c) => c.json({ suppressions: engine.calibrations() }));

  app.get('/alarms/rules', (c) =>
    c.json({
      rules: engine.rules.map((r) => ({
        id: r.id, name: r.name, kind: r.kind, severity: r.severity, notify: r.notify ?? null, stations: r.stations === '*' ? '*' : [...r.stations],
        params: r.params, value: r.value, window_ms: r.windowMs || null, raise: r.raise, clear: r.clear, hysteresis: r.hysteresis ?? null,
      })),
    }),
  );

  app.get('/alarms/notifications', (c) => {
    if (!notifier) return c.json({ notifications: [], configured: false });
    const alarm = c.req.query('alarm');
    return c.json({
      configured: true,
      notifications: notifier.outbox.list({ alarm: alarm ? Number(alarm) : undefined, status: c.req.query('status') || undefined, recipient: c.req.query('recipient') || undefined, limit: Number(c.req.query('limit') ?? 100) }),
    });
  });

  app.post('/alarms/sms-inbound', async (c) => {
    if (!notifier) throw new HTTPException(404, { message: 'no recipients file is configured, so there are no SMS replies to take' });
    // The route is public (an SMS gateway rarely sends bearer tokens): without an operator token, the body must
    // carry the HMAC signature configured under inbound.signature, so nobody else can acknowledge alarms.
    if (!hasRole(principalOf(c), 'operator') && !notifier.config.inbound.signature) {
      throw new HTTPException(401, { message: 'configure inbound.signature (HMAC) in the recipients file, or call with an operator token' });
    }
    const rawBody = await c.req.text();
    const r = handleInboundSms(notifier, (id, by, comment) => engine.acknowledge(id, by, comment), { rawBody, contentType: c.req.header('content-type') ?? '', header: (h) => c.req.header(h) }, env);
    return c.json(r.body, r.status);
  });

  const idOf = (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new HTTPException(400, { message: 'alarm id must be a number' });
    return Number(raw);
  };
  const run = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof AlarmError) throw new HTTPException(err.status, { message: err.message });
      throw err;
    }
  };
  const body = async (c: { req: { json(): Promise<unknown> } }): Promise<Record<string, unknown>> => {
    try {
      const b = await c.req.json();
      return b && typeof b === 'object' ? (b as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };

  app.get('/alarms/:id', (c) => {
    const id = idOf(c.req.param('id'));
    const alarm = engine.get(id);
    if (!alarm) throw new HTTPException(404, { message: `no alarm ${id}` });
    return c.json({ alarm, history: engine.history(id), notifications: notifier?.outbox.list({ alarm: id }) ?? [], escalation: notifier?.outbox.escalation(id) ?? null });
  });

  app.get('/alarms/:id/history', (c) => {
    const id = idOf(c.req.param('id'));
    if (!engine.get(id)) throw new HTTPException(404, { message: `no alarm ${id}` });
    return c.json({ history: engine.history(id) });
  });

  app.post('/alarms/:id/ack', async (c) => {
    const id = idOf(c.req.param('id'));
    const b = await body(c);
    // Who acknowledged is the caller's token name; "by" in the body names a person when tokens are shared.
    const by = [principalOf(c)?.name, typeof b.by === 'string' && b.by.trim() ? b.by.trim() : undefined].filter(Boolean).join(' / ');
    if (!by) throw new HTTPException(400, { message: 'body must be JSON with "by" (who acknowledges) and optionally "comment"' });
    const alarm = run(() => engine.acknowledge(id, by, typeof b.comment === 'string' ? b.comment : undefined));
    return c.json({ alarm });
  });

  app.post('/alarms/:id/comments', async (c) => {
    const id = idOf(c.req.param('id'));
    const b = await body(c);
    const by = [principalOf(c)?.name, typeof b.by === 'string' && b.by.trim() ? b.by.trim() : undefined].filter(Boolean).join(' / ');
    if (!by || typeof b.text !== 'string') throw new HTTPException(400, { message: 'body must be JSON with "text" (and "by" when calling without a token)' });
    const history = run(() => engine.comment(id, by, b.text as string));
    return c.json({ history }, 201);
  });

  return app;
}
