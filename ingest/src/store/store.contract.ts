/**
 * The behaviour every `Store` must have, as one vitest suite that each implementation's test file runs against a
 * fresh, empty store per test. Expected numbers are worked out by hand next to the data, not recomputed from it,
 * so a wrong aggregate in both the store and the test cannot agree by accident.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, StoredReading } from './store.ts';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

/** 2024-01-15T00:00:00Z: on a whole hour, so minute and hour buckets start here. */
export const T0 = Date.UTC(2024, 0, 15, 0, 0, 0);
const S = 1000;
const MIN = 60 * S;

/** A raw, measuring, unflagged reading unless told otherwise. */
function r(station: string, param: string, time: number, value: number | null, extra: Partial<StoredReading> = {}): StoredReading {
  return { station, param, time, value, status: value === null ? 2 : 0, qc_flags: 0, period_s: 0, ...extra };
}

/**
 * One series with three 1-minute buckets that have values and one that has only a device error:
 *
 *   bucket T0         +0 s: 1   +15 s: 2   +30 s: 4   +45 s: null (status 02)
 *   bucket T0+1 min   +60 s: 10  +75 s: 7
 *   bucket T0+2 min   +120 s: null (status 02)              → no value: omitted
 *   bucket T0+3 min   +180 s: 5
 */
const FIXTURE: StoredReading[] = [
  r('ST1', 'PM10', T0 + 0 * S, 1),
  r('ST1', 'PM10', T0 + 15 * S, 2, { qc_flags: 4 }),
  r('ST1', 'PM10', T0 + 30 * S, 4),
  r('ST1', 'PM10', T0 + 45 * S, null),
  r('ST1', 'PM10', T0 + 60 * S, 10),
  r('ST1', 'PM10', T0 + 75 * S, 7),
  r('ST1', 'PM10', T0 + 120 * S, null),
  r('ST1', 'PM10', T0 + 180 * S, 5),
];

