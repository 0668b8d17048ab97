/**
 * Ingest throughput and latency (issue 4), each figure next to a baseline measured in the same run:
 *   - raw InfluxDB line-protocol write rate (the storage limit), raw Mosquitto and plain Aedes QoS 1 rates;
 *   - our broker (auth, ACL, packet guard) on a topic outside the pipeline, as a ratio of Mosquitto's rate;
 *   - end to end: load gateways → broker → validate → WAL → writer → InfluxDB, readings/s until all are stored,
 *     with 100-reading batches (the targets) and with 640-reading batches (one poll of a 32-device × 20-register
 *     station, what a gateway really sends; informational), and the ingest's CPU per 1,000 readings in each;
 *   - publish → stored latency (p50/p99) at 5,000 readings/s.
 * Load gateways encode their payloads before their clock starts (a gateway encodes on its own machine), values
 * have a decimal like real readings; the broker rates use opaque 100-byte payloads, one per message, unchanged.
 * BENCH_INGEST_CPU_PROF=<dir> writes a V8 CPU profile of the ingest; BENCH_INGEST_NODE_FLAGS adds Node flags.
 * Every server and client is its own process, so one event loop never measures another.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { encodeBatch } from '@envmon/protocol';
import { hashSecret } from '../../ingest/src/broker/secrets.ts';
import { freePort, influxdSkipReason, startInfluxd } from '../../ingest/test/support/influxd.ts';
import { jsonLineWith, spawnTs } from '../lib/child.ts';
import type { BenchFigure } from './types.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LOAD = join(root, 'scripts/bench/lib/load-client.ts');
const SECRET = 'bench-secret-0123456789';

interface LoadResult {
  messages: number;
  readings: number;
  seconds: number;
}

async function runLoad(args: string[]): Promise<LoadResult> {
  const child = spawnTs('load', LOAD, { args });
  const result = await child.waitFor(jsonLineWith<LoadResult>('seconds'), 300_000);
  await child.exited;
  return result;
}

/** Several load clients at once; the rate is total messages over the slowest client's time. */
async function parallelLoad(n: number, args: (i: number) => string[]): Promise<{ messages: number; readings: number; seconds: number }> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => runLoad(args(i))));
  return {
    messages: results.reduce((a, r) => a + r.messages, 0),
    readings: results.reduce((a, r) => a + r.readings, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
  };
}

async function rawInfluxRate(url: string, database: string): Promise<number> {
  // 300,000 points, 5,000 per request, one request after another.
  const points = 300_000;
  const perBatch = 5000;
  const t0 = Date.now() - points * 10;
  const started = performance.now();
  for (let b = 0; b < points / perBatch; b++) {
    const lines: string[] = [];
    for (let k = 0; k < perBatch; k++) {
      const i = b * perBatch + k;
      lines.push(`raw,station=S${i % 100},param=PM2_5,period=0 value=${(i % 97) + 0.5},status=0i,qc=0i ${t0 + i * 10}`);
    }
    const res = await fetch(`${url}/write?db=${database}&precision=ms`, { method: 'POST', body: lines.join('\n') });
    if (!res.ok) throw new Error(`raw write: HTTP ${res.status} ${await res.text()}`);
  }
  return points / ((performance.now() - started) / 1000);
}

async function mosquittoRate(messages: number): Promise<number | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'envmon-mosq-'));
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type none\nmax_inflight_messages 1000\n`);
  const broker = spawn('mosquitto', ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  const failed = await new Promise<boolean>((resolve) => {
    broker.once('error', () => resolve(true));
    setTimeout(() => resolve(false), 500);
  });
  try {
    if (failed) return undefined;
    const r = await runLoad([`mqtt://127.0.0.1:${port}`, 'bench', 'x', String(messages), '0', '1000', 'bench/raw']);
    return r.messages / r.seconds;
  } finally {
    broker.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function plainAedesRate(messages: number): Promise<number> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  try {
    const r = await runLoad([`mqtt://127.0.0.1:${port}`, 'bench', 'x', String(messages), '0', '1000', 'bench/raw']);
    return r.messages / r.seconds;
  } finally {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    server.close();
  }
}

