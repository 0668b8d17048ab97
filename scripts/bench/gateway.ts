/**
 * Gateway CPU and memory for issue 3's target: 32 devices × 20 registers polled at 1 Hz (under 5 % of one core,
 * under 80 MB RSS). The gateway runs as its own process (scripts/bench/gateway/child.ts → the real startGateway):
 * 16 devices on Modbus TCP (one simulator each) and 16 on two Modbus RTU buses (socat pty pairs, 8 slaves each,
 * one transaction queue per bus), 1- and 5-minute means on, publishing to an Aedes broker on loopback, SQLite
 * outbox with synchronous=FULL. After a 10 s warm-up, CPU (utime + stime from /proc/<pid>/stat) and RSS
 * (/proc/<pid>/status) are sampled for 30 s. The simulators and the broker run in this process, not the gateway's.
 *
 * Measured twice: as the repo runs it in development (`node --import tsx`, TypeScript transpiled in a loader
 * thread: ≈ 40 MB RSS of its own) and as production runs it (gateway/build.ts: the repo's TypeScript and the
 * pure-JS npm packages bundled and minified by esbuild, native addons from node_modules;
 * deploy/systemd/envmon-gateway.service runs that build). Both with the systemd unit's node flags
 * (PRODUCTION_V8_FLAGS, read from the unit's ExecStart).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { catalogue } from '@envmon/protocol';
import { openPtyPair, parseProfile, startModbusRtuSimulator, startModbusTcpSimulator, type ModbusRtuSimulator, type ModbusTcpSimulator, type PtyPair } from '@envmon/hardware';
import { buildGateway } from '../../gateway/build.ts';
import { openArchive } from '../../gateway/src/outbox/archive.ts';
import { tempDir } from '../../gateway/test/helpers.ts';
import type { BenchFigure } from './types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WARMUP_MS = 10_000;
const MEASURE_MS = 30_000;
const TCK = Number(process.env.CLK_TCK ?? 100); // USER_HZ: 100 on Linux
/**
 * The node flags of deploy/systemd/envmon-gateway.service's ExecStart, read from the unit itself so the bench
 * always measures what ships (why each: comments there and gateway/README.md). BENCH_GATEWAY_V8_FLAGS='…'
 * replaces them, to measure an alternative before changing the unit.
 */
const PRODUCTION_V8_FLAGS = process.env.BENCH_GATEWAY_V8_FLAGS?.split(' ').filter(Boolean) ?? unitFlags();

function unitFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'deploy/systemd/envmon-gateway.service'), 'utf8');
  const m = /^ExecStart=\S*node((?: --\S+)*) gateway\/dist\/main\.mjs/m.exec(unit);
  if (!m) throw new Error('deploy/systemd/envmon-gateway.service: no `ExecStart=…node [flags] gateway/dist/main.mjs` line');
  return m[1]!.split(' ').filter(Boolean);
}

function benchProfile(): string {
  const codes = catalogue().codes().slice(0, 20);
  const regs = codes.map((code, i) => {
    const [lo, hi] = catalogue().get(code)!.range;
    const min = Math.max(lo, -3000);
    const max = Math.min(hi, 3000);
    return `  - { param: ${code}, function: 4, address: ${i}, type: int16, scale: 0.1, sim: { base: ${(min + max) / 2}, noise: ${(max - min) / 50}, min: ${min}, max: ${max} } }`;
  });
  return `id: bench-20\nmanufacturer: Generic\nmodel: 20 input registers\nsource: generic profile, not from a datasheet\naddress_base: 0\nregisters:\n${regs.join('\n')}\n`;
}

