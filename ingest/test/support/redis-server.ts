/**
 * Starts a private Redis (Debian's `redis-server`) on loopback for tests: own free port, own temp directory,
 * no persistence to disk, nothing shared with a system instance on 6379.
 */
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, skipReasonFor, spawnTestServer, waitUntilReady } from '../../../scripts/lib/test-server.ts';
import { freePort } from './influxd.ts';

export interface RunningRedis {
  /** e.g. `redis://127.0.0.1:41234` */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

/** `$REDIS_SERVER` when set, else `redis-server` on PATH, else /usr/bin. */
export function redisServerPath(): string | undefined {
  return findBinary('redis-server', 'REDIS_SERVER');
}

/** Why Redis tests should be skipped, or undefined. Under CI they always run (`.ci/run` installs redis-server). */
export function redisSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return skipReasonFor('redis-server', 'redis-server', 'REDIS_SERVER', env);
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

/**
 * `appendfsync`: run with the append-only file and that fsync policy (as a deployment should: deploy/README.md);
 * default none (no persistence: tests do not restart Redis, and fsyncs would only slow them).
 */
export async function startRedis(options: { startTimeoutMs?: number; appendfsync?: 'always' | 'everysec' } = {}): Promise<RunningRedis> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server not found: install the Debian package `redis-server`');
  const dir = await mkdtemp(join(tmpdir(), 'envmon-redis-'));
  const port = await freePort();
  const server = spawnTestServer(
    bin,
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
      ...(options.appendfsync ? ['--appendonly', 'yes', '--appendfsync', options.appendfsync] : ['--appendonly', 'no']),
    ],
    { dir },
  );
  await waitUntilReady(server, 'redis-server', () => ping(port), options.startTimeoutMs ?? 10_000);
  const stop = server.stop;
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}
