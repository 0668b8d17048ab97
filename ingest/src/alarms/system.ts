import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { LiveEvent } from '../live/hub.ts';
import { loadNotifyConfig, type NotifyConfig } from '../notify/config.ts';
import { Notifier } from '../notify/notifier.ts';
import { AlarmCluster } from '../cluster/alarm-cluster.ts';
import type { AlarmStats } from '../api/health.ts';
import type { Store } from '../store/store.ts';
import { openAlarmDb } from './alarm-db.ts';
import { AlarmEngine, type AlarmLiveEvent } from './engine.ts';
import { loadLimitProfiles } from './limits.ts';
import { loadRules, parseRules, type RuleSet } from './rules.ts';
import type { Clock } from './types.ts';

/** The `alarms:` section of the ingest config. Relative paths are relative to the config file. */
export const AlarmsConfigSchema = z
  .object({
    /** Rules file (YAML, see src/alarms/README.md); absent = no alarms. */
    rules: z.string().min(1).optional(),
    /** Recipients, groups, escalation policies and SMS providers (YAML); absent = alarms are recorded, nobody is notified. */
    recipients: z.string().min(1).optional(),
    /** Folder of limit profiles; default ingest/limits/. */
    limits_dir: z.string().min(1).optional(),
    /** Timer period for silent stations, escalations and sending; default 1000 ms. */
    tick_ms: z.number().int().positive().optional(),
  })
  .strict();
export type AlarmsConfig = z.infer<typeof AlarmsConfigSchema>;

/** Makes the section's file paths absolute, relative to the folder of the config file that named them. */
export function resolveAlarmsPaths(c: AlarmsConfig, baseDir: string): AlarmsConfig {
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  return { ...c, rules: abs(c.rules), recipients: abs(c.recipients), limits_dir: abs(c.limits_dir) };
}

export interface AlarmSystemOptions {
  config: AlarmsConfig;
  dataDir: string;
  hub: { subscribe(l: (e: LiveEvent) => void): () => void; publish(e: AlarmLiveEvent): void };
  stations: readonly { id: string; name?: string }[];
  store?: Store;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  log?: Logger;
  /**
   * Cluster mode: one owner per station through Redis leases, the alarm database replicated to every instance
   * (src/cluster/alarm-cluster.ts). `hub` must then carry every instance's readings (the cluster hub).
   */
  cluster?: { redisUrl: string; instanceId: string; leaseMs?: number | undefined; discardLocalAlarms?: boolean | undefined };
}

export interface AlarmSystem {
  engine: AlarmEngine;
  notifier?: Notifier;
  db: Database.Database;
  cluster?: AlarmCluster;
  /** For /metrics. */
  stats(): AlarmStats;
  stop(): Promise<void>;
}

/** Loads rules and recipients (failing with file:line errors), opens <dataDir>/alarms.sqlite, starts both. */
export async function startAlarmSystem(o: AlarmSystemOptions): Promise<AlarmSystem> {
  const stationIds = o.stations.map((s) => s.id);
  const notifyConfig: NotifyConfig | undefined = o.config.recipients ? loadNotifyConfig(o.config.recipients) : undefined;
  const profiles = loadLimitProfiles(o.config.limits_dir);
  const ruleOpts = { profiles, stations: stationIds, policies: notifyConfig ? Object.keys(notifyConfig.policies) : undefined };
  const rules: RuleSet = o.config.rules ? loadRules(o.config.rules, ruleOpts) : parseRules('version: 1\nrules: []\n', '(no rules)', ruleOpts);
  const db = openAlarmDb(join(o.dataDir, 'alarms.sqlite'));
  let cluster: AlarmCluster | undefined;
  try {
    cluster = o.cluster ? await AlarmCluster.open({ ...o.cluster, log: o.log }) : undefined;
  } catch (err) {
    db.close();
    throw err;
  }
  const names = new Map(o.stations.map((s) => [s.id, s.name ?? s.id]));
  const tickMs = o.config.tick_ms ?? 1000;
  let engine: AlarmEngine | undefined;
  const notifier = notifyConfig
    ? new Notifier({
        db,
        config: notifyConfig,
        policyFor: (id) => rules.rules.find((r) => r.id === id)?.notify,
        ruleInfo: (id) => engine?.ruleInfo(id) ?? {},
        stationName: (id) => names.get(id) ?? id,
        clock: o.clock,
        env: o.env,
        tickMs,
        log: o.log,
        ...(cluster ? { ids: cluster.ids, handles: cluster.owns, beforeSend: cluster.flush } : {}),
      })
    : undefined;
  engine = new AlarmEngine({
    db,
    rules,
    subscribe: (l) => o.hub.subscribe(l),
    publish: (e) => o.hub.publish(e),
    stations: stationIds,
    store: o.store,
    sink: notifier,
    clock: o.clock,
    tickMs,
    log: o.log,
    ...(cluster ? { ids: cluster.ids, owns: cluster.owns, asOperator: cluster.asOperator } : {}),
  });
  await engine.start();
  // Cluster mode: the local copy catches up now; stations are taken once the live relay runs (ingest.ts).
  await cluster?.start(db, engine, stationIds);
  notifier?.start();
  o.log?.info({ rules: rules.rules.length, recipients: notifyConfig?.recipients.length ?? 0 }, 'alarms ready');
  const running = engine;
  return {
    engine: running,
    notifier,
    db,
    cluster,
    stats() {
      const c = running.counters;
      const base = { raised: c.raised, cleared: c.cleared, dropped: c.dropped };
      if (!cluster) return base;
      const k = cluster.stats();
      return {
        ...base,
        owned: k.owned.length,
        parked: c.parked,
        leasesAcquired: k.leases?.acquired ?? 0,
        leasesLost: k.leases?.lost ?? 0,
        changesShipped: k.replication?.shipped ?? 0,
        changesApplied: k.replication?.applied ?? 0,
      };
    },
    async stop() {
      // Cluster mode: hand the stations over and ship the last changes first.
      await cluster?.stop();
      running.stop();
      await running.idle();
      await notifier?.stop();
      db.close();
    },
  };
}
