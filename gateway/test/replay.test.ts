import { loadProfile, startModbusTcpSimulator } from '@envmon/hardware';
import { decodeBatch, QcFlag, type Batch } from '@envmon/protocol';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../src/config.ts';
import { startGateway } from '../src/gateway.ts';
import { openArchive } from '../src/outbox/archive.ts';
import { keyOf, startBroker, tempDir, waitFor } from './helpers.ts';

// Broker down, then back: nothing lost, the backlog replayed in order, at the configured rate, flagged REPLAYED;
// live readings after the catch-up are not flagged.

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

const RATE = 200;

describe('replay after an outage', () => {
  it('replays the backlog in order, rate-limited and flagged, with zero loss', async () => {
    let admitGateway = true;
    const broker = await startBroker(0, { admit: (id) => !id.startsWith('envmon-gw-') || admitGateway });
    cleanup.push(() => broker.stop());
    const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
    cleanup.push(() => sim.stop());
    const dataDir = tempDir('envmon-gw-replay-');
    const config = parseGatewayConfig(`station: RPL01
broker: { url: 'mqtt://127.0.0.1:${broker.port}', password: x, reconnect_min_ms: 100, reconnect_max_ms: 300 }
data_dir: ${dataDir}
publish: { max_batch: 50, interval_ms: 50, max_in_flight: 4, max_readings_per_s: ${RATE}, replay_after_ms: 1000 }
averaging: [60]
devices:
  - { id: aqm1, profile: generic-ambient-air, transport: { kind: tcp, host: 127.0.0.1, port: ${sim.port} }, poll_interval_ms: 100, timeout_ms: 300 }
`, 'replay.yaml', { env: {} });

    const arrivals: { at: number; batch: Batch }[] = [];
    const subscribe = async () => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, clientId: `sub-${Math.random()}`, reconnectPeriod: 0 });
      c.on('message', (_t, p) => arrivals.push({ at: Date.now(), batch: decodeBatch(p) }));
      await c.subscribeAsync('envmon/v1/RPL01/data', { qos: 1 });
      cleanup.push(() => c.endAsync(true));
      return c;
    };
    const first = await subscribe();
    const gw = await startGateway(config);
    cleanup.push(() => gw.stop());
    await waitFor('live data', () => arrivals.length > 3);

    await first.endAsync(true); // one subscriber at a time, so arrival order is the broker's order
    await broker.stop();
    const outageStart = Date.now();
    await waitFor('a backlog of 400 readings', () => gw.outboxDepth() >= 400, 15_000);
    admitGateway = false;
    await broker.restart();
    await subscribe();
    const backlog = gw.outboxDepth();
    const reconnectAt = Date.now();
    admitGateway = true;
    await waitFor('the backlog to drain', () => gw.outboxDepth() < 60, 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // live traffic after the catch-up
    await gw.stop();

    // Zero loss: every archived reading reached the broker (or is still waiting).
    const a = openArchive(dataDir);
    const all = a.readings();
    const pending = new Set(a.pending().map(keyOf));
    a.close();
    const received = () => new Set(arrivals.flatMap((x) => x.batch.readings.map((r) => `${keyOf(r)}/${r.period_s}`)));
    await waitFor('acknowledged batches to reach the subscriber', () => {
      const got = received();
      return all.every((r) => pending.has(keyOf(r)) || got.has(`${keyOf(r)}/${r.period_s}`));
    }, 5000);

    // In order: after the reconnect, batches arrive in seq order and raw readings of a parameter never go back in time.
    const after = arrivals.filter((x) => x.at >= reconnectAt);
    const seqs = after.map((x) => x.batch.seq);
    expect(seqs).toEqual([...seqs].sort((p, q) => p - q));
    const lastTime = new Map<string, number>();
    for (const x of after) for (const r of x.batch.readings.filter((y) => y.period_s === 0)) {
      expect(r.time, `${r.param} went back in time`).toBeGreaterThanOrEqual(lastTime.get(r.param) ?? 0);
      lastTime.set(r.param, r.time);
    }

    // Flagged: readings taken during the outage (older than replay_after_ms when batched) carry REPLAYED; the live
    // ones at the end do not.
    const replayed = after.flatMap((x) => x.batch.readings).filter((r) => r.time < reconnectAt - 1500 && r.time >= outageStart);
    expect(replayed.length).toBeGreaterThan(200);
    expect(replayed.every((r) => (r.qc_flags & QcFlag.REPLAYED) !== 0)).toBe(true);
    const live = arrivals.at(-2)!.batch.readings.filter((r) => r.period_s === 0);
    expect(live.length).toBeGreaterThan(0);
    expect(live.every((r) => (r.qc_flags & QcFlag.REPLAYED) === 0)).toBe(true);

    // Rate-limited: the backlog did not arrive in one burst. In any 500 ms window at most the bucket (RATE) plus
    // half a second of refill plus one batch.
    expect(backlog).toBeGreaterThan(400);
    const times = after.flatMap((x) => x.batch.readings.map(() => x.at)).sort((p, q) => p - q);
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! > 500) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(RATE + RATE / 2 + 50);
    const drainMs = Math.max(...after.filter((x) => x.batch.readings.some((r) => r.time < reconnectAt)).map((x) => x.at)) - reconnectAt;
    expect(drainMs).toBeGreaterThan(((backlog - RATE) / RATE) * 1000 * 0.5);

  });
});
