import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { catalogue } from '@envmon/protocol';
import { z } from 'zod';
import type { Tt10Param } from './format.ts';

/**
 * The optional `tt10:` section of a gateway config: TT10/2021 TXT files for the provincial Sở, sent by FTP, FTPS or SFTP.
 * Defaults are the de-facto format (shared/research/vn-regulations.md §1.3); gateway/README.md ("TT10 files")
 * explains each field.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const nameField = (what: string) => z.string().regex(NAME, `${what}: 1-64 of A-Z a-z 0-9 _ . - without accents or spaces, as the Sở assigned it`);

const ParamOverride = z.strictObject({
  symbol: z.string().min(1).regex(/^[^\t\r\n]+$/, 'a symbol cannot hold a TAB or a line break').optional(),
  unit: z.string().regex(/^[^\t\r\n]*$/, 'a unit cannot hold a TAB or a line break').optional(),
  decimals: z.number().int().min(0).max(6).optional(),
});

const ReceiverSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a receiver name: 1-64 of A-Z a-z 0-9 _ . - (names its queue folder)'),
    protocol: z.enum(['ftp', 'ftps', 'sftp'], { error: 'protocol: ftp, ftps (explicit TLS, AUTH TLS) or sftp (SSH)' }),
    host: z.string().min(1),
    /** Default 21 (ftp, ftps) or 22 (sftp). */
    port: z.number().int().min(1).max(65535).optional(),
    username: z.string().min(1),
    password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable').optional(),
    password_file: z.string().min(1).optional(),
    password: z.string().optional(),
    /** Folder on the server, relative to the login folder; yyyy MM dd HH {station} {province} {facility}. */
    remote_dir: z.string().default('yyyy/MM/dd'),
    /** Upload as <name>.tmp and rename, so the receiver never reads half a file. */
    rename_after_upload: z.boolean().default(true),
    timeout_ms: z.number().int().min(1000).max(300_000).default(20_000),
    /** FTPS: check the server certificate (set false only for a self-signed server you trust; or give ca_file). */
    tls_verify: z.boolean().default(true),
    ca_file: z.string().min(1).optional(),
    /** SFTP: log in with this private key (OpenSSH or PEM format); a password_* then is the key's passphrase. */
    private_key_file: z.string().min(1).optional(),
    /** SFTP: the server's host key fingerprint as `ssh-keygen -lf` prints it (SHA256:…); without it the key is not checked. */
    host_key_sha256: z
      .string()
      .regex(/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/, 'host_key_sha256: the SHA256 fingerprint as `ssh-keygen -lf <key>.pub` or `ssh-keyscan <host> | ssh-keygen -lf -` prints it, e.g. SHA256:8Fy…')
      .optional(),
  })
  .refine((r) => [r.password_env, r.password_file, r.password].filter((x) => x !== undefined).length <= 1, {
    message: 'give the password one way only: password_env, password_file or password',
  })
  .refine((r) => r.protocol === 'sftp' || (r.private_key_file === undefined && r.host_key_sha256 === undefined), {
    message: 'private_key_file and host_key_sha256 are for protocol: sftp',
    path: ['protocol'],
  });

export const Tt10Schema = z.strictObject({
  /** TenTinh, TenCoSo, TenTram of the file name, as the Sở assigned them. */
  province: nameField('province (TenTinh)'),
  facility: nameField('facility (TenCoSo)'),
  station_code: nameField('station_code (TenTram)').optional(),
  interval_min: z.number().int().min(1).max(60).refine((n) => 60 % n === 0, 'interval_min must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)').default(5),
  /** Seconds to wait after a window ends before writing its file (the last poll of the window must land). */
  delay_s: z.number().int().min(0).max(600).default(15),
  line_ending: z.enum(['lf', 'crlf']).default('lf'),
  /** Time zone of file names and stamps, minutes east of UTC (Vietnam: 420). */
  utc_offset_min: z.number().int().min(-720).max(840).default(420),
  /** A parameter without any reading in a window: an empty value with status 02 (error), or no line (omit). */
  missing: z.enum(['error', 'omit']).default('error'),
  /** Catalogue codes to write, each with optional overrides; default: every parameter the devices read. */
  params: z.record(z.string(), ParamOverride.nullable()).optional(),
  receivers: z.array(ReceiverSchema).default([]),
});
export type Tt10File = z.output<typeof Tt10Schema>;

