import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * What every "start a real server for a test" helper needs (redis-server, victoria-metrics, influxd, pure-ftpd,
 * sshd, …): find the binary,
 * say why a test is skipped when it is missing (never under CI, which installs it), run it with its output kept
 * for error messages, wait until it answers, and stop it — also when the test process dies without calling stop.
 */

/** `$ENV_VAR` when set (used alone, so a wrong path shows up as missing), else `name` on PATH, else /usr/bin. */
export function findBinary(name: string, envVar: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env[envVar];
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const candidates = [...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)), `/usr/bin/${name}`];
  return candidates.find((p) => existsSync(p));
}

/** Why tests needing `name` should be skipped locally, or undefined. Under CI they always run. */
export function skipReasonFor(name: string, debianPackage: string, envVar: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (findBinary(name, envVar, env) !== undefined || env.CI) return undefined;
  return `${name} not found (install the Debian package \`${debianPackage}\`); its tests are skipped locally`;
}

export interface TestServer {
  child: ChildProcess;
  /** The last 8 kB of its output, for error messages. */
  logTail(): string;
  /** SIGTERM (SIGKILL after 5 s), then removes `dir` when one was given. */
  stop(): Promise<void>;
}

export function spawnTestServer(bin: string, args: string[], opts: { dir?: string } = {}): TestServer {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopped = false;
  return {
    child,
    logTail: () => tail,
    async stop() {
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
      if (opts.dir) await rm(opts.dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it says yes; on exit or timeout stops the server and throws with its output. */
export async function waitUntilReady(server: TestServer, name: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (server.child.exitCode !== null) throw new Error(`${name} exited with code ${server.child.exitCode} during startup:\n${server.logTail()}`);
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${name} did not answer within ${timeoutMs} ms:\n${server.logTail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** A free loopback TCP port. The OS picks it; a tiny race until the server binds it is acceptable in tests. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port (a readiness probe for waitUntilReady). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Runs a setup tool (openssl, ssh-keygen, pure-pw) and returns its output; fails with its stderr and `hint` (what to install). */
export function runTool(cmd: string, args: string[], hint: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}); ${hint}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}
