#!/usr/bin/env -S npx tsx
/**
 * Runs a Modbus TCP simulator for one device profile until interrupted:
 *
 *   tsx hardware/src/cli.ts --profile generic-ambient-air --port 5020 [--host 127.0.0.1] [--unit-id 1] [--seed 42]
 *
 * Prints one line with the address it listens on (`--port 0` picks a free port; read it from that line).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from './yaml-config.ts';
import { listProfiles, loadProfile } from './profile/load.ts';
import { startModbusTcpSimulator } from './simulator/modbus-tcp.ts';

const USAGE = `usage: envmon-sim --profile <name|file.yaml> [--port 5020] [--host 127.0.0.1] [--unit-id 1] [--seed N]
profiles: ${listProfiles().join(', ')}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      port: { type: 'string', default: '5020' },
      host: { type: 'string', default: '127.0.0.1' },
      'unit-id': { type: 'string', default: '1' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.profile) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const port = integer('--port', values.port, 0, 65535);
  const unitId = integer('--unit-id', values['unit-id'], 0, 255);
  const seed = values.seed === undefined ? undefined : integer('--seed', values.seed, 0, 0x7fffffff);
  const profile = loadProfile(values.profile);
  const sim = await startModbusTcpSimulator({ profile, host: values.host, port, unitId, ...(seed !== undefined ? { seed } : {}) });
  console.log(`envmon-sim ${profile.id} listening on modbus-tcp://${sim.host}:${sim.port} unit ${unitId} port=${sim.port}`);
  const stop = (): void => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function integer(flag: string, text: string, lo: number, hi: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    console.error(`${flag} must be an integer ${lo}..${hi}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
