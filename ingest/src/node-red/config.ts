import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ROLES } from '../config/api-config.ts';

/**
 * The `node_red:` section of the ingest config. Without the section Node-RED does not start (it runs flows with the
 * ingest's own rights, costs ≈ 115 MiB and one more thing to patch: a server should not get it by surprise);
 * `node_red: {}` or `enabled: true` starts it; `enabled: false` keeps the settings but turns it off.
 */
export const NodeRedConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Who may call the flows' own HTTP endpoints (`http in` nodes, served under `/flows/http/`): `public`, or the
     * least role a token must have. The editor and admin API under `/flows` always need `admin`.
     */
    http_in_access: z.enum(['public', ...ROLES]).default('operator'),
    /** Where flows, encrypted credentials and the context live: default `node-red`, relative to the data dir. */
    user_dir: z.string().min(1).optional(),
  })
  .strict();
export type NodeRedConfig = z.infer<typeof NodeRedConfigSchema>;

export const FLOW_FILE = 'flows.json';

/** `<data dir>/node-red` unless `node_red.user_dir` says otherwise (relative to the data dir). */
export function nodeRedUserDir(config: Pick<NodeRedConfig, 'user_dir'>, dataDir: string): string {
  const dir = config.user_dir ?? 'node-red';
  return isAbsolute(dir) ? dir : resolve(dataDir, dir);
}
