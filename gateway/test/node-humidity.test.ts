import { loadProfile, openPtyPair, startModbusRtuSimulator, type ModbusRtuSimulator, type PtyPair } from '@envmon/hardware';
import { DeviceStatus, QcFlag } from '@envmon/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../src/config.ts';
import { startGateway, type RunningGateway } from '../src/gateway.ts';
import { collect, startBroker, tempDir, waitFor, type Collector, type TestBroker } from './helpers.ts';

// The firmware sensor node's PM humidity flag, end to end through the gateway: the node (simulated from its
// profile, an RTU slave on a socat pty bus) sets status bit 2 of its PM slots → the gateway's readings carry
// QcFlag.HUMIDITY → the protobuf batches on the broker carry it (the ingest stores qc_flags as sent, OR-ed
// with its own QC flags).

let pair: PtyPair;
let sim: ModbusRtuSimulator;
let broker: TestBroker;
let col: Collector;
let gw: RunningGateway;

beforeAll(async () => {
  pair = await openPtyPair();
  sim = await startModbusRtuSimulator({ path: pair.b, slaves: [{ unitId: 5, profile: loadProfile('envmon-node'), seed: 3 }] });
  broker = await startBroker();
  col = await collect(broker.port, 'NODE01');
  const config = parseGatewayConfig(
    `station: NODE01
broker: { url: "mqtt://127.0.0.1:${broker.port}", password: not-checked, reconnect_min_ms: 100, reconnect_max_ms: 400 }
data_dir: ${tempDir('envmon-gw-node-')}
publish: { max_batch: 500, interval_ms: 50, max_in_flight: 4 }
averaging: []
devices:
  - { id: node1, profile: envmon-node, transport: { kind: serial, path: ${pair.a}, baud_rate: 9600 }, unit_id: 5, poll_interval_ms: 200, timeout_ms: 300 }
`,
    'node.yaml',
  );
  gw = await startGateway(config);
});
afterAll(async () => {
  await gw?.stop();
  await col?.stop();
  await broker?.stop();
  await sim?.stop();
  await pair?.stop();
});

describe('sensor node humidity flag through the gateway', () => {
  it('publishes QcFlag.HUMIDITY on the PM readings while the node sets it, and clears it after', async () => {
    const readings = () => col.batches.flatMap((b) => b.readings);
    await waitFor('readings of the node', () => readings().some((r) => r.param === 'PM10'));
    expect(readings().every((r) => r.qc_flags === 0)).toBe(true);

    sim.slave(5).setHumid(true);
    await waitFor('a humid PM2_5 reading', () => readings().some((r) => r.param === 'PM2_5' && r.qc_flags & QcFlag.HUMIDITY), 5000);
    const seenHumid = readings().length;
    await waitFor('a humid PM10 reading', () => readings().some((r) => r.param === 'PM10' && r.qc_flags & QcFlag.HUMIDITY), 5000);
    const humid = readings().filter((r) => r.qc_flags & QcFlag.HUMIDITY);
    expect(new Set(humid.map((r) => r.param))).toEqual(new Set(['PM2_5', 'PM10']));
    for (const r of humid) expect(r).toMatchObject({ status: DeviceStatus.MEASURING, period_s: 0, qc_flags: QcFlag.HUMIDITY });
    expect(typeof humid[0]!.value).toBe('number');

    sim.slave(5).setHumid(false);
    const cleared = readings().length;
    await waitFor('dry readings again', () => readings().slice(cleared).filter((r) => r.param === 'PM2_5').length >= 2, 5000);
    // The last PM readings (taken after the flag was cleared) carry no flag; other parameters never did.
    const last = readings().slice(cleared).filter((r) => r.param === 'PM2_5').at(-1)!;
    expect(last.qc_flags).toBe(0);
    expect(readings().slice(0, seenHumid).filter((r) => r.param === 'TEMP' || r.param === 'RH').every((r) => r.qc_flags === 0)).toBe(true);
  });
});
