/**
 * Writes the deployed Node-RED flows, credentials stripped, for version control:
 *   npm run export-flows -w @envmon/ingest -- [--config ingest.yaml] [--data-dir .data/ingest] [--out flows.json]
 * Reads `<data dir>/node-red/flows.json` (or `node_red.user_dir` of the config); the ingest may be running or not.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIngestConfig } from '../config/config.ts';
import { FLOW_FILE, nodeRedUserDir } from '../node-red/config.ts';
import { exportFlows } from '../node-red/flows-export.ts';

const { values } = parseArgs({
  options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, out: { type: 'string', short: 'o' } },
});
// `npm run -w` runs in ingest/: paths given on the command line are relative to where npm was started.
const here = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);
const dataDir = here(values['data-dir'] ?? process.env.ENVMON_DATA_DIR ?? '.data/ingest');
const configArg = values.config ?? process.env.ENVMON_INGEST_CONFIG;
const configPath = configArg ? here(configArg) : undefined;
const nodeRed = (configPath ? loadIngestConfig(configPath).node_red : undefined) ?? {};
const flowFile = join(nodeRedUserDir(nodeRed, dataDir), FLOW_FILE);
const text = `${JSON.stringify(exportFlows(flowFile), null, 2)}\n`;
if (values.out) {
  writeFileSync(here(values.out), text);
  console.error(`wrote ${here(values.out)} from ${flowFile}`);
} else {
  process.stdout.write(text);
}
