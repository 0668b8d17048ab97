/**
 * A gateway in a child process that stops on SIGTERM and then must exit by itself: unlike main.ts it never calls
 * process.exit, so the process ends only when stop() left nothing running (sockets, timers). Prints one JSON line
 * `{"running":true}` once started and `{"stopped_ms":…}` when stop() resolved.
 *
 *   node --import tsx gateway/test/support/stop-child.ts --config <config.yaml>
 */
import pino from 'pino';
import { loadGatewayConfig } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';

const gw = await startGateway(loadGatewayConfig(process.argv.at(-1)!), { log: pino({ level: 'warn' }, pino.destination(2)) });
console.log(JSON.stringify({ running: true }));
process.once('SIGTERM', () => {
  const t0 = performance.now();
  void gw.stop().then(() => console.log(JSON.stringify({ stopped_ms: Math.round(performance.now() - t0) })));
});
