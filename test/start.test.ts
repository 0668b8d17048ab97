import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../ingest/test/support/influxd.ts';
import { spawnTs, type Child } from '../scripts/lib/child.ts';

/**
 * README's promise: `npm start` runs the whole system and prints the dashboard URL on a line of its own, and data
 * from both simulated stations is visible through the dashboard's API soon after. Runs scripts/start.ts itself
 * (the dashboard build is done by `pretest`), on free ports and a temporary data directory.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'envmon-start-'));
let demo: Child | undefined;

afterAll(async () => {
  await demo?.stop(10_000);
  rmSync(dataDir, { recursive: true, force: true });
});

it('npm start: prints the URL and serves live data from both demo stations', async () => {
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const simPort = await freePort();
  const started = Date.now();
  demo = spawnTs('demo', join(root, 'scripts/start.ts'), {
    env: { ENVMON_DATA_DIR: dataDir, ENVMON_HTTP_PORT: String(httpPort), ENVMON_MQTT_PORT: String(mqttPort), ENVMON_SIM_PORT: String(simPort), INFLUX_URL: '' },
  });
  const url = await demo.waitFor((l) => (/^http:\/\/127\.0\.0\.1:\d+\/$/.test(l) ? l : undefined), 60_000);
  expect(url).toBe(`http://127.0.0.1:${httpPort}/`);

  const page = await (await fetch(url)).text();
  expect(page).toMatch(/<html/);

  const stationsWithData = async () => {
    const res = await fetch(`${url}api/v1/latest`);
    const { readings } = (await res.json()) as { readings: { station: string; value: number | null }[] };
    return new Set(readings.filter((r) => r.value !== null).map((r) => r.station));
  };
  for (;;) {
    const s = await stationsWithData().catch(() => new Set<string>());
    if (s.has('DEMO_AIR01') && s.has('DEMO_WATER01')) break;
    if (Date.now() - started > 45_000) throw new Error(`no data from both demo stations after 45 s (saw ${[...s].join(', ')})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // Reported, not asserted against a timer: the README's "within 10 seconds" is checked by reading this figure.
  console.log(`npm start: data from both stations ${((Date.now() - started) / 1000).toFixed(1)} s after launch`);
});
