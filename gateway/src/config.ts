import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, loadProfile, parseYamlWith, profileParams, type DeviceProfile } from '@envmon/hardware';
import { isValidStationId } from '@envmon/protocol';
import { z } from 'zod';
import { catalogue } from '@envmon/protocol';
import type { BusTransport } from './modbus/bus.ts';
import { checkTt10, toTt10Config, Tt10Schema, type Tt10Config } from './tt10/config.ts';

/**
 * The gateway config: one YAML file per station. The schema is the reference (gateway/README.md explains each
 * field); every error names the file, the line and what to change.
 */

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const host = z.string().min(1);
const TransportSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('tcp'), host, port: z.number().int().min(1).max(65535).default(502) }),
    z.strictObject({ kind: z.literal('rtu-over-tcp'), host, port: z.number().int().min(1).max(65535) }),
    z.strictObject({
      kind: z.literal('serial'),
      path: z.string().min(1, 'the serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…'),
      baud_rate: z.number().int().min(300).max(921_600).default(9600),
      parity: z.enum(['none', 'even', 'odd']).default('none'),
      data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
      stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
    }),
  ],
  { error: 'transport needs `kind`: tcp (Modbus TCP), rtu-over-tcp (RTU frames through a serial device server) or serial (a serial port: Modbus RTU, ASCII or binary sensors, Firmata)' },
);

const AsciiSchema = z.strictObject({
  request: z.string().optional(),
  delimiter: z.string().min(1).default('\n'),
  match: z.string().optional(),
  separator: z.string().min(1).default(','),
  fields: z.array(z.strictObject({ param: z.string(), index: z.number().int().min(0), scale: z.number().default(1), offset: z.number().default(0), sentinels: z.array(z.number()).default([]) })).min(1),
});

const PmsSchema = z.strictObject({
  model: z.enum(['pms5003', 'pms7003']).default('pms5003'),
  use: z.enum(['atmospheric', 'cf1']).default('atmospheric'),
});

const PinSchema = z.strictObject({
  pin: z.union([z.string().regex(/^A\d{1,2}$/, 'an analog pin A0..A15'), z.number().int().min(0).max(127)]),
  kind: z.enum(['analog', 'digital']),
  param: z.string().optional(),
  raw: z.tuple([z.number(), z.number()]).default([0, 1023]),
  value: z.tuple([z.number(), z.number()]).optional(),
  role: z.enum(['fault', 'calibration']).optional(),
  params: z.array(z.string()).optional(),
  active: z.enum(['high', 'low']).default('high'),
});

const DeviceSchema = z.strictObject({
  id: z.string().regex(ID, 'a device id: 1-64 of A-Z a-z 0-9 _ . - (used in logs and status)'),
  driver: z.enum(['modbus', 'ascii', 'pms', 'firmata']).default('modbus'),
  profile: z.string().min(1, 'a profile name from hardware/profiles (e.g. generic-ambient-air) or a path to a .yaml file').optional(),
  transport: TransportSchema,
  unit_id: z.number().int().min(0).max(255, 'a Modbus unit id: 0..255 (1..247 on serial lines)').default(1),
  poll_interval_ms: z.number().int().min(100, 'poll at most 10 times a second').default(10_000),
  timeout_ms: z.number().int().min(20).max(60_000).default(1000),
  retries: z.number().int().min(0).max(5).default(1),
  max_gap: z.number().int().min(0).max(123).optional(),
  max_bit_gap: z.number().int().min(0).max(1998).optional(),
  quarantine_after: z.number().int().min(1).max(100).default(3),
  quarantine_min_ms: z.number().int().min(100).default(10_000),
  quarantine_max_ms: z.number().int().min(100).default(300_000),
  frame_gap_ms: z.number().int().min(0).max(1000).optional(),
  ascii: AsciiSchema.optional(),
  pms: PmsSchema.optional(),
  pins: z.array(PinSchema).min(1).optional(),
});

const CalibrationSchema = z.strictObject({
  params: z.array(z.string()).min(1),
  at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM, e.g. "02:30"'),
  duration_min: z.number().int().min(1).max(24 * 60),
  weekdays: z.array(z.number().int().min(1).max(7, 'ISO weekdays: 1 = Monday … 7 = Sunday')).optional(),
});

const OutboxSchema = z.strictObject({
  max_readings: z.number().int().min(1000).default(5_000_000),
  max_age_days: z.number().min(0.001).max(3650).default(60),
});

const HttpSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8089),
});

