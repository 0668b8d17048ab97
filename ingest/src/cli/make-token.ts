/**
 * `npm run make-token -w @envmon/ingest -- <name> <viewer|operator|admin>`: prints a new API token (give it to its
 * holder once; it is not stored) and the config entry with its hash for `api.tokens` in the ingest config.
 * `--hash` reads an existing token from stdin and prints only its hash.
 */
import { hashToken, makeToken } from '../api/auth.ts';
import { ROLES } from '../config/api-config.ts';

const args = process.argv.slice(2);
if (args[0] === '--hash') {
  let input = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) input += chunk as string;
  console.log(hashToken(input.trim()));
} else {
  const [name, role] = args;
  if (!name || !role || !(ROLES as readonly string[]).includes(role)) {
    console.error(`usage: make-token <name> <${ROLES.join('|')}>   or   make-token --hash < token.txt`);
    process.exit(2);
  }
  const token = makeToken();
  console.error('token (give it to its holder now; only its hash is kept):');
  console.log(token);
  console.error('\nadd to the ingest config under api.tokens:');
  console.error(`  - { name: ${JSON.stringify(name)}, role: ${role}, token_hash: "${hashToken(token)}" }`);
}
