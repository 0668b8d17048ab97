import type Database from 'better-sqlite3';

/** `digested`: held back by the rate limit, then summed up in one digest message (kind `digest`). */
export type DeliveryStatus = 'queued' | 'sending' | 'retrying' | 'delivered' | 'failed' | 'rate_limited' | 'digested' | 'not_configured';

export interface OutboxRow {
  id: number;
  idem_key: string;
  alarm_id: number;
  occurrence: number;
  kind: string;
  stage: number;
  recipient: string;
  phone: string;
  provider: string;
  lang: string;
  text: string;
  encoding: string;
  segments: number;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_http_status: number | null;
  created_at: number;
  delivered_at: number | null;
  updated_at: number;
}

export type NewMessage = Omit<OutboxRow, 'id' | 'attempts' | 'last_error' | 'last_http_status' | 'delivered_at' | 'updated_at'>;

export interface EscalationRow {
  alarm_id: number;
  policy: string;
  occurrence: number;
  next_stage: number;
  next_at: number;
  started_at: number;
  status: 'active' | 'stopped' | 'done';
  reason: string | null;
  updated_at: number;
}

/**
 * The durable notification outbox and the escalation schedule, in the alarm database. A message is written
 * here in the same transaction as the alarm transition that caused it; sending happens later, with retries, and
 * every attempt's outcome is kept. The idempotency key is unique: the same message is never queued twice.
 */
export class Outbox {
  private readonly s;

