import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, runTool, spawnTestServer, waitUntilReady } from '../../../scripts/lib/test-server.ts';

export { freePort };

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

/** What to install when a setup tool is missing. */
const HINT = 'apt-get install -y pure-ftpd openssl';
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
  const hash = runTool('openssl', ['passwd', '-6', '-salt', 'envmontest', password], HINT).trim();
  writeFileSync(join(dir, 'passwd'), `${user}:${hash}:${uid}:${gid}::${root}/./::::::::::::\n`);
  runTool('pure-pw', ['mkdb', join(dir, 'pure.pdb'), '-f', join(dir, 'passwd')], HINT);
  const port = opts.port ?? (await freePort());
  const pasv = 30000 + Math.floor(Math.random() * 300) * 100;
  const args = ['-S', `127.0.0.1,${port}`, '-l', `puredb:${join(dir, 'pure.pdb')}`, '-E', '-j', '-A', '-H', '-4', '-p', `${pasv}:${pasv + 99}`];
  if (opts.tls === 'required') {
    const pem = join(dir, 'server.pem');
    runTool('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1'], HINT);
    writeFileSync(pem, readFileSync(join(dir, 'cert.pem'), 'utf8') + readFileSync(join(dir, 'key.pem'), 'utf8'));
    args.push('-Y', '2', '-2', pem);
  } else {
    args.push('-Y', '0');
  }
  const server = spawnTestServer(BIN, args, { dir });
  await waitUntilReady(server, `pure-ftpd on 127.0.0.1:${port}`, () => canConnect(port), 5000);
  return { host: '127.0.0.1', port, user, password, root, stop: () => server.stop() };
}