const BrokerUrl = z.string().regex(/^(mqtts?|tcp|tls|wss?):\/\/[^/\s]+/, 'an MQTT URL such as mqtt://127.0.0.1:1883 or mqtts://broker.example:8883');

const BrokerSchema = z
  .strictObject({
    /** One broker, or a list of the instances of a clustered ingest: the publisher moves to the next when one fails. */
    url: z.union([BrokerUrl, z.array(BrokerUrl).min(1, 'list at least one broker URL')], {
      error: (iss) => (iss.input === undefined ? 'a broker URL (string), or a list of them' : undefined),
    }),
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
  status_interval_ms: z.number().int().min(200).default(60_000),
  max_readings_per_s: z.number().int().min(1).default(2000),
  replay_after_ms: z.number().int().min(0).default(60_000),
});

const FileSchema = z.strictObject({
  station: z.string().refine(isValidStationId, 'a station id: 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit'),
  broker: BrokerSchema,
  data_dir: z.string().min(1).optional(),
  // TT10/2021 requires a station to keep its data locally for at least 60 days.
  archive_days: z.number().int().min(60, 'TT10/2021 requires keeping at least 60 days of data at the station').default(60),
  publish: PublishSchema.default({ max_batch: 500, interval_ms: 1000, max_in_flight: 8, status_interval_ms: 60_000, max_readings_per_s: 2000, replay_after_ms: 60_000 }),
  outbox: OutboxSchema.default({ max_readings: 5_000_000, max_age_days: 60 }),
  /** Means sent beside the raw samples, in seconds; [] for raw only. */
  averaging: z.array(z.union([z.literal(60), z.literal(300), z.literal(3600)])).default([60, 300]),
  calibration: z.array(CalibrationSchema).default([]),
  utc_offset_min: z.number().int().min(-720).max(840).default(420),
  http: HttpSchema.optional(),
  devices: z.array(DeviceSchema).min(1, 'list at least one device'),
  /** TT10/2021 TXT files to the Sở over FTP/FTPS (gateway/README.md, "TT10 files"). */
  tt10: Tt10Schema.optional(),
});

type FileConfig = z.output<typeof FileSchema>;

export type { BusTransport } from './modbus/bus.ts';
export type TcpTransport = Extract<BusTransport, { kind: 'tcp' }>;
export type SerialTransport = Extract<BusTransport, { kind: 'serial' }>;

interface DeviceCommon {
  id: string;
  pollIntervalMs: number;
  timeoutMs: number;
}

export interface ModbusDeviceConfig extends DeviceCommon {
  driver: 'modbus';
  /** The profile as written in the config (name or path). */
  profileName: string;
  profile: DeviceProfile;
  transport: BusTransport;
  unitId: number;
  retries: number;
  /** Unmapped registers one read may span (default: the profile's max_read_gap). */
  maxGap: number;
  /** Unmapped coils/discrete inputs one bit read may span (undefined: the profile's max_bit_gap). */
  maxBitGap?: number;
  quarantineAfter: number;
  quarantineMinMs: number;
  quarantineMaxMs: number;
  /** Quiet time between transactions on this device's bus (undefined: the bus default). */
  frameGapMs: number | undefined;
}

export interface AsciiField {
  param: string;
  index: number;
  scale: number;
  offset: number;
  sentinels: number[];
}

export interface AsciiDeviceConfig extends DeviceCommon {
  driver: 'ascii';
  transport: SerialTransport;
  request: string | undefined;
  delimiter: string;
  match: RegExp | undefined;
  separator: string;
  fields: AsciiField[];
}

export interface PmsDeviceConfig extends DeviceCommon {
  driver: 'pms';
  transport: SerialTransport;
  model: 'pms5003' | 'pms7003';
  use: 'atmospheric' | 'cf1';
}

export interface FirmataPin {
  pin: string | number;
  kind: 'analog' | 'digital';
  param: string | undefined;
  raw: [number, number];
  value: [number, number] | undefined;
  role: 'fault' | 'calibration' | undefined;
  params: string[];
  active: 'high' | 'low';
}

export interface FirmataDeviceConfig extends DeviceCommon {
  driver: 'firmata';
  transport: SerialTransport;
  pins: FirmataPin[];
}

export type DeviceConfig = ModbusDeviceConfig | AsciiDeviceConfig | PmsDeviceConfig | FirmataDeviceConfig;

export interface CalibrationWindow {
  params: string[];
  /** Minutes after local midnight. */
  atMin: number;
  durationMin: number;
  /** ISO weekdays (1 = Monday); undefined = every day. */
  weekdays: number[] | undefined;
}

