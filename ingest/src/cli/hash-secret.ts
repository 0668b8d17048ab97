#!/usr/bin/env -S npx tsx
/** Prints the scrypt hash of a station secret for `secret_hash` in the stations file. Reads the secret from stdin. */
import { hashSecret } from '../broker/secrets.ts';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
if (secret.length < 12) {
  console.error('a station secret must have at least 12 characters');
  process.exit(2);
}
console.log(await hashSecret(secret));
