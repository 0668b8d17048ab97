import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Two pseudo-terminals wired together by socat (a null-modem cable); `stop` ends socat's process group. */
export async function ptyPair(): Promise<{ a: string; b: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'envmon-fw-pty-'));
  const a = join(dir, 'node');
  const b = join(dir, 'master');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 5000;
  while (!(existsSync(a) && existsSync(b) && log.includes('starting data transfer loop'))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`socat did not open a pty pair: ${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    a,
    b,
    async stop() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      await exited;
    },
  };
}
