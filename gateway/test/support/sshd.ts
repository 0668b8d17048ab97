import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, runTool, spawnTestServer, waitUntilReady } from '../../../scripts/lib/test-server.ts';

/**
 * A real SFTP server on loopback for tests: OpenSSH's sshd from the Debian package `openssh-server` (CI installs it,
 * with `openssh-client` for ssh-keygen), run in the foreground with a generated config: its own ed25519 host key, one
 * authorized client key (`clientKeyFile`), no passwords, no PAM, `internal-sftp` starting in `root`. The login user
 * is root (sshd needs root to run as a server), so the tests must run as root, as CI does.
 */
export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** Private key the server accepts (unencrypted ed25519, OpenSSH format). */
  clientKeyFile: string;
  /** The host key's fingerprint, `SHA256:…` as `ssh-keygen -lf` prints it. */
  hostKeySha256: string;
  /** The SFTP session's login folder: uploads land here. */
  root: string;
  stop(): Promise<void>;
}

/** What to install when a setup tool is missing. */
const HINT = 'apt-get install -y openssh-server openssh-client';
const BIN = '/usr/sbin/sshd';

/** Keys (and so fingerprints) stay the same across `start` calls of one instance: a restart is the same server. */
export function createSshd(opts: { port?: number } = {}): { start(): Promise<Sshd>; dir: string; remove(): void } {
  if (!existsSync(BIN)) throw new Error('sshd is not installed: apt-get install -y openssh-server openssh-client (the TT10 tests send files to a real SFTP server)');
  if (process.getuid?.() !== 0) throw new Error('sshd needs root to run as a server and log users in; run the tests as root (as CI does)');
  const dir = mkdtempSync(join(tmpdir(), 'envmon-sshd-'));
  const root = join(dir, 'home');
  mkdirSync(root);
  runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'envmon-test-host', '-f', join(dir, 'host')], HINT);
  runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'envmon-test-client', '-f', join(dir, 'client')], HINT);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')));
  const hostKeySha256 = runTool('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host.pub')], HINT).split(' ')[1]!;
  // sshd refuses to start without its privilege separation folder (normally made by the service unit).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let portP: Promise<number> | undefined;
  return {
    dir,
    async start() {
      const port = await (portP ??= opts.port !== undefined ? Promise.resolve(opts.port) : freePort());
      const config = join(dir, 'sshd_config');
      writeFileSync(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${join(dir, 'host')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'UsePAM no',
          'StrictModes no',
          'X11Forwarding no',
          'AllowTcpForwarding no',
          'PrintMotd no',
          'LogLevel ERROR',
          `Subsystem sftp internal-sftp -d ${root}`,
          '',
        ].join('\n'),
      );
      // The folder holds the keys and outlives a stop: `remove()` deletes it.
      const server = spawnTestServer(BIN, ['-D', '-e', '-f', config]);
      await waitUntilReady(server, `sshd on 127.0.0.1:${port}`, () => canConnect(port), 5000);
      return { host: '127.0.0.1', port, user: 'root', clientKeyFile: join(dir, 'client'), hostKeySha256, root, stop: () => server.stop() };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