export interface Tt10Receiver {
  name: string;
  protocol: 'ftp' | 'ftps' | 'sftp';
  host: string;
  port: number;
  username: string;
  /** Never log it. With a private key (SFTP) it is the key's passphrase. */
  password: string | undefined;
  /** SFTP: private key text (never log it); undefined = log in with the password. */
  privateKey: string | undefined;
  /** SFTP: pinned host key fingerprint (SHA256:…); undefined = the host key is not verified. */
  hostKeySha256: string | undefined;
  remoteDir: string;
  renameAfterUpload: boolean;
  timeoutMs: number;
  tlsVerify: boolean;
  ca: string | undefined;
}

export interface Tt10Config {
  province: string;
  facility: string;
  stationCode: string;
  intervalMin: number;
  delayS: number;
  lineEnding: '\n' | '\r\n';
  utcOffsetMin: number;
  missing: 'error' | 'omit';
  params: Tt10Param[];
  receivers: Tt10Receiver[];
}

type Issue = { path: (string | number)[]; message: string };

/** Checks what the schema cannot (catalogue codes, secrets): issues with paths inside `tt10`. */
export function checkTt10(t: Tt10File, env: NodeJS.ProcessEnv, baseDir: string): Issue[] {
  const issues: Issue[] = [];
  for (const code of Object.keys(t.params ?? {})) {
    if (!catalogue().has(code)) issues.push({ path: ['tt10', 'params', code], message: `${code} is not a code in protocol/parameters.yaml` });
  }
  const names = new Set<string>();
  t.receivers.forEach((r, i) => {
    if (names.has(r.name)) issues.push({ path: ['tt10', 'receivers', i, 'name'], message: `receiver name ${r.name} is used twice` });
    names.add(r.name);
    if (r.password_env !== undefined && env[r.password_env] === undefined) {
      issues.push({ path: ['tt10', 'receivers', i, 'password_env'], message: `environment variable ${r.password_env} is not set; export it before starting the gateway` });
    }
    for (const key of ['password_file', 'ca_file', 'private_key_file'] as const) {
      const f = r[key];
      if (f === undefined) continue;
      try {
        readFileSync(resolve(baseDir, f));
      } catch (err) {
        issues.push({ path: ['tt10', 'receivers', i, key], message: `cannot read ${f} (${(err as NodeJS.ErrnoException).code}); check the path (relative to the config file)` });
      }
    }
    if (r.private_key_file !== undefined) {
      let text = '';
      try {
        text = readFileSync(resolve(baseDir, r.private_key_file), 'utf8');
      } catch {
        // reported above
      }
      if (text !== '' && !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
        issues.push({ path: ['tt10', 'receivers', i, 'private_key_file'], message: `${r.private_key_file} is not a private key (OpenSSH or PEM, "-----BEGIN … PRIVATE KEY-----"); give the key, not the .pub` });
      }
    }
  });
  return issues;
}

/** The resolved section: parameters from `params` or from the codes the devices read, in catalogue order. */
export function toTt10Config(t: Tt10File, station: string, deviceParams: readonly string[], env: NodeJS.ProcessEnv, baseDir: string): Tt10Config {
  const cat = catalogue();
  const wanted = new Set(t.params ? Object.keys(t.params) : deviceParams);
  const params: Tt10Param[] = cat.parameters
    .filter((p) => wanted.has(p.code))
    .map((p) => {
      const o = t.params?.[p.code] ?? {};
      return { code: p.code, symbol: o.symbol ?? p.tt10, unit: o.unit ?? p.tt10_unit, decimals: o.decimals ?? p.decimals };
    });
  return {
    province: t.province,
    facility: t.facility,
    stationCode: t.station_code ?? station,
    intervalMin: t.interval_min,
    delayS: t.delay_s,
    lineEnding: t.line_ending === 'crlf' ? '\r\n' : '\n',
    utcOffsetMin: t.utc_offset_min,
    missing: t.missing,
    params,
    receivers: t.receivers.map((r) => ({
      name: r.name,
      protocol: r.protocol,
      host: r.host,
      port: r.port ?? (r.protocol === 'sftp' ? 22 : 21),
      username: r.username,
      password:
        r.password_env !== undefined ? env[r.password_env] : r.password_file !== undefined ? readFileSync(resolve(baseDir, r.password_file), 'utf8').trim() : r.password,
      remoteDir: r.remote_dir,
      renameAfterUpload: r.rename_after_upload,
      timeoutMs: r.timeout_ms,
      tlsVerify: r.tls_verify,
      ca: r.ca_file !== undefined ? readFileSync(resolve(baseDir, r.ca_file), 'utf8') : undefined,
      privateKey: r.private_key_file !== undefined ? readFileSync(resolve(baseDir, r.private_key_file), 'utf8') : undefined,
      hostKeySha256: r.host_key_sha256 !== undefined ? `SHA256:${r.host_key_sha256.replace(/^SHA256:/, '').replace(/=$/, '')}` : undefined,
    })),
  };
}
