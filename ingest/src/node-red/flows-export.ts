import { existsSync, readFileSync } from 'node:fs';

/** Node properties that hold secrets when a flow was exported from elsewhere with them inline. */
const SECRET_KEYS = new Set(['credentials']);

/**
 * The deployed flows as they should go into version control: the flow file's nodes in their order, without any
 * `credentials` (Node-RED keeps those apart, encrypted, in `flows_cred.json`; this also drops any that came in
 * inline with an import). `[]` before the first deploy.
 */
export function exportFlows(flowFile: string): unknown[] {
  if (!existsSync(flowFile)) return [];
  const text = readFileSync(flowFile, 'utf8').trim();
  if (text === '') return [];
  const parsed = JSON.parse(text) as unknown;
  // Node-RED writes either an array of nodes or, with a revision, {flows: [...], rev}.
  const nodes = Array.isArray(parsed) ? parsed : ((parsed as { flows?: unknown[] }).flows ?? []);
  return nodes.map((n) => stripSecrets(n));
}

function stripSecrets(node: unknown): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (!SECRET_KEYS.has(k)) out[k] = v;
  return out;
}
