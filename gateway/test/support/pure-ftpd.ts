import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real FTP server on loopback for tests: pure-ftpd from the Debian package `pure-ftpd` (CI installs it), one
 * virtual user whose files land in `root`. `tls`: 'off' plain FTP only, 'required' FTPS only (AUTH TLS enforced,
 * self-signed certificate made with openssl). Needs root (pure-ftpd switches to the virtual user's uid).
 */
export interface PureFtpd {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Where the user's uploads land. */
  root: string;
  stop(): Promise<void>;
}

const BIN = '/usr/sbin/pure-ftpd';

export async function startPureFtpd(opts: { tls: 'off' | 'required'; port?: number }): Promise<PureFtpd> {
  if (!existsSync(BIN)) throw new Error('pure-ftpd is not installed: apt-get install -y pure-ftpd (the TT10 tests send files to a real FTP server)');
  if (process.getuid?.() !== 0) throw new Error('pure-ftpd needs root to switch to its virtual user; run the tests as root (as CI does)');
  const dir = mkdtempSync(join(tmpdir(), 'envmon-ftpd-'));
  const root = join(dir, 'home');
  mkdirSync(root);
  const nobody = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
  const uid = Number(nobody[2]);
  const gid = Number(nobody[3]);
  chownSync(root, uid, gid);
  const user = 'tt10';
  const password = 'ftp-test-secret-1';
  // pure-pw would hash with argon2id at a cost of seconds per login; a SHA-512 crypt hash is enough on loopback.
  const hash = runOut('openssl', ['passwd', '-6', '-salt', 'envmontest', password]).trim();
  writeFileSync(join(dir, 'passwd'), `${user}:${hash}:${uid}:${gid}::${root}/./::::::::::::\n`);
  run('pure-pw', ['mkdb', join(dir, 'pure.pdb'), '-f', join(dir, 'passwd')]);
  const port = opts.port ?? (await freePort());
  const pasv = 30000 + Math.floor(Math.random() * 300) * 100;
  const args = ['-S', `127.0.0.1,${port}`, '-l', `puredb:${join(dir, 'pure.pdb')}`, '-E', '-j', '-A', '-H', '-4', '-p', `${pasv}:${pasv + 99}`];
  if (opts.tls === 'required') {
    const pem = join(dir, 'server.pem');
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1']);
    writeFileSync(pem, readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'));
    args.push('-Y', '2', '-2', pem);
  } else {
    args.push('-Y', '0');
  }
  const child: ChildProcess = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 5000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pure-ftpd did not start on 127.0.0.1:${port}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    root,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function runOut(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

function run(cmd: string, args: string[]): void {
  runOut(cmd, args);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
