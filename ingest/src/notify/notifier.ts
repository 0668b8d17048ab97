import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { AlarmStore } from '../alarms/alarm-db.ts';
import { describeAlarm, vnTime, type Lang } from '../alarms/describe.ts';
import { formatDuration } from '../alarms/duration.ts';
import type { AlarmSink } from '../alarms/engine.ts';
import { systemClock, type AlarmTransition, type AlarmView, type Clock } from '../alarms/types.ts';
import { expandTargets, normalisePhone, type NotifyConfig, type RecipientConfig } from './config.ts';
import { fitSegments, foldToGsm7, smsSize } from './gsm7.ts';
import { Outbox, type OutboxRow } from './outbox.ts';
import { DEFAULT_TEMPLATES, DIGEST_TEMPLATES, render, SEVERITY_LABEL, type MessageKind } from './templates.ts';
import { SmsWebhookProvider } from './webhook.ts';

export interface NotifierOptions {
  db: Database.Database;
  config: NotifyConfig;
  /** Escalation policy of a rule (undefined: record the alarm, notify nobody). */
  policyFor(ruleId: string): string | undefined;
  /** Averaging window and silent duration of a rule, for the message text. */
  ruleInfo?(ruleId: string): { windowMs?: number; silentMs?: number };
  stationName?(id: string): string;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** How often due escalations and messages are looked at; default 1 s. 0 = no timer (tests call tick()). */
  tickMs?: number;
  log?: Logger;
  /** Cluster mode: new message and history ids (src/cluster/id-blocks.ts). */
  ids?: () => number;
  /** Cluster mode: whether this instance escalates and sends for an alarm's station (it owns the station's lease). */
  handles?(station: string): boolean;
  /** Cluster mode: awaited before any message is sent, so that what queued it is replicated first. */
  beforeSend?(): Promise<void>;
}

/**
 * Turns alarm transitions into SMS: escalation stages that stop on acknowledgement, per-recipient rate limits,
 * a durable outbox with retries and backoff, and delivery status per message. It is the engine's AlarmSink:
 * `onTransition` runs inside the engine's transaction, so the alarm and its messages commit together.
 */
export class Notifier implements AlarmSink {
  readonly outbox: Outbox;
  private readonly alarms: AlarmStore;
  private readonly clock: Clock;
  private readonly providers = new Map<string, SmsWebhookProvider>();
  private readonly recipients = new Map<string, RecipientConfig>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  readonly counters = { sent: 0, delivered: 0, failed: 0, retried: 0, rate_limited: 0, digests: 0, not_configured: 0 };

  constructor(private readonly o: NotifierOptions) {
    this.outbox = new Outbox(o.db, o.ids);
    this.alarms = new AlarmStore(o.db, o.ids);
    this.clock = o.clock ?? systemClock;
    for (const [name, p] of Object.entries(o.config.providers)) this.providers.set(name, new SmsWebhookProvider(name, p, o.env ?? process.env));
    for (const r of o.config.recipients) this.recipients.set(r.id, r);
  }

  get config(): NotifyConfig {
    return this.o.config;
  }

  start(): void {
    const tickMs = this.o.tickMs ?? 1000;
    if (tickMs > 0) {
      this.timer = setInterval(() => void this.tick(), tickMs);
      this.timer.unref();
    }
    this.kick();
  }

