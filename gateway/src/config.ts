import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, loadProfile, parseYamlWith, type DeviceProfile } from '@envmon/hardware';
import { isValidStationId } from '@envmon/protocol';
import { z } from 'zod';
import { checkTt10, toTt10Config, Tt10Schema, type Tt10Config } from './tt10/config.ts';

/**
 * The gateway config: one YAML file per station. The schema is the reference (gateway/README.md explains each
 * field); every error names the file, the line and what to change.
 */

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const TcpTransportSchema = z.strictObject({
  kind: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
});

const DeviceSchema = z.strictObject({
  id: z.string().regex(ID, 'a device id: 1-64 of A-Z a-z 0-9 _ . - (used in logs and status)'),
  profile: z.string().min(1, 'a profile name from hardware/profiles (e.g. generic-ambient-air) or a path to a .yaml file'),
  transport: z.discriminatedUnion('kind', [TcpTransportSchema], {
    error: 'transport needs `kind: tcp` with host and port (Modbus RTU over serial is not supported yet)',
  }),
  unit_id: z.number().int().min(0).max(255, 'a Modbus unit id: 0..255 (1..247 on serial lines)').default(1),
  poll_interval_ms: z.number().int().min(100, 'poll at most 10 times a second').default(10_000),
  timeout_ms: z.number().int().min(50).max(60_000).default(1000),
});

const BrokerSchema = z
  .strictObject({
    url: z.string().regex(/^(mqtts?|tcp|tls|wss?):\/\/[^/\s]+/, 'an MQTT URL such as mqtt://127.0.0.1:1883 or mqtts://broker.example:8883'),
    username: z.string().min(1).optional(),
    password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable').optional(),
    password_file: z.string().min(1).optional(),
    password: z.string().optional(),
    keepalive_s: z.number().int().min(5).max(3600).default(30),
    reconnect_min_ms: z.number().int().min(50).default(500),
    reconnect_max_ms: z.number().int().min(100).default(30_000),
  })
  .refine((b) => [b.password_env, b.password_file, b.password].filter((x) => x !== undefined).length <= 1, {
    message: 'give the password one way only: password_env, password_file or password',
  })
  .refine((b) => b.reconnect_min_ms <= b.reconnect_max_ms, { message: 'reconnect_min_ms must not exceed reconnect_max_ms', path: ['reconnect_max_ms'] });

const PublishSchema = z.strictObject({
  max_batch: z.number().int().min(1).max(10_000, 'at most 10000 readings per message').default(500),
  interval_ms: z.number().int().min(10).default(1000),
  max_in_flight: z.number().int().min(1).max(64).default(8),
  status_interval_ms: z.number().int().min(1000).default(60_000),
});

const FileSchema = z.strictObject({
  station: z.string().refine(isValidStationId, 'a station id: 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit'),
  broker: BrokerSchema,
  data_dir: z.string().min(1).optional(),
  // TT10/2021 requires a station to keep its data locally for at least 60 days.
  archive_days: z.number().int().min(60, 'TT10/2021 requires keeping at least 60 days of data at the station').default(60),
  publish: PublishSchema.default({ max_batch: 500, interval_ms: 1000, max_in_flight: 8, status_interval_ms: 60_000 }),
  devices: z.array(DeviceSchema).min(1, 'list at least one device'),
  /** TT10/2021 TXT files to the Sở over FTP/FTPS (gateway/README.md, "TT10 files"). */
  tt10: Tt10Schema.optional(),
});

type FileConfig = z.output<typeof FileSchema>;

export interface TcpTransport {
  kind: 'tcp';
  host: string;
  port: number;
}

export interface DeviceConfig {
  id: string;
  /** The profile as written in the config (name or path). */
  profileName: string;
  profile: DeviceProfile;
  transport: TcpTransport;
  unitId: number;
  pollIntervalMs: number;
  timeoutMs: number;
}

export interface GatewayConfig {
  station: string;
  broker: {
    url: string;
    username: string;
    /** Resolved from password_env / password_file / password. Never log it. */
    password: string | undefined;
    keepaliveS: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
  };
  dataDir: string;
  archiveDays: number;
  publish: { maxBatch: number; intervalMs: number; maxInFlight: number; statusIntervalMs: number };
  devices: DeviceConfig[];
  /** Absent: no TT10 files. */
  tt10?: Tt10Config;
}

export interface ParseOptions {
  /** Environment for ENVMON_DATA_DIR and password_env (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Base for relative profile paths and password_file (default: the config file's folder). */
  baseDir?: string;
}

