import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

/**
 * Real serial devices for tests and demos, made by `socat` (Debian package `socat`):
 *
 * - `openPtyPair()`: `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B` — two pseudo-terminals wired
 *   together, a null-modem cable: the gateway opens A, a simulated instrument (or bus of slaves) opens B.
 * - `startTcpSerialBridge()`: a pty pair plus `socat tcp-listen:N,fork open:A` — a serial device server (an
 *   NPort-style "RS-485 to Ethernet" box): an RTU bus on the pty `path`, reachable as raw RTU frames over TCP
 *   (RTU over TCP), one TCP client at a time as on the real boxes.
 *
 * Each runs in its own process group, and `stop()` ends that group (socat forks one child per TCP client).
 */

export interface PtyPair {
  /** Path of one end (a symlink to /dev/pts/N). */
  a: string;
  /** Path of the other end. */
  b: string;
  stop(): Promise<void>;
}

export interface TcpSerialBridge {
  /** The pty the serial side (the slaves) opens. */
  path: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function openPtyPair(dir: string = mkdtempSync(join(tmpdir(), 'envmon-pty-'))): Promise<PtyPair> {
  const a = join(dir, 'A');
  const b = join(dir, 'B');
  const child = startSocat(['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  await waitUntil(() => existsSync(a) && existsSync(b) && child.log().includes('starting data transfer loop'), child, 5000, 'the pty pair');
  return { a, b, stop: child.stop };
}

export async function startTcpSerialBridge(opts: { dir?: string; host?: string; port?: number } = {}): Promise<TcpSerialBridge> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'envmon-rtutcp-'));
  const host = opts.host ?? '127.0.0.1';
  // The bus: a pty pair, slaves on `bus`, the device server on `line`; the server relays each TCP client to `line`.
  const pair = await openPtyPair(dir);
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    const child = startSocat(['-d', '-d', `tcp-listen:${port},bind=${host},reuseaddr,fork`, `open:${pair.a},raw,echo=0`]);
    try {
      await waitUntil(() => child.log().includes('listening on'), child, 5000, 'the TCP serial bridge');
      return {
        path: pair.b,
        host,
        port,
        async stop() {
          await child.stop();
          await pair.stop();
        },
      };
    } catch (err) {
      await child.stop();
      if (opts.port !== undefined || attempt >= 3) {
        await pair.stop();
        throw err;
      }
    }
  }
}

interface Socat {
  log(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

function startSocat(args: string[]): Socat {
  let log = '';
  const child: ChildProcess = spawn('socat', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  child.stderr!.on('data', (d: Buffer) => {
    if (log.length < 20_000) log += d.toString();
  });
  let exited = false;
  const done = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      log += `spawn socat failed: ${err.message} (install the Debian package socat)`;
      exited = true;
      resolve();
    });
  });
  return {
    log: () => log,
    exited: () => exited,
    async stop() {
      if (!exited && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM'); // the group: socat and the children it forked per TCP client
        } catch {
          /* already gone */
        }
      }
      await done;
    },
  };
}

async function waitUntil(cond: () => boolean, s: Socat, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (s.exited() || Date.now() > end) {
      await s.stop();
      throw new Error(`socat did not set up ${what}: ${s.log().trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