/** The parameters a device reports. */
export function deviceParams(d: DeviceConfig): string[] {
  switch (d.driver) {
    case 'modbus':
      return profileParams(d.profile);
    case 'ascii':
      return d.fields.map((f) => f.param);
    case 'pms':
      return ['PM2_5', 'PM10'];
    case 'firmata':
      return d.pins.filter((p) => p.kind === 'analog' && p.param !== undefined).map((p) => p.param!);
  }
}

export interface GatewayConfig {
  station: string;
  broker: {
    /** The first broker URL (logs, single-broker setups). */
    url: string;
    /** Every broker URL in order (clustered ingest); the publisher rotates through them. Absent = [url]. */
    urls?: string[];
    username: string;
    /** Resolved from password_env / password_file / password. Never log it. */
    password: string | undefined;
    keepaliveS: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
  };
  dataDir: string;
  archiveDays: number;
  publish: { maxBatch: number; intervalMs: number; maxInFlight: number; statusIntervalMs: number; maxReadingsPerS: number; replayAfterMs: number };
  outbox: { maxReadings: number; maxAgeMs: number };
  /** Periods (s) of the means sent beside raw samples. */
  averaging: number[];
  calibration: CalibrationWindow[];
  utcOffsetMin: number;
  /** Local HTTP query/status server; absent: none. */
  http: { host: string; port: number } | undefined;
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
    const cat = catalogue();
    const claim = (params: string[], i: number, id: string, field: string): void => {
      const clash = new Map<string, string[]>();
      for (const param of params) {
        const other = owner.get(param);
        if (other) clash.set(other, [...(clash.get(other) ?? []), param]);
        else owner.set(param, id);
      }
      for (const [other, ps] of clash) {
        ctx.addIssue({ code: 'custom', path: ['devices', i, field], message: `${ps.join(', ')} ${ps.length > 1 ? 'are' : 'is'} also read by device ${other}; a station reports each parameter once` });
      }
    };
    const known = (code: string, path: (string | number)[]): void => {
      if (!cat.has(code)) ctx.addIssue({ code: 'custom', path, message: `unknown parameter "${code}"; use a code from protocol/parameters.yaml (${cat.codes().join(', ')})` });
    };
    c.devices.forEach((d, i) => {
      if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id ${d.id} is used twice (also devices[${ids.get(d.id)}]); give each device its own id` });
      ids.set(d.id, i);
      const needs = (field: 'profile' | 'ascii' | 'pms' | 'pins', ok: boolean): void => {
        if (!ok) ctx.addIssue({ code: 'custom', path: ['devices', i], message: `driver ${d.driver} needs \`${field}\`` });
      };
      if (d.driver !== 'modbus' && d.transport.kind !== 'serial') {
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'transport', 'kind'], message: `driver ${d.driver} talks over a serial port: use transport kind serial` });
      }
      if (d.quarantine_min_ms > d.quarantine_max_ms) ctx.addIssue({ code: 'custom', path: ['devices', i, 'quarantine_max_ms'], message: 'quarantine_max_ms must not be below quarantine_min_ms' });
      if (d.driver === 'ascii') {
        needs('ascii', d.ascii !== undefined);
        d.ascii?.fields.forEach((f, j) => known(f.param, ['devices', i, 'ascii', 'fields', j, 'param']));
        if (d.ascii?.match !== undefined) {
          try {
            new RegExp(d.ascii.match);
          } catch (err) {
            ctx.addIssue({ code: 'custom', path: ['devices', i, 'ascii', 'match'], message: `not a regular expression: ${(err as Error).message}` });
          }
        }
        if (d.ascii) claim(d.ascii.fields.map((f) => f.param), i, d.id, 'ascii');
        return;
      }
      if (d.driver === 'pms') {
        claim(['PM2_5', 'PM10'], i, d.id, 'driver');
        return;
      }
      if (d.driver === 'firmata') {
        needs('pins', d.pins !== undefined);
        const params: string[] = [];
        d.pins?.forEach((p, j) => {
          if (p.kind === 'analog') {
            if (p.param === undefined) ctx.addIssue({ code: 'custom', path: ['devices', i, 'pins', j], message: 'an analog pin needs `param` (and `value: [at raw[0], at raw[1]]` for scaling)' });
            else {
              known(p.param, ['devices', i, 'pins', j, 'param']);
              params.push(p.param);
            }
          } else if (p.role === undefined) {
            ctx.addIssue({ code: 'custom', path: ['devices', i, 'pins', j], message: 'a digital pin needs `role: fault` or `role: calibration` (a contact from an analyser) and the `params` it reports on' });
          }
        });
        claim(params, i, d.id, 'pins');
        return;
      }
      needs('profile', d.profile !== undefined);
      if (d.profile === undefined) return;
      try {
        const p = loadProfile(d.profile, baseDir);
        profiles[i] = p;
        claim(profileParams(p), i, d.id, 'profile');
      } catch (err) {
        const why = err instanceof ConfigError ? `the profile is invalid:\n${err.issues.map((x) => `    ${x.file}:${x.line ?? '?'} ${x.path}: ${x.message}`).join('\n')}` : (err as Error).message;
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'profile'], message: why });
      }
    });
    c.calibration.forEach((w, i) => w.params.forEach((code, j) => {
      if (!owner.has(code)) ctx.addIssue({ code: 'custom', path: ['calibration', i, 'params', j], message: `${code} is read by no device of this station` });
    }));
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
      url: typeof c.broker.url === 'string' ? c.broker.url : c.broker.url[0]!,
      urls: typeof c.broker.url === 'string' ? [c.broker.url] : c.broker.url,
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
      maxReadingsPerS: c.publish.max_readings_per_s,
      replayAfterMs: c.publish.replay_after_ms,
    },
    outbox: { maxReadings: c.outbox.max_readings, maxAgeMs: Math.round(c.outbox.max_age_days * 86_400_000) },
    averaging: [...new Set(c.averaging)].sort((a, b) => a - b),
    calibration: c.calibration.map((w) => ({ params: w.params, atMin: Number(w.at.slice(0, 2)) * 60 + Number(w.at.slice(3)), durationMin: w.duration_min, weekdays: w.weekdays })),
    utcOffsetMin: c.utc_offset_min,
    http: c.http ? { host: c.http.host, port: c.http.port } : undefined,
    devices: c.devices.map((d, i) => toDeviceConfig(d, profiles[i])),
    ...(c.tt10 ? { tt10: toTt10Config(c.tt10, c.station, c.devices.flatMap((d, i) => deviceParams(toDeviceConfig(d, profiles[i]))), env, baseDir) } : {}),
  };
}

