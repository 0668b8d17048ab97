/**
 * QCVN compliance panel in the browser, against a real ingest: yesterday a station's PM10 stayed at 130 µg/Nm³
 * (QCVN 05:2023, 24-hour limit 100) while PM2.5 stayed well below its limit. Not signed in, the panel asks to sign
 * in; signed in as a viewer it shows PM10 exceeded and PM2.5 compliant for yesterday, and its CSV link downloads
 * the report's rows.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ARTIFACTS_DIR, launchBrowser } from './support/browser.ts';
import { startDashboardIngest, TOKENS, type DashboardIngest } from './support/ingest.ts';

const DAY = 86_400_000;
const VN = 7 * 3_600_000;

describe('QCVN compliance panel', () => {
  let ingest: DashboardIngest;
  let browser: Browser;
  const yesterday = Math.floor((Date.now() + VN) / DAY) * DAY - VN - DAY;
  const yesterdayText = new Date(yesterday + VN).toISOString().slice(0, 10);

  beforeAll(async () => {
    [ingest, browser] = await Promise.all([
      startDashboardIngest({
        stations: (hash) => `
stations:
  - { id: S1, name: "Trạm Thử nghiệm", medium: air, params: [PM2_5, PM10], secret_hash: "${hash}", location: { lat: 10.77, lon: 106.70 } }
`,
        extra: `reports: { stations: { S1: { profile: qcvn-05-2023 } } }\n`,
      }),
      launchBrowser(),
    ]);
    const rows = [];
    for (let t = yesterday; t < yesterday + DAY; t += 300_000) {
      rows.push({ station: 'S1', param: 'PM2_5', time: t, value: 20, status: 0 as const, qc_flags: 0, period_s: 0 });
      rows.push({ station: 'S1', param: 'PM10', time: t, value: 130, status: 0 as const, qc_flags: 0, period_s: 0 });
    }
    await ingest.store.write(rows);
  });

  afterAll(async () => {
    await browser?.close();
    await ingest?.cleanup();
  });

  it('asks to sign in, then shows yesterday\'s exceedance and downloads the CSV', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${ingest.httpUrl}#station=S1`);
    const panel = page.locator('#compliance');
    await panel.locator('[data-testid=compliance-sign-in]').waitFor();
    expect(await panel.locator('h2').textContent()).toBe('Tuân thủ QCVN');

    await page.locator('[data-testid=auth-button]').click();
    await page.locator('[data-testid=token-input]').fill(TOKENS.viewer);
    await page.locator('[data-testid=sign-in-submit]').click();
    await panel.locator('[data-testid=compliance]').waitFor();
    expect(await page.locator('[data-testid=compliance-day]').inputValue()).toBe(yesterdayText);

    const pm10 = panel.locator('[data-testid=compliance-row][data-param=PM10][data-period="24h"]');
    expect(await pm10.getAttribute('data-status')).toBe('exceeded');
    expect(await pm10.locator('[data-testid=compliance-exceedances]').textContent()).toBe('1');
    expect(await pm10.textContent()).toContain('≤ 100');
    expect(await panel.locator('[data-testid=compliance-row][data-param=PM2_5][data-period="24h"]').getAttribute('data-status')).toBe('compliant');
    expect(await panel.locator('[data-testid=compliance-profile]').textContent()).toContain('05:2023');

    await panel.scrollIntoViewIfNeeded();
    await panel.screenshot({ path: join(ARTIFACTS_DIR, 'dashboard/compliance.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), panel.locator('[data-testid=compliance-csv]').click()]);
    expect(download.suggestedFilename()).toBe(`envmon_compliance_S1_${yesterdayText}_${yesterdayText}.csv`);
    const lines = (await readFile((await download.path())!, 'utf8')).replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toMatch(/^day,station,profile,param,period,/);
    const pm10Line = lines.find((l) => l.includes(',PM10,24h,'));
    expect(pm10Line).toMatch(new RegExp(`^${yesterdayText},S1,qcvn-05-2023,PM10,24h,.*,1,130,exceeded,`));
    expect(lines.some((l) => l.includes(',PM2_5,24h,') && l.includes(',compliant,'))).toBe(true);

    // The panel speaks English too.
    await page.locator('[data-testid=lang-switch]').click();
    await expect.poll(() => panel.locator('h2').textContent()).toBe('QCVN compliance');
    expect(await pm10.locator('.cmp-badge').textContent()).toBe('Exceeded');
    await context.close();
  }, 25_000);
});
