import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { LiveEvent } from '../live/hub.ts';
import type { Store, StoredReading } from '../store/store.ts';
import { AlarmStore, type AlarmFilter } from './alarm-db.ts';
import { describeAlarm } from './describe.ts';
import { formatDuration } from './duration.ts';
import { ruleApplies, type CompiledRule, type ResolvedLimit, type RuleSet } from './rules.ts';
import { systemClock, type AlarmTransition, type AlarmView, type CalibrationSuppression, type Clock, type HistoryEntry } from './types.ts';
import { RollingMean } from './window.ts';

/** What the engine publishes on the live hub (as `{ type: 'alarm', ... }`). */
export interface AlarmLiveEvent {
  type: 'alarm';
  station: string;
  action: AlarmTransition['action'] | 'comment' | 'calibration-started' | 'calibration-ended';
  alarm?: AlarmView;
  calibration?: CalibrationSuppression;
}

/** Receives every transition synchronously, inside the transaction that made it (the notifier's outbox). */
export interface AlarmSink {
  onTransition(t: AlarmTransition): void;
}

export interface AlarmEngineOptions {
  db: Database.Database;
  rules: RuleSet;
  /** Where readings come from: the live hub (only `readings` events are used). */
  subscribe(listener: (e: LiveEvent) => void): () => void;
  /** Where alarm events go: the live hub. */
  publish?(e: AlarmLiveEvent): void;
  /** Configured station ids: rules with `stations: "*"` cover these (the silent rule watches them even before data). */
  stations: readonly string[];
  /** Seeds rolling means and station last-seen times at start. */
  store?: Store;
  sink?: AlarmSink;
  clock?: Clock;
  /** How often the timer checks silent stations; default 1 s. 0 = no timer (tests call tick()). */
  tickMs?: number;
  /** Events waiting above this are dropped oldest-first (and counted): the ingest never waits for alarms. */
  maxQueue?: number;
  log?: Logger;
  /**
   * Cluster mode (src/cluster/station-leases.ts): whether this instance holds the station's lease. Only stations
   * taken up with `acquire()` and still owned are evaluated; the readings of the others are parked for `parkMs`
   * so that a takeover can evaluate what arrived while the station had no live owner.
   */
  owns?(station: string): boolean;
  /** How long readings of stations evaluated elsewhere are kept for a takeover; default 120 s. */
  parkMs?: number;
  /** Cluster mode: new alarm and history ids (src/cluster/id-blocks.ts). */
  ids?: () => number;
  /** Cluster mode: runs an operator action (acknowledge, comment) so that any instance may take it. */
  asOperator?<T>(fn: () => T): T;
}

interface QueuedEvent {
  station: string;
  readings: StoredReading[];
  arrived: number;
}

/** Half-done work of one rule on one (station, param), persisted after every change. */
interface RuleState {
  /** Reading time when the raise condition started to hold, and how many consecutive readings held it. */
  ps?: number;
  pc?: number;
  /** Same for the clear condition while an alarm is active. */
  cs?: number;
  cc?: number;
  /** Previous value and time (rate of change). */
  pt?: number;
  pv?: number;
  /** Flatline reference value and since when the value has stayed within tolerance of it. */
  fr?: number;
  fs?: number;
}

type Cond = { c: 'raise' | 'clear' | 'hold' | 'reset'; value: number | null; limit?: ResolvedLimit };

export class AlarmError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
  }
}

/**
 * The alarm engine. It subscribes to the live hub and only queues there; evaluation runs later, in batches, each
 * batch one SQLite transaction (alarm rows, history, rule state, and the notifier's outbox rows commit together).
 */
export class AlarmEngine {
  readonly store: AlarmStore;
  private readonly clock: Clock;
  private readonly queue: QueuedEvent[] = [];
  /** Cluster mode: stations taken up (acquire) and not given up since, and the parked events of the others. */
  private readonly active = new Set<string>();
  private readonly parked = new Map<string, QueuedEvent[]>();
  private readonly windows = new Map<string, RollingMean>();
  private readonly seen = new Map<string, number>();
  private readonly ruleStates = new Map<string, RuleState>();
  private arrivals = new Map<string, number>();
  private readonly pendingLive: AlarmLiveEvent[] = [];
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private draining = false;
  private started = false;
  private idleWaiters: (() => void)[] = [];
  readonly counters = { events: 0, readings: 0, dropped: 0, raised: 0, cleared: 0, parked: 0 };

