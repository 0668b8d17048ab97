/**
 * Roles and exports in the browser, against a real ingest fed over MQTT (as a station's gateway would): a PM10
 * reading over a threshold rule raises an alarm; an operator signs in with a token and acknowledges it; a viewer
 * sees it but gets no button, and the server refuses the viewer's acknowledgement too. The live value is
 * coloured as over its QCVN limit. The CSV export downloads exactly the stored rows of the chosen days.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from './support/browser.ts';
import { startDashboardIngest, stationClient, TOKENS, type DashboardIngest } from './support/ingest.ts';

const DAY = 86_400_000;
const VN = 7 * 3_600_000;

describe('alarms by role, limits and CSV export', () => {
  let ingest: DashboardIngest;
  let browser: Browser;
  let station: Awaited<ReturnType<typeof stationClient>>;
  /** Start of yesterday in Vietnam, and its YYYY-MM-DD. */
  const yesterday = Math.floor((Date.now() + VN) / DAY) * DAY - VN - DAY;
  const yesterdayText = new Date(yesterday + VN).toISOString().slice(0, 10);

  beforeAll(async () => {
    [ingest, browser] = await Promise.all([
      startDashboardIngest({
        stations: (hash) => `
stations:
  - { id: S1, name: "Trạm Thử nghiệm", medium: air, params: [PM2_5, PM10], secret_hash: "${hash}", location: { lat: 10.77, lon: 106.70 } }
`,
        rules: `version: 1
rules:
  - { id: pm10-high, name: { vi: "PM10 cao", en: "PM10 high" }, kind: threshold, param: PM10, above: 150, severity: major, notify: none }
`,
      }),
      launchBrowser(),
    ]);
    // Yesterday, one reading every 5 minutes: 288 rows per parameter for the export.
    const rows = [];
    for (let t = yesterday; t < yesterday + DAY; t += 300_000) {
      rows.push({ station: 'S1', param: 'PM2_5', time: t, value: 20 + (t / 300_000) % 7, status: 0 as const, qc_flags: 0, period_s: 0 });
      rows.push({ station: 'S1', param: 'PM10', time: t, value: 50, status: 0 as const, qc_flags: 0, period_s: 0 });
    }
    await ingest.store.write(rows);
    station = await stationClient(ingest.mqttUrl, 'S1');
    await station.send([
      { param: 'PM2_5', time: Date.now() - 1000, value: 30, status: 0, qc_flags: 0, period_s: 0 },
      { param: 'PM10', time: Date.now() - 1000, value: 320, status: 0, qc_flags: 0, period_s: 0 },
    ]);
    // The engine raises the alarm from the live reading (checked here without the page: the page tests follow).
    const deadline = Date.now() + 10_000;
    let states: string[] = [];
    while (Date.now() < deadline) {
      const res = await fetch(`${ingest.httpUrl}api/v1/alarms?station=S1`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
      states = ((await res.json()) as { alarms: { state: string }[] }).alarms.map((a) => a.state);
      if (states.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (states.join() !== 'raised') throw new Error(`expected one raised alarm, got [${states.join(', ')}]`);
  });

  afterAll(async () => {
    await station?.close();
    await browser?.close();
    await ingest?.cleanup();
  });

  async function signedInPage(token: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${ingest.httpUrl}#station=S1`);
    await page.locator('[data-testid=alarms-sign-in]').waitFor();
    await page.locator('[data-testid=auth-button]').click();
    await page.locator('[data-testid=token-input]').fill(token);
    await page.locator('[data-testid=sign-in-submit]').click();
    await page.locator('[data-testid=session]:not([hidden])').waitFor();
    return page;
  }

  it('a viewer sees the alarm but cannot acknowledge it, in the page or by calling the API', async () => {
    const page = await signedInPage(TOKENS.viewer);
    expect(await page.locator('[data-testid=session]').getAttribute('data-role')).toBe('viewer');
    const alarm = page.locator('[data-testid=alarm]');
    await alarm.waitFor();
    expect(await alarm.getAttribute('data-state')).toBe('raised');
    expect(await page.locator('[data-testid=alarm-ack]').count()).toBe(0);
    // The server is the judge: the viewer's cookie cannot acknowledge either.
    const status = await page.evaluate(async (id) => (await fetch(`/api/v1/alarms/${id}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, await alarm.getAttribute('data-alarm'));
    expect(status).toBe(403);
    // The live PM10 value is over its QCVN 05:2023 limit and coloured so.
    const pm10 = page.locator('[data-testid=latest-value][data-param=PM10]');
    await expect.poll(() => pm10.getAttribute('data-exceedance')).toBe('over');
    await screenshot(page, 'dashboard/alarms-viewer');
    await page.context().close();
  });

  it('an operator acknowledges the alarm from the station page', async () => {
    const page = await signedInPage(TOKENS.operator);
    const ack = page.locator('[data-testid=alarm-ack]');
    await ack.waitFor();
    await ack.click();
    const alarm = page.locator('[data-testid=alarm]');
    await expect.poll(() => alarm.getAttribute('data-state')).toBe('acknowledged');
    expect(await alarm.textContent()).toContain('duty-officer');
    expect(await page.locator('[data-testid=alarm-ack]').count()).toBe(0);
    const res = await fetch(`${ingest.httpUrl}api/v1/alarms?station=S1`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    expect(((await res.json()) as { alarms: { state: string; acknowledged_by: string }[] }).alarms[0]).toMatchObject({ state: 'acknowledged', acknowledged_by: 'duty-officer' });
    await screenshot(page, 'dashboard/alarms-operator');
    await page.context().close();
  });

  it('downloads a CSV of the chosen days with exactly the stored rows', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${ingest.httpUrl}#station=S1`);
    await page.locator('[data-testid=export-link][href]').waitFor();
    await page.locator('[data-testid=export-from]').fill(yesterdayText);
    await page.locator('[data-testid=export-to]').fill(yesterdayText);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=export-link]').click()]);
    expect(download.suggestedFilename()).toBe(`envmon_S1_${yesterdayText.replace(/-/g, '')}-${yesterdayText.replace(/-/g, '')}.csv`);
    const text = (await readFile((await download.path())!, 'utf8')).replace(/^\uFEFF/, '');
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toBe('time,station,PM2_5 (µg/Nm³),PM2_5 status,PM10 (µg/Nm³),PM10 status');
    expect(lines.length).toBe(1 + 288);
    expect(lines[1]).toBe(`${yesterdayText}T00:00:00+07:00,S1,${20 + (yesterday / 300_000) % 7},00,50,00`);
    expect(lines.at(-1)).toMatch(new RegExp(`^${yesterdayText}T23:55:00\\+07:00,S1,`));
    await context.close();
  });
});