/** Reads and validates a gateway config file. Throws ConfigError (every problem, each with its line). */
export function loadGatewayConfig(path: string, opts: Omit<ParseOptions, 'baseDir'> = {}): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ file: path, line: undefined, path: '', message: `cannot read the config (${(err as NodeJS.ErrnoException).code ?? String(err)}); check --config` }]);
  }
  return parseGatewayConfig(text, path, { ...opts, baseDir: dirname(resolve(path)) });
}

/** Validates gateway config YAML; `fileName` names it in errors and locates relative paths. */
export function parseGatewayConfig(text: string, fileName: string, opts: ParseOptions = {}): GatewayConfig {
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? dirname(resolve(fileName));
  const profiles: DeviceProfile[] = [];
  // Profiles and secrets are resolved inside the validation so that their errors carry the config line too.
  const schema = FileSchema.superRefine((c, ctx) => {
    const ids = new Map<string, number>();
    const owner = new Map<string, string>();
    c.devices.forEach((d, i) => {
      if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id ${d.id} is used twice (also devices[${ids.get(d.id)}]); give each device its own id` });
      ids.set(d.id, i);
      try {
        const p = loadProfile(d.profile, baseDir);
        profiles[i] = p;
        const clash = new Map<string, string[]>();
        for (const r of p.registers) {
          const other = owner.get(r.param);
          if (other) clash.set(other, [...(clash.get(other) ?? []), r.param]);
          else owner.set(r.param, d.id);
        }
        for (const [other, params] of clash) {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'profile'], message: `${params.join(', ')} ${params.length > 1 ? 'are' : 'is'} also read by device ${other}; a station reports each parameter once` });
        }
      } catch (err) {
        const why = err instanceof ConfigError ? `the profile is invalid:\n${err.issues.map((x) => `    ${x.file}:${x.line ?? '?'} ${x.path}: ${x.message}`).join('\n')}` : (err as Error).message;
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'profile'], message: why });
      }
    });
    if (c.broker.password_env !== undefined && env[c.broker.password_env] === undefined) {
      ctx.addIssue({ code: 'custom', path: ['broker', 'password_env'], message: `environment variable ${c.broker.password_env} is not set; export it before starting the gateway` });
    }
    if (c.tt10) for (const issue of checkTt10(c.tt10, env, baseDir)) ctx.addIssue({ code: 'custom', ...issue });
    if (c.broker.password_file !== undefined) {
      try {
        readFileSync(resolve(baseDir, c.broker.password_file));
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['broker', 'password_file'], message: `cannot read ${c.broker.password_file} (${(err as NodeJS.ErrnoException).code}); check the path (relative to the config file)` });
      }
    }
  });
  const file = parseYamlWith(schema, text, fileName);
  return toGatewayConfig(file, profiles, env, baseDir);
}

function toGatewayConfig(c: FileConfig, profiles: DeviceProfile[], env: NodeJS.ProcessEnv, baseDir: string): GatewayConfig {
  let password: string | undefined;
  if (c.broker.password_env !== undefined) password = env[c.broker.password_env];
  else if (c.broker.password_file !== undefined) password = readFileSync(resolve(baseDir, c.broker.password_file), 'utf8').trim();
  else password = c.broker.password;
  // Relative data_dir is taken from the working directory, like ENVMON_DATA_DIR, so one config can serve
  // several checkouts; the default keeps every station's state apart.
  const dataDir = c.data_dir !== undefined
    ? resolve(c.data_dir)
    : join(resolveDataRoot(env), 'gateway', c.station);
  return {
    station: c.station,
    broker: {
      url: c.broker.url,
      username: c.broker.username ?? c.station,
      password,
      keepaliveS: c.broker.keepalive_s,
      reconnectMinMs: c.broker.reconnect_min_ms,
      reconnectMaxMs: c.broker.reconnect_max_ms,
    },
    dataDir,
    archiveDays: c.archive_days,
    publish: {
      maxBatch: c.publish.max_batch,
      intervalMs: c.publish.interval_ms,
      maxInFlight: c.publish.max_in_flight,
      statusIntervalMs: c.publish.status_interval_ms,
    },
    devices: c.devices.map((d, i) => ({
      id: d.id,
      profileName: d.profile,
      profile: profiles[i]!,
      transport: d.transport,
      unitId: d.unit_id,
      pollIntervalMs: d.poll_interval_ms,
      timeoutMs: d.timeout_ms,
    })),
    ...(c.tt10 ? { tt10: toTt10Config(c.tt10, c.station, profiles.flatMap((p) => p.registers.map((r) => r.param)), env, baseDir) } : {}),
  };
}

/** ENVMON_DATA_DIR (all local state), or ./.data in the working directory. */
export function resolveDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.ENVMON_DATA_DIR;
  return root ? (isAbsolute(root) ? root : resolve(root)) : resolve('.data');
}
