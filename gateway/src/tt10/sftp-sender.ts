import { createHash, timingSafeEqual } from 'node:crypto';
import SftpClient from 'ssh2-sftp-client';
import type { Tt10Receiver } from './config.ts';
import type { OutgoingFile } from './ftp-sender.ts';

/** `SHA256:<base64>` as `ssh-keygen -lf` prints it, of the raw host key blob. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * One SFTP session to a receiver (ssh2-sftp-client over ssh2), with the contract of `sendOverFtp`: uploads `files`
 * in order, each to `<name>.tmp` then renamed over any older copy (unless disabled), calls `sent` after each one is
 * complete on the server, stops at the first error (thrown, naming the receiver), and `abort` closes the connection
 * at once. Logs in with the password or the private key; when `hostKeySha256` is set the server's host key must have
 * that fingerprint, otherwise the host key is not verified.
 */
export async function sendOverSftp(r: Tt10Receiver, files: readonly OutgoingFile[], sent: (f: OutgoingFile) => void, abort: { close?: () => void }): Promise<void> {
  const where = `TT10 receiver ${r.name} (sftp://${r.username}@${r.host}:${r.port})`;
  // The library's default global listeners print to the console; failures reach us through the rejected promises.
  const client = new SftpClient(r.name, { error: () => {}, end: () => {}, close: () => {} });
  const ssh = (client as unknown as { client: { destroy(): void } }).client;
  // Every step also ends on abort or after timeoutMs (the library has no timeout of its own past the handshake), so a
  // dead server can never hold the queue or stop().
  let stopped: ((err: Error) => void) | undefined;
  const stoppedP = new Promise<never>((_, reject) => (stopped = reject));
  stoppedP.catch(() => {});
  abort.close = () => {
    stopped!(new Error('aborted'));
    ssh.destroy();
  };
  let offered: string | undefined;
  const step = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer in ${r.timeoutMs} ms`));
          ssh.destroy();
        }, r.timeoutMs + (what === 'connect' ? 1000 : 0));
      });
      return await Promise.race([f(), stoppedP, timeout]);
    } catch (err) {
      const msg = (err as Error).message;
      if (what === 'connect' && offered !== undefined) {
        throw new Error(`${where}: host key ${offered} is not the pinned host_key_sha256 ${r.hostKeySha256}; refused (${msg})`, { cause: err });
      }
      throw new Error(`${where}: ${what}: ${msg}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await step('connect', () =>
      client.connect({
        host: r.host,
        port: r.port,
        username: r.username,
        readyTimeout: r.timeoutMs,
        ...(r.privateKey !== undefined
          ? { privateKey: r.privateKey, ...(r.password !== undefined ? { passphrase: r.password } : {}) }
          : { password: r.password ?? '' }),
        ...(r.hostKeySha256 !== undefined
          ? {
              hostVerifier: (key: Buffer): boolean => {
                const got = sshFingerprint(key);
                const ok = sameText(got, normalizeFingerprint(r.hostKeySha256!));
                if (!ok) offered = got;
                return ok;
              },
            }
          : {}),
      }),
    );
    const home = (await step('realpath .', () => client.realPath('.'))).replace(/\/+$/, '');
    const made = new Set<string>();
    for (const f of files) {
      const rel = f.remoteDir.replace(/^\/+|\/+$/g, '');
      const dir = rel === '' ? home : `${home}/${rel}`;
      if (rel !== '' && !made.has(dir)) {
        if ((await step(`stat ${dir}`, () => client.exists(dir))) !== 'd') await step(`mkdir ${dir}`, () => client.mkdir(dir, true));
        made.add(dir);
      }
      const path = `${dir}/${f.name}`;
      if (r.renameAfterUpload) {
        await step(`upload ${path}.tmp`, () => client.put(f.localPath, `${path}.tmp`));
        // posix-rename@openssh.com replaces an older copy (a resend after a crash); plain SFTP rename would refuse.
        await step(`rename ${path}.tmp`, async () => {
          try {
            return await client.posixRename(`${path}.tmp`, path);
          } catch {
            // A server without the extension: remove an older copy, then a plain rename.
            await client.delete(path, true);
            return await client.rename(`${path}.tmp`, path);
          }
        });
      } else {
        await step(`upload ${path}`, () => client.put(f.localPath, path));
      }
      sent(f);
    }
  } finally {
    abort.close = undefined;
    // A polite end, but never waiting long for a server that no longer answers.
    let late: NodeJS.Timeout | undefined;
    await Promise.race([client.end().catch(() => {}), new Promise((resolve) => (late = setTimeout(resolve, 2000)))]);
    clearTimeout(late);
    ssh.destroy();
  }
}

/** Accepts `SHA256:abc…`, `abc…` and padded base64; returns `SHA256:abc…`. */
export function normalizeFingerprint(fp: string): string {
  return `SHA256:${fp.trim().replace(/^SHA256:/i, '').replace(/=+$/, '')}`;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
