/**
 * The ingest service: `tsx ingest/src/main.ts --config ingest/examples/demo.yaml`.
 * Environment: ENVMON_DATA_DIR (default ./.data/ingest), ENVMON_HTTP_PORT (8080), ENVMON_MQTT_PORT (1883),
 * INFLUX_URL / INFLUX_TOKEN / INFLUX_ORG / INFLUX_BUCKET or INFLUX_DATABASE (embedded store when unset).
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadIngestConfig } from './config/config.ts';
import { startIngest } from './ingest.ts';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
const log = pino({ name: 'ingest' });
const configPath = values.config ?? process.env.ENVMON_INGEST_CONFIG;
if (!configPath) {
  console.error('usage: ingest --config <stations.yaml>   (or set ENVMON_INGEST_CONFIG)');
  process.exit(2);
}

try {
  const config = loadIngestConfig(configPath);
  const ingest = await startIngest({
    config,
    dataDir: process.env.ENVMON_DATA_DIR ? `${process.env.ENVMON_DATA_DIR}` : '.data/ingest',
    httpHost: process.env.ENVMON_HTTP_HOST ?? '127.0.0.1',
    httpPort: Number(process.env.ENVMON_HTTP_PORT ?? 8080),
    mqttHost: process.env.ENVMON_MQTT_HOST ?? '127.0.0.1',
    mqttPort: Number(process.env.ENVMON_MQTT_PORT ?? 1883),
    log,
  });
  // Parent processes (npm start, tests) read this line to learn the ports.
  console.log(JSON.stringify({ ready: true, http: ingest.httpUrl, mqtt: ingest.mqttUrl, httpPort: ingest.httpPort, mqttPort: ingest.mqttPort }));
  const shutdown = () => {
    log.info('stopping');
    ingest.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
