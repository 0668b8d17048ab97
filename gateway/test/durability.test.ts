import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, startModbusTcpSimulator } from '@envmon/hardware';
import type { Batch } from '@envmon/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { openArchive } from '../src/outbox/archive.ts';
import { collect, keyOf, startBroker, tempDir, testConfig, waitFor } from './helpers.ts';

// The gateway as a separate process, killed with SIGKILL while batches are in flight, then restarted:
// nothing archived may be lost, and no reading may travel under two different seqs.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'gateway/src/main.ts');

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

/** Spawns `node --import tsx gateway/src/main.ts --config <file>` and waits for its "gateway running" log line. */
async function spawnGateway(configFile: string): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  await waitFor(`the gateway to start (output so far: ${out})`, () => out.includes('"gateway running"') || child.exitCode !== null, 15_000);
  if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${out}`);
  return { child, output: () => out, exited };
}

describe('gateway durability', () => {
  it('loses nothing and never re-numbers a batch across a kill -9', async () => {
    const broker = await startBroker(0, { ackDelayMs: 150 });
    cleanup.push(() => broker.stop());
    const sim = await startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air') });
    cleanup.push(() => sim.stop());
    const col = await collect(broker.port, 'DUR01');
    cleanup.push(() => col.stop());
    const dir = tempDir('envmon-gw-dur-');
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'station.yaml');
    // Small batches, frequent polls: many batches in flight at any moment.
    writeFileSync(configFile, testConfig({ station: 'DUR01', brokerPort: broker.port, dataDir, devices: [{ id: 'aqm1', profile: 'generic-ambient-air', port: sim.port }], pollMs: 100, maxBatch: 7 }));

    const first = await spawnGateway(configFile);
    await waitFor('20 batches from the first run', () => col.batches.length >= 20, 15_000);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull(); // killed, not exited
    const firstRun = col.batches.length;
    const maxSeqFirst = Math.max(...col.batches.map((b) => b.seq));

    const crash = openArchive(dataDir);
    const pendingAtCrash = crash.pending();
    const nextSeqAtCrash = crash.nextSeq();
    const openAtCrash = crash.openBatches();
    crash.close();
    // The kill did catch batches on their way (the broker holds each PUBACK back 150 ms).
    expect(openAtCrash.length).toBeGreaterThan(0);

    const second = await spawnGateway(configFile);
    const received = (): Set<string> => new Set(col.batches.flatMap((b) => b.readings.map(keyOf)));
    await waitFor('every reading pending at the crash to arrive', () => {
      const got = received();
      return pendingAtCrash.every((r) => got.has(keyOf(r)));
    }, 15_000);
    await waitFor('new batches from the second run', () => col.batches.some((b) => b.seq >= nextSeqAtCrash + 3), 15_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).toMatch(/"msg":"gateway stopped"/);

    // 1. Nothing lost: each archived reading reached the broker or is still waiting in the outbox.
    const archive = openArchive(dataDir);
    const all = archive.readings();
    const pending = new Set(archive.pending().map(keyOf));
    archive.close();
    // Aedes sends the PUBACK before it forwards to subscribers: let the last acknowledged batches arrive.
    const lost = () => {
      const have = received();
      return all.filter((r) => !have.has(keyOf(r)) && !pending.has(keyOf(r)));
    };
    await waitFor('acknowledged readings to reach the subscriber', () => lost().length === 0, 5000).catch(() => {});
    expect(lost()).toEqual([]);
    const got = received();
    // And nothing invented: every received reading is archived.
    const archived = new Set(all.map(keyOf));
    expect([...got].filter((k) => !archived.has(k))).toEqual([]);

    // 2. A seq always carries the same content, and a reading only ever travels under one seq.
    const contentBySeq = new Map<number, string>();
    const seqOfReading = new Map<string, number>();
    for (const b of col.batches as Batch[]) {
      const content = JSON.stringify([b.sent_at, b.readings]);
      expect(contentBySeq.get(b.seq) ?? content, `seq ${b.seq} resent with other content`).toBe(content);
      contentBySeq.set(b.seq, content);
      for (const r of b.readings) {
        expect(seqOfReading.get(keyOf(r)) ?? b.seq, `${keyOf(r)} sent under two seqs`).toBe(b.seq);
        seqOfReading.set(keyOf(r), b.seq);
      }
    }

    // 3. The batches open at the crash were resent under their own seq; new batches continue the counter.
    const secondRun = col.batches.slice(firstRun);
    const resent = new Set(secondRun.map((b) => b.seq));
    for (const seq of openAtCrash) expect(resent.has(seq), `open batch ${seq} resent after restart`).toBe(true);
    const fresh = secondRun.map((b) => b.seq).filter((s) => !openAtCrash.includes(s));
    expect(fresh.length).toBeGreaterThan(0);
    expect(Math.min(...fresh)).toBeGreaterThanOrEqual(nextSeqAtCrash);
    expect(Math.min(...fresh)).toBeGreaterThan(maxSeqFirst);
  });
});
