/**
 * The InfluxDB store's write path against a real VictoriaMetrics (Debian `victoria-metrics`) on loopback.
 *
 * VictoriaMetrics takes InfluxDB line protocol on `/write` (1.x style, `db` becomes a `db` label) and
 * `/api/v2/write` (2.x style) and turns `reading,station=…,param=…,period=… value=…,status=…i,qc=…i` into the
 * series `reading_value`, `reading_status`, `reading_qc` with labels station, param, period. Reads back here use
 * VictoriaMetrics' own APIs (export, PromQL): it does not answer InfluxQL, so the store's reads do not apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInfluxStore } from '../src/store/influx-store.ts';
import type { StoredReading } from '../src/store/store.ts';
import {
  exportSeries,
  startVictoriaMetrics,
  victoriaMetricsSkipReason,
  type ExportedSeries,
  type RunningVictoriaMetrics,
} from './support/victoria-metrics.ts';

const STATIONS = ['VM_AIR01', 'VM_AIR02', 'VM_WATER01'];
const PARAMS = ['PM2_5', 'SO2'];
const PER_SERIES = 40;

/** Readings at odd millisecond times over the last two days (gateway backfill), one without a value. */
function makeBatch(): StoredReading[] {
  const start = Date.now() - 2 * 86_400_000 + 137;
  const out: StoredReading[] = [];
  STATIONS.forEach((station, s) => {
    PARAMS.forEach((param, p) => {
      for (let i = 0; i < PER_SERIES; i++) {
        const missing = s === 0 && p === 0 && i === 7;
        out.push({
          station,
          param,
          time: start + i * 60_000 + s * 3 + p,
          value: missing ? null : Math.round((10 + s * 5 + p + i * 0.25) * 100) / 100,
          status: missing ? 2 : 0,
          qc_flags: i % 5 === 0 ? 1 : 0,
          period_s: 0,
        });
      }
    });
  });
  return out;
}

const key = (station: string, param: string): string => `${station}/${param}`;

/** Exports the series matching `match`, polling until `total` samples are visible (VM shows data 1–2 s late). */
async function exportUntil(vm: RunningVictoriaMetrics, match: string, total: number): Promise<ExportedSeries[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await vm.flush();
    const series = await exportSeries(vm.url, match);
    if (series.reduce((n, s) => n + s.timestamps.length, 0) >= total || Date.now() > deadline) return series;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `metric` of our stations by station/param, once `total` samples are visible. */
async function exportWhen(vm: RunningVictoriaMetrics, metric: string, total: number): Promise<Map<string, ExportedSeries>> {
  const series = await exportUntil(vm, `${metric}{station=~"VM_.*"}`, total);
  return new Map(series.map((s) => [key(s.metric.station ?? '', s.metric.param ?? ''), s]));
}

/** Sample timestamps → how many times each occurs, per series. */
function occurrences(s: ExportedSeries | undefined): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of s?.timestamps ?? []) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

