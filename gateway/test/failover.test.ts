import { loadProfile, startModbusTcpSimulator } from '@envmon/hardware';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../src/config.ts';
import { startGateway } from '../src/gateway.ts';
import { openArchive } from '../src/outbox/archive.ts';
import { collect, keyOf, startBroker, tempDir, testConfig, waitFor } from './helpers.ts';

// Failover over a list of broker URLs (instances of a clustered ingest, issue 10): two real Aedes brokers in the
// test; the gateway moves to the other when its broker stops, and every archived reading reaches one of them.

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

function listConfig(station: string, urls: string[], dataDir: string, simPort: number): string {
  return testConfig({ station, brokerPort: 1, dataDir, devices: [{ id: 'aqm1', profile: 'generic-ambient-air', port: simPort }] })
    .replace('  url: mqtt://127.0.0.1:1\n', `  url:\n${urls.map((u) => `    - ${u}\n`).join('')}`)
    // A long backoff maximum: only the move to the next URL, not a retry of the dead one, can make this quick.
    .replace('reconnect_max_ms: 400', 'reconnect_max_ms: 60000');
}

describe('gateway broker failover', () => {
  it('reads a list of broker URLs', () => {
    const c = parseGatewayConfig(listConfig('FO00', ['mqtt://10.0.0.1:1883', 'mqtts://10.0.0.2:8883'], '/tmp/x', 5020), 'test.yaml');
    expect(c.broker.url).toBe('mqtt://10.0.0.1:1883');
    expect(c.broker.urls).toEqual(['mqtt://10.0.0.1:1883', 'mqtts://10.0.0.2:8883']);
    expect(() => parseGatewayConfig(listConfig('FO00', [], '/tmp/x', 5020).replace('  url:\n', '  url: []\n'), 'test.yaml')).toThrow(/at least one/);
    expect(parseGatewayConfig(testConfig({ station: 'FO00', brokerPort: 1883, dataDir: '/tmp/x', devices: [{ id: 'aqm1', profile: 'generic-ambient-air', port: 5020 }] }), 'test.yaml').broker.urls).toEqual(['mqtt://127.0.0.1:1883']);
  });

  it('moves to the next broker when its broker stops, and loses nothing', async () => {
    const station = 'FO01';
    const a = await startBroker();
    const b = await startBroker();
    cleanup.push(() => a.stop(), () => b.stop());
    const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
    cleanup.push(() => sim.stop());
    const colA = await collect(a.port, station);
    const colB = await collect(b.port, station);
    cleanup.push(() => colA.stop(), () => colB.stop());
    const dataDir = tempDir('envmon-gw-failover-');
    const config = parseGatewayConfig(listConfig(station, [`mqtt://127.0.0.1:${a.port}`, `mqtt://127.0.0.1:${b.port}`], dataDir, sim.port), 'test.yaml');
    const gw = await startGateway(config);
    cleanup.push(() => gw.stop());

    await waitFor('batches on the first broker', () => colA.batches.length >= 3);
    expect(colB.batches.length).toBe(0);
    await colA.stop(); // its reconnects would otherwise keep a stopped broker's port busy in the log
    await a.stop();
    const stoppedAt = Date.now();
    await waitFor('batches on the second broker', () => colB.batches.length >= 3, 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);

    await gw.stop();
    const archive = openArchive(dataDir);
    const archived = archive.readings().map(keyOf);
    const pending = new Set(archive.pending().map(keyOf));
    archive.close();
    const received = () => new Set([...colA.batches, ...colB.batches].flatMap((x) => x.readings.map(keyOf)));
    await waitFor('acknowledged readings to reach a subscriber', () => {
      const got = received();
      return archived.every((k) => got.has(k) || pending.has(k));
    }, 5000);
    expect(archived.length).toBeGreaterThan(0);
  });

  it('starts on the second URL when the first is down', async () => {
    const station = 'FO02';
    const dead = await startBroker();
    const deadPort = dead.port;
    await dead.stop();
    const b = await startBroker();
    cleanup.push(() => b.stop());
    const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
    cleanup.push(() => sim.stop());
    const colB = await collect(b.port, station);
    cleanup.push(() => colB.stop());
    const config = parseGatewayConfig(listConfig(station, [`mqtt://127.0.0.1:${deadPort}`, `mqtt://127.0.0.1:${b.port}`], tempDir('envmon-gw-failover-'), sim.port), 'test.yaml');
    const gw = await startGateway(config);
    cleanup.push(() => gw.stop());
    await waitFor('batches on the live broker', () => colB.batches.length >= 1, 5000);
  });
});
