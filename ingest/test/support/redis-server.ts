/**
 * Starts a private Redis (Debian's `redis-server`) on loopback for tests: own free port, own temp directory,
 * no persistence to disk, nothing shared with a system instance on 6379.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './influxd.ts';

export interface RunningRedis {
  /** e.g. `redis://127.0.0.1:41234` */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

export function redisServerPath(): string | undefined {
  const explicit = process.env.REDIS_SERVER;
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'redis-server')),
    '/usr/bin/redis-server',
  ];
  return candidates.find((p) => existsSync(p));
}

/** Why Redis tests should be skipped, or undefined. Under CI they always run (`.ci/run` installs redis-server). */
export function redisSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (redisServerPath() !== undefined || env.CI) return undefined;
  return 'redis-server not found (install the Debian package `redis-server`); Redis tests skipped locally';
}

/** One PING over a raw socket: true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export async function startRedis(options: { startTimeoutMs?: number } = {}): Promise<RunningRedis> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server not found: install the Debian package `redis-server`');
  const dir = await mkdtemp(join(tmpdir(), 'envmon-redis-'));
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logTail = '';
  const keep = (chunk: Buffer): void => {
    logTail = (logTail + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} during startup:\n${logTail}`);
      if (await ping(port)) break;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING in time:\n${logTail}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}
