import { Hono } from 'hono';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Quarantine } from '../pipeline/quarantine.ts';
import type { Wal } from '../pipeline/wal.ts';
import type { WalWriter } from '../pipeline/writer.ts';

export interface HealthDeps {
  wal: Wal;
  writer: WalWriter;
  pipeline: Pipeline;
  quarantine: Quarantine;
  storeKind: string;
  maxWalReadings: number;
  connectedClients: () => number;
  /** Alarm engine counters and, in cluster mode, stations owned and replication counters. */
  alarmStats?: () => AlarmStats;
}

export interface AlarmStats {
  raised: number;
  cleared: number;
  dropped: number;
  /** Cluster mode only. */
  owned?: number;
  parked?: number;
  leasesAcquired?: number;
  leasesLost?: number;
  changesShipped?: number;
  changesApplied?: number;
}

/**
 * `/healthz`: the process is alive. `/readyz`: it can take data (WAL below its limit, store writes succeeding).
 * `/metrics`: Prometheus text format.
 */
export function healthRoutes(d: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => {
    const problems: string[] = [];
    if (d.wal.depthReadings >= d.maxWalReadings) problems.push('WAL is full');
    if (d.writer.lastError) problems.push(`store write failing: ${d.writer.lastError}`);
    return c.json({ ready: problems.length === 0, problems, store: d.storeKind }, problems.length === 0 ? 200 : 503);
  });
  app.get('/metrics', (c) => {
    const w = d.wal.stats();
    const lines = [
      metric('envmon_messages_total', 'counter', 'MQTT data messages received', d.pipeline.counters.messages),
      metric('envmon_readings_accepted_total', 'counter', 'Readings committed to the WAL', d.pipeline.counters.accepted),
      metric('envmon_readings_written_total', 'counter', 'Readings written to the store', d.writer.counters.written),
      metric('envmon_store_write_errors_total', 'counter', 'Failed store writes (retried)', d.writer.counters.writeErrors),
      metric('envmon_wal_depth_readings', 'gauge', 'Readings waiting in the WAL', w.readings),
      metric('envmon_wal_depth_entries', 'gauge', 'Batches waiting in the WAL', w.entries),
      metric('envmon_wal_oldest_age_seconds', 'gauge', 'Age of the oldest WAL entry', w.oldestReceivedAt ? (Date.now() - w.oldestReceivedAt) / 1000 : 0),
      metric('envmon_backpressure_waits_total', 'counter', 'Messages held because the WAL was full', d.pipeline.counters.backpressureWaits),
      metric('envmon_mqtt_clients', 'gauge', 'Connected MQTT clients', d.connectedClients()),
      ...alarmLines(d.alarmStats?.()),
      '# HELP envmon_rejects_total Rejected messages or readings by reason',
      '# TYPE envmon_rejects_total counter',
      ...Object.entries(d.quarantine.countsByReason()).map(([reason, n]) => `envmon_rejects_total{reason="${reason}"} ${n}`),
    ];
    return c.text(`${lines.join('\n')}\n`, 200, { 'content-type': 'text/plain; version=0.0.4' });
  });
  return app;
}

function alarmLines(a: AlarmStats | undefined): string[] {
  if (!a) return [];
  const lines = [
    metric('envmon_alarms_raised_total', 'counter', 'Alarms raised or re-raised by this instance', a.raised),
    metric('envmon_alarms_cleared_total', 'counter', 'Alarms cleared by this instance', a.cleared),
    metric('envmon_alarm_events_dropped_total', 'counter', 'Reading events dropped because the alarm queue was full', a.dropped),
  ];
  if (a.owned === undefined) return lines;
  return [
    ...lines,
    metric('envmon_alarm_stations_owned', 'gauge', 'Stations whose alarms this instance evaluates (cluster lease held)', a.owned),
    metric('envmon_alarm_events_parked_total', 'counter', 'Reading events of stations owned elsewhere, kept for a takeover', a.parked ?? 0),
    metric('envmon_alarm_leases_acquired_total', 'counter', 'Station leases taken by this instance', a.leasesAcquired ?? 0),
    metric('envmon_alarm_leases_lost_total', 'counter', 'Station leases lost (not renewed in time)', a.leasesLost ?? 0),
    metric('envmon_alarm_changes_shipped_total', 'counter', 'Alarm database rows shipped to the cluster stream', a.changesShipped ?? 0),
    metric('envmon_alarm_changes_applied_total', 'counter', 'Alarm database rows applied from other instances', a.changesApplied ?? 0),
  ];
}

function metric(name: string, type: 'counter' | 'gauge', help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}`;
}
