import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, startModbusTcpSimulator } from '@envmon/hardware';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../build.ts';
import { collect, startBroker, tempDir, testConfig, waitFor } from './helpers.ts';

/**
 * What the systemd unit runs is the production build (gateway/build.ts → dist/main.mjs: npm packages bundled, some
 * rewritten, drivers in lazy chunks), with the unit's own node flags. A build that runs under tsx but breaks when
 * bundled would only show on a station: so it is built here, started with the ExecStart flags of
 * deploy/systemd/envmon-gateway.service, read from the unit file, and must publish readings and stop cleanly.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

function unitNodeFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'deploy/systemd/envmon-gateway.service'), 'utf8');
  const exec = /^ExecStart=\S*node\s+(.*?)\s+gateway\/dist\/main\.mjs/m.exec(unit);
  if (!exec) throw new Error('deploy/systemd/envmon-gateway.service: no ExecStart running gateway/dist/main.mjs');
  return exec[1]!.split(/\s+/).filter(Boolean);
}

describe('the production build of the gateway', () => {
  it('runs with the systemd unit’s node flags: publishes readings, stops on SIGTERM', async () => {
    // Next to dist/main.mjs (the build reads envmon.proto, parameters and profiles from the checkout).
    const outfile = join(ROOT, 'gateway/dist/main.test-build.mjs');
    await buildGateway(undefined, outfile);
    const broker = await startBroker();
    cleanup.push(() => broker.stop());
    const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
    cleanup.push(() => sim.stop());
    const col = await collect(broker.port, 'BUILD01');
    cleanup.push(() => col.stop());
    const dir = tempDir('envmon-gw-build-');
    const configPath = join(dir, 'gateway.yaml');
    writeFileSync(configPath, testConfig({ station: 'BUILD01', brokerPort: broker.port, dataDir: join(dir, 'data'), devices: [{ id: 'aqm', profile: 'generic-ambient-air', port: sim.port }] }));

    const child = spawn(process.execPath, [...unitNodeFlags(), outfile, '--config', configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanup.push(async () => void child.kill('SIGKILL'));

    await waitFor('readings from the built gateway', () => col.batches.some((b) => b.readings.some((r) => r.param === 'PM2_5' && r.status === 0)), 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    const params = new Set(col.batches.flatMap((b) => b.readings.map((r) => r.param)));
    for (const r of loadProfile('generic-ambient-air').registers) expect(params.has(r.param), r.param).toBe(true);

    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    expect(code, output).toBe(0);
  }, 60_000);
});
