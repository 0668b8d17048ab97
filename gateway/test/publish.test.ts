import { loadProfile, startModbusTcpSimulator, type ModbusTcpSimulator } from '@envmon/hardware';
import { DeviceStatus } from '@envmon/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../src/config.ts';
import { startGateway, type RunningGateway } from '../src/gateway.ts';
import { openArchive } from '../src/outbox/archive.ts';
import { collect, keyOf, startBroker, tempDir, testConfig, waitFor, type Collector, type TestBroker } from './helpers.ts';

// The whole gateway in-process: real simulators → gateway → real Aedes broker → an independent subscriber.

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

async function setup(station: string, admit?: (clientId: string) => boolean): Promise<{ broker: TestBroker; air: ModbusTcpSimulator; water: ModbusTcpSimulator; col: Collector; gw: RunningGateway; dataDir: string }> {
  const broker = await startBroker(0, admit ? { admit } : {});
  cleanup.push(() => broker.stop());
  const air = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
  const water = await startModbusTcpSimulator({ profile: loadProfile('generic-wastewater') });
  cleanup.push(() => air.stop(), () => water.stop());
  const col = await collect(broker.port, station);
  cleanup.push(() => col.stop());
  const dataDir = tempDir('envmon-gw-pub-');
  const config = parseGatewayConfig(
    testConfig({ station, brokerPort: broker.port, dataDir, devices: [{ id: 'aqm1', profile: 'generic-ambient-air', port: air.port }, { id: 'sonde1', profile: 'generic-wastewater', port: water.port }] }),
    'test.yaml',
  );
  const gw = await startGateway(config);
  cleanup.push(() => gw.stop());
  return { broker, air, water, col, gw, dataDir };
}

describe('gateway publishing to a real broker', () => {
  it('delivers decoded readings with status, a retained birth, and says offline on stop', async () => {
    const { air, water, col, gw, dataDir } = await setup('PUB01');
    air.setValue('PM2_5', 42.5);
    water.setValue('PH', 'sentinel');
    await waitFor('a birth message', () => col.statuses.some((s) => s.online));
    const birth = col.statuses.find((s) => s.online)!;
    expect(birth).toMatchObject({ station: 'PUB01', online: true, software: expect.stringMatching(/envmon-gateway/) });

    await waitFor('readings of both devices', () => {
      const params = new Set(col.batches.flatMap((b) => b.readings.map((r) => r.param)));
      return params.has('PM2_5') && params.has('NH4');
    });
    air.setCalibrating(true);
    await waitFor('a calibrating reading', () => col.batches.some((b) => b.readings.some((r) => r.param === 'SO2' && r.status === DeviceStatus.CALIBRATING)));

    const readings = col.batches.flatMap((b) => b.readings);
    for (const b of col.batches) expect(b.station).toBe('PUB01');
    expect(readings.filter((r) => r.param === 'PM2_5').every((r) => r.value === 42.5)).toBe(true);
    expect(readings.filter((r) => r.param === 'PH').every((r) => r.value === null && r.status === DeviceStatus.DEVICE_ERROR)).toBe(true);
    const good = readings.filter((r) => r.param === 'COD');
    expect(good.every((r) => typeof r.value === 'number' && r.value >= 0 && r.status === 0)).toBe(true);
    // Seqs are unique and increasing in the order the gateway created the batches.
    const seqs = col.batches.map((b) => b.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)[0]).toBe(1);

    await gw.stop();
    await waitFor('the offline status', () => col.statuses.at(-1)?.online === false);
    // Every archived reading reaches the subscriber or is still pending. Aedes sends the PUBACK before it
    // forwards to subscribers, so the last acknowledged batches may still be on their way: wait for them.
    const archive = openArchive(dataDir);
    const archived = archive.readings().map(keyOf);
    const pending = new Set(archive.pending().map(keyOf));
    archive.close();
    const received = () => new Set(col.batches.flatMap((b) => b.readings.map(keyOf)));
    await waitFor('acknowledged readings to reach the subscriber', () => {
      const got = received();
      return archived.every((k) => got.has(k) || pending.has(k));
    }, 5000);
    const archivedSet = new Set(archived);
    for (const k of received()) expect(archivedSet.has(k), `${k} received but never archived`).toBe(true);
  });

  it('keeps readings in the outbox while the broker is down and drains them when it returns', async () => {
    // The gateway is let back in only once the new subscriber is listening, so the subscriber sees every replay.
    let gatewayAdmitted = true;
    const { broker, col, gw, dataDir } = await setup('PUB02', (id) => !id.startsWith('envmon-gw-') || gatewayAdmitted);
    await waitFor('first readings', () => col.batches.length > 0);
    await col.stop();

    await broker.stop();
    const outageStart = Date.now();
    const depthAtOutage = gw.outboxDepth();
    await waitFor('the outbox to grow during the outage', () => gw.outboxDepth() >= depthAtOutage + 60, 8000);
    const outageEnd = Date.now();

    gatewayAdmitted = false;
    await broker.restart();
    const col2 = await collect(broker.port, 'PUB02');
    cleanup.push(() => col2.stop());
    gatewayAdmitted = true;
    await waitFor('the outbox to drain', () => gw.outboxDepth() < 15, 10_000);
    await gw.stop();

    // Every archived reading reached the subscribers or is still pending (the first collector left before the
    // outage, so readings acknowledged in between are only in col2 if they were sent after it subscribed).
    const archive = openArchive(dataDir);
    const pending = new Set(archive.pending().map(keyOf));
    const all = archive.readings();
    archive.close();
    const received = () => new Set([...col.batches, ...col2.batches].flatMap((b) => b.readings.map(keyOf)));
    const lost = () => {
      const got = received();
      return all.filter((r) => r.time >= outageStart && !got.has(keyOf(r)) && !pending.has(keyOf(r)));
    };
    await waitFor('acknowledged readings to reach the subscriber', () => lost().length === 0, 5000).catch(() => {});
    expect(lost()).toEqual([]);
    // The readings taken while the broker was away were replayed to the new subscriber after it returned.
    const duringOutage = all.filter((r) => r.time >= outageStart && r.time < outageEnd && !pending.has(keyOf(r)));
    expect(duringOutage.length).toBeGreaterThanOrEqual(30);
    const replayed = new Set(col2.batches.flatMap((b) => b.readings.map(keyOf)));
    expect(duringOutage.filter((r) => !replayed.has(keyOf(r)))).toEqual([]);
    // The same seq never carried different content.
    const bySeq = new Map<number, string>();
    for (const b of [...col.batches, ...col2.batches]) {
      const content = JSON.stringify(b.readings);
      expect(bySeq.get(b.seq) ?? content).toBe(content);
      bySeq.set(b.seq, content);
    }
  });
});