  constructor(private readonly o: AlarmEngineOptions) {
    this.store = new AlarmStore(o.db, o.ids);
    this.clock = o.clock ?? systemClock;
  }

  get rules(): readonly CompiledRule[] {
    return this.o.rules.rules;
  }

  /** Subscribes (queueing at once), seeds rolling means and last-seen times, then starts evaluating. */
  async start(): Promise<void> {
    this.unsubscribe = this.o.subscribe((e) => {
      if (e.type !== 'readings') return;
      const event = { station: e.station, readings: e.readings, arrived: this.clock.now() };
      // Readings parked during a late lease renewal are merged back in when this one is evaluated (drain).
      if (!this.evaluates(e.station)) return this.park(event);
      this.queue.push(event);
      if (this.queue.length > (this.o.maxQueue ?? 100_000)) {
        this.queue.shift();
        this.counters.dropped++;
      }
      this.schedule();
    });
    await this.seed();
    this.started = true;
    this.schedule();
    const tickMs = this.o.tickMs ?? 1000;
    if (tickMs > 0) {
      this.timer = setInterval(() => this.tick(), tickMs);
      this.timer.unref();
    }
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.started = false;
  }

  /** Resolves when every queued event has been evaluated. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---------------------------------------------------------------- start-up

  private async seed(): Promise<void> {
    const now = this.clock.now();
    this.arrivals = this.store.stationArrivals();
    const store = this.o.store;
    if (store) {
      try {
        for (const r of await store.latest()) {
          const t = Math.min(r.time, now);
          if ((this.arrivals.get(r.station) ?? 0) < t) this.arrivals.set(r.station, t);
        }
      } catch (err) {
        this.o.log?.warn({ err }, 'alarms: could not read latest readings to seed last-seen times');
      }
    }
    // Cluster mode: nothing is evaluated before a station is taken up (acquire() seeds it then).
    if (this.o.owns) return;
    // A station never heard from is watched from now on: silent after `after` from start-up.
    for (const s of this.o.stations) {
      if (!this.arrivals.has(s)) {
        this.arrivals.set(s, now);
        this.store.putStationArrival(s, now);
      }
    }
    // Readings stored after the last evaluated one are never evaluated after a restart: they count in the means.
    for (const station of this.o.stations) await this.seedWindows(station, now, false);
  }

  /**
   * Fills the rolling means of one station from the store — up to now, or (`toLastSeen`, on a takeover) up to the
   * last reading already evaluated, since the newer ones are evaluated, and added, from the parked events.
   */
  private async seedWindows(station: string, now: number, toLastSeen: boolean): Promise<void> {
    const store = this.o.store;
    if (!store) return;
    for (const rule of this.rules) {
      if (rule.value !== 'mean' || !ruleApplies(rule, station)) continue;
      for (const param of rule.params === '*' ? [] : rule.params) {
        const w = this.window(station, param, rule);
        const upTo = toLastSeen ? Math.min(now, this.store.lastSeen(station, param, rule.period_s) ?? now) : now;
        try {
          const series = await store.series({ station, param, period_s: rule.period_s, from: w.startFor(now), to: upTo + 1, every: w.bucketMs, agg: 'mean' });
          for (const p of series.points) if (p.value !== null && p.count > 0) w.addBucket(p.time, p.value * p.count, p.count);
        } catch (err) {
          this.o.log?.warn({ err, station, param, rule: rule.id }, 'alarms: could not seed the rolling mean from the store');
        }
      }
    }
  }

  // ---------------------------------------------------------------- cluster: one owner per station

  /** Whether this instance evaluates the station now (always, outside cluster mode). */
  private evaluates(station: string): boolean {
    return !this.o.owns || (this.active.has(station) && this.o.owns(station));
  }

