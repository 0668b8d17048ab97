import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SECRET_ENV = 'ENVMON_NODE_RED_SECRET';
export const SECRET_FILE = 'credential-secret';

/**
 * The key Node-RED encrypts flow credentials with (`flows_cred.json`, AES-256-CTR): `ENVMON_NODE_RED_SECRET`, or
 * else a random one generated once into `<userDir>/credential-secret` (mode 0600). It is never logged. Losing it
 * loses the credentials (not the flows); changing it means re-entering them.
 */
export function credentialSecret(userDir: string, env: NodeJS.ProcessEnv): { secret: string; source: 'env' | 'file' | 'generated' } {
  const fromEnv = env[SECRET_ENV]?.trim();
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error(`${SECRET_ENV} is too short: use at least 16 characters (e.g. openssl rand -base64 32)`);
    return { secret: fromEnv, source: 'env' };
  }
  const file = join(userDir, SECRET_FILE);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 16) throw new Error(`${file} holds no usable secret: restore it from a backup (credentials are encrypted with it)`);
    return { secret, source: 'file' };
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { secret, source: 'generated' };
}
