import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { catalogue, isValidStationId } from '@envmon/protocol';
import { parseYamlWith } from './yaml-errors.ts';
import { MQTT_DEFAULTS, MqttConfigSchema } from './mqtt-config.ts';
import { ClusterConfigSchema } from './cluster-config.ts';
import { API_DEFAULTS, ApiConfigSchema, DASHBOARD_DEFAULTS, DashboardConfigSchema } from './api-config.ts';
import { AlarmsConfigSchema, resolveAlarmsPaths } from '../alarms/system.ts';
import { ReportsSchema } from '../reports/config.ts';
import { Tt10ImportSchema } from '../tt10-import/config.ts';
import { NodeRedConfigSchema } from '../node-red/config.ts';

const StationSchema = z
  .object({
    id: z.string().refine(isValidStationId, 'station id: use 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit'),
    name: z.string().min(1).optional(),
    medium: z.enum(['air', 'water', 'stack', 'weather']).default('air'),
    /** Parameters this station reports; readings of others are rejected ("unknown_param_for_station"). */
    params: z
      .array(z.string().refine((c) => catalogue().has(c), 'not a code in protocol/parameters.yaml'))
      .default([]),
    /** scrypt hash of the station's MQTT secret: make one with `npm run hash-secret -w @envmon/ingest`. */
    secret_hash: z.string().regex(/^scrypt\$/, 'secret_hash must be an scrypt hash (run: npm run hash-secret -w @envmon/ingest)'),
    location: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
    /** How often the station samples, in seconds: the expected count behind data coverage (aggregates, completeness). */
    expected_interval_s: z.number().positive().default(60),
    /** Plausible range per parameter at this station: values outside are kept and flagged RANGE (QC), not rejected. */
    plausible: z.record(z.string(), z.tuple([z.number(), z.number()])).default({}),
  })
  .strict();
export type StationConfig = z.infer<typeof StationSchema>;

const IngestConfigSchema = z
  .object({
    stations: z.array(StationSchema).default([]),
    validation: z
      .object({
        /** Readings stamped further in the future than this are rejected: a gateway clock is wrong. */
        max_future_skew_s: z.number().positive().default(300),
        /** Late data (a gateway's outbox after an outage) is accepted up to this age. */
        max_backfill_days: z.number().positive().default(60),
        /** Readings that arrive later than this after their source time are flagged STALE. */
        stale_after_s: z.number().positive().default(600),
      })
      .strict()
      .default({ max_future_skew_s: 300, max_backfill_days: 60, stale_after_s: 600 }),
    wal: z
      .object({
        /** Readings waiting in the WAL above which the broker stops acknowledging (clients keep their data). */
        max_readings: z.number().int().positive().default(2_000_000),
      })
      .strict()
      .default({ max_readings: 2_000_000 }),
    /** Broker limits, TLS and WebSocket listeners, read-only credentials (mqtt-config.ts); paths relative to this file. */
    mqtt: MqttConfigSchema.default(MQTT_DEFAULTS),
    /** HTTP API access: tokens and roles, open data public or by key, rate limits (api-config.ts). */
    api: ApiConfigSchema.default(API_DEFAULTS),
    /** What the dashboard needs from the server side: optional map tiles (api-config.ts). */
    dashboard: DashboardConfigSchema.default(DASHBOARD_DEFAULTS),
    /** TT10/2021 TXT files dropped by the agency's FTP server (tt10-import/config.ts). */
    tt10_import: Tt10ImportSchema.optional(),
    /** Which QCVN profile judges each station in compliance reports (reports/config.ts). */
    reports: ReportsSchema.optional(),
    /** Alarm rules and SMS recipients files (src/alarms/README.md); paths relative to this file. */
    alarms: AlarmsConfigSchema.optional(),
    /** Embedded Node-RED under /flows (src/node-red/README.md): off when the section is missing. */
    node_red: NodeRedConfigSchema.optional(),
    /** Several instances as one broker through Redis (cluster-config.ts); ENVMON_REDIS_URL also turns it on. */
    cluster: ClusterConfigSchema.optional(),
  })
  .strict();
export type IngestConfig = z.infer<typeof IngestConfigSchema>;

export function parseIngestConfig(text: string, fileName = 'ingest.yaml'): IngestConfig {
  const config = parseYamlWith(IngestConfigSchema, text, fileName);
  const seen = new Set<string>();
  for (const s of config.stations) {
    if (seen.has(s.id)) throw new Error(`${fileName}: station ${s.id} is listed twice`);
    seen.add(s.id);
  }
  if (config.alarms) config.alarms = resolveAlarmsPaths(config.alarms, dirname(fileName));
  if (config.mqtt.tls) {
    const tls = config.mqtt.tls;
    const at = (f: string) => resolvePath(dirname(fileName), f);
    config.mqtt.tls = { ...tls, cert_file: at(tls.cert_file), key_file: at(tls.key_file), ...(tls.ca_file ? { ca_file: at(tls.ca_file) } : {}) };
  }
  return config;
}

export function loadIngestConfig(path: string): IngestConfig {
  return parseIngestConfig(readFileSync(path, 'utf8'), path);
}