  /** Stops the timer and waits for a send in progress (its outcome is recorded; unsent messages stay queued). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  // ---------------------------------------------------------------- transitions (inside the engine's transaction)

  onTransition(t: AlarmTransition): void {
    const a = t.alarm;
    switch (t.action) {
      case 'raised':
      case 're-raised': {
        const policyName = this.o.policyFor(a.rule);
        const policy = policyName ? this.o.config.policies[policyName] : undefined;
        if (!policyName || !policy) return;
        this.outbox.putEscalation({
          alarm_id: a.id, policy: policyName, occurrence: a.occurrences, next_stage: 0,
          next_at: t.at + policy.stages[0]!.after, started_at: t.at, status: 'active', reason: null, updated_at: t.at,
        });
        this.escalateDue(t.at, a.id);
        break;
      }
      case 'acknowledged': {
        const esc = this.outbox.escalation(a.id);
        this.stopEscalation(a.id, t.at, `acknowledged by ${t.by ?? 'someone'}`);
        // Whoever replied by SMS learns it worked; with notify_ack, everyone notified learns someone took it.
        const replier = t.by?.startsWith('sms:') ? t.by.slice(4) : undefined;
        const policy = esc ? this.o.config.policies[esc.policy] : undefined;
        const told = new Set(policy?.notify_ack ? this.outbox.notifiedRecipients(a.id, a.occurrences) : []);
        if (replier) told.add(replier);
        for (const rid of told) this.enqueue(a, 'acknowledged', -1, rid, t.at, 0, this.byName(t.by), rid === replier);
        break;
      }
      case 'cleared':
      case 'closed': {
        const esc = this.outbox.escalation(a.id);
        this.stopEscalation(a.id, t.at, 'cleared');
        // Closed by an acknowledgement of a cleared alarm: the clearing was announced already.
        if (t.action === 'closed' && t.by) break;
        const policy = esc ? this.o.config.policies[esc.policy] : undefined;
        if (policy?.notify_clear) {
          for (const rid of this.outbox.notifiedRecipients(a.id, a.occurrences)) this.enqueue(a, 'cleared', -1, rid, t.at);
        }
        break;
      }
    }
    this.kick();
  }

  private stopEscalation(alarmId: number, now: number, reason: string): void {
    const esc = this.outbox.escalation(alarmId);
    if (!esc || esc.status !== 'active') return;
    this.outbox.putEscalation({ ...esc, status: 'stopped', reason, updated_at: now });
    this.alarms.addHistory(alarmId, now, 'escalated', null, `escalation stopped before stage ${esc.next_stage + 1}: ${reason}`);
  }

  /** Fires every due stage (of one alarm, or all); each fires only while the alarm is still raised. */
  private escalateDue(now: number, onlyAlarm?: number): void {
    for (const esc of this.outbox.dueEscalations(now)) {
      if (onlyAlarm !== undefined && esc.alarm_id !== onlyAlarm) continue;
      const policy = this.o.config.policies[esc.policy];
      const alarm = this.alarms.get(esc.alarm_id);
      // Cluster mode: the owner of the alarm's station escalates it (a replica may not even have the alarm yet).
      if (this.o.handles && (!alarm || !this.o.handles(alarm.station))) continue;
      if (!policy || !alarm) {
        this.outbox.putEscalation({ ...esc, status: 'stopped', reason: policy ? 'alarm missing' : `policy ${esc.policy} no longer configured`, updated_at: now });
        continue;
      }
      if (alarm.state !== 'raised') {
        this.stopEscalation(alarm.id, now, alarm.state === 'acknowledged' ? `acknowledged by ${alarm.acknowledged_by ?? 'someone'}` : alarm.state);
        continue;
      }
      let stage = esc.next_stage;
      // Several stages may be due at once (after a restart): fire each, in order.
      while (stage < policy.stages.length && esc.started_at + policy.stages[stage]!.after <= now) {
        const kind: MessageKind = stage === 0 ? 'raised' : 'escalated';
        const targets = expandTargets(this.o.config, policy.stages[stage]!.notify);
        for (const rid of targets) this.enqueue(alarm, kind, stage, rid, now, policy.stages[stage]!.after);
        if (stage > 0) this.alarms.addHistory(alarm.id, now, 'escalated', null, `not acknowledged: stage ${stage + 1} notifies ${targets.join(', ')}`);
        else this.alarms.addHistory(alarm.id, now, 'notified', null, `stage 1 notifies ${targets.join(', ')}`);
        stage++;
      }
      const done = stage >= policy.stages.length;
      this.outbox.putEscalation({
        ...esc, next_stage: stage, next_at: done ? esc.next_at : esc.started_at + policy.stages[stage]!.after,
        status: done ? 'done' : 'active', reason: done ? 'all stages notified' : null, updated_at: now,
      });
    }
  }

