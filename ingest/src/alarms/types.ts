/** Where time comes from: the real clock in production, a fake one in tests. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export type RuleKind = 'threshold' | 'rate_of_change' | 'flatline' | 'silent' | 'device_fault';
export type Severity = 'critical' | 'major' | 'minor' | 'warning';

/**
 * raised: the condition holds and nobody has acknowledged. acknowledged: it holds and someone took it.
 * cleared: the clear condition held but nobody acknowledged yet. closed: cleared and acknowledged (final).
 */
export type AlarmState = 'raised' | 'acknowledged' | 'cleared' | 'closed';

export interface AlarmView {
  id: number;
  rule: string;
  rule_name: { vi: string; en: string };
  kind: RuleKind;
  severity: Severity;
  station: string;
  /** Parameter code, or "*" for station-level rules (silent). */
  param: string;
  state: AlarmState;
  /** How many times the condition came back while this alarm was open (1 = raised once). */
  occurrences: number;
  /** Source time of the reading that raised it (clock time for silent-station alarms), Unix ms. */
  raised_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
  closed_at: number | null;
  /** The value that raised it (the rolling mean for mean rules), null for silent and fault alarms. */
  value: number | null;
  last_value: number | null;
  /** The limit in force when it was raised, with where it comes from. */
  limit: AlarmLimit | null;
  /** Human-readable cause, English. */
  detail: string;
  updated_at: number;
}

export interface AlarmLimit {
  above?: number;
  below?: number;
  /** e.g. "QCVN 05:2023/BTNMT, Bảng 1, PM2,5 24 h" */
  source?: string;
  profile?: string;
  /** The value is not confirmed from the regulation's primary text. */
  unconfirmed?: boolean;
}

export type AlarmAction = 'raised' | 're-raised' | 'acknowledged' | 'cleared' | 'closed' | 'comment' | 'calibration';

export interface HistoryEntry {
  id: number;
  alarm_id: number;
  time: number;
  action: AlarmAction | 'escalated' | 'notified';
  by: string | null;
  text: string | null;
}

/** What the engine tells the notifier, synchronously, inside the transaction that changed the alarm. */
export interface AlarmTransition {
  action: 'raised' | 're-raised' | 'acknowledged' | 'cleared' | 'closed';
  alarm: AlarmView;
  /** Clock time of the transition. */
  at: number;
  by?: string;
}

export interface CalibrationSuppression {
  station: string;
  param: string;
  /** Source time of the first calibrating reading. */
  since: number;
  note: string;
}
