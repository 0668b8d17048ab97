/**
 * The gateway process measured by scripts/bench/gateway.ts: the real startGateway() with a config built in code,
 * because a station config may not read one parameter from two devices and the catalogue has fewer codes than
 * 32 devices × 20 registers (the YAML loader refuses that; the runtime does not care).
 *
 *   node --import tsx scripts/bench/gateway/child.ts <spec.json>
 */
import { readFileSync } from 'node:fs';
import { parseProfile } from '@envmon/hardware';
import type { GatewayConfig, ModbusDeviceConfig } from '../../../gateway/src/config.ts';
import { startGateway } from '../../../gateway/src/gateway.ts';

interface Spec {
  brokerPort: number;
  dataDir: string;
  profileYaml: string;
  devices: { id: string; transport: ModbusDeviceConfig['transport']; unitId: number }[];
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
const profile = parseProfile(spec.profileYaml, 'bench-20.yaml');
const config: GatewayConfig = {
  station: 'BENCH01',
  broker: { url: `mqtt://127.0.0.1:${spec.brokerPort}`, username: 'BENCH01', password: 'x', keepaliveS: 30, reconnectMinMs: 500, reconnectMaxMs: 5000 },
  dataDir: spec.dataDir,
  archiveDays: 60,
  publish: { maxBatch: 500, intervalMs: 1000, maxInFlight: 8, statusIntervalMs: 60_000, maxReadingsPerS: 5000, replayAfterMs: 60_000 },
  outbox: { maxReadings: 5_000_000, maxAgeMs: 60 * 86_400_000 },
  averaging: [60, 300],
  calibration: [],
  utcOffsetMin: 420,
  http: undefined,
  devices: spec.devices.map((d): ModbusDeviceConfig => ({
    driver: 'modbus', id: d.id, profileName: 'bench-20', profile, transport: d.transport, unitId: d.unitId,
    pollIntervalMs: 1000, timeoutMs: 500, retries: 1, maxGap: 0, quarantineAfter: 3, quarantineMinMs: 10_000, quarantineMaxMs: 300_000, frameGapMs: undefined,
  })),
};
const gw = await startGateway(config);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void gw.stop().then(() => process.exit(0));
});
// BENCH_NODE_FLAGS=--expose-gc: a full GC before each report, so `heap` is the live heap (costs CPU: not for figures).
const gc = (globalThis as { gc?: () => void }).gc;
setInterval(() => {
  gc?.();
  const h = gw.health();
  const m = process.memoryUsage();
  const mb = (x: number) => Math.round(x / 1048576);
  process.stdout.write(`${JSON.stringify({ mem: `heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB, array buffers ${mb(m.arrayBuffers)} MB`, depth: h.outbox_depth, errors: h.devices.reduce((s, d) => s + (d.errors ?? 0), 0), polls: h.devices.reduce((s, d) => s + (d.polls ?? 0), 0), connected: h.mqtt_connected })}\n`);
}, 1000);