  /** The text a recipient gets, sized before sending. */
  composeText(a: AlarmView, kind: MessageKind, r: RecipientConfig, waitedMs = 0, by = ''): { text: string; encoding: string; segments: number } {
    const lang: Lang = r.lang;
    const info = this.o.ruleInfo?.(a.rule) ?? {};
    const template = this.o.config.templates[lang]?.[kind] ?? DEFAULT_TEMPLATES[lang][kind];
    let text = render(template, {
      id: a.id,
      station: a.station,
      station_name: this.o.stationName?.(a.station) ?? a.station,
      what: describeAlarm(a, lang, info.windowMs, info.silentMs),
      time: vnTime(kind === 'cleared' ? (a.cleared_at ?? a.updated_at) : a.raised_at),
      severity: SEVERITY_LABEL[lang][a.severity] ?? a.severity,
      rule: a.rule_name[lang],
      stage: 0,
      waited: formatDuration(waitedMs, lang),
      by,
    });
    const provider = this.providers.get(r.provider);
    if (r.fold_diacritics ?? provider?.foldDiacritics ?? false) text = foldToGsm7(text);
    text = fitSegments(text, provider?.maxSegments ?? 3);
    const size = smsSize(text);
    return { text, encoding: size.encoding, segments: size.segments };
  }

  /** Who acknowledged, for a message: the recipient's name for an SMS reply, else the API user. */
  private byName(by: string | undefined): string {
    if (!by) return '?';
    const r = by.startsWith('sms:') ? this.recipients.get(by.slice(4)) : undefined;
    return r ? (r.name ?? r.id) : by;
  }

  /** `isReply`: the answer to the recipient's own SMS, sent even over their rate limit. */
  private enqueue(a: AlarmView, kind: MessageKind, stage: number, recipientId: string, now: number, waitedMs = 0, by?: string, isReply = false): void {
    const r = this.recipients.get(recipientId);
    if (!r) return;
    const provider = this.providers.get(r.provider);
    const { text, encoding, segments } = this.composeText(a, kind, r, waitedMs, by);
    const limit = r.rate_limit ?? this.o.config.rate_limit;
    let status: OutboxRow['status'] = 'queued';
    if (!provider?.url()) status = 'not_configured';
    else if (!isReply && this.outbox.countSince(r.id, now - limit.per) >= limit.max) status = 'rate_limited';
    const inserted = this.outbox.insert({
      idem_key: `envmon-a${a.id}-o${a.occurrences}-${kind}-s${stage}-${r.id}`,
      alarm_id: a.id, occurrence: a.occurrences, kind, stage, recipient: r.id, phone: r.phone, provider: r.provider, lang: r.lang,
      text, encoding, segments, status, next_attempt_at: now, created_at: now,
    });
    if (!inserted) return;
    if (status === 'rate_limited') {
      this.counters.rate_limited++;
      this.o.log?.warn({ alarm: a.id, recipient: r.id }, `notification suppressed: ${r.id} is over its rate limit (${limit.max} per ${formatDuration(limit.per)})`);
    } else if (status === 'not_configured') {
      this.counters.not_configured++;
      this.o.log?.info({ alarm: a.id, recipient: r.id, provider: r.provider }, 'notification recorded, not sent: the SMS provider has no URL configured');
    }
  }

  /**
   * A recipient over their rate limit must still learn that alarms happened: once the window has room again, the
   * messages held back since are summed up in one digest (counted against the limit like any message), and marked
   * `digested`. In cluster mode each owner sums up its own stations' messages.
   */
  private digestDue(now: number): void {
    for (const [recipientId, held] of this.outbox.heldBack()) {
      const r = this.recipients.get(recipientId);
      if (!r) continue;
      const mine = this.o.handles ? held.filter((m) => this.o.handles!(this.alarms.get(m.alarm_id)?.station ?? '')) : held;
      if (mine.length === 0) continue;
      const limit = r.rate_limit ?? this.o.config.rate_limit;
      if (this.outbox.countSince(r.id, now - limit.per) >= limit.max) continue;
      const provider = this.providers.get(r.provider);
      const alarms = [...new Set(mine.map((m) => m.alarm_id))];
      const shown = alarms.slice(0, 4).map((id) => {
        const station = this.alarms.get(id)?.station ?? '';
        return `#${id} ${this.o.stationName?.(station) ?? station}`.trim();
      });
      let text = render(DIGEST_TEMPLATES[r.lang], {
        count: mine.length,
        since: vnTime(mine[0]!.created_at),
        list: `${shown.join(', ')}${alarms.length > shown.length ? ` (+${alarms.length - shown.length})` : ''}`,
      });
      if (r.fold_diacritics ?? provider?.foldDiacritics ?? false) text = foldToGsm7(text);
      text = fitSegments(text, provider?.maxSegments ?? 3);
      const size = smsSize(text);
      const last = mine[mine.length - 1]!;
      this.outbox.insert({
        idem_key: `envmon-digest-${r.id}-n${mine[0]!.id}-${last.id}`,
        alarm_id: last.alarm_id, occurrence: last.occurrence, kind: 'digest', stage: -2, recipient: r.id, phone: r.phone, provider: r.provider, lang: r.lang,
        text, encoding: size.encoding, segments: size.segments, status: provider?.url() ? 'queued' : 'not_configured', next_attempt_at: now, created_at: now,
      });
      this.outbox.markDigested(mine.map((m) => m.id), now);
      this.counters.digests++;
      this.o.log?.info({ recipient: r.id, held: mine.length }, 'notification digest queued for messages the rate limit held back');
    }
  }

