import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProfile, startModbusTcpSimulator } from '@envmon/hardware';
import { decodeCommandResult, DeviceStatus, encodeCommand, type CommandResult } from '@envmon/protocol';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.ts';
import { startGateway } from '../src/gateway.ts';
import { collect, startBroker, tempDir, waitFor } from './helpers.ts';

// Commands over MQTT (envmon/v1/<station>/cmd → cmd/result) against the whole gateway and a real Aedes broker,
// the periodic health in the retained status, and the local HTTP query server.

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

const config = (o: { brokerPort: number; dataDir: string; simPort: number; profile?: string; extra?: string }) => `station: CMD01
broker:
  url: mqtt://127.0.0.1:${o.brokerPort}
  password: x
  reconnect_min_ms: 100
  reconnect_max_ms: 400
data_dir: ${o.dataDir}
publish: { max_batch: 500, interval_ms: 50, max_in_flight: 4, status_interval_ms: 300 }
http: { port: 0 }
${o.extra ?? ''}devices:
  - { id: aqm1, profile: ${o.profile ?? 'generic-ambient-air'}, transport: { kind: tcp, host: 127.0.0.1, port: ${o.simPort} }, poll_interval_ms: 200, timeout_ms: 300, retries: 0 }
`;

async function setup() {
  const broker = await startBroker();
  cleanup.push(() => broker.stop());
  const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
  cleanup.push(() => sim.stop());
  const dir = tempDir('envmon-gw-cmd-');
  const file = join(dir, 'station.yaml');
  writeFileSync(file, config({ brokerPort: broker.port, dataDir: join(dir, 'data'), simPort: sim.port }));
  const col = await collect(broker.port, 'CMD01');
  cleanup.push(() => col.stop());
  const gw = await startGateway(loadGatewayConfig(file, { env: {} }), { configPath: file, env: {} });
  cleanup.push(() => gw.stop());
  const results: CommandResult[] = [];
  const operator = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, clientId: `operator-${Math.random()}` });
  cleanup.push(() => operator.endAsync(true));
  operator.on('message', (_t, p) => results.push(decodeCommandResult(p)));
  await operator.subscribeAsync('envmon/v1/CMD01/cmd/result', { qos: 1 });
  await waitFor('the gateway online', () => col.statuses.some((s) => s.online));
  let n = 0;
  const send = async (name: string, args: Record<string, string> = {}, timeoutMs = 10_000): Promise<CommandResult> => {
    const id = `c${++n}`;
    await operator.publishAsync('envmon/v1/CMD01/cmd', Buffer.from(encodeCommand({ id, name, args, issued_at: Date.now() })), { qos: 1 });
    await waitFor(`the result of ${name}`, () => results.some((r) => r.id === id), timeoutMs);
    return results.find((r) => r.id === id)!;
  };
  return { broker, sim, dir, file, col, gw, send };
}

