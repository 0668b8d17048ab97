import Database from 'better-sqlite3';
import type { AlarmLimit, AlarmState, AlarmView, CalibrationSuppression, HistoryEntry, RuleKind, Severity } from './types.ts';

/**
 * The alarm engine's SQLite file (<data dir>/alarms.sqlite): alarms, their history, the half-done state of every
 * rule (pending raise durations and counts, previous values) and when each station was last heard from.
 * The notifier keeps its outbox and escalations in the same file so that an alarm transition and the messages it
 * causes commit in one transaction.
 */
export function openAlarmDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS alarms (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      rule TEXT NOT NULL,
      rule_name TEXT NOT NULL,
      kind TEXT NOT NULL,
      severity TEXT NOT NULL,
      station TEXT NOT NULL,
      param TEXT NOT NULL,
      state TEXT NOT NULL,
      occurrences INTEGER NOT NULL DEFAULT 1,
      raised_at INTEGER NOT NULL,
      acknowledged_at INTEGER,
      acknowledged_by TEXT,
      cleared_at INTEGER,
      closed_at INTEGER,
      value REAL,
      last_value REAL,
      limit_json TEXT,
      detail TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    );
    -- One open alarm per (station, param, rule): a second raise updates it instead of duplicating it.
    CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_open ON alarms (station, param, rule) WHERE state <> 'closed';
    CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms (raised_at);
    CREATE TABLE IF NOT EXISTS alarm_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      alarm_id INTEGER NOT NULL,
      time INTEGER NOT NULL,
      action TEXT NOT NULL,
      by TEXT,
      text TEXT
    );
    CREATE INDEX IF NOT EXISTS alarm_history_by_alarm ON alarm_history (alarm_id, id);
    CREATE TABLE IF NOT EXISTS rule_state (
      rule TEXT NOT NULL, station TEXT NOT NULL, param TEXT NOT NULL, state TEXT NOT NULL,
      PRIMARY KEY (rule, station, param)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS series_seen (
      station TEXT NOT NULL, param TEXT NOT NULL, period_s INTEGER NOT NULL, last_time INTEGER NOT NULL,
      PRIMARY KEY (station, param, period_s)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS station_seen (station TEXT PRIMARY KEY, last_arrival INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS calibrations (
      station TEXT NOT NULL, param TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (station, param)
    ) WITHOUT ROWID;
  `);
  return db;
}

/** How SQLite returns an alarm: the view's fields, with JSON and enum columns as plain strings. */
type AlarmRow = Omit<AlarmView, 'rule_name' | 'kind' | 'severity' | 'state' | 'limit'> & {
  rule_name: string;
  kind: string;
  severity: string;
  state: string;
  limit_json: string | null;
};

function toView(r: AlarmRow): AlarmView {
  return {
    id: r.id,
    rule: r.rule,
    rule_name: JSON.parse(r.rule_name) as { vi: string; en: string },
    kind: r.kind as RuleKind,
    severity: r.severity as Severity,
    station: r.station,
    param: r.param,
    state: r.state as AlarmState,
    occurrences: r.occurrences,
    raised_at: r.raised_at,
    acknowledged_at: r.acknowledged_at,
    acknowledged_by: r.acknowledged_by,
    cleared_at: r.cleared_at,
    closed_at: r.closed_at,
    value: r.value,
    last_value: r.last_value,
    limit: r.limit_json ? (JSON.parse(r.limit_json) as AlarmLimit) : null,
    detail: r.detail,
    updated_at: r.updated_at,
  };
}

export interface AlarmFilter {
  station?: string;
  param?: string;
  rule?: string;
  states?: AlarmState[];
  severity?: string;
  /** raised_at >= from */
  from?: number;
  to?: number;
  limit?: number;
  /** Alarms with id < before (paging, newest first). */
  before?: number;
}

export interface NewAlarm {
  rule: string;
  rule_name: { vi: string; en: string };
  kind: RuleKind;
  severity: Severity;
  station: string;
  param: string;
  raised_at: number;
  value: number | null;
  limit: AlarmLimit | null;
  detail: string;
  now: number;
}

/** Data access for alarms, history and rule state; the state machine itself is in the engine. */
export class AlarmStore {
  private readonly s;

  /** `ids`: where new alarm and history ids come from (cluster mode: src/cluster/id-blocks.ts); default AUTOINCREMENT. */
  constructor(
    readonly db: Database.Database,
    private readonly ids?: () => number,
  ) {
    this.s = {
      open: db.prepare<[string, string, string], AlarmRow>(`SELECT * FROM alarms WHERE station = ? AND param = ? AND rule = ? AND state <> 'closed'`),
      get: db.prepare<[number], AlarmRow>(`SELECT * FROM alarms WHERE id = ?`),
      insert: db.prepare(
        `INSERT INTO alarms (id, rule, rule_name, kind, severity, station, param, state, occurrences, raised_at, value, last_value, limit_json, detail, updated_at)
         VALUES (@id, @rule, @rule_name, @kind, @severity, @station, @param, 'raised', 1, @raised_at, @value, @value, @limit_json, @detail, @now)`,
      ),
      history: db.prepare(`INSERT INTO alarm_history (id, alarm_id, time, action, by, text) VALUES (?, ?, ?, ?, ?, ?)`),
      historyOf: db.prepare<[number], HistoryEntry>(`SELECT id, alarm_id, time, action, by, text FROM alarm_history WHERE alarm_id = ? ORDER BY id`),
      getState: db.prepare<[string, string, string], { state: string }>(`SELECT state FROM rule_state WHERE rule = ? AND station = ? AND param = ?`),
      putState: db.prepare(`INSERT INTO rule_state (rule, station, param, state) VALUES (?, ?, ?, ?) ON CONFLICT (rule, station, param) DO UPDATE SET state = excluded.state`),
      delState: db.prepare(`DELETE FROM rule_state WHERE rule = ? AND station = ? AND param = ?`),
      getSeen: db.prepare<[string, string, number], { last_time: number }>(`SELECT last_time FROM series_seen WHERE station = ? AND param = ? AND period_s = ?`),
      putSeen: db.prepare(`INSERT INTO series_seen (station, param, period_s, last_time) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET last_time = excluded.last_time`),
      stationSeen: db.prepare<[], { station: string; last_arrival: number }>(`SELECT station, last_arrival FROM station_seen`),
      putStationSeen: db.prepare(`INSERT INTO station_seen (station, last_arrival) VALUES (?, ?) ON CONFLICT DO UPDATE SET last_arrival = max(last_arrival, excluded.last_arrival)`),
      calibrations: db.prepare<[], { station: string; param: string; since: number }>(`SELECT station, param, since FROM calibrations ORDER BY station, param`),
      putCalibration: db.prepare(`INSERT OR IGNORE INTO calibrations (station, param, since) VALUES (?, ?, ?)`),
      delCalibration: db.prepare(`DELETE FROM calibrations WHERE station = ? AND param = ?`),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  open(station: string, param: string, rule: string): AlarmView | undefined {
    const r = this.s.open.get(station, param, rule);
    return r ? toView(r) : undefined;
  }

  get(id: number): AlarmView | undefined {
    const r = this.s.get.get(id);
    return r ? toView(r) : undefined;
  }

  insert(a: NewAlarm): AlarmView {
    const info = this.s.insert.run({
      id: this.ids?.() ?? null,
      rule: a.rule,
      rule_name: JSON.stringify(a.rule_name),
      kind: a.kind,
      severity: a.severity,
      station: a.station,
      param: a.param,
      raised_at: a.raised_at,
      value: a.value,
      limit_json: a.limit ? JSON.stringify(a.limit) : null,
      detail: a.detail,
      now: a.now,
    });
    return this.get(Number(info.lastInsertRowid))!;
  }

  /** Sets columns of an alarm; returns the updated view. */
  update(id: number, fields: Partial<Record<'state' | 'occurrences' | 'raised_at' | 'acknowledged_at' | 'acknowledged_by' | 'cleared_at' | 'closed_at' | 'value' | 'last_value' | 'limit_json' | 'detail' | 'updated_at', string | number | null>>): AlarmView {
    const keys = Object.keys(fields);
    if (keys.length > 0) {
      this.db.prepare(`UPDATE alarms SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...fields, id });
    }
    return this.get(id)!;
  }

  addHistory(alarmId: number, time: number, action: HistoryEntry['action'], by: string | null, text: string | null): void {
    this.s.history.run(this.ids?.() ?? null, alarmId, time, action, by, text);
  }

  history(alarmId: number): HistoryEntry[] {
    return this.s.historyOf.all(alarmId);
  }

  list(f: AlarmFilter = {}): AlarmView[] {
    const where: string[] = [];
    const args: Record<string, string | number> = {};
    if (f.station) (where.push('station = @station'), (args.station = f.station));
    if (f.param) (where.push('param = @param'), (args.param = f.param));
    if (f.rule) (where.push('rule = @rule'), (args.rule = f.rule));
    if (f.severity) (where.push('severity = @severity'), (args.severity = f.severity));
    if (f.from !== undefined) (where.push('raised_at >= @from'), (args.from = f.from));
    if (f.to !== undefined) (where.push('raised_at < @to'), (args.to = f.to));
    if (f.before !== undefined) (where.push('id < @before'), (args.before = f.before));
    if (f.states?.length) {
      where.push(`state IN (${f.states.map((_, i) => `@st${i}`).join(', ')})`);
      f.states.forEach((s, i) => (args[`st${i}`] = s));
    }
    const sql = `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${Math.min(Math.max(f.limit ?? 100, 1), 1000)}`;
    return (this.db.prepare(sql).all(args) as AlarmRow[]).map(toView);
  }

  ruleState<T>(rule: string, station: string, param: string): T | undefined {
    const r = this.s.getState.get(rule, station, param);
    return r ? (JSON.parse(r.state) as T) : undefined;
  }

  putRuleState(rule: string, station: string, param: string, state: object | undefined): void {
    if (state === undefined) this.s.delState.run(rule, station, param);
    else this.s.putState.run(rule, station, param, JSON.stringify(state));
  }

  lastSeen(station: string, param: string, period_s: number): number | undefined {
    return this.s.getSeen.get(station, param, period_s)?.last_time;
  }

  putLastSeen(station: string, param: string, period_s: number, time: number): void {
    this.s.putSeen.run(station, param, period_s, time);
  }

  stationArrivals(): Map<string, number> {
    return new Map(this.s.stationSeen.all().map((r) => [r.station, r.last_arrival]));
  }

  putStationArrival(station: string, time: number): void {
    this.s.putStationSeen.run(station, time);
  }

  calibrations(): CalibrationSuppression[] {
    return this.s.calibrations.all().map((c) => ({ ...c, note: `${c.param} at ${c.station} is calibrating (status 01): limit alarms for it are suppressed` }));
  }

  startCalibration(station: string, param: string, since: number): boolean {
    return this.s.putCalibration.run(station, param, since).changes > 0;
  }

  endCalibration(station: string, param: string): boolean {
    return this.s.delCalibration.run(station, param).changes > 0;
  }
}