export function describeStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });

    afterEach(async () => {
      await opened.store.close();
      await opened.cleanup();
    });

    it('starts empty', async () => {
      expect(await store.count()).toBe(0);
      expect(await store.latest()).toEqual([]);
      const s = await store.series({ station: 'ST1', param: 'PM10', from: T0, to: T0 + 10 * MIN, every: MIN, agg: 'mean' });
      expect(s.points).toEqual([]);
      expect(s.observed).toBe(0);
    });

    it('write then latest: the newest raw reading per (station, param), whole and filtered', async () => {
      await store.write([
        r('ST1', 'PM10', T0 + 2 * MIN, 30, { qc_flags: 1 }),
        r('ST1', 'PM10', T0, 10), // out of order within the batch
        r('ST1', 'SO2', T0 + MIN, 0.25, { status: 1 }),
        r('ST2', 'PM10', T0, 44),
        // A 60 s mean newer than any raw reading must not show up as "latest".
        r('ST1', 'PM10', T0 + 10 * MIN, 99, { period_s: 60 }),
      ]);
      // An older reading arriving later (a replay) must not move latest backwards.
      await store.write([r('ST1', 'PM10', T0 + MIN, 20)]);

      const all = await store.latest();
      expect(all).toEqual([
        { station: 'ST1', param: 'PM10', time: T0 + 2 * MIN, value: 30, status: 0, qc_flags: 1, period_s: 0 },
        { station: 'ST1', param: 'SO2', time: T0 + MIN, value: 0.25, status: 1, qc_flags: 0, period_s: 0 },
        { station: 'ST2', param: 'PM10', time: T0, value: 44, status: 0, qc_flags: 0, period_s: 0 },
      ]);
      expect((await store.latest({ station: 'ST1' })).map((x) => x.param)).toEqual(['PM10', 'SO2']);
      expect((await store.latest({ param: 'PM10' })).map((x) => [x.station, x.value])).toEqual([
        ['ST1', 30],
        ['ST2', 44],
      ]);
      expect(await store.latest({ station: 'ST2', param: 'SO2' })).toEqual([]);
      expect((await store.latest({ station: 'ST2', param: 'PM10' }))[0]?.value).toBe(44);
    });

    it('latest follows a newer reading, and a rewrite of the newest one', async () => {
      await store.write([r('ST1', 'NO2', T0, 1)]);
      await store.write([r('ST1', 'NO2', T0 + MIN, 2)]);
      expect((await store.latest({ station: 'ST1' }))[0]).toMatchObject({ time: T0 + MIN, value: 2 });
      await store.write([r('ST1', 'NO2', T0 + MIN, 3, { qc_flags: 8 })]);
      expect((await store.latest({ station: 'ST1' }))[0]).toMatchObject({ time: T0 + MIN, value: 3, qc_flags: 8 });
    });

    it('is idempotent: the same batch three times keeps one copy, and the last write wins', async () => {
      await store.write(FIXTURE);
      await store.write(FIXTURE);
      await store.write(FIXTURE);
      expect(await store.count('ST1')).toBe(FIXTURE.length);
      expect(await store.count()).toBe(FIXTURE.length);

      // A corrected value for an existing identity replaces it; nothing is added.
      await store.write([r('ST1', 'PM10', T0 + 15 * S, 3, { qc_flags: 0 })]);
      expect(await store.count('ST1')).toBe(FIXTURE.length);
      const raw = await store.series({ station: 'ST1', param: 'PM10', from: T0 + 15 * S, to: T0 + 16 * S });
      expect(raw.points).toEqual([{ time: T0 + 15 * S, value: 3, count: 1, status: 0, qc_flags: 0 }]);
      // and the aggregates see the corrected value: (1 + 3 + 4) / 3
      const mean = await store.series({ station: 'ST1', param: 'PM10', from: T0, to: T0 + MIN, every: MIN, agg: 'mean' });
      expect(mean.points[0]?.value).toBeCloseTo(8 / 3, 12);
    });

    it('keeps null values with status 02 and leaves them out of aggregates and coverage', async () => {
      await store.write(FIXTURE);
      const raw = await store.series({ station: 'ST1', param: 'PM10', from: T0, to: T0 + MIN });
      expect(raw.points.map((p) => [p.time - T0, p.value, p.status])).toEqual([
        [0, 1, 0],
        [15 * S, 2, 0],
        [30 * S, 4, 0],
        [45 * S, null, 2],
      ]);
      expect(raw.points[3]?.count).toBe(0);
      expect(raw.observed).toBe(3);
      expect(await store.count('ST1')).toBe(8);

      // Newest reading being an error: latest says so (value null, status 02), it does not show an older value.
      await store.write([r('ST1', 'PM10', T0 + 10 * MIN, null)]);
      expect(await store.latest({ station: 'ST1', param: 'PM10' })).toEqual([
        { station: 'ST1', param: 'PM10', time: T0 + 10 * MIN, value: null, status: 2, qc_flags: 0, period_s: 0 },
      ]);
    });

    it('returns raw points with status and flags, in time order', async () => {
      await store.write([...FIXTURE].reverse());
      const s = await store.series({ station: 'ST1', param: 'PM10', from: T0, to: T0 + 4 * MIN });
      expect(s).toMatchObject({ station: 'ST1', param: 'PM10', from: T0, to: T0 + 4 * MIN, every: 0, agg: 'raw', observed: 6 });
      expect(s.points).toHaveLength(8);
      expect(s.points[0]).toEqual({ time: T0, value: 1, count: 1, status: 0, qc_flags: 0 });
      expect(s.points[1]).toEqual({ time: T0 + 15 * S, value: 2, count: 1, status: 0, qc_flags: 4 });
      expect(s.points.map((p) => p.time)).toEqual(FIXTURE.map((x) => x.time));
    });

    it('aggregates epoch-aligned buckets: mean, min, max, last, count', async () => {
      await store.write(FIXTURE);
      const q = { station: 'ST1', param: 'PM10', from: T0, to: T0 + 4 * MIN, every: MIN } as const;
      const pts = async (agg: 'mean' | 'min' | 'max' | 'last' | 'count') => {
        const s = await store.series({ ...q, agg });
        expect(s).toMatchObject({ every: MIN, agg, observed: 6 });
        return s.points.map((p) => [(p.time - T0) / MIN, p.value, p.count]);
      };
      const mean = await pts('mean');
      // (1 + 2 + 4) / 3 = 7/3; (10 + 7) / 2 = 8.5; 5. Bucket +2 min holds only an error: omitted.
      expect(mean.map(([t, , n]) => [t, n])).toEqual([
        [0, 3],
        [1, 2],
        [3, 1],
      ]);
      expect(mean[0]?.[1]).toBeCloseTo(7 / 3, 12);
      expect(mean.slice(1)).toEqual([
        [1, 8.5, 2],
        [3, 5, 1],
      ]);
      expect(await pts('min')).toEqual([
        [0, 1, 3],
        [1, 7, 2],
        [3, 5, 1],
      ]);
      expect(await pts('max')).toEqual([
        [0, 4, 3],
        [1, 10, 2],
        [3, 5, 1],
      ]);
      // last = the newest reading *with a value*: 4 at +30 s, not the error at +45 s.
      expect(await pts('last')).toEqual([
        [0, 4, 3],
        [1, 7, 2],
        [3, 5, 1],
      ]);
      expect(await pts('count')).toEqual([
        [0, 3, 3],
        [1, 2, 2],
        [3, 1, 1],
      ]);

      // A 2-minute bucket: (1 + 2 + 4 + 10 + 7) / 5 = 4.8, then the +2 min bucket holds only 5.
      const two = await store.series({ ...q, every: 2 * MIN, agg: 'mean' });
      expect(two.points).toEqual([
        { time: T0, value: 4.8, count: 5 },
        { time: T0 + 2 * MIN, value: 5, count: 1 },
      ]);
      // A bucketed query without agg means the mean.
      expect((await store.series({ ...q, every: 2 * MIN })).agg).toBe('mean');
    });

    it('includes from and excludes to; buckets stay epoch-aligned when from is not', async () => {
      await store.write(FIXTURE);
      const raw = await store.series({ station: 'ST1', param: 'PM10', from: T0 + 15 * S, to: T0 + 60 * S });
      expect(raw.points.map((p) => (p.time - T0) / S)).toEqual([15, 30, 45]);
      expect(raw.observed).toBe(2);

      // [T0+15 s, T0+75 s): bucket T0 sees 2 and 4 (mean 3); bucket T0+1 min sees only 10 (75 s is excluded).
      const mean = await store.series({ station: 'ST1', param: 'PM10', from: T0 + 15 * S, to: T0 + 75 * S, every: MIN, agg: 'mean' });
      expect(mean.points).toEqual([
        { time: T0, value: 3, count: 2 },
        { time: T0 + MIN, value: 10, count: 1 },
      ]);
      expect(mean.observed).toBe(3);

      const none = await store.series({ station: 'ST1', param: 'PM10', from: T0 + 181 * S, to: T0 + 10 * MIN, every: MIN, agg: 'mean' });
      expect(none.points).toEqual([]);
      expect(none.observed).toBe(0);
    });

    it('filters by station and by param', async () => {
      await store.write([
        r('ST1', 'PM10', T0, 1),
        r('ST1', 'PM2_5', T0, 100),
        r('ST2', 'PM10', T0, 1000),
        r('ST10', 'PM10', T0, 10000), // a station whose id extends another's
        r('ST1', 'PM10', T0 + S, 3),
      ]);
      const s = await store.series({ station: 'ST1', param: 'PM10', from: T0, to: T0 + MIN, every: MIN, agg: 'max' });
      expect(s.points).toEqual([{ time: T0, value: 3, count: 2 }]);
      const pm25 = await store.series({ station: 'ST1', param: 'PM2_5', from: T0, to: T0 + MIN });
      expect(pm25.points.map((p) => p.value)).toEqual([100]);
      expect(await store.count('ST1')).toBe(3);
      expect(await store.count('ST2')).toBe(1);
      expect(await store.count('ST10')).toBe(1);
      expect(await store.count('nope')).toBe(0);
      expect(await store.count()).toBe(5);
    });

    it('keeps periods apart: raw samples and 60 s means do not mix', async () => {
      await store.write([
        r('ST1', 'SO2', T0 + 10 * S, 2),
        r('ST1', 'SO2', T0 + 20 * S, 4),
        r('ST1', 'SO2', T0, 50, { period_s: 60 }),
        r('ST1', 'SO2', T0 + MIN, 70, { period_s: 60 }),
        // Same time as a raw sample: a different identity, not an overwrite.
        r('ST1', 'SO2', T0 + 10 * S, 1000, { period_s: 300 }),
      ]);
      expect(await store.count('ST1')).toBe(5);
      const raw = await store.series({ station: 'ST1', param: 'SO2', from: T0, to: T0 + 2 * MIN, every: 2 * MIN, agg: 'mean' });
      expect(raw.points).toEqual([{ time: T0, value: 3, count: 2 }]);
      const means = await store.series({ station: 'ST1', param: 'SO2', from: T0, to: T0 + 2 * MIN, period_s: 60 });
      expect(means.points.map((p) => [p.time - T0, p.value])).toEqual([
        [0, 50],
        [MIN, 70],
      ]);
      const five = await store.series({ station: 'ST1', param: 'SO2', from: T0, to: T0 + 2 * MIN, period_s: 300, every: MIN, agg: 'max' });
      expect(five.points).toEqual([{ time: T0, value: 1000, count: 1 }]);
      expect(await store.latest({ station: 'ST1', param: 'SO2' })).toEqual([
        { station: 'ST1', param: 'SO2', time: T0 + 20 * S, value: 4, status: 0, qc_flags: 0, period_s: 0 },
      ]);
    });

    it('serves many stations', async () => {
      const params = ['CO', 'NO2', 'PM10'];
      const stations = Array.from({ length: 40 }, (_, i) => `HN-${String(i).padStart(2, '0')}`);
      const batch: StoredReading[] = [];
      stations.forEach((st, i) =>
        params.forEach((p, j) => {
          // two readings each; the second (newest) carries value i * 10 + j
          batch.push(r(st, p, T0, -1));
          batch.push(r(st, p, T0 + MIN, i * 10 + j));
        }),
      );
      await store.write(batch);
      expect(await store.count()).toBe(240);
      expect(await store.count('HN-07')).toBe(6);
      const latest = await store.latest();
      expect(latest).toHaveLength(120);
      expect(latest.map((x) => `${x.station}/${x.param}`)).toEqual(stations.flatMap((st) => params.map((p) => `${st}/${p}`)));
      expect(latest.every((x) => x.time === T0 + MIN)).toBe(true);
      const no2 = await store.latest({ param: 'NO2' });
      expect(no2).toHaveLength(40);
      expect(no2[23]).toMatchObject({ station: 'HN-23', value: 231 });
    });

    it('takes a 10,000-reading write in one call', async () => {
      // One reading a second, value = its index: 0 … 9999 over 2 h 46 min 40 s.
      const batch = Array.from({ length: 10_000 }, (_, i) => r('BIG', 'TEMP', T0 + i * S, i));
      await store.write(batch);
      expect(await store.count('BIG')).toBe(10_000);
      const hourly = await store.series({ station: 'BIG', param: 'TEMP', from: T0, to: T0 + 3 * 3600 * S, every: 3600 * S, agg: 'mean' });
      // Hours hold indices 0–3599, 3600–7199, 7200–9999: means are the midpoints.
      expect(hourly.points).toEqual([
        { time: T0, value: 1799.5, count: 3600 },
        { time: T0 + 3600 * S, value: 5399.5, count: 3600 },
        { time: T0 + 7200 * S, value: 8599.5, count: 2800 },
      ]);
      expect(hourly.observed).toBe(10_000);
      const raw = await store.series({ station: 'BIG', param: 'TEMP', from: T0, to: T0 + 10_000 * S });
      expect(raw.points).toHaveLength(10_000);
      expect(raw.points[9999]).toMatchObject({ time: T0 + 9999 * S, value: 9999 });
    });

    it('refuses a reading it cannot store faithfully, and writes nothing of that call', async () => {
      await expect(store.write([r('ST1', 'PM10', T0, 1), r('ST1', 'PM10', T0 + 0.5, 2)])).rejects.toThrow(/time/);
      await expect(store.write([r('ST1', 'PM10', T0, Number.NaN)])).rejects.toThrow(/value/);
      expect(await store.count()).toBe(0);
    });
  });
}