  // ---------------------------------------------------------------- sending

  /** Runs due escalations and sends due messages. Safe to call often; never runs twice at once. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          const now = this.clock.now();
          this.o.db.transaction(() => {
            this.escalateDue(now);
            this.digestDue(now);
          })();
          await this.sendDue();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.o.log?.error({ err }, 'notifier: tick failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    setImmediate(() => void this.tick());
  }

  private async sendDue(): Promise<void> {
    const skipped = new Set<number>();
    for (;;) {
      if (this.stopped) return;
      let due = this.outbox.due(this.clock.now(), 20 + skipped.size).filter((m) => !skipped.has(m.id));
      if (this.o.handles) {
        // Cluster mode: only the owner of the alarm's station sends; the others keep the row as a replica.
        for (const m of due) if (!this.o.handles(this.alarms.get(m.alarm_id)?.station ?? '')) skipped.add(m.id);
        due = due.filter((m) => !skipped.has(m.id));
      }
      if (due.length === 0) return;
      await this.o.beforeSend?.();
      for (const m of due) {
        if (this.stopped) return;
        await this.sendOne(m);
      }
    }
  }

  private async sendOne(m: OutboxRow): Promise<void> {
    const provider = this.providers.get(m.provider);
    const now = this.clock.now();
    if (!provider || !provider.url()) {
      this.outbox.markResult(m.id, { status: 'not_configured', next_attempt_at: now, last_error: 'no URL configured for the SMS provider', last_http_status: null, delivered_at: null, now });
      return;
    }
    // Recorded before the request: a crash mid-request leaves 'sending', which is retried with the same key.
    this.outbox.markSending(m.id, now);
    this.counters.sent++;
    const attempts = m.attempts + 1;
    const res = await provider.send({ to: m.phone, text: m.text, key: m.idem_key, id: m.id, alarm: m.alarm_id, recipient: m.recipient, segments: m.segments, encoding: m.encoding });
    const done = this.clock.now();
    if (res.ok) {
      this.counters.delivered++;
      this.outbox.markResult(m.id, { status: 'delivered', next_attempt_at: done, last_error: null, last_http_status: res.status, delivered_at: done, now: done });
      return;
    }
    const retry = provider.retry;
    if (res.retryable && attempts < retry.max_attempts) {
      this.counters.retried++;
      const backoff = Math.min(retry.max_backoff, retry.backoff * 2 ** (attempts - 1));
      this.outbox.markResult(m.id, { status: 'retrying', next_attempt_at: done + backoff, last_error: res.error, last_http_status: res.status, delivered_at: null, now: done });
      this.o.log?.warn({ notification: m.id, attempts, backoff }, `SMS not accepted (${res.error}); retrying`);
    } else {
      this.counters.failed++;
      this.outbox.markResult(m.id, { status: 'failed', next_attempt_at: done, last_error: res.error, last_http_status: res.status, delivered_at: null, now: done });
      this.o.log?.error({ notification: m.id, attempts }, `SMS failed for good: ${res.error}`);
    }
  }

  recipientByPhone(phone: string): RecipientConfig | undefined {
    return this.o.config.recipients.find((r) => normalisePhone(r.phone) === normalisePhone(phone));
  }
}
