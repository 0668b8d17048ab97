import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { openArchive, parseGatewayConfig, startGateway, type ArchivedReading } from '@envmon/gateway';
import { decodeBatch, DeviceStatus, type Batch } from '@envmon/protocol';
import { startApp, type App } from '../src/app.ts';
import type { Report } from '../src/node/node.ts';
import { SerialPortUart } from '../src/platform/sim/serial-port.ts';
import { simRig } from '../src/platform/sim/rig.ts';
import { ptyPair } from './support/pty.ts';

// Issue 8, 4(A), end to end: the firmware runs under Node with one end of a socat pty pair as its RS-485 UART;
// the real station gateway (startGateway, serial RTU transport, profile envmon-node) opens the other end, polls
// the node, archives the readings and publishes them as protobuf batches to a real Aedes broker, where an
// independent subscriber decodes them.

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await Promise.resolve().then(f).catch(() => {});
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** An Aedes broker on 127.0.0.1, on a port the OS picks. */
async function startBroker(): Promise<{ port: number; stop(): Promise<void> }> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

const key = (r: { param: string; time: number }) => `${r.param}@${r.time}`;

describe('the node polled by the real gateway over a pty RTU link', () => {
  it('gateway archive and broker batches carry the values and statuses the firmware computed', async () => {
    const station = 'FWNODE01';
    const pty = await ptyPair();
    cleanup.push(() => pty.stop());
    const broker = await startBroker();
    cleanup.push(() => broker.stop());

    // Subscriber first, so it sees every batch the gateway publishes.
    const batches: Batch[] = [];
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, clientId: `fw-collector-${process.pid}`, reconnectPeriod: 0 });
    cleanup.push(() => sub.endAsync(true));
    sub.on('message', (topic, payload) => {
      if (topic.endsWith('/data')) batches.push(decodeBatch(payload));
    });
    await sub.subscribeAsync(`envmon/v1/${station}/data`, { qos: 1 });

    // The node: Modbus mode, unit 7 at 19200 Bd on the pty; 500 ms windows so a few close within the test.
    const rig = simRig('real', { samplePeriodMs: 100, reportPeriodMs: 500, stuckSamples: 8, modbus: { uart: 'Serial1', baud: 19200, unitId: 7 } });
    const uart = new SerialPortUart(pty.a);
    rig.p.uarts['Serial1'] = uart;
    rig.sht.t = 31.5;
    rig.sht.rh = 82;
    rig.pms.pm25 = 41;
    rig.pms.pm10 = 63;
    rig.p.oneWires['D4']!.devices.length = 0; // DS18B20 unplugged → WTEMP NaN → null, status 02
    const app: App = startApp(rig.p, rig.cfg);
    // What the firmware computed, window by window (the register map is updated from the same reports).
    const reports: Report[] = [];
    let firstWindowClosedAt = Infinity;
    const toRegisters = app.node.onReport!;
    app.node.onReport = (rs: Report[]) => {
      if (reports.length === 0) firstWindowClosedAt = Date.now();
      for (const r of rs) reports.push(r);
      toRegisters(rs);
    };
    cleanup.push(async () => {
      app.stop();
      rig.p.shutdown();
      await uart.close();
    });

    // The real gateway on the other end of the cable.
    const dataDir = mkdtempSync(join(tmpdir(), 'envmon-fw-gw-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = parseGatewayConfig(
      `station: ${station}
broker:
  url: mqtt://127.0.0.1:${broker.port}
  password_env: ENVMON_STATION_SECRET
  reconnect_min_ms: 100
  reconnect_max_ms: 400
data_dir: ${dataDir}
averaging: []
publish: { interval_ms: 50, max_in_flight: 4 }
devices:
  - id: node7
    profile: envmon-node
    transport: { kind: serial, path: ${pty.b}, baud_rate: 19200 }
    unit_id: 7
    poll_interval_ms: 200
    timeout_ms: 500
`,
      'fw-node.yaml',
      { env: { ENVMON_STATION_SECRET: 'not-checked-by-the-test-broker' }, baseDir: dataDir },
    );
    const gw = await startGateway(config);
    let gwStopped = false;
    cleanup.push(() => (gwStopped ? undefined : gw.stop()));

    const archived = (): ArchivedReading[] => {
      const a = openArchive(dataDir);
      try {
        return a.readings();
      } finally {
        a.close();
      }
    };
    const good = (rs: ArchivedReading[], param: string, near: number) => rs.some((r) => r.param === param && r.status === DeviceStatus.MEASURING && r.value !== null && Math.abs(r.value - near) < 0.1);
    const received = () => batches.flatMap((b) => b.readings);

    // Phase 1: healthy PMS and SHT3x, DS18B20 missing.
    await waitFor('good TEMP, RH and PM readings from the node in the gateway archive', () => {
      const rs = archived();
      return good(rs, 'TEMP', 31.5) && good(rs, 'RH', 82) && good(rs, 'PM2_5', 41) && good(rs, 'PM10', 63);
    }, 8000);
    await waitFor('the same readings on the broker', () => {
      const rs = received() as ArchivedReading[];
      return good(rs, 'TEMP', 31.5) && good(rs, 'PM2_5', 41);
    }, 5000);
    const tGood = Math.max(...archived().filter((r) => r.param === 'PM2_5' && r.status === 0).map((r) => r.time));

    // Phase 2: the PMS hangs (identical frames): the firmware flags it in its status register, the gateway must
    // turn the fault bit into status 02 while the value (the window mean) is still there.
    rig.pms.stuck = true;
    await waitFor('PM2_5 with status 02 (stuck sensor) after the good readings', () =>
      archived().some((r) => r.param === 'PM2_5' && r.time > tGood && r.status === DeviceStatus.DEVICE_ERROR && r.value !== null), 6000);
    await waitFor('the stuck reading on the broker', () =>
      received().some((r) => r.param === 'PM2_5' && r.time > tGood && r.status === DeviceStatus.DEVICE_ERROR && r.value !== null), 5000);

    const health = gw.health();
    await gw.stop();
    gwStopped = true;
    const all = archived();
    const a = openArchive(dataDir);
    const pending = new Set(a.pending().map(key));
    a.close();

    // Every poll stored one reading per parameter of the profile, raw samples only.
    const params = ['PM2_5', 'PM10', 'TEMP', 'RH', 'WTEMP', 'PH'];
    expect(new Set(all.map((r) => r.param))).toEqual(new Set(params));
    expect(all.every((r) => r.period_s === 0)).toBe(true);
    // Each archived reading is one the firmware computed: the value of a window report of that parameter
    // (float32 on the wire) with its status — 00, or 02 with the mean still there (stuck) — or null/02 for a
    // window without a sample (and before the first window closed, when the registers hold NaN).
    const fw = (p: string) => reports.filter((r) => r.param === p);
    for (const p of params) expect(fw(p).length, p).toBeGreaterThanOrEqual(2);
    for (const r of all) {
      const match = fw(r.param).some((w) =>
        w.value === null ? r.value === null && r.status === DeviceStatus.DEVICE_ERROR : r.value !== null && Math.abs(r.value - Math.fround(w.value)) < 1e-4 && r.status === w.status,
      );
      const beforeFirstWindow = r.value === null && r.status === DeviceStatus.DEVICE_ERROR && r.time <= firstWindowClosedAt;
      expect(match || beforeFirstWindow, `${key(r)} ${r.value}/${r.status} not among the firmware's reports ${JSON.stringify(fw(r.param).map((w) => [w.time, w.value, w.status]))}; first window closed at ${firstWindowClosedAt}`).toBe(true);
    }
    // And the firmware's reports are the expected ones: the values it was fed, the missing DS18B20 as 02.
    const measuring = (p: string) => all.filter((r) => r.param === p && r.status === DeviceStatus.MEASURING);
    for (const r of measuring('TEMP')) expect(r.value!).toBeCloseTo(31.5, 1);
    for (const r of measuring('RH')) expect(r.value!).toBeCloseTo(82, 1);
    for (const r of measuring('PH')) {
      expect(r.value!).toBeGreaterThan(8);
      expect(r.value!).toBeLessThan(10);
    }
    for (const r of all.filter((x) => x.param === 'WTEMP')) expect(r).toMatchObject({ value: null, status: DeviceStatus.DEVICE_ERROR });
    const pm25 = all.filter((r) => r.param === 'PM2_5');
    for (const r of pm25.filter((x) => x.time <= tGood && x.value !== null)) expect(r).toMatchObject({ value: 41, status: DeviceStatus.MEASURING });
    for (const r of all.filter((x) => x.param === 'PM10' && x.time <= tGood && x.value !== null)) expect(r).toMatchObject({ value: 63, status: DeviceStatus.MEASURING });
    // Once stuck, PM2_5 stays flagged 02 with its value (the firmware keeps the channel stuck while frames repeat).
    const stuckFrom = Math.min(...pm25.filter((r) => r.time > tGood && r.status === DeviceStatus.DEVICE_ERROR && r.value !== null).map((r) => r.time));
    for (const r of pm25.filter((x) => x.time >= stuckFrom)) expect(r).toMatchObject({ value: 41, status: DeviceStatus.DEVICE_ERROR });
    expect(reports.some((r) => r.param === 'PM2_5' && r.status === 2 && r.reason === 'stuck value')).toBe(true);

    // The broker got decodable batches of this station, and every archived reading either reached the
    // subscriber, with the same value and status, or is still in the outbox.
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) expect(b.station).toBe(station);
    await waitFor('acknowledged readings to reach the subscriber', () => {
      const got = new Set(received().map(key));
      return all.every((r) => got.has(key(r)) || pending.has(key(r)));
    }, 3000);
    const onWire = new Map(received().map((r) => [key(r), r]));
    for (const r of all) {
      const w = onWire.get(key(r));
      if (!w) continue;
      expect(w.status, key(r)).toBe(r.status);
      if (r.value === null) expect(w.value ?? null, key(r)).toBeNull();
      else expect(w.value!, key(r)).toBeCloseTo(r.value, 5);
    }
    // The link itself: one bus for the pty, no Modbus exception (the read plan only asks for mapped registers),
    // and every transaction the gateway made reached the node's RTU slave.
    expect(health.buses).toHaveLength(1);
    expect(health.buses[0]!.exceptions).toBe(0);
    expect(health.buses[0]!.transactions).toBeGreaterThanOrEqual(10);
    expect(app.slave!.requests).toBeGreaterThanOrEqual(health.buses[0]!.transactions);
  }, 25_000);
});