describe('gateway commands and health', () => {
  it('answers ping, calibrates a parameter on command, and publishes periodic health', async () => {
    const { col, gw, send } = await setup();
    expect(await send('ping')).toMatchObject({ ok: true, message: expect.stringMatching(/^pong envmon-gateway/) });
    expect(await send('reboot')).toMatchObject({ ok: false, message: expect.stringMatching(/unknown command "reboot"/) });
    expect(await send('calibrate', { param: 'DO' })).toMatchObject({ ok: false, message: expect.stringMatching(/not read by this station: DO/) });

    expect(await send('calibrate', { param: 'SO2,NO2', duration_min: '5' })).toMatchObject({ ok: true, message: 'calibrating SO2, NO2 for 5 min' });
    const since = Date.now();
    await waitFor('calibrating readings', () => col.batches.some((b) => b.readings.some((r) => r.param === 'SO2' && r.time > since && r.status === DeviceStatus.CALIBRATING)));
    const after = col.batches.flatMap((b) => b.readings).filter((r) => r.time > since + 50 && r.period_s === 0);
    expect(after.filter((r) => r.param === 'SO2' || r.param === 'NO2').every((r) => r.status === DeviceStatus.CALIBRATING)).toBe(true);
    expect(after.filter((r) => r.param === 'PM10').every((r) => r.status === DeviceStatus.MEASURING)).toBe(true);
    expect(gw.health().calibrating).toEqual(['NO2', 'SO2']);
    expect(await send('calibrate', { param: 'SO2', on: 'false' })).toMatchObject({ ok: true });
    expect(gw.health().calibrating).toEqual(['NO2']);

    // Periodic retained status: uptime, outbox, per-device counters.
    await waitFor('a status with counters', () => col.statuses.some((s) => s.online && (s.devices[0]?.polls ?? 0) > 3));
    const s = col.statuses.filter((x) => x.online).at(-1)!;
    expect(s.devices[0]).toMatchObject({ device: 'aqm1', errors: 0, timeouts: 0, quarantined: false });
    expect(s.uptime_s).toBeGreaterThanOrEqual(0);
    expect(s.outbox_dropped).toBe(0);

    // The local HTTP server: health and archived readings.
    const base = `http://127.0.0.1:${gw.httpPort()}`;
    const health = (await (await fetch(`${base}/status`)).json()) as { devices: { device: string }[]; outbox_oldest_age_s: number; buses: unknown[] };
    expect(health.devices[0]!.device).toBe('aqm1');
    expect(health.buses).toHaveLength(1);
    const q = (await (await fetch(`${base}/readings?param=PM10&from=${since - 60_000}&period=0`)).json()) as { count: number; readings: { param: string; time: number }[] };
    expect(q.count).toBeGreaterThan(3);
    expect(q.readings.every((r) => r.param === 'PM10' && r.time >= since - 60_000)).toBe(true);
    const csv = await (await fetch(`${base}/readings?param=PM10&from=${since - 60_000}&format=csv`)).text();
    expect(csv.split('\n')[0]).toBe('param,time,value,status,period_s,samples,coverage');
    expect((await fetch(`${base}/readings?from=x`)).status).toBe(400);
  });

  it('reloads a valid config, refuses an invalid one without change, and rolls back a config whose devices do not answer', async () => {
    const { broker, sim, dir, file, gw, send } = await setup();
    const dataDir = join(dir, 'data');
    const good = config({ brokerPort: broker.port, dataDir, simPort: sim.port, extra: 'calibration:\n  - { params: [PM10], at: "00:00", duration_min: 1440 }\n' });
    const reloaded = await send('reload_config', { yaml: good, check_ms: '3000' });
    expect(reloaded).toMatchObject({ ok: true, message: expect.stringMatching(/config reloaded: 1 devices \(aqm1\)/) });
    expect(gw.config().calibration).toHaveLength(1);
    await waitFor('the scheduled calibration in force', () => gw.health().calibrating.includes('PM10'));

    const invalid = good.replace('poll_interval_ms: 200', 'poll_intervall_ms: 200');
    const refused = await send('reload_config', { yaml: invalid });
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/invalid config, nothing changed: line \d+ devices\[0\]: unknown field `poll_intervall_ms`: did you mean `poll_interval_ms`\?/);
    expect(gw.config().calibration).toHaveLength(1);

    // Valid YAML, but the device is not where the new config says: after the check the old config comes back.
    const wrongPort = config({ brokerPort: broker.port, dataDir, simPort: 1 });
    const rolled = await send('reload_config', { yaml: wrongPort, check_ms: '1500' }, 15_000);
    expect(rolled).toMatchObject({ ok: false, message: expect.stringMatching(/rolled back: no device answered within 1500 ms .*aqm1: .*127\.0\.0\.1:1 .*cannot open/) });
    expect(gw.config().calibration).toHaveLength(1);
    const before = gw.health().devices[0]!.last_ok;
    await waitFor('the old config polling again', () => gw.health().devices[0]!.last_ok > before);
    // The file holds the last good config (the refused and rolled-back ones never replaced it).
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8')).toBe(good);
    expect(await send('reload_config', { yaml: good.replace('station: CMD01', 'station: OTHER') })).toMatchObject({ ok: false, message: expect.stringMatching(/station OTHER differs/) });
  });
});