  /**
   * Queues what was parked for a station this instance evaluates again: a lease renewal that came late makes
   * `owns()` false for a moment, and the readings of that moment must not stay parked.
   */
  private unpark(station: string): void {
    if (!this.o.owns) return;
    const parked = this.parked.get(station);
    if (!parked) return;
    this.parked.delete(station);
    this.queue.push(...parked);
  }

  private park(e: QueuedEvent): void {
    let list = this.parked.get(e.station);
    if (!list) this.parked.set(e.station, (list = []));
    // In arrival order: an event queued before the lease lapsed may be parked after newer ones.
    let at = list.length;
    while (at > 0 && list[at - 1]!.arrived > e.arrived) at--;
    list.splice(at, 0, e);
    this.counters.parked++;
    const cutoff = this.clock.now() - (this.o.parkMs ?? 120_000);
    let drop = 0;
    while (drop < list.length && list[drop]!.arrived < cutoff) drop++;
    if (list.length - drop > 100_000) drop = list.length - 100_000;
    if (drop > 0) list.splice(0, drop);
  }

  /**
   * Takes a station up after its lease was won (call once the replicated alarm state is caught up): forgets any
   * cached state of it, reloads it from the alarm database (what the previous owner shipped), seeds its rolling
   * means, then evaluates the parked readings — those the previous owner evaluated are skipped as not newer than
   * the last one seen — and from then on every new reading.
   */
  async acquire(station: string): Promise<void> {
    const now = this.clock.now();
    this.forget(station);
    const parked = this.parked.get(station) ?? [];
    const heard = Math.max(this.store.stationArrivals().get(station) ?? 0, parked.at(-1)?.arrived ?? 0);
    // Never heard from at all: watched from now on, like a station at start-up.
    this.arrivals.set(station, heard || now);
    if (!heard) this.store.putStationArrival(station, now);
    await this.seedWindows(station, now, true);
    if (!this.o.owns?.(station)) return;
    // Everything parked, including what arrived while seeding, then the live readings behind it.
    const events = this.parked.get(station) ?? [];
    this.parked.delete(station);
    this.active.add(station);
    this.queue.push(...events);
    this.o.log?.info({ station, parked: events.length }, 'alarms: station taken up');
    this.schedule();
  }

  /** Gives a station up (hand-over, lease lost or shutting down): its readings are parked from now on. */
  async release(station: string): Promise<void> {
    this.active.delete(station);
    this.forget(station);
    await this.idle();
  }

  /** Drops what is cached in memory about a station; the database holds the truth. */
  private forget(station: string): void {
    for (const map of [this.windows, this.seen] as Map<string, unknown>[]) {
      for (const k of map.keys()) if (k.startsWith(`${station}\u0000`)) map.delete(k);
    }
    for (const k of this.ruleStates.keys()) if (k.split('\u0000')[1] === station) this.ruleStates.delete(k);
    this.arrivals.delete(station);
  }