async function promql(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

const batch = makeBatch();
const withValue = batch.filter((r) => r.value !== null);

describe.skipIf(victoriaMetricsSkipReason() !== undefined)('InfluxDB store writing to VictoriaMetrics', () => {
  describe('default server (no deduplication), 1.x /write?db=', () => {
    let vm: RunningVictoriaMetrics;
    beforeAll(async () => {
      vm = await startVictoriaMetrics();
    });
    afterAll(async () => {
      await vm?.stop();
    });

    it('stores every reading exactly once, with its time, value, status and QC flags', async () => {
      const store = openInfluxStore({ url: vm.url, database: 'envmon', maxLinesPerWrite: 50 });
      await store.ensureDatabase(); // VM answers /query with a database list: startup of the ingest does not fail
      await store.write(batch);

      const status = await exportWhen(vm, 'reading_status', batch.length);
      const value = await exportWhen(vm, 'reading_value', withValue.length);
      const qc = await exportWhen(vm, 'reading_qc', batch.length);
      expect(status.size).toBe(STATIONS.length * PARAMS.length);
      for (const station of STATIONS) {
        for (const param of PARAMS) {
          const mine = batch.filter((r) => r.station === station && r.param === param);
          const s = status.get(key(station, param));
          expect(s?.metric).toMatchObject({ __name__: 'reading_status', db: 'envmon', period: '0' });
          // Exactly once: each source time appears one time, nothing else is there.
          expect([...occurrences(s).entries()].sort((a, b) => a[0] - b[0])).toEqual(mine.map((r) => [r.time, 1]));
          const byTime = (e: ExportedSeries | undefined): Map<number, number | null> =>
            new Map((e?.timestamps ?? []).map((t, i) => [t, e?.values[i] ?? null]));
          const st = byTime(s);
          const va = byTime(value.get(key(station, param)));
          const qf = byTime(qc.get(key(station, param)));
          for (const r of mine) {
            expect(st.get(r.time)).toBe(r.status);
            expect(qf.get(r.time)).toBe(r.qc_flags);
            // A null value is an absent field: no reading_value sample at that time.
            expect(va.get(r.time)).toBe(r.value === null ? undefined : r.value);
          }
        }
      }

      // The same through PromQL: samples per station over the last 3 days.
      const counts = await promql(vm.url, 'sum by (station) (count_over_time(reading_status{station=~"VM_.*"}[3d]))');
      expect(Object.fromEntries(counts.map((c) => [c.metric.station, Number(c.value[1])]))).toEqual(
        Object.fromEntries(STATIONS.map((s) => [s, PARAMS.length * PER_SERIES])),
      );

      // InfluxQL reads do not apply: VM answers every /query with its database list, so the store's reads come
      // back empty although the data is there. VM is a write target; reads need PromQL (see ingest/README.md).
      expect(await store.latest({ station: 'VM_AIR01' })).toEqual([]);
      expect(await store.count()).toBe(0);
      await store.close();
    });

    it('keeps a replayed batch twice: without -dedup.minScrapeInterval VM does not deduplicate', async () => {
      const store = openInfluxStore({ url: vm.url, database: 'envmon' });
      await store.write(batch); // the replay, after the first test's write
      const status = await exportWhen(vm, 'reading_status', 2 * batch.length);
      const total = [...status.values()].reduce((n, s) => n + s.timestamps.length, 0);
      expect(total).toBe(2 * batch.length);
      for (const s of status.values()) for (const n of occurrences(s).values()) expect(n).toBe(2);
      await store.close();
    });
  });

  describe('-dedup.minScrapeInterval=1ms, 2.x /api/v2/write', () => {
    let vm: RunningVictoriaMetrics;
    beforeAll(async () => {
      vm = await startVictoriaMetrics({ dedupMinScrapeInterval: '1ms' });
    });
    afterAll(async () => {
      await vm?.stop();
    });

    it('a batch written twice is stored once, and readings 1 ms apart stay distinct', async () => {
      const store = openInfluxStore({ url: vm.url, bucket: 'envmon', org: 'agency', token: 'unused-by-vm' });
      await store.write(batch);
      await store.write(batch);
      // Two readings of one series 1 ms apart: the 1 ms dedup interval must not merge them.
      const close: StoredReading[] = [
        { station: 'VM_AIR02', param: 'PM2_5', time: 1_790_000_000_000, value: 1, status: 0, qc_flags: 0, period_s: 0 },
        { station: 'VM_AIR02', param: 'PM2_5', time: 1_790_000_000_001, value: 2, status: 0, qc_flags: 0, period_s: 0 },
      ];
      await store.write(close);
      const expected = batch.length + close.length;
      // Wait until the expected count is visible, give VM a moment more, then check that nothing beyond it is.
      await exportWhen(vm, 'reading_status', expected);
      await new Promise((r) => setTimeout(r, 500));
      const status = await exportWhen(vm, 'reading_status', expected);
      const total = [...status.values()].reduce((n, s) => n + s.timestamps.length, 0);
      expect(total).toBe(expected);
      for (const s of status.values()) for (const n of occurrences(s).values()) expect(n).toBe(1);
      const air02 = occurrences(status.get(key('VM_AIR02', 'PM2_5')));
      expect(air02.get(1_790_000_000_000)).toBe(1);
      expect(air02.get(1_790_000_000_001)).toBe(1);
      // Bucket writes carry no db label.
      expect(status.get(key('VM_AIR01', 'SO2'))?.metric.db).toBeUndefined();

      const counts = await promql(vm.url, 'sum(count_over_time(reading_value{station=~"VM_.*"}[3d]))');
      expect(Number(counts[0]?.value[1])).toBe(withValue.length);
      await store.close();
    });

    it('works behind a path prefix, as vminsert of a cluster needs (INFLUX_URL=http://vminsert:8480/insert/0/influx)', async () => {
      // Single-node VictoriaMetrics answers the same line protocol under /influx/…, the path vminsert serves
      // under /insert/<tenant>/influx/…: the store keeps the URL's path and appends /write, /api/v2/write, /query.
      const readings: StoredReading[] = [0, 1, 2].map((i) => ({
        station: 'PREFIX01', param: 'NO2', time: Date.now() - 3_600_000 + i * 1000, value: i + 0.5, status: 0, qc_flags: 0, period_s: 0,
      }));
      for (const options of [{ database: 'envmon' }, { bucket: 'envmon' }]) {
        const store = openInfluxStore({ url: `${vm.url}/influx/`, ...options });
        await store.ensureDatabase();
        await store.write(readings);
        await store.close();
      }
      const series = await exportUntil(vm, 'reading_value{station="PREFIX01"}', 2 * readings.length);
      // 1.x path → db="envmon" label; 2.x path → no db label: two series, three samples each, values intact.
      expect(series.map((x) => x.metric.db ?? '(none)').sort()).toEqual(['(none)', 'envmon']);
      for (const x of series) {
        expect(x.timestamps).toEqual(readings.map((r) => r.time));
        expect(x.values).toEqual([0.5, 1.5, 2.5]);
      }
    });
  });
});
