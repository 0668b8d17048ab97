/**
 * Starts a private single-node VictoriaMetrics (Debian's `victoria-metrics`) on loopback for tests: real server,
 * own temp `-storageDataPath`, own free port, nothing shared with a system instance on the default port 8428.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, skipReasonFor, spawnTestServer, waitUntilReady } from '../../../scripts/lib/test-server.ts';
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
  return findBinary('victoria-metrics', 'VICTORIA_METRICS');
}

/** Why the VictoriaMetrics tests should be skipped, or undefined. Under CI they always run (`.ci/run` installs it). */
export function victoriaMetricsSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return skipReasonFor('victoria-metrics', 'victoria-metrics', 'VICTORIA_METRICS', env);
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

  const server = spawnTestServer(bin, args, { dir });
  await waitUntilReady(
    server,
    'victoria-metrics',
    async () => (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok,
    options.startTimeoutMs ?? 20_000,
  );
  const stop = server.stop;

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
