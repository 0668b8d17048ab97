import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { loadProfile, startModbusTcpSimulator } from '@envmon/hardware';
import { DeviceStatus } from '@envmon/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, startBroker, tempDir, waitFor } from './helpers.ts';

// Bad input or a dead device never crashes the gateway and never blocks anything else — here with the gateway as
// its own process (`node --import tsx`), so a crash or a hang is the process's, not hidden by the test runner.

const repoRoot = join(import.meta.dirname, '..', '..');
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await Promise.resolve(f()).catch(() => {});
});

interface Child {
  proc: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
}

function spawnChild(script: string, config: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, '--config', config], { cwd: repoRoot, env: { ...process.env, ENVMON_STATION_SECRET: 'x' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const onData = (d: Buffer): void => void out.push(...d.toString().split('\n').filter((l) => l.length > 0));
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  cleanup.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  return { proc, out, exited };
}

/**
 * A TCP server that accepts connections and never writes: a device server whose serial side is dead. It never
 * ends its side either (allowHalfOpen), so a client that only end()s its socket waits for a FIN that never comes.
 */
async function silentServer(): Promise<{ port: number; requests: () => number; open: () => number; server: Server }> {
  const sockets = new Set<Socket>(); // connections the gateway has not closed
  const all = new Set<Socket>();
  let requests = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    all.add(s);
    s.on('data', () => void requests++);
    s.on('error', () => {});
    s.on('end', () => sockets.delete(s)); // the gateway closed its side (with allowHalfOpen, 'close' would wait for ours)
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(() => {
    for (const s of all) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as { port: number }).port, requests: () => requests, open: () => sockets.size, server };
}

describe('gateway robustness', () => {
  it('a Firmata board on a missing port: the gateway stays up, reports it 02 and retries; the Modbus device keeps polling', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.stop());
    const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
    cleanup.push(() => sim.stop());
    const col = await collect(broker.port, 'ROBUST01');
    cleanup.push(() => col.stop());
    sim.setValue('PM2_5', 12.5);
    const dir = tempDir('envmon-gw-robust-');
    const config = join(dir, 'station.yaml');
    writeFileSync(config, `station: ROBUST01
broker: { url: mqtt://127.0.0.1:${broker.port}, password_env: ENVMON_STATION_SECRET, reconnect_min_ms: 100, reconnect_max_ms: 400 }
data_dir: ${join(dir, 'data')}
publish: { interval_ms: 50, status_interval_ms: 500 }
devices:
  - { id: aqm, profile: generic-ambient-air, transport: { kind: tcp, host: 127.0.0.1, port: ${sim.port} }, poll_interval_ms: 200, timeout_ms: 500 }
  - id: uno
    driver: firmata
    transport: { kind: serial, path: /dev/ttyNOPE, baud_rate: 57600 }
    poll_interval_ms: 200
    pins:
      - { pin: A0, kind: analog, param: TURB, raw: [205, 1023], value: [0, 1000] }
`);
    const gw = spawnChild('gateway/src/main.ts', config);
    await waitFor('the gateway to start', () => gw.out.some((l) => l.includes('"msg":"gateway running"')), 20_000);

    // Seconds of operation: the Firmata open is retried (backoff), the Modbus device answers every poll.
    await waitFor('3 s of Modbus readings', () => {
      const pm = col.batches.flatMap((b) => b.readings).filter((r) => r.param === 'PM2_5' && r.value === 12.5);
      return pm.length >= 10 && pm[pm.length - 1]!.time - pm[0]!.time >= 3000;
    }, 20_000);
    expect(gw.proc.exitCode).toBeNull();
    expect(gw.proc.signalCode).toBeNull();

    const readings = col.batches.flatMap((b) => b.readings);
    const turb = readings.filter((r) => r.param === 'TURB' && r.period_s === 0);
    expect(turb.length).toBeGreaterThanOrEqual(10);
    expect(turb.every((r) => r.value === null && r.status === DeviceStatus.DEVICE_ERROR)).toBe(true);
    expect(readings.filter((r) => r.param === 'PM2_5' && r.period_s === 0).every((r) => r.status === DeviceStatus.MEASURING)).toBe(true);

    // Health: the Firmata device failed, with the port and the error; the Modbus device fine.
    await waitFor('a status with both devices', () => col.statuses.some((s) => s.online && s.devices.some((d) => d.device === 'uno' && (d.errors ?? 0) > 0)));
    const status = col.statuses.filter((s) => s.online).at(-1)!;
    const uno = status.devices.find((d) => d.device === 'uno')!;
    expect(uno.status).toBe(DeviceStatus.DEVICE_ERROR);
    expect(uno.error).toMatch(/cannot open \/dev\/ttyNOPE: .*No such file or directory/);
    expect(status.devices.find((d) => d.device === 'aqm')).toMatchObject({ status: DeviceStatus.MEASURING, error: '' });

    // One clear log line naming the port and the error (repeated failures with the same error are not re-logged).
    const failLines = gw.out.filter((l) => l.includes('firmata board cannot be opened'));
    expect(failLines.length).toBe(1);
    expect(JSON.parse(failLines[0]!)).toMatchObject({ device: 'uno', port: '/dev/ttyNOPE', err: expect.stringMatching(/No such file or directory/) });
    expect(gw.out.join('\n')).not.toMatch(/Unhandled|uncaught|"level":60/i);

    gw.proc.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
  }, 60_000);

  it('stop() is prompt with silent devices on RTU-over-TCP and Modbus TCP, and leaves nothing running', async () => {
    const rtu = await silentServer();
    const tcp = await silentServer();
    const dir = tempDir('envmon-gw-stop-');
    const config = join(dir, 'station.yaml');
    // timeout 3000 ms × (1 + 2 retries): a poll waits up to 9 s on each device; stop must not.
    writeFileSync(config, `station: STOP01
broker: { url: mqtt://127.0.0.1:1, password: x }
data_dir: ${join(dir, 'data')}
devices:
  - { id: cems, profile: generic-ambient-air, transport: { kind: rtu-over-tcp, host: 127.0.0.1, port: ${rtu.port} }, poll_interval_ms: 500, timeout_ms: 3000, retries: 2 }
  - { id: sonde, profile: generic-wastewater, transport: { kind: tcp, host: 127.0.0.1, port: ${tcp.port} }, poll_interval_ms: 500, timeout_ms: 3000, retries: 2 }
`);
    const gw = spawnChild('gateway/test/support/stop-child.ts', config);
    await waitFor('the gateway to start', () => gw.out.some((l) => l.includes('"running":true')), 20_000);
    // Both links open, a request on the wire of each, no answer coming.
    await waitFor('requests to both silent devices', () => rtu.requests() > 0 && tcp.requests() > 0, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(rtu.open()).toBe(1);
    expect(tcp.open()).toBe(1);

    const t0 = Date.now();
    gw.proc.kill('SIGTERM');
    const code = await Promise.race([gw.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
    const exitMs = Date.now() - t0;
    // stop-child never calls process.exit: it exits only once nothing (socket, timer) is left.
    expect(code).toBe(0);
    const stopped = gw.out.map((l) => (l.startsWith('{"stopped_ms"') ? (JSON.parse(l) as { stopped_ms: number }) : undefined)).find((x) => x);
    expect(stopped?.stopped_ms).toBeLessThan(1000);
    expect(exitMs).toBeLessThan(2000);
    // The gateway's sockets were closed (destroyed), not left half-open on the devices.
    await waitFor('the devices to see their connections closed', () => rtu.open() === 0 && tcp.open() === 0, 2000);
  }, 60_000);
});
