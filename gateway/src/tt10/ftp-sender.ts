import { Client } from 'basic-ftp';
import type { Tt10Receiver } from './config.ts';

export interface OutgoingFile {
  /** File name on the server (the TT10 name). */
  name: string;
  localPath: string;
  /** Folder relative to the login folder, already expanded (e.g. 2025/03/10); '' = the login folder. */
  remoteDir: string;
}

/**
 * One FTP or FTPS (explicit, AUTH TLS) session to a receiver: uploads `files` in order, each to `<name>.tmp` then
 * renamed (unless disabled), and calls `sent` after each one is complete on the server. Stops at the first error
 * (thrown), so a later file never overtakes an earlier one. `abort` closes the connection at once.
 */
export async function sendOverFtp(r: Tt10Receiver, files: readonly OutgoingFile[], sent: (f: OutgoingFile) => void, abort: { close?: () => void }): Promise<void> {
  const client = new Client(r.timeoutMs);
  abort.close = () => client.close();
  try {
    await client.access({
      host: r.host,
      port: r.port,
      user: r.username,
      password: r.password ?? '',
      secure: r.protocol === 'ftps',
      secureOptions: { rejectUnauthorized: r.tlsVerify, ...(r.ca !== undefined ? { ca: r.ca } : {}), servername: r.host },
    });
    const home = await client.pwd();
    let cwd = home;
    for (const f of files) {
      const target = f.remoteDir === '' ? home : `${home.replace(/\/$/, '')}/${f.remoteDir.replace(/^\/+|\/+$/g, '')}`;
      if (target !== cwd) {
        await client.cd(home);
        if (f.remoteDir !== '') await client.ensureDir(f.remoteDir.replace(/^\/+|\/+$/g, ''));
        cwd = target;
      }
      if (r.renameAfterUpload) {
        await client.uploadFrom(f.localPath, `${f.name}.tmp`);
        await client.rename(`${f.name}.tmp`, f.name);
      } else {
        await client.uploadFrom(f.localPath, f.name);
      }
      sent(f);
    }
  } finally {
    abort.close = undefined;
    client.close();
  }
}
