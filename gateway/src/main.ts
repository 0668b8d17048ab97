/**
 * The station gateway process:
 *
 *   tsx gateway/src/main.ts --config station.yaml        (or: node --import tsx gateway/src/main.ts …)
 *
 * Logs one JSON object per line (pino) on stdout; the broker password is never logged. SIGTERM or SIGINT stops
 * it cleanly (exit 0); a config error exits 2 with every problem listed as file:line path: message.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '@envmon/hardware';
import pino from 'pino';
import { loadGatewayConfig } from './config.ts';
import { startGateway } from './gateway.ts';

const log = pino({ base: { app: 'envmon-gateway' }, redact: ['password', '*.password', 'broker.password'] });

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    console.error('usage: envmon-gateway --config <station.yaml>   (state in $ENVMON_DATA_DIR/gateway/<station> unless data_dir is set)');
    process.exit(values.help ? 0 : 2);
  }
  let config;
  try {
    config = loadGatewayConfig(values.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const gateway = await startGateway(config, { log, configPath: values.config });
  log.info({ config: values.config, pid: process.pid }, 'gateway running');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'gateway failed');
  process.exit(1);
});