export async function bench(): Promise<BenchFigure[]> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const broker = await Aedes.createBroker();
    const server = createServer((s) => broker.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const brokerPort = (server.address() as { port: number }).port;
    stops.push(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    });

    const yaml = benchProfile();
    const profile = parseProfile(yaml, 'bench-20.yaml');
    const devices: { id: string; transport: unknown; unitId: number }[] = [];
    for (let i = 0; i < 16; i++) {
      const sim: ModbusTcpSimulator = await startModbusTcpSimulator({ profile, seed: i });
      stops.push(() => sim.stop());
      devices.push({ id: `tcp${i}`, transport: { kind: 'tcp', host: '127.0.0.1', port: sim.port }, unitId: 1 });
    }
    for (let b = 0; b < 2; b++) {
      const pair: PtyPair = await openPtyPair();
      stops.push(() => pair.stop());
      const sim: ModbusRtuSimulator = await startModbusRtuSimulator({ path: pair.b, slaves: Array.from({ length: 8 }, (_, k) => ({ unitId: k + 1, profile, seed: 100 + k })) });
      stops.unshift(() => sim.stop());
      for (let k = 0; k < 8; k++) devices.push({ id: `rtu${b}-${k + 1}`, transport: { kind: 'serial', path: pair.a, baudRate: 19200, parity: 'none', dataBits: 8, stopBits: 1 }, unitId: k + 1 });
    }

    const bundle = await buildBundle();
    const figures: BenchFigure[] = [];
    // BENCH_GATEWAY_RUNTIME=tsx or =built measures only that one.
    for (const runtime of (['tsx', 'built JS (production)'] as const).filter((r) => !process.env.BENCH_GATEWAY_RUNTIME || r.startsWith(process.env.BENCH_GATEWAY_RUNTIME))) {
      const entry = runtime === 'tsx' ? ['--import', 'tsx', join(ROOT, 'scripts/bench/gateway/child.ts')] : [bundle];
      figures.push(...(await measure(runtime, entry, brokerPort, yaml, devices)));
    }
    return figures;
  } finally {
    for (const f of stops) await f().catch(() => {});
  }
}

/** The production build (gateway/build.ts: the repo's TypeScript bundled, npm packages external, as
 *  deploy/systemd/envmon-gateway.service runs it) of the bench child, to node_modules/.cache/envmon-bench/. */
async function buildBundle(): Promise<string> {
  return buildGateway(join(ROOT, 'scripts/bench/gateway/child.ts'), join(ROOT, 'node_modules/.cache/envmon-bench/child.mjs'));
}

async function measure(runtime: string, entry: string[], brokerPort: number, yaml: string, devices: unknown[]): Promise<BenchFigure[]> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const dir = tempDir('envmon-bench-gw-');
    const specFile = join(dir, 'spec.json');
    const dataDir = join(dir, 'data');
    writeFileSync(specFile, JSON.stringify({ brokerPort, dataDir, profileYaml: yaml, devices }));
    const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []), ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []), ...PRODUCTION_V8_FLAGS, ...entry, specFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    stops.unshift(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    });
    let last: { mem: string; depth: number; errors: number; polls: number; connected: boolean } | undefined;
    let ready = false;
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'ready') ready = true;
        else if (line.startsWith('{')) last = JSON.parse(line) as typeof last;
      }
    });
    const t0 = Date.now();
    while (!ready) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error('gateway bench child did not start');
      await sleep(50);
    }
    await sleep(WARMUP_MS);
    const pid = child.pid!;
    const cpu0 = cpuTicks(pid);
    const w0 = performance.now();
    const polls0 = last?.polls ?? 0;
    let rssMax = 0;
    const rss: number[] = [];
    while (performance.now() - w0 < MEASURE_MS) {
      const r = rssMb(pid);
      rss.push(r);
      rssMax = Math.max(rssMax, r);
      await sleep(1000);
    }
    const wallS = (performance.now() - w0) / 1000;
    const cpuPct = ((cpuTicks(pid) - cpu0) / TCK / wallS) * 100;
    const polls = (last?.polls ?? 0) - polls0;
    const end = last;
    child.kill('SIGTERM');
    await exited;
    const a = openArchive(dataDir);
    const now = Date.now();
    const raw = a.query({ from: 0, to: now, period_s: 0, limit: 10_000_000 }).length;
    const means = a.query({ from: 0, to: now, period_s: 60, limit: 10_000_000 }).length;
    a.close();
    const note = `${devices.length} devices (16 TCP, 2 RTU pty buses × 8), 20 registers each, 1 Hz, means 60/300 s, ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up`;
    return [
      { figure: `gateway CPU, 32 devices × 20 registers at 1 Hz (${runtime})`, value: cpuPct, unit: '% of one core', target: { op: '<', value: 5 }, note },
      { figure: `gateway RSS, max (${runtime})`, value: rssMax, unit: 'MB', target: { op: '<', value: 80 }, note: `median ${median(rss).toFixed(1)} MB; at the end ${end?.mem ?? '?'}` },
      { figure: `gateway device polls (${runtime})`, value: polls / wallS, unit: 'polls/s', target: { op: '>', value: 31 }, note: `${end?.errors ?? '?'} polls with an error in total; outbox depth at the end ${end?.depth ?? '?'}; mqtt ${end?.connected ? 'connected' : 'not connected'}` },
      { figure: `gateway readings archived (${runtime})`, value: raw, unit: 'raw rows', note: `${means} one-minute means` },
    ];
  } finally {
    for (const f of stops) await f().catch(() => {});
  }
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the full line)
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