type FileDevice = FileConfig['devices'][number];

function toTransport(t: FileDevice['transport']): BusTransport {
  if (t.kind === 'serial') return { kind: 'serial', path: t.path, baudRate: t.baud_rate, parity: t.parity, dataBits: t.data_bits, stopBits: t.stop_bits };
  return { kind: t.kind, host: t.host, port: t.port };
}

function toDeviceConfig(d: FileDevice, profile: DeviceProfile | undefined): DeviceConfig {
  const common = { id: d.id, pollIntervalMs: d.poll_interval_ms, timeoutMs: d.timeout_ms };
  const transport = toTransport(d.transport);
  const serial = transport as SerialTransport; // checked in the schema for every driver but modbus
  switch (d.driver) {
    case 'ascii': {
      const a = d.ascii!;
      return { ...common, driver: 'ascii', transport: serial, request: a.request, delimiter: a.delimiter, match: a.match === undefined ? undefined : new RegExp(a.match), separator: a.separator, fields: a.fields };
    }
    case 'pms':
      return { ...common, driver: 'pms', transport: serial, model: d.pms?.model ?? 'pms5003', use: d.pms?.use ?? 'atmospheric' };
    case 'firmata':
      return {
        ...common,
        driver: 'firmata',
        transport: serial,
        pins: d.pins!.map((p) => ({ pin: p.pin, kind: p.kind, param: p.param, raw: p.raw, value: p.value, role: p.role, params: p.params ?? [], active: p.active })),
      };
    case 'modbus':
      return {
        ...common,
        driver: 'modbus',
        profileName: d.profile!,
        profile: profile!,
        transport,
        unitId: d.unit_id,
        retries: d.retries,
        maxGap: d.max_gap ?? profile!.maxReadGap,
        maxBitGap: d.max_bit_gap ?? profile!.maxBitGap,
        quarantineAfter: d.quarantine_after,
        quarantineMinMs: d.quarantine_min_ms,
        quarantineMaxMs: d.quarantine_max_ms,
        frameGapMs: d.frame_gap_ms,
      };
  }
}

/** ENVMON_DATA_DIR (all local state), or ./.data in the working directory. */
export function resolveDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.ENVMON_DATA_DIR;
  return root ? (isAbsolute(root) ? root : resolve(root)) : resolve('.data');
}