  /** `ids`: where new message ids come from (cluster mode: src/cluster/id-blocks.ts); default AUTOINCREMENT. */
  constructor(
    readonly db: Database.Database,
    private readonly ids?: () => number,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        idem_key TEXT NOT NULL UNIQUE,
        alarm_id INTEGER NOT NULL,
        occurrence INTEGER NOT NULL,
        kind TEXT NOT NULL,
        stage INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        phone TEXT NOT NULL,
        provider TEXT NOT NULL,
        lang TEXT NOT NULL,
        text TEXT NOT NULL,
        encoding TEXT NOT NULL,
        segments INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        last_http_status INTEGER,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, next_attempt_at);
      CREATE INDEX IF NOT EXISTS notifications_by_recipient ON notifications (recipient, created_at);
      CREATE INDEX IF NOT EXISTS notifications_by_alarm ON notifications (alarm_id, id);
      CREATE TABLE IF NOT EXISTS escalations (
        alarm_id INTEGER PRIMARY KEY,
        policy TEXT NOT NULL,
        occurrence INTEGER NOT NULL,
        next_stage INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        updated_at INTEGER NOT NULL
      );
    `);
    this.s = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO notifications (id, idem_key, alarm_id, occurrence, kind, stage, recipient, phone, provider, lang, text, encoding, segments, status, next_attempt_at, created_at, updated_at)
         VALUES (@id, @idem_key, @alarm_id, @occurrence, @kind, @stage, @recipient, @phone, @provider, @lang, @text, @encoding, @segments, @status, @next_attempt_at, @created_at, @created_at)`,
      ),
      due: db.prepare<[number, number], OutboxRow>(`SELECT * FROM notifications WHERE status IN ('queued', 'retrying', 'sending') AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`),
      get: db.prepare<[number], OutboxRow>(`SELECT * FROM notifications WHERE id = ?`),
      sentCount: db.prepare<[string, number], { n: number }>(
        `SELECT count(*) AS n FROM notifications WHERE recipient = ? AND created_at >= ? AND status IN ('queued', 'sending', 'retrying', 'delivered', 'failed')`,
      ),
      begin: db.prepare(`UPDATE notifications SET status = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?`),
      result: db.prepare(
        `UPDATE notifications SET status = @status, next_attempt_at = @next_attempt_at, last_error = @last_error, last_http_status = @last_http_status, delivered_at = @delivered_at, updated_at = @now WHERE id = @id`,
      ),
      notifiedRecipients: db.prepare<[number, number], { recipient: string }>(
        `SELECT DISTINCT recipient FROM notifications WHERE alarm_id = ? AND occurrence = ? AND kind IN ('raised', 'escalated') AND status IN ('queued', 'sending', 'retrying', 'delivered')`,
      ),
      latestUnackedFor: db.prepare<[string], { alarm_id: number }>(
        `SELECT n.alarm_id FROM notifications n JOIN alarms a ON a.id = n.alarm_id
         WHERE n.recipient = ? AND a.state IN ('raised', 'cleared') ORDER BY n.id DESC LIMIT 1`,
      ),
      putEsc: db.prepare(
        `INSERT INTO escalations (alarm_id, policy, occurrence, next_stage, next_at, started_at, status, reason, updated_at)
         VALUES (@alarm_id, @policy, @occurrence, @next_stage, @next_at, @started_at, @status, @reason, @updated_at)
         ON CONFLICT (alarm_id) DO UPDATE SET policy = excluded.policy, occurrence = excluded.occurrence, next_stage = excluded.next_stage,
           next_at = excluded.next_at, started_at = excluded.started_at, status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at`,
      ),
      getEsc: db.prepare<[number], EscalationRow>(`SELECT * FROM escalations WHERE alarm_id = ?`),
      heldBack: db.prepare<[], OutboxRow>(`SELECT * FROM notifications WHERE status = 'rate_limited' ORDER BY recipient, id`),
      digested: db.prepare(`UPDATE notifications SET status = 'digested', updated_at = ? WHERE id = ?`),
      dueEsc: db.prepare<[number], EscalationRow>(`SELECT * FROM escalations WHERE status = 'active' AND next_at <= ? ORDER BY next_at`),
    };
  }

  /** Queues a message; false when a message with the same idempotency key exists already. */
  insert(m: NewMessage): boolean {
    return this.s.insert.run({ ...m, id: this.ids?.() ?? null }).changes > 0;
  }

  due(now: number, limit = 50): OutboxRow[] {
    return this.s.due.all(now, limit);
  }

  get(id: number): OutboxRow | undefined {
    return this.s.get.get(id);
  }

  /** Messages counted against a recipient's rate limit since `since`. */
  countSince(recipient: string, since: number): number {
    return this.s.sentCount.get(recipient, since)?.n ?? 0;
  }

  markSending(id: number, now: number): void {
    this.s.begin.run(now, id);
  }

  markResult(id: number, r: { status: DeliveryStatus; next_attempt_at: number; last_error: string | null; last_http_status: number | null; delivered_at: number | null; now: number }): void {
    this.s.result.run({ ...r, id });
  }

  notifiedRecipients(alarmId: number, occurrence: number): string[] {
    return this.s.notifiedRecipients.all(alarmId, occurrence).map((r) => r.recipient);
  }

  latestUnackedAlarmFor(recipient: string): number | undefined {
    return this.s.latestUnackedFor.get(recipient)?.alarm_id;
  }

  list(f: { alarm?: number; status?: string; recipient?: string; limit?: number } = {}): OutboxRow[] {
    const where: string[] = [];
    const args: Record<string, string | number> = {};
    if (f.alarm !== undefined) (where.push('alarm_id = @alarm'), (args.alarm = f.alarm));
    if (f.status) (where.push('status = @status'), (args.status = f.status));
    if (f.recipient) (where.push('recipient = @recipient'), (args.recipient = f.recipient));
    const sql = `SELECT * FROM notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${Math.min(Math.max(f.limit ?? 100, 1), 1000)}`;
    return this.db.prepare(sql).all(args) as OutboxRow[];
  }

  /** Messages the rate limit held back and no digest has covered yet, by recipient, oldest first. */
  heldBack(): Map<string, OutboxRow[]> {
    const out = new Map<string, OutboxRow[]>();
    for (const r of this.s.heldBack.all()) {
      let list = out.get(r.recipient);
      if (!list) out.set(r.recipient, (list = []));
      list.push(r);
    }
    return out;
  }

  markDigested(ids: readonly number[], now: number): void {
    for (const id of ids) this.s.digested.run(now, id);
  }

  putEscalation(e: EscalationRow): void {
    this.s.putEsc.run(e);
  }

  escalation(alarmId: number): EscalationRow | undefined {
    return this.s.getEsc.get(alarmId);
  }

  dueEscalations(now: number): EscalationRow[] {
    return this.s.dueEsc.all(now);
  }
}
