/**
 * The Grafana provisioning (dashboards/grafana/) against the real thing it reads: every InfluxQL query of both
 * dashboards, with Grafana's variables filled in as Grafana would, runs on a real influxd (Debian `influxdb`)
 * holding data written by the ingest's own InfluxDB store, and returns data. Also checks that every panel uses the
 * provisioned datasource and that every `$variable` a query uses is defined.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openInfluxStore } from '../../ingest/src/store/influx-store.ts';
import { influxdSkipReason, startInfluxd, type RunningInfluxd } from '../../ingest/test/support/influxd.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../grafana');
interface Target { query: string; rawQuery: boolean; datasource: { uid: string } }
interface Panel { title: string; datasource: { uid: string }; targets: Target[] }
interface Dashboard { uid: string; panels: Panel[]; templating: { list: { name: string; query: string; datasource?: { uid: string } }[] } }
const dashboards = ['envmon-overview.json', 'envmon-station.json'].map((f) => JSON.parse(readFileSync(join(dir, 'dashboards', f), 'utf8')) as Dashboard);
const datasource = (parse(readFileSync(join(dir, 'provisioning/datasources/envmon-influxdb.yaml'), 'utf8')) as { datasources: { uid: string; type: string }[] }).datasources[0]!;

const BUILTIN = new Set(['timeFilter', '__interval', 'tag_param', 'tag_station', 'col']);

describe('Grafana provisioning: structure', () => {
  it('every panel and query uses the provisioned InfluxDB datasource, raw InfluxQL, and defined variables', () => {
    expect(datasource).toMatchObject({ uid: 'envmon-influxdb', type: 'influxdb' });
    for (const d of dashboards) {
      const vars = new Set(d.templating.list.map((v) => v.name));
      for (const p of d.panels) {
        expect(p.datasource.uid, p.title).toBe(datasource.uid);
        expect(p.targets.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets) {
          expect(t.rawQuery).toBe(true);
          expect(t.query).toMatch(/FROM "reading"/);
          for (const [, name] of t.query.matchAll(/\$(\w+)/g)) expect(BUILTIN.has(name!) || vars.has(name!), `${p.title}: $${name}`).toBe(true);
        }
      }
    }
  });
});

const skip = influxdSkipReason();
describe.skipIf(skip !== undefined)('Grafana queries on a real influxd', () => {
  let influxd: RunningInfluxd;
  const now = Date.now();

  beforeAll(async () => {
    influxd = await startInfluxd({ database: 'envmon' });
    const store = openInfluxStore({ url: influxd.url, database: influxd.database });
    const rows = [];
    for (let t = now - 2 * 86_400_000; t < now; t += 60_000) {
      rows.push({ station: 'HN01', param: 'PM2_5', time: t, value: 30 + (t / 60_000) % 10, status: 0 as const, qc_flags: 0, period_s: 0 });
      rows.push({ station: 'HN01', param: 'SO2', time: t, value: 20, status: (t > now - 600_000 ? 1 : 0) as 0 | 1, qc_flags: 0, period_s: 0 });
    }
    await store.write(rows);
    await store.close();
  }, 60_000);
  afterAll(async () => influxd?.stop());

  /** Grafana's substitutions for a 24-hour range, station HN01, all parameters. */
  function fill(q: string): string {
    return q
      .replace(/\$timeFilter/g, `time >= ${now - 86_400_000}ms AND time <= ${now}ms`)
      .replace(/\$__interval/g, '1m')
      .replace(/\/\^\$station\$\//g, '/^HN01$/')
      .replace(/\/\^\$param\$\//g, '/^(PM2_5|SO2)$/')
      .replace(/\$expected_per_day/g, '1440');
  }

  async function run(q: string): Promise<{ series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]; error?: string }> {
    const res = await fetch(`${influxd.url}/query`, { method: 'POST', body: new URLSearchParams({ db: influxd.database, q, epoch: 'ms' }) });
    const body = (await res.json()) as { results: { series?: never[]; error?: string }[]; error?: string };
    if (body.error) return { error: body.error };
    return body.results[0]!;
  }

  it('every panel query and variable query returns data', async () => {
    for (const d of dashboards) {
      for (const p of d.panels) {
        for (const t of p.targets) {
          const r = await run(fill(t.query));
          expect(r.error, `${d.uid} / ${p.title}: ${r.error}`).toBeUndefined();
          expect(r.series?.length ?? 0, `${d.uid} / ${p.title}: no data for ${fill(t.query)}`).toBeGreaterThan(0);
        }
      }
      for (const v of d.templating.list.filter((x) => x.datasource)) {
        const r = await run(fill(v.query));
        expect(r.series?.[0]?.values.length ?? 0, v.name).toBeGreaterThan(0);
      }
    }
  });

  it('completeness per Vietnamese day: yesterday is complete (100 %)', async () => {
    const q = dashboards[1]!.panels.find((p) => p.title.includes('completeness'))!.targets[0]!.query;
    const r = await run(fill(q));
    const pm = r.series!.find((s) => s.tags?.param === 'PM2_5')!;
    const vnMidnight = Math.floor((now + 7 * 3_600_000) / 86_400_000) * 86_400_000 - 7 * 3_600_000;
    const yesterday = pm.values.find((row) => row[0] === vnMidnight - 86_400_000);
    expect(yesterday?.[1]).toBe(100);
  });
});
