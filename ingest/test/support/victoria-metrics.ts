/**
 * Starts a private single-node VictoriaMetrics (Debian's `victoria-metrics`) on loopback for tests: real server,
 * own temp `-storageDataPath`, own free port, nothing shared with a system instance on the default port 8428.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './influxd.ts';

export interface RunningVictoriaMetrics {
  /** Base URL, e.g. `http://127.0.0.1:41234`: takes `/write`, `/api/v2/write`, `/api/v1/export`, `/api/v1/query`. */
  url: string;
  /**
   * Makes everything written so far searchable now (`/internal/force_flush`); without it VictoriaMetrics shows
   * new samples only after 1–2 s.
   */
  flush(): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its data. */
  stop(): Promise<void>;
}

/** `$VICTORIA_METRICS` when set (used alone), else `victoria-metrics` on PATH, else Debian's /usr/bin path. */
export function victoriaMetricsPath(): string | undefined {
  const explicit = process.env.VICTORIA_METRICS;
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const candidates = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'victoria-metrics')),
    '/usr/bin/victoria-metrics',
  ];
  return candidates.find((p) => existsSync(p));
}

/** Why the VictoriaMetrics tests should be skipped, or undefined. Under CI they always run (`.ci/run` installs it). */
export function victoriaMetricsSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (victoriaMetricsPath() !== undefined || env.CI) return undefined;
  return 'victoria-metrics not found (install the Debian package `victoria-metrics`); VictoriaMetrics tests skipped locally';
}

export interface VictoriaMetricsOptions {
  /** `-dedup.minScrapeInterval`, e.g. '1ms': keep one sample per series and interval (VM's only deduplication). */
  dedupMinScrapeInterval?: string;
  startTimeoutMs?: number;
}

export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<RunningVictoriaMetrics> {
  const bin = victoriaMetricsPath();
  if (!bin) throw new Error('victoria-metrics not found: install the Debian package (apt-get install -y victoria-metrics)');
  const dir = await mkdtemp(join(tmpdir(), 'envmon-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `-storageDataPath=${join(dir, 'data')}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-loggerLevel=ERROR',
    // Our times are the source's, often minutes or days old (gateway backfill): accept anything in retention.
    '-retentionPeriod=100y',
  ];
  if (options.dedupMinScrapeInterval) args.push(`-dedup.minScrapeInterval=${options.dedupMinScrapeInterval}`);

  let logTail = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer): void => {
    logTail = (logTail + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`victoria-metrics exited with code ${child.exitCode} during startup:\n${logTail}`);
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`victoria-metrics did not answer /health in time:\n${logTail}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const flush = async (): Promise<void> => {
    const res = await fetch(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`force_flush failed: HTTP ${res.status} ${await res.text()}`);
  };
  return { url, flush, stop };
}

/** One series of `/api/v1/export` (JSON lines). */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: (number | null)[];
  timestamps: number[];
}

/** Raw samples of every series matching a selector, as stored (duplicates included unless deduplicated). */
export async function exportSeries(url: string, match: string): Promise<ExportedSeries[]> {
  const res = await fetch(`${url}/api/v1/export`, {
    method: 'POST',
    body: new URLSearchParams({ 'match[]': match }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`export failed: HTTP ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExportedSeries);
}
