import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * The `cluster:` section of the ingest config (issue 10): several ingest instances act as one MQTT broker through
 * one Redis (src/cluster/redis-backend.ts). Each instance keeps its own WAL and writes to the shared store (which
 * must then be InfluxDB/VictoriaMetrics, not the embedded SQLite). `ENVMON_REDIS_URL` in the environment turns
 * cluster mode on without the section (and overrides its `redis_url`).
 */
export const ClusterConfigSchema = z
  .object({
    /** `redis://[:password@]host:port[/db]`; every instance of one cluster uses the same URL and database. May come from ENVMON_REDIS_URL instead. */
    redis_url: z
      .string()
      .regex(/^redis:\/\/[^\s]+$/, 'a Redis URL such as redis://127.0.0.1:6379 or redis://:password@redis.lan:6379/0')
      .optional(),
    /** Names this instance in logs and Redis (Aedes broker id); default `<hostname>-<pid>`. Unique per instance. */
    instance_id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'instance_id: 1-64 of A-Z a-z 0-9 _ . -')
      .optional(),
    /** Alarm evaluation: how long a station's owner lease lasts (a killed owner's stations are taken over within it). */
    alarm_lease_ms: z.number().int().min(500).max(600_000).optional(),
    /**
     * Lets instances run with the embedded SQLite store, each its own: the API of one instance then shows only what
     * it accepted. For tests and experiments only; refused otherwise, since a cluster needs one shared store.
     */
    allow_local_store: z.boolean().optional(),
    /**
     * An instance whose alarm database holds alarms from before it joined (it ran as a single server) brings them
     * into an empty cluster, and refuses to join one that already has state, since its copy would be replaced by
     * the cluster's. `true` joins anyway and discards them (they stay in the log line's count only).
     */
    discard_local_alarms: z.boolean().optional(),
  })
  .strict();
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;

/** What a running instance uses: the Redis URL and its own id. */
export interface ClusterSettings {
  redisUrl: string;
  instanceId: string;
  alarmLeaseMs?: number;
  allowLocalStore?: boolean;
  discardLocalAlarms?: boolean;
}

/** Cluster settings from the config section and ENVMON_REDIS_URL / ENVMON_INSTANCE_ID; undefined = single instance. */
export function resolveCluster(section: ClusterConfig | undefined, env: NodeJS.ProcessEnv): ClusterSettings | undefined {
  const envUrl = env.ENVMON_REDIS_URL?.trim();
  const redisUrl = envUrl ? envUrl : section?.redis_url;
  if (!redisUrl) return undefined;
  const parsed = ClusterConfigSchema.shape.redis_url.safeParse(redisUrl);
  if (!parsed.success) throw new Error(`ENVMON_REDIS_URL: ${parsed.error.issues[0]?.message ?? 'not a Redis URL'}`);
  const envId = env.ENVMON_INSTANCE_ID?.trim();
  const instanceId = envId || section?.instance_id || `${hostname()}-${process.pid}`;
  const id = ClusterConfigSchema.shape.instance_id.safeParse(instanceId);
  if (!id.success) throw new Error(`instance id ${JSON.stringify(instanceId)}: ${id.error.issues[0]?.message ?? 'invalid'}`);
  return {
    redisUrl,
    instanceId,
    ...(section?.alarm_lease_ms !== undefined ? { alarmLeaseMs: section.alarm_lease_ms } : {}),
    ...(section?.allow_local_store ? { allowLocalStore: true } : {}),
    ...(section?.discard_local_alarms ? { discardLocalAlarms: true } : {}),
  };
}