/** User + system CPU time of a process so far, in ms (Linux /proc; clock ticks are 100 Hz on every Linux we run). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15 of stat)
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function bench(): Promise<BenchFigure[]> {
  const skip = influxdSkipReason();
  if (skip) throw new Error(skip);
  const figures: BenchFigure[] = [];
  const influx = await startInfluxd({ database: 'envmon_bench' });
  const dir = mkdtempSync(join(tmpdir(), 'envmon-bench-ingest-'));
  try {
    // Baselines.
    const influxCpu = () => cpuMs(influx.pid()!);
    const rawCpuBefore = influxCpu();
    const influxRate = await rawInfluxRate(influx.url, influx.database);
    const rawCpuPer1k = (influxCpu() - rawCpuBefore) / 300;
    figures.push({ figure: 'raw InfluxDB line-protocol writes (1 writer, 5000/batch)', value: influxRate, unit: 'points/s' });
    figures.push({ figure: 'influxd CPU per 1,000 points in those raw writes', value: rawCpuPer1k, unit: 'ms' });
    const MSGS = 50_000;
    const mosq = await mosquittoRate(MSGS);
    figures.push(
      mosq === undefined
        ? { figure: 'raw Mosquitto QoS 1, 100 B, 1 client', value: NaN, unit: 'msgs/s', note: 'mosquitto not installed (apt-get install mosquitto)' }
        : { figure: 'raw Mosquitto QoS 1, 100 B, 1 client', value: mosq, unit: 'msgs/s' },
    );
    const plain = await plainAedesRate(MSGS);
    figures.push({ figure: 'plain Aedes QoS 1, 100 B, 1 client', value: plain, unit: 'msgs/s' });

    // Our ingest, as a process of its own, writing to the same influxd.
    // BENCH0: broker rate; BENCH1–4: end to end and latency; BENCH5–8: end to end with a whole poll per batch.
    const stations = Array.from({ length: 9 }, (_, i) => `BENCH${i}`);
    const hash = await hashSecret(SECRET);
    writeFileSync(
      join(dir, 'ingest.yaml'),
      `stations:\n${stations.map((s) => `  - { id: ${s}, medium: air, secret_hash: "${hash}" }`).join('\n')}\nvalidation: { max_backfill_days: 3 }\n`,
    );
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const ingest = spawnTs('ingest', join(root, 'ingest/src/main.ts'), {
      args: ['--config', join(dir, 'ingest.yaml')],
      env: {
        ENVMON_DATA_DIR: join(dir, 'data'),
        ENVMON_HTTP_PORT: String(httpPort),
        ENVMON_MQTT_PORT: String(mqttPort),
        INFLUX_URL: influx.url,
        INFLUX_DATABASE: influx.database,
      },
      // BENCH_INGEST_CPU_PROF=<dir>: a V8 CPU profile of the ingest process (written when it stops).
      // BENCH_INGEST_NODE_FLAGS: other Node/V8 flags for the ingest, e.g. to try a heap setting.
      nodeArgs: [
        ...(process.env.BENCH_INGEST_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_INGEST_CPU_PROF] : []),
        ...(process.env.BENCH_INGEST_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      ],
      logFile: join(dir, 'ingest.log'),
    });
    await ingest.waitFor(jsonLineWith('ready'), 60_000);
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const api = `http://127.0.0.1:${httpPort}`;
    try {
      const ours = await runLoad([url, 'BENCH0', SECRET, String(MSGS), '0', '1000', 'envmon/v1/BENCH0/cmd/result']);
      const oursRate = ours.messages / ours.seconds;
      figures.push({ figure: 'our broker (auth, ACL, guard) QoS 1, 100 B, 1 client', value: oursRate, unit: 'msgs/s' });
      if (mosq !== undefined) {
        figures.push({ figure: 'our broker / Mosquitto', value: oursRate / mosq, unit: 'x', target: { op: '>', value: 0.8 } });
      }

      // End to end: 4 load gateways, batches of 100 readings, until every reading is in InfluxDB.
      const written = async () => {
        const m = await (await fetch(`${api}/metrics`)).text();
        return Number(/^envmon_readings_written_total (\d+)$/m.exec(m)?.[1] ?? 0);
      };
      /** `batches` × `perBatch` readings from 4 load gateways until every one is in InfluxDB; CPU of the ingest. */
      const endToEnd = async (first: number, batches: number, perBatch: number) => {
        const before = await written();
        const cpuBefore = cpuMs(ingest.process.pid!);
        const influxCpuBefore = influxCpu();
        const started = performance.now();
        const load = await parallelLoad(4, (i) => [url, stations[first + i]!, SECRET, String(batches), String(perBatch), '64']);
        while ((await written()) - before < load.readings) await new Promise((r) => setTimeout(r, 20));
        return {
          rate: load.readings / ((performance.now() - started) / 1000),
          acked: load.readings / load.seconds,
          cpuPer1k: (cpuMs(ingest.process.pid!) - cpuBefore) / (load.readings / 1000),
          influxCpuPer1k: (influxCpu() - influxCpuBefore) / (load.readings / 1000),
        };
      };
      const e2e = await endToEnd(1, 2500, 100);
      figures.push({ figure: 'end to end, 4 gateways × 100-reading batches → stored in InfluxDB', value: e2e.rate, unit: 'readings/s', target: { op: '>', value: 50_000 } });
      figures.push({ figure: 'end to end / raw InfluxDB write rate', value: e2e.rate / influxRate, unit: 'x', target: { op: '>', value: 0.5 } });
      figures.push({ figure: 'acknowledged (WAL) rate during that run', value: e2e.acked, unit: 'readings/s' });
      // CPU the ingest process spent (all its threads: event loop, libuv fsync, GC) per 1,000 readings taken in and
      // stored: unlike the rates, it moves little when other processes compete for the cores.
      figures.push({ figure: 'ingest CPU per 1,000 readings end to end', value: e2e.cpuPer1k, unit: 'ms' });
      figures.push({ figure: 'influxd CPU per 1,000 readings end to end', value: e2e.influxCpuPer1k, unit: 'ms' });
      // What the e2e / raw ratio would be if CPU were the only limit: the raw writes cost influxd alone, end to end
      // costs the ingest and influxd. Moves far less than the rates on a shared machine (the load clients' CPU,
      // the same in both code versions, is left out).
      figures.push({ figure: 'CPU-bound ratio: raw influxd CPU / (ingest + influxd CPU) per 1,000', value: rawCpuPer1k / (e2e.cpuPer1k + e2e.influxCpuPer1k), unit: 'x' });
      // The same with a realistic gateway batch: one poll of a 32-device × 20-register station is 640 readings in
      // one message (the gateway sends a poll slot's readings together). Informational: the targets stay on the
      // 100-reading figure above, where the per-message cost (MQTT, PUBACK, WAL row) weighs five times more.
      const poll = await endToEnd(5, 400, 640);
      figures.push({ figure: 'end to end, 4 gateways × 640-reading batches (one poll) → stored', value: poll.rate, unit: 'readings/s' });
      figures.push({ figure: 'end to end (640-reading batches) / raw InfluxDB write rate', value: poll.rate / influxRate, unit: 'x' });
      figures.push({ figure: 'ingest CPU per 1,000 readings end to end (640-reading batches)', value: poll.cpuPer1k, unit: 'ms' });

      // Latency at 5,000 readings/s: background load of 50 batches/s × 100, and a probe every 50 ms.
      const background = runLoad([url, 'BENCH1', SECRET, String(50 * 12), '100', '64', 'data', '50']);
      const probe = await mqtt.connectAsync(url, { username: 'BENCH4', password: SECRET, protocolVersion: 4 });
      const latencies: number[] = [];
      const probeStart = Date.now();
      for (let i = 0; Date.now() - probeStart < 10_000; i++) {
        const time = Date.now() - 1000 + i; // unique per probe
        const sent = performance.now();
        await probe.publishAsync('envmon/v1/BENCH4/data', Buffer.from(encodeBatch({ station: 'BENCH4', seq: i + 1, sent_at: Date.now(), readings: [{ param: 'PM10', time, value: 1, status: 0, qc_flags: 0, period_s: 0 }] })), { qos: 1 });
        for (;;) {
          const res = await fetch(`${api}/api/v1/latest?station=BENCH4&param=PM10`);
          const { readings } = (await res.json()) as { readings: { time: number }[] };
          if (readings[0]?.time === time) break;
          await new Promise((r) => setTimeout(r, 5));
        }
        latencies.push(performance.now() - sent);
        await new Promise((r) => setTimeout(r, 50));
      }
      await probe.endAsync();
      await background;
      latencies.sort((a, b) => a - b);
      figures.push({ figure: `publish → stored latency p50 at 5,000 readings/s (${latencies.length} probes)`, value: percentile(latencies, 50), unit: 'ms' });
      figures.push({ figure: 'publish → stored latency p99 at 5,000 readings/s', value: percentile(latencies, 99), unit: 'ms', target: { op: '<', value: 500 } });
    } finally {
      await ingest.stop();
    }
  } finally {
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
