import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
/** tsx's loader, so children run TypeScript without a build step and without an npx round trip. */
const TSX_LOADER = require.resolve('tsx');

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the first stdout line for which `match` returns a value. */
  waitFor<T>(match: (line: string) => T | undefined, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9: no chance to flush or say goodbye. */
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Runs a TypeScript entry point as a child process. Output goes to `logFile` when given (and is scanned for
 * `waitFor`), so a demo or a test keeps every component's log without interleaving it on the terminal.
 */
export function spawnTs(
  name: string,
  entry: string,
  opts: { args?: string[]; env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string; /** Node flags, e.g. --cpu-prof. */ nodeArgs?: string[] } = {},
): Child {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', TSX_LOADER, entry, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const waiters = new Set<(line: string) => void>();
  // Lines seen so far (bounded), so a waiter attached after the line was printed still finds it.
  const history: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    log?.write(`${line}\n`);
    history.push(line);
    if (history.length > 1000) history.shift();
    for (const w of waiters) w(line);
  });
  child.stderr!.on('data', (chunk: Buffer) => (log ? log.write(chunk) : process.stderr.write(`[${name}] ${chunk.toString()}`)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => log?.end());

  return {
    name,
    process: child,
    exited,
    waitFor<T>(match: (line: string) => T | undefined, timeoutMs = 30_000) {
      for (const line of history) {
        const v = match(line);
        if (v !== undefined) return Promise.resolve(v);
      }
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(onLine);
          reject(new Error(`${name}: no matching output within ${timeoutMs} ms`));
        }, timeoutMs);
        const onLine = (line: string) => {
          const v = match(line);
          if (v !== undefined) {
            clearTimeout(timer);
            waiters.delete(onLine);
            resolve(v);
          }
        };
        waiters.add(onLine);
        exited.then((code) => {
          if (waiters.has(onLine)) {
            clearTimeout(timer);
            waiters.delete(onLine);
            reject(new Error(`${name} exited with code ${code} before it was ready${opts.logFile ? ` (log: ${opts.logFile})` : ''}`));
          }
        });
      });
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Parses a JSON line and returns it when it has `key`. */
export function jsonLineWith<T extends object>(key: string): (line: string) => T | undefined {
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      return key in o ? (o as T) : undefined;
    } catch {
      return undefined;
    }
  };
}
