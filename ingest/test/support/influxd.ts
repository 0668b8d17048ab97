/**
 * Starts a private InfluxDB 1.x (Debian's `influxd`) on loopback for tests: real server, own temp directory,
 * own ports, nothing shared with a system instance that may be running on the default ports.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../scripts/lib/test-server.ts';

const execFileAsync = promisify(execFile);

export interface RunningInfluxd {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** A database that already exists. */
  database: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
  /** SIGKILL, keeping its data: the outage half of a fault test. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data (after kill, or kills it first). */
  restart(): Promise<void>;
  /** The server process' id (the bench reads its CPU time). */
  pid(): number | undefined;
}

/**
 * Path of the influxd binary: `$INFLUXD` when set (an explicit choice, used alone, so a wrong path shows up as
 * "missing" instead of silently falling back), else the first `influxd` on PATH, else Debian's /usr/bin/influxd.
 */
export function influxdPath(): string | undefined {
  const explicit = process.env.INFLUXD;
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'influxd')),
    '/usr/bin/influxd',
  ];
  return candidates.find((p) => existsSync(p));
}

export function influxdAvailable(): boolean {
  return influxdPath() !== undefined;
}

/**
 * Why the InfluxDB tests should be skipped, or undefined when they must run. Under CI they always run (and
 * fail when influxd is missing) because `.ci/run` installs it: a silently skipped store test would hide a broken
 * production path.
 */
export function influxdSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (influxdAvailable() || env.CI) return undefined;
  return 'influxd not found (install the Debian package `influxdb`); InfluxDB store tests skipped locally';
}

/** A free loopback TCP port (re-exported: many tests import it from here). */
export { freePort };

/** Section → key → TOML value (already quoted when a string). '' is the top level, before any [section]. */
type TomlPatch = Record<string, Record<string, string>>;

/**
 * Sets keys in influxd's flat TOML output, section by section. Keys missing from a section are appended to it,
 * so the patch still applies if a future `influxd config` omits a default. Only single [section] headers are
 * patched; [[array]] sections (graphite, udp…) are left as printed (all disabled by default).
 */
export function patchToml(text: string, patch: TomlPatch): string {
  const out: string[] = [];
  let section = '';
  const pending = new Map(Object.entries(patch).map(([s, kv]) => [s, new Map(Object.entries(kv))]));
  const flush = (name: string): void => {
    const rest = pending.get(name);
    if (!rest) return;
    for (const [k, v] of rest) out.push(`${name === '' ? '' : '  '}${k} = ${v}`);
    pending.delete(name);
  };
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\[\]]+)\]\s*$/.exec(line) ?? /^\s*\[\[([^\[\]]+)\]\]\s*$/.exec(line);
    if (header) {
      flush(section);
      section = /^\s*\[\[/.test(line) ? `[[${header[1]}]]` : (header[1] ?? '');
      out.push(line);
      continue;
    }
    const kv = /^(\s*)([A-Za-z0-9_-]+)\s*=/.exec(line);
    const wanted = kv ? pending.get(section)?.get(kv[2] ?? '') : undefined;
    if (kv && wanted !== undefined) {
      out.push(`${kv[1]}${kv[2]} = ${wanted}`);
      pending.get(section)?.delete(kv[2] ?? '');
    } else {
      out.push(line);
    }
  }
  flush(section);
  // Sections the printed config did not have at all.
  for (const name of [...pending.keys()]) {
    if (name !== '') out.push(`[${name}]`);
    flush(name);
  }
  return out.join('\n');
}

const q = (s: string): string => JSON.stringify(s);

async function waitForPing(url: string, child: { exitCode: number | null }, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`influxd exited with code ${child.exitCode} during startup:\n${log()}`);
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 204) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`influxd did not answer /ping within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startInfluxd(options: { database?: string; startTimeoutMs?: number } = {}): Promise<RunningInfluxd> {
  const bin = influxdPath();
  if (!bin) throw new Error('influxd not found: install the Debian package `influxdb` (apt-get install -y influxdb)');
  const database = options.database ?? 'envmon_test';
  const dir = await mkdtemp(join(tmpdir(), 'envmon-influxd-'));
  try {
    // `-config /dev/null` prints the built-in defaults, independent of a system /etc/influxdb/influxdb.conf.
    const { stdout: defaults } = await execFileAsync(bin, ['config', '-config', '/dev/null']);
    const [httpPort, rpcPort] = [await freePort(), await freePort()];
    const config = patchToml(defaults, {
      '': {
        // Debian's build spells it reporting-enabled; upstream 1.x uses reporting-disabled. Set both.
        'reporting-enabled': 'false',
        'reporting-disabled': 'true',
        'bind-address': q(`127.0.0.1:${rpcPort}`),
      },
      meta: { dir: q(join(dir, 'meta')), 'logging-enabled': 'false' },
      data: { dir: q(join(dir, 'data')), 'wal-dir': q(join(dir, 'wal')), 'query-log-enabled': 'false' },
      monitor: { 'store-enabled': 'false' },
      http: { 'bind-address': q(`127.0.0.1:${httpPort}`), 'log-enabled': 'false', 'pprof-enabled': 'false' },
      logging: { level: q('warn'), 'suppress-logo': 'true' },
      continuous_queries: { enabled: 'false' },
      'shard-precreation': { enabled: 'false' },
    });
    const configPath = join(dir, 'influxdb.conf');
    await writeFile(configPath, config);

    const url = `http://127.0.0.1:${httpPort}`;
    // Keep the tail of its output for error messages; influxd is quiet at level=warn.
    let logTail = '';
    const keep = (chunk: Buffer): void => {
      logTail = (logTail + chunk.toString()).slice(-8000);
    };
    let child = spawn(bin, ['-config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const watch = (c: typeof child): void => {
      c.stdout.on('data', keep);
      c.stderr.on('data', keep);
    };
    watch(child);
    // If the test process dies without calling stop(), do not leave a server behind.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);

    const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    };
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', killOnExit);
      await signalAndWait('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    };
    /** Fault tests: the server dies (SIGKILL) and comes back later with the same data and ports. */
    const kill = (): Promise<void> => signalAndWait('SIGKILL');
    const restart = async (): Promise<void> => {
      await signalAndWait('SIGKILL');
      child = spawn(bin, ['-config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      watch(child);
      await waitForPing(url, child, () => logTail, options.startTimeoutMs ?? 20_000);
    };

    try {
      await waitForPing(url, child, () => logTail, options.startTimeoutMs ?? 20_000);
      const res = await fetch(`${url}/query`, {
        method: 'POST',
        body: new URLSearchParams({ q: `CREATE DATABASE "${database.replace(/["\\]/g, '\\$&')}"` }),
      });
      if (!res.ok) throw new Error(`CREATE DATABASE failed: ${res.status} ${await res.text()}`);
    } catch (err) {
      await stop();
      throw err;
    }
    return { url, database, stop, kill, restart, pid: () => child.pid };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
