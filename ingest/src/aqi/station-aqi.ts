import { DAY_MS, HOUR_MS, hourlyMeans, vnDayOf, vnDayStart, vnIso } from '../aggregate/hourly-means.ts';
import type { Store } from '../store/store.ts';
import { AQI_POLLUTANTS, dailyAqi, dailyInputFromHours, hourlyAqi, type AqiPollutant, type AqiResult, type DailyRules, type HourlyInput } from './vn-aqi.ts';

export interface StationAqi extends AqiResult {
  station: string;
  kind: 'hourly' | 'daily';
  /** The hour (hourly: the current hour, c1) or the local day the index describes. */
  period: { from: string; to: string; from_ms: number; to_ms: number; day?: string };
  /** Valid hourly means found per pollutant in the hours used (12 for hourly PM, 1 for gases, 24 for daily). */
  hours: Record<AqiPollutant, number>;
}

/** AQI^h of the hour ending at or before `at` (c1 = that hour), from the Store's valid hourly means. */
export async function stationHourlyAqi(store: Store, station: string, at: number): Promise<StationAqi> {
  const end = Math.floor(at / HOUR_MS) * HOUR_MS;
  const from12 = end - 12 * HOUR_MS;
  const input: HourlyInput = {};
  const hours = {} as Record<AqiPollutant, number>;
  await Promise.all(
    AQI_POLLUTANTS.map(async (p) => {
      const series = (await hourlyMeans(store, station, p, from12, 12)).reverse(); // c1 first
      input[p] = series;
      hours[p] = (p === 'PM2_5' || p === 'PM10' ? series : series.slice(0, 1)).filter((v) => v !== null).length;
    }),
  );
  const result = hourlyAqi(input);
  const from = end - HOUR_MS;
  return { station, kind: 'hourly', period: { from: vnIso(from), to: vnIso(end), from_ms: from, to_ms: end }, hours, ...result };
}

/** AQI^d of a Vietnamese local day (`YYYY-MM-DD`): hours starting 00:00 … 23:00, i.e. ending 01:00 … 24:00. */
export async function stationDailyAqi(store: Store, station: string, day: string, rules: DailyRules = {}): Promise<StationAqi> {
  const start = vnDayStart(day);
  const input: HourlyInput = {};
  const hours = {} as Record<AqiPollutant, number>;
  let o3Before: (number | null)[] = [];
  await Promise.all(
    AQI_POLLUTANTS.map(async (p) => {
      if (p === 'O3') {
        const all = await hourlyMeans(store, station, p, start - 7 * HOUR_MS, 31);
        o3Before = all.slice(0, 7);
        input[p] = all.slice(7);
      } else {
        input[p] = await hourlyMeans(store, station, p, start, 24);
      }
      hours[p] = input[p]!.filter((v) => v !== null).length;
    }),
  );
  const result = dailyAqi(dailyInputFromHours(input, o3Before, rules));
  const end = start + DAY_MS;
  return { station, kind: 'daily', period: { from: vnIso(start), to: vnIso(end), from_ms: start, to_ms: end, day }, hours, ...result };
}

export { vnDayOf };
