import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfile, startModbusTcpSimulator, type ModbusTcpSimulator } from '@envmon/hardware';
import { openArchive } from '@envmon/gateway';
import { influxdSkipReason, startInfluxd, type RunningInfluxd } from '../ingest/test/support/influxd.ts';
import { apiSeries, createStack, sleep, until, type Stack } from './support/stack.ts';

/**
 * The spine's promise, counted: simulator → gateway → broker → ingest → store → API, with the ingest and then the
 * gateway killed with SIGKILL mid-stream. Afterwards every reading the gateway took from the analyser (its
 * 60-day archive) must be readable through the API exactly once — same times, same values, nothing extra.
 */
const profile = loadProfile('generic-ambient-air');
const params = profile.registers.map((r) => r.param);

describe.each([
  { store: 'sqlite' as const },
  { store: 'influx' as const },
])('kill -9 durability with the $store store', ({ store }) => {
  let sim: ModbusTcpSimulator;
  let influx: RunningInfluxd | undefined;
  let stack: Stack;
  const skip = store === 'influx' ? influxdSkipReason() : undefined;

  beforeAll(async () => {
    if (skip) return;
    sim = await startModbusTcpSimulator({ profile, port: 0, seed: 7 });
    influx = store === 'influx' ? await startInfluxd({ database: 'envmon_e2e' }) : undefined;
    stack = await createStack({
      simPort: sim.port,
      params,
      ingestEnv: influx ? { INFLUX_URL: influx.url, INFLUX_DATABASE: influx.database } : { INFLUX_URL: '' },
    });
  });

  afterAll(async () => {
    await stack?.cleanup();
    await sim?.stop();
    await influx?.stop();
  });

  it.skipIf(skip !== undefined)('loses nothing and doubles nothing when ingest and gateway are killed', async () => {
    let ingest = await stack.startIngest();
    let gateway = stack.startGateway();
    const t0 = Date.now() - 60_000;
    const stored = async () => (await apiSeries(stack.api, 'PM2_5', t0, Date.now() + 60_000)).length;
    await until('first readings through the API', async () => ((await stored()) >= 4 ? true : undefined));

    // 1. The ingest dies mid-stream; the gateway keeps polling into its outbox while the broker is gone.
    await ingest.kill9();
    await sleep(1500);
    ingest = await stack.startIngest();
    await until('readings after the ingest restart', async () => ((await stored()) >= 12 ? true : undefined));

    // 2. The gateway dies mid-stream (batches in flight, unacknowledged).
    await gateway.kill9();
    await sleep(300);
    gateway = stack.startGateway();
    await sleep(2000);

    // 3. Quiesce: stop polling, then drain what is left with a gateway that does not poll again for an hour.
    await gateway.stop();
    gateway = stack.startGateway({ pollIntervalMs: 3_600_000 });
    await until('gateway outbox drained', async () => {
      const a = openArchive(stack.gatewayDataDir);
      try {
        return a.pending().length === 0 && a.readings().length > 0 ? true : undefined;
      } finally {
        a.close();
      }
    });
    await until('ingest WAL drained', async () => {
      const m = await (await fetch(`http://127.0.0.1:${stack.httpPort}/metrics`)).text();
      return /^envmon_wal_depth_readings 0$/m.test(m) ? true : undefined;
    });
    await gateway.stop();

    const archive = openArchive(stack.gatewayDataDir);
    const produced = archive.readings();
    archive.close();
    expect(produced.length).toBeGreaterThan(params.length * 10);

    const from = Math.min(...produced.map((r) => r.time));
    const to = Math.max(...produced.map((r) => r.time)) + 1;
    let total = 0;
    for (const param of params) {
      const mine = produced.filter((r) => r.param === param && r.period_s === 0);
      const points = await apiSeries(stack.api, param, from, to);
      total += points.length;
      // Exactly once: same number of points, same times, same values, same status.
      expect(points.map((p) => p.time), `${param} times`).toEqual(mine.map((r) => r.time));
      expect(points.map((p) => p.value), `${param} values`).toEqual(mine.map((r) => r.value));
      expect(points.map((p) => p.status), `${param} status`).toEqual(mine.map((r) => r.status));
    }
    expect(total).toBe(produced.filter((r) => r.period_s === 0).length);

    // The gateway kept polling while the ingest was dead: no hole in the archive longer than the gateway's own
    // kill-and-restart (which includes a process start), so the outage cost no measurements.
    // Raw readings only: a 1- or 5-minute mean is stamped with the start of its window, which may lie before the run.
    const times = [...new Set(produced.filter((r) => r.param === 'PM2_5' && r.period_s === 0).map((r) => r.time))].sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.filter((g) => g > 8000)).toEqual([]);
    await ingest.stop();
  });
});
