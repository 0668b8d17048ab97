import { z } from 'zod';

/**
 * The `mqtt:` section of the ingest config: broker limits, extra listeners (TLS for stations on untrusted
 * networks, WebSocket for browsers) and read-only credentials. Ports may also come from the environment
 * (ENVMON_MQTT_PORT for plain TCP).
 */
const ReaderSchema = z
  .object({
    /** MQTT user name a browser or integration connects with (not a station id). */
    username: z.string().min(1).max(64),
    /** scrypt hash of its password (npm run hash-secret -w @envmon/ingest). */
    secret_hash: z.string().regex(/^scrypt\$/, 'secret_hash must be an scrypt hash (run: npm run hash-secret -w @envmon/ingest)'),
    /** Topic filters it may subscribe to; it may never publish. */
    topics: z.array(z.string().min(1)).min(1).default(['envmon/v1/+/data', 'envmon/v1/+/status']),
  })
  .strict();
export type ReaderConfig = z.infer<typeof ReaderSchema>;

export const MqttConfigSchema = z
  .object({
    /** Largest MQTT packet accepted; a client announcing more is disconnected before the body is buffered. */
    max_packet_bytes: z.number().int().positive().default(256 * 1024),
    /** Clients asking for a longer keepalive are refused (Aedes keepaliveLimit); 0 = no limit. */
    keepalive_limit_s: z.number().int().min(0).default(600),
    tls: z
      .object({
        port: z.number().int().min(0).max(65535).default(8883),
        cert_file: z.string().min(1),
        key_file: z.string().min(1),
        /** Optional CA bundle to require client certificates (mutual TLS). */
        ca_file: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    websocket: z
      .object({
        port: z.number().int().min(0).max(65535).default(8083),
        path: z.string().startsWith('/').default('/mqtt'),
      })
      .strict()
      .optional(),
    readers: z.array(ReaderSchema).default([]),
  })
  .strict();
export type MqttConfig = z.infer<typeof MqttConfigSchema>;

export const MQTT_DEFAULTS: MqttConfig = { max_packet_bytes: 256 * 1024, keepalive_limit_s: 600, readers: [] };