  private window(station: string, param: string, rule: CompiledRule): RollingMean {
    const key = `${station}\u0000${param}\u0000${rule.period_s}\u0000${rule.windowMs}`;
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = new RollingMean(rule.windowMs)));
    return w;
  }

  // ---------------------------------------------------------------- queue

  private schedule(): void {
    if (this.draining || !this.started) return;
    this.draining = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    try {
      const batch = this.queue.splice(0, 200);
      if (batch.length > 0) {
        this.store.transaction(() => {
          for (const e of batch) {
            // Cluster mode: a station given up since the event was queued is parked for whoever takes it.
            if (!this.evaluates(e.station)) {
              this.park(e);
              continue;
            }
            // Readings parked during a late lease renewal are evaluated with this one, in arrival order.
            const parked = this.o.owns ? this.parked.get(e.station) : undefined;
            if (parked) this.parked.delete(e.station);
            for (const x of parked ? [...parked, e].sort((a, b) => a.arrived - b.arrived) : [e]) this.processEvent(x.station, x.readings, x.arrived);
          }
        });
        this.flushLive();
      }
    } catch (err) {
      this.pendingLive.length = 0;
      this.o.log?.error({ err }, 'alarms: evaluation failed');
    }
    if (this.queue.length > 0 && this.started) {
      setImmediate(() => this.drain());
      return;
    }
    this.draining = false;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  private flushLive(): void {
    const events = this.pendingLive.splice(0);
    for (const e of events) this.o.publish?.(e);
  }

  // ---------------------------------------------------------------- evaluation

  private processEvent(station: string, readings: readonly StoredReading[], arrived: number): void {
    this.counters.events++;
    this.noteArrival(station, arrived);
    const sorted = [...readings].sort((a, b) => a.time - b.time);
    for (const r of sorted) {
      const key = `${station}\u0000${r.param}\u0000${r.period_s}`;
      let last = this.seen.get(key);
      if (last === undefined) {
        last = this.store.lastSeen(station, r.param, r.period_s) ?? Number.NEGATIVE_INFINITY;
        this.seen.set(key, last);
      }
      // Alarms evaluate the live edge: a replayed or late reading (not newer than the last one) is skipped.
      if (r.time <= last) continue;
      this.seen.set(key, r.time);
      this.store.putLastSeen(station, r.param, r.period_s, r.time);
      this.counters.readings++;
      this.noteCalibration(station, r);
      const rules = this.rules.filter((rule) => rule.kind !== 'silent' && ruleApplies(rule, station) && (rule.params === '*' || rule.params.includes(r.param)) && (rule.kind === 'device_fault' || rule.period_s === r.period_s));
      if (r.status === 0 && r.value !== null) {
        const windowsFed = new Set<RollingMean>();
        for (const rule of rules) {
          if (rule.value !== 'mean') continue;
          const w = this.window(station, r.param, rule);
          if (!windowsFed.has(w)) {
            w.add(r.time, r.value);
            windowsFed.add(w);
          }
        }
      }
      for (const rule of rules) this.step(rule, station, r.param, r.time, this.evaluate(rule, station, r));
    }
  }

  private noteArrival(station: string, at: number): void {
    this.arrivals.set(station, Math.max(at, this.arrivals.get(station) ?? 0));
    this.store.putStationArrival(station, at);
    for (const rule of this.rules) {
      if (rule.kind !== 'silent' || !ruleApplies(rule, station)) continue;
      const open = this.store.open(station, '*', rule.id);
      if (open && (open.state === 'raised' || open.state === 'acknowledged')) this.clear(open, at, `data arrived again at ${new Date(at).toISOString()}`);
    }
  }

  private noteCalibration(station: string, r: StoredReading): void {
    if (r.status === 1) {
      if (this.store.startCalibration(station, r.param, r.time)) {
        const note = `${r.param} at ${station} is calibrating (status 01) since ${new Date(r.time).toISOString()}: limit alarms for it are suppressed`;
        this.o.log?.info({ station, param: r.param }, 'alarms: calibration started, limit alarms suppressed');
        for (const rule of this.rules) {
          if (!rule.suppressedByCalibration) continue;
          const open = this.store.open(station, r.param, rule.id);
          if (open) this.store.addHistory(open.id, this.clock.now(), 'calibration', null, note);
        }
        this.pendingLive.push({ type: 'alarm', station, action: 'calibration-started', calibration: { station, param: r.param, since: r.time, note } });
      }
    } else if (r.status === 0) {
      if (this.store.endCalibration(station, r.param)) {
        const note = `${r.param} at ${station}: calibration ended at ${new Date(r.time).toISOString()}, limit alarms evaluated again`;
        for (const rule of this.rules) {
          if (!rule.suppressedByCalibration) continue;
          const open = this.store.open(station, r.param, rule.id);
          if (open) this.store.addHistory(open.id, this.clock.now(), 'calibration', null, note);
        }
        this.pendingLive.push({ type: 'alarm', station, action: 'calibration-ended', calibration: { station, param: r.param, since: r.time, note } });
      }
    }
  }

  private evaluate(rule: CompiledRule, station: string, r: StoredReading): Cond {
    if (rule.kind === 'device_fault') {
      if (r.status === 2) return { c: 'raise', value: null };
      return r.status === 0 ? { c: 'clear', value: r.value } : { c: 'hold', value: r.value };
    }
    if (rule.suppressedByCalibration && r.status === 1) return { c: 'reset', value: r.value };
    if (r.status !== 0 || r.value === null) return { c: 'hold', value: r.value };
    const v = r.value;
    switch (rule.kind) {
      case 'threshold': {
        let value = v;
        if (rule.value === 'mean') {
          const m = this.window(station, r.param, rule).at(r.time);
          if (m.mean === null || m.count < rule.minSamples) return { c: 'hold', value: null };
          value = m.mean;
        }
        const limit = rule.limitFor?.(station, r.time);
        if (!limit) return { c: 'hold', value };
        const raise = (limit.above !== undefined && value > limit.above) || (limit.below !== undefined && value < limit.below);
        if (raise) return { c: 'raise', value, limit };
        return { c: this.clears(rule, value, limit) ? 'clear' : 'hold', value, limit };
      }
      case 'rate_of_change': {
        const st = this.state(rule, station, r.param);
        const prev = st.pt !== undefined && st.pv !== undefined ? { t: st.pt, v: st.pv } : undefined;
        st.pt = r.time;
        st.pv = v;
        this.saveState(rule, station, r.param, st);
        if (!prev || r.time <= prev.t) return { c: 'hold', value: null };
        const rate = (Math.abs(v - prev.v) / (r.time - prev.t)) * rule.perMs!;
        const limit = { above: rule.maxChange!, label: `${rule.maxChange} per ${formatDuration(rule.perMs!)}` };
        if (rate > rule.maxChange!) return { c: 'raise', value: rate, limit };
        return { c: this.clears(rule, rate, limit) ? 'clear' : 'hold', value: rate, limit };
      }
      case 'flatline': {
        const st = this.state(rule, station, r.param);
        if (st.fr === undefined || st.fs === undefined || Math.abs(v - st.fr) > rule.tolerance!) {
          st.fr = v;
          st.fs = r.time;
          this.saveState(rule, station, r.param, st);
          return { c: 'clear', value: v };
        }
        return r.time - st.fs >= rule.flatForMs! ? { c: 'raise', value: v } : { c: 'hold', value: v };
      }
      default:
        return { c: 'hold', value: v };
    }
  }

  /** The clear condition: explicit clear.below/above, else the limit moved inward by the hysteresis. */
  private clears(rule: CompiledRule, value: number, limit: { above?: number; below?: number }): boolean {
    if (rule.clear.below !== undefined || rule.clear.above !== undefined) {
      return (rule.clear.below === undefined || value < rule.clear.below) && (rule.clear.above === undefined || value > rule.clear.above);
    }
    const h = (bound: number) => rule.hysteresis?.abs ?? ((rule.hysteresis?.pct ?? 0) / 100) * Math.abs(bound);
    return (limit.above === undefined || value <= limit.above - h(limit.above)) && (limit.below === undefined || value >= limit.below + h(limit.below));
  }

  private stateKey(rule: CompiledRule, station: string, param: string): string {
    return `${rule.id}\u0000${station}\u0000${param}`;
  }

  private state(rule: CompiledRule, station: string, param: string): RuleState {
    const key = this.stateKey(rule, station, param);
    let st = this.ruleStates.get(key);
    if (!st) this.ruleStates.set(key, (st = this.store.ruleState<RuleState>(rule.id, station, param) ?? {}));
    return st;
  }

  private saveState(rule: CompiledRule, station: string, param: string, st: RuleState): void {
    this.store.putRuleState(rule.id, station, param, st);
  }

  /** The generic raise/clear state machine with durations and counts, on reading times. */
  private step(rule: CompiledRule, station: string, param: string, time: number, cond: Cond): void {
    const st = this.state(rule, station, param);
    const before = JSON.stringify(st);
    const open = this.store.open(station, param, rule.id);
    const active = open && (open.state === 'raised' || open.state === 'acknowledged');
    if (cond.c === 'reset') {
      resetRaise(st);
      resetClear(st);
    } else if (!active) {
      resetClear(st);
      if (cond.c === 'raise') {
        st.ps ??= time;
        st.pc = (st.pc ?? 0) + 1;
        if (st.pc >= rule.raise.count && time - st.ps >= rule.raise.forMs) {
          resetRaise(st);
          this.raise(rule, station, param, time, cond, open);
        }
      } else if (cond.c === 'clear' || rule.kind !== 'device_fault') {
        // Anything but the raise condition interrupts a pending raise ("for 10 min" means uninterrupted).
        resetRaise(st);
      }
    } else {
      if (cond.value !== null && open.last_value !== cond.value) this.store.update(open.id, { last_value: cond.value });
      if (cond.c === 'clear') {
        st.cs ??= time;
        st.cc = (st.cc ?? 0) + 1;
        if (st.cc >= rule.clear.count && time - st.cs >= rule.clear.forMs) {
          resetClear(st);
          this.clear(open, this.clock.now(), `clear condition met at ${new Date(time).toISOString()} (value ${cond.value ?? '–'})`);
        }
      } else {
        resetClear(st);
      }
    }
    if (JSON.stringify(st) !== before) this.saveState(rule, station, param, st);
  }

  private raise(rule: CompiledRule, station: string, param: string, time: number, cond: Cond, open: AlarmView | undefined): void {
    const now = this.clock.now();
    const limit = cond.limit ? { above: cond.limit.above, below: cond.limit.below, source: cond.limit.source, profile: cond.limit.profile, unconfirmed: cond.limit.unconfirmed } : null;
    const draft: AlarmView = {
      id: 0, rule: rule.id, rule_name: rule.name, kind: rule.kind, severity: rule.severity, station, param, state: 'raised', occurrences: 1,
      raised_at: time, acknowledged_at: null, acknowledged_by: null, cleared_at: null, closed_at: null, value: cond.value, last_value: cond.value, limit, detail: '', updated_at: now,
    };
    const detail = `${describeAlarm(draft, 'en', rule.windowMs || undefined, rule.silentAfterMs)}${cond.limit ? ` [limit ${cond.limit.label}]` : ''}`;
    let alarm: AlarmView;
    let action: 'raised' | 're-raised';
    if (open) {
      // The same alarm came back before anyone acknowledged its clearing: one alarm, one more occurrence.
      alarm = this.store.update(open.id, {
        state: 'raised', occurrences: open.occurrences + 1, cleared_at: null, value: cond.value, last_value: cond.value,
        limit_json: limit ? JSON.stringify(limit) : null, detail, updated_at: now,
      });
      action = 're-raised';
    } else {
      alarm = this.store.insert({ rule: rule.id, rule_name: rule.name, kind: rule.kind, severity: rule.severity, station, param, raised_at: time, value: cond.value, limit, detail, now });
      action = 'raised';
    }
    this.store.addHistory(alarm.id, now, action, null, detail);
    this.counters.raised++;
    this.o.log?.warn({ alarm: alarm.id, rule: rule.id, station, param }, `alarm ${action}: ${detail}`);
    this.emit({ action, alarm, at: now });
  }

  private clear(open: AlarmView, now: number, text: string): void {
    if (open.state === 'acknowledged') {
      const alarm = this.store.update(open.id, { state: 'closed', cleared_at: now, closed_at: now, updated_at: now });
      this.store.addHistory(open.id, now, 'cleared', null, text);
      this.store.addHistory(open.id, now, 'closed', null, 'cleared after acknowledgement');
      this.emit({ action: 'closed', alarm, at: now });
    } else {
      const alarm = this.store.update(open.id, { state: 'cleared', cleared_at: now, updated_at: now });
      this.store.addHistory(open.id, now, 'cleared', null, text);
      this.emit({ action: 'cleared', alarm, at: now });
    }
    this.counters.cleared++;
  }

  private emit(t: AlarmTransition): void {
    this.o.sink?.onTransition(t);
    this.pendingLive.push({ type: 'alarm', station: t.alarm.station, action: t.action, alarm: t.alarm });
  }

  // ---------------------------------------------------------------- timer

  /** Time-driven rules (silent station). Called by the engine's timer; tests call it with a fake clock. */
  tick(): void {
    if (!this.started) return;
    const now = this.clock.now();
    let unparked = false;
    for (const station of this.active) {
      if (this.parked.has(station) && this.evaluates(station)) {
        this.unpark(station);
        unparked = true;
      }
    }
    if (unparked) this.schedule();
    try {
      this.store.transaction(() => {
        for (const rule of this.rules) {
          if (rule.kind !== 'silent') continue;
          const stations = rule.stations === '*' ? this.o.stations : [...rule.stations];
          for (const station of stations) {
            if (!this.evaluates(station)) continue;
            let last = this.arrivals.get(station);
            if (last === undefined) {
              this.arrivals.set(station, now);
              this.store.putStationArrival(station, now);
              continue;
            }
            if (now - last < rule.silentAfterMs!) continue;
            const open = this.store.open(station, '*', rule.id);
            if (open && (open.state === 'raised' || open.state === 'acknowledged')) continue;
            last = Math.max(last, 0);
            this.raise(rule, station, '*', now, { c: 'raise', value: null }, open);
            const a = this.store.open(station, '*', rule.id)!;
            this.store.update(a.id, { detail: `${a.detail}; last data at ${new Date(last).toISOString()}` });
          }
        }
      });
      this.flushLive();
    } catch (err) {
      this.pendingLive.length = 0;
      this.o.log?.error({ err }, 'alarms: timer check failed');
    }
  }

  // ---------------------------------------------------------------- operator actions

  /** Acknowledge: raised → acknowledged, cleared → closed. Stops escalation (through the sink). */
  acknowledge(id: number, by: string, comment?: string): AlarmView {
    const result = this.operator(() => {
      const a = this.store.get(id);
      if (!a) throw new AlarmError(`no alarm ${id}`, 404);
      if (a.state === 'acknowledged' || a.state === 'closed') throw new AlarmError(`alarm ${id} is already ${a.state}${a.acknowledged_by ? ` (by ${a.acknowledged_by})` : ''}`, 409);
      const now = this.clock.now();
      const closing = a.state === 'cleared';
      const alarm = this.store.update(id, { state: closing ? 'closed' : 'acknowledged', acknowledged_at: now, acknowledged_by: by, closed_at: closing ? now : null, updated_at: now });
      this.store.addHistory(id, now, 'acknowledged', by, comment ?? null);
      if (closing) this.store.addHistory(id, now, 'closed', by, 'acknowledged after clearing');
      this.emit({ action: 'acknowledged', alarm, at: now, by });
      if (closing) this.emit({ action: 'closed', alarm, at: now, by });
      return alarm;
    });
    this.flushLive();
    return result;
  }

  comment(id: number, by: string, text: string): HistoryEntry[] {
    const alarm = this.store.get(id);
    if (!alarm) throw new AlarmError(`no alarm ${id}`, 404);
    if (!text.trim()) throw new AlarmError('a comment needs text', 400);
    this.operator(() => this.store.addHistory(id, this.clock.now(), 'comment', by, text));
    this.o.publish?.({ type: 'alarm', station: alarm.station, action: 'comment', alarm });
    return this.store.history(id);
  }

  /** One transaction for an operator's action (cluster mode: not bound to the station's owner). */
  private operator<T>(fn: () => T): T {
    return this.store.transaction(() => (this.o.asOperator ? this.o.asOperator(fn) : fn()));
  }

  list(f: AlarmFilter): AlarmView[] {
    return this.store.list(f);
  }

  get(id: number): AlarmView | undefined {
    return this.store.get(id);
  }

  history(id: number): HistoryEntry[] {
    return this.store.history(id);
  }

  calibrations(): CalibrationSuppression[] {
    return this.store.calibrations();
  }

  /** Window and silent duration of a rule, for messages. */
  ruleInfo(ruleId: string): { windowMs?: number; silentMs?: number } {
    const r = this.rules.find((x) => x.id === ruleId);
    return { windowMs: r?.windowMs || undefined, silentMs: r?.silentAfterMs };
  }
}

function resetRaise(st: RuleState): void {
  delete st.ps;
  delete st.pc;
}

function resetClear(st: RuleState): void {
  delete st.cs;
  delete st.cc;
}
