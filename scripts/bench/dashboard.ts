/**
 * Dashboard speed in headless Chromium (Debian `chromium` through playwright-core) against a real ingest on
 * loopback, for the targets of issue 6:
 *
 * - overview with 200 stations usable: from navigation start to the page's `envmon:overview-ready` mark (the
 *   catalogue, stations and latest values loaded and the map and list drawn) or the end of the last long task
 *   after it, whichever is later — a Time-to-Interactive as Lighthouse defines it, from the page's own signals.
 * - a 30-day, 1-minute chart, 43,200 points × 4 parameters (raw readings): from creating the four uPlot charts to
 *   their first draw (`envmon:history-draw`, measured by the page); the server's query and the transfer are
 *   reported beside it.
 *
 * Each is measured 3 times in a fresh page (the first with a cold cache); the median is the figure. The pages
 * bypass the CSP only so that the probes below can be evaluated as strings (the root tsconfig has no DOM types).
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../../dashboards/test/support/browser.ts';
import { startDashboardIngest } from '../../dashboards/test/support/ingest.ts';
import type { BenchFigure } from './types.ts';

const STATIONS = 200;
const MIN = 60_000;
const DAY = 86_400_000;
const PARAMS = ['PM2_5', 'PM10', 'SO2', 'NO2'] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Records long tasks from the start of the page, so TTI can be read after the fact. */
const LONGTASK_PROBE = `
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.startTime + e.duration); })
      .observe({ type: 'longtask', buffered: true });
  } catch {}
`;

async function markTime(page: Page, name: string): Promise<number> {
  return page.evaluate<number>(`performance.getEntriesByName(${JSON.stringify(name)})[0]?.startTime ?? -1`);
}

export async function bench(): Promise<BenchFigure[]> {
  const ids = Array.from({ length: STATIONS }, (_, i) => `ST${String(i + 1).padStart(3, '0')}`);
  const ingest = await startDashboardIngest({
    stations: (hash) =>
      `stations:\n${ids
        .map((id, i) => {
          // Spread over Vietnam's bounding box, deterministically.
          const lat = 8.6 + ((i * 37) % 150) / 10;
          const lon = 102.2 + ((i * 53) % 72) / 10;
          return `  - { id: ${id}, name: "Trạm ${id}", medium: air, params: [${PARAMS.join(', ')}], secret_hash: "${hash}", location: { lat: ${lat.toFixed(3)}, lon: ${lon.toFixed(3)} } }`;
        })
        .join('\n')}\n`,
    extra: 'dashboard: {}\n',
  });
  const browser = await launchBrowser();
  const figures: BenchFigure[] = [];
  try {
    const now = Date.now();
    // Latest values for every station (one reading per parameter).
    await ingest.store.write(ids.flatMap((station, i) => PARAMS.map((param, j) => ({ station, param, time: now - 5_000, value: 10 + ((i * 7 + j * 13) % 90), status: 0 as const, qc_flags: 0, period_s: 0 }))));
    // 30 days of 1-minute readings for ST001: 43,200 per parameter.
    const start = Math.floor((now - 30 * DAY) / MIN) * MIN + MIN;
    for (const param of PARAMS) {
      const rows = [];
      for (let k = 0; k < 43_200; k++) {
        const t = start + k * MIN;
        rows.push({ station: 'ST001', param, time: t, value: 40 + 25 * Math.sin(t / 3_600_000) + ((k * 7919) % 13), status: 0 as const, qc_flags: 0, period_s: 0 });
      }
      await ingest.store.write(rows);
    }

    // --- Overview, 200 stations ---
    const ready: number[] = [];
    const tti: number[] = [];
    for (let run = 0; run < 3; run++) {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, bypassCSP: true });
      await context.addInitScript(LONGTASK_PROBE);
      const page = await context.newPage();
      await page.goto(ingest.httpUrl);
      await page.waitForFunction(`document.body.dataset.ready === 'true' && document.querySelectorAll('[data-testid=overview-row]').length === ${STATIONS} && document.querySelectorAll('circle.map-dot').length === ${STATIONS}`);
      await page.waitForTimeout(1000); // quiet window: any long task after "ready" shows up
      const r = await markTime(page, 'envmon:overview-ready');
      const lastLong = await page.evaluate<number>('Math.max(0, ...(window.__longTasks ?? []))');
      ready.push(r);
      tti.push(Math.max(r, lastLong));
      await context.close();
    }
    figures.push(
      { figure: `overview ${STATIONS} stations: time to interactive (median of 3)`, value: median(tti), unit: 'ms', target: { op: '<', value: 1500 }, note: `runs ${tti.map((v) => v.toFixed(0)).join(' / ')} ms; first cold` },
      { figure: `overview ${STATIONS} stations: data loaded, map and list drawn`, value: median(ready), unit: 'ms' },
    );

    // --- 30-day, 1-minute chart, 4 parameters ---
    const draw: number[] = [];
    const load: number[] = [];
    let points = 0;
    for (let run = 0; run < 3; run++) {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, bypassCSP: true });
      const page = await context.newPage();
      await page.goto(`${ingest.httpUrl}#station=ST001&range=30d&mode=raw&params=${PARAMS.join(',')}`);
      const t0 = Date.now();
      await page.waitForSelector('[data-testid=history][data-state=ready]', { timeout: 60_000 });
      load.push(Date.now() - t0);
      draw.push(await page.evaluate<number>(`performance.getEntriesByName('envmon:history-draw').at(-1)?.duration ?? -1`));
      points = Number(await page.getAttribute('[data-testid=history]', 'data-points'));
      await context.close();
    }
    figures.push(
      { figure: `30-day 1-min chart (${points.toLocaleString('en')} points, ${PARAMS.length} params): draw`, value: median(draw), unit: 'ms', target: { op: '<', value: 300 }, note: `runs ${draw.map((v) => v.toFixed(0)).join(' / ')} ms` },
      { figure: '30-day 1-min chart: page open to drawn (query, JSON, draw)', value: median(load), unit: 'ms' },
    );
  } finally {
    await browser.close();
    await ingest.cleanup();
  }
  return figures;
}

// Run alone: `npx tsx scripts/bench/dashboard.ts`
if (process.argv[1] && join(process.argv[1]) === join(new URL(import.meta.url).pathname)) {
  for (const f of await bench()) console.log(`${f.figure}: ${f.value.toFixed(1)} ${f.unit}${f.note ? ` (${f.note})` : ''}`);
}
