/**
 * End to end, as an agency sees it: a simulated ambient-air analyser (Modbus TCP, hardware/) read by a real
 * gateway (gateway/) publishing over MQTT to a real ingest, and the dashboard in headless Chromium. Values
 * appear on the overview and the station page and keep updating; the language switches. Screenshots go to
 * test-artifacts/dashboard/.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { loadProfile, startModbusTcpSimulator, type ModbusTcpSimulator } from '@envmon/hardware';
import { parseGatewayConfig, startGateway, type RunningGateway } from '@envmon/gateway';
import { launchBrowser, screenshot } from './support/browser.ts';
import { STATION_SECRET, startDashboardIngest, type DashboardIngest } from './support/ingest.ts';

describe('live dashboard fed by the simulator through a gateway', () => {
  let ingest: DashboardIngest;
  let sim: ModbusTcpSimulator;
  let gateway: RunningGateway;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [ingest, sim, browser] = await Promise.all([
      startDashboardIngest({
        stations: (hash) => `
stations:
  - { id: HN_AIR01, name: "Trạm Hoàn Kiếm", medium: air, params: [PM2_5, PM10, TSP, SO2, NO2, O3, CO, TEMP, RH], secret_hash: "${hash}", location: { lat: 21.0285, lon: 105.8542 }, expected_interval_s: 1 }
  - { id: BN_WATER01, name: "Trạm nước thải KCN Quế Võ", medium: water, params: [PH, COD], secret_hash: "${hash}", location: { lat: 21.1861, lon: 106.0763 } }
`,
      }),
      startModbusTcpSimulator({ profile: loadProfile('generic-ambient-air'), port: 0, seed: 7 }),
      launchBrowser(),
    ]);
    const config = parseGatewayConfig(
      `station: HN_AIR01
broker: { url: ${ingest.mqttUrl}, username: HN_AIR01, password_env: ENVMON_STATION_SECRET }
data_dir: ${join(ingest.dataDir, 'gateway')}
publish: { max_batch: 500, interval_ms: 300 }
devices:
  - { id: analyser, profile: generic-ambient-air, transport: { kind: tcp, host: 127.0.0.1, port: ${sim.port} }, unit_id: 1, poll_interval_ms: 1000, timeout_ms: 1000 }
`,
      join(ingest.dataDir, 'gateway.yaml'),
      { env: { ENVMON_STATION_SECRET: STATION_SECRET } },
    );
    gateway = await startGateway(config);
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await sim?.stop();
    await ingest?.cleanup();
  });

  it('shows every station on the map and in the list, with live state and values', async () => {
    await page.goto(ingest.httpUrl);
    const row = page.locator('[data-testid=overview-row][data-station=HN_AIR01]');
    await row.locator('.chip[data-param=PM2_5]').waitFor({ timeout: 15_000 });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('online');
    // The station that never reported is listed, offline, and drawn on the offline map.
    expect(await page.locator('[data-testid=overview-row][data-station=BN_WATER01]').getAttribute('data-state')).toBe('offline');
    expect(await page.locator('[data-testid=station-map] circle.map-dot').count()).toBe(2);
    expect(await page.locator('circle[data-station=HN_AIR01]').getAttribute('data-state')).toBe('online');
    expect(await page.locator('html').getAttribute('lang')).toBe('vi');
    // Values move: the simulator's signal changes between polls and the row re-renders from the stream.
    const first = await row.locator('.chip[data-param=PM2_5] .num').textContent();
    await expect.poll(() => row.locator('.chip[data-param=PM2_5] .num').textContent(), { timeout: 10_000 }).not.toBe(first);
    expect(await page.locator('[data-testid=overview-summary]').textContent()).toMatch(/^1 trực tuyến/);
    await screenshot(page, 'dashboard/overview');
  });

  it('opens the station page: latest values with units and limits, updating live, history and completeness', async () => {
    await page.locator('[data-testid=overview-row][data-station=HN_AIR01] a.station-link').click();
    await page.waitForURL(/#station=HN_AIR01/);
    const pm = page.locator('[data-testid=latest-value][data-param=PM2_5]');
    await expect.poll(() => pm.locator('.num').textContent(), { timeout: 10_000 }).not.toBe('—');
    expect(await pm.locator('.unit').textContent()).toContain('µg/Nm³');
    // SO2 has a 1-hour QCVN 05:2023 limit of 350: the limit column shows it.
    expect(await page.locator('tr[data-param=SO2] td.limit').textContent()).toContain('350');
    const time = page.locator('tr[data-param=PM2_5] td.time');
    const t0 = await time.textContent();
    await expect.poll(() => time.textContent(), { timeout: 10_000 }).not.toBe(t0);
    // History (server-side aggregation) and completeness draw from what the gateway sent.
    await page.locator('[data-testid=history][data-state=ready]').waitFor({ timeout: 10_000 });
    expect(await page.locator('.history-plot').count()).toBe(4);
    await page.locator('[data-testid=completeness] td.cov').first().waitFor();
    await screenshot(page, 'dashboard/station');
  });

  it('switches the language and remembers it', async () => {
    expect(await page.locator('caption#latest-caption').textContent()).toBe('Số liệu mới nhất');
    await page.locator('[data-testid=lang-switch]').click();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('caption#latest-caption').textContent()).toBe('Latest values');
    expect(await page.locator('#history-heading').textContent()).toBe('Data history');
    await page.reload();
    await page.locator('caption#latest-caption').waitFor();
    expect(await page.locator('caption#latest-caption').textContent()).toBe('Latest values');
    await screenshot(page, 'dashboard/station-en');
    await page.locator('[data-testid=nav-overview]').click();
    expect(await page.locator('#overview-heading').textContent()).toBe('All stations');
  });

  it('fits phones, desktops and wall screens: every column of the station list and the latest values shows, nothing spills, row names stay in view', async () => {
    // What the page shows at a size: tables that scroll sideways inside their panel, and cells whose content is
    // wider than the cell (it then runs into the next column or is cut off).
    const clipped = () =>
      page.evaluate(() => {
        const out: string[] = [];
        for (const table of document.querySelectorAll<HTMLTableElement>('table.latest, table.overview-table')) {
          for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
            if (box.scrollWidth > box.clientWidth + 1) out.push(`${table.className}: scrolls in .${box.className} (${box.scrollWidth} > ${box.clientWidth} px)`);
          }
          for (const cell of table.querySelectorAll<HTMLElement>('th, td')) {
            if (cell.offsetParent && cell.scrollWidth > cell.clientWidth + 1) out.push(`${table.className}: "${cell.textContent?.trim().slice(0, 30)}" wider than its cell`);
          }
        }
        return out;
      });
    const found: Record<string, string[]> = {};
    // Both languages: Vietnamese labels ("Gần giới hạn (≥ 80%)", "Mất kết nối") run longer than the English ones.
    const sizes = [[390, 844], [1280, 800], [1600, 1000], [1920, 1080], [2560, 1440]] as const;
    for (const [lang, [width, height]] of ['vi', 'en'].flatMap((l) => sizes.map((size) => [l, size] as const))) {
      await page.evaluate((l) => localStorage.setItem('envmon.lang', l), lang);
      await page.setViewportSize({ width, height });
      await page.goto(ingest.httpUrl);
      await page.locator('[data-testid=overview-row][data-station=HN_AIR01] .chip[data-param=PM2_5]').waitFor({ timeout: 15_000 });
      // On a phone the station list scrolls sideways by design (a row per station, six columns); not judged there.
      if (width > 600) found[`${lang} overview ${width}×${height}`] = await clipped();
      await page.goto(`${ingest.httpUrl}#station=HN_AIR01`);
      await expect.poll(() => page.locator('[data-testid=latest-value][data-param=PM2_5] .num').textContent(), { timeout: 10_000 }).not.toBe('—');
      found[`${lang} station ${width}×${height}`] = await clipped();
      // The completeness grid opens scrolled to the newest day; its parameter names must still be in view.
      await page.locator('[data-testid=completeness] td.cov').first().waitFor();
      const hidden = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('table.completeness tbody th')].filter((th) => {
          const box = th.closest('.table-scroll')!.getBoundingClientRect();
          const r = th.getBoundingClientRect();
          return r.left < box.left - 1 || r.right > box.right + 1;
        }).map((th) => th.textContent),
      );
      if (hidden.length > 0) found[`${lang} completeness ${width}×${height}: names out of view`] = hidden.map(String);
      await screenshot(page, `dashboard/station-${lang}-${width}`);
    }
    expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
  });
});

