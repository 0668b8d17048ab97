import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { DAY_MS, vnDayOf } from '../aggregate/hourly-means.ts';
import { stationDailyAqi, stationHourlyAqi } from '../aqi/station-aqi.ts';
import type { Store } from '../store/store.ts';
import { parseTime } from './readings.ts';

/**
 * `GET /aqi?station=&kind=hourly|daily&at=`: VN_AQI (QĐ 1459/QĐ-TCMT) of one station, computed on request from
 * the Store's valid hourly means. The JSON shape is documented in ingest/README.md ("VN_AQI").
 *
 *   hourly  `at` = a time (Unix ms or ISO 8601; default now): the hour ending at or before it
 *   daily   `at` = a Vietnamese local day YYYY-MM-DD, or a time (its local day); default yesterday (the last full day)
 */
export function aqiRoutes(store: Store, hasStation: (id: string) => boolean): Hono {
  const app = new Hono();
  app.get('/aqi', async (c) => {
    const station = c.req.query('station');
    if (!station) throw new HTTPException(400, { message: 'query parameter "station" is required' });
    if (!hasStation(station)) throw new HTTPException(404, { message: `no station "${station.slice(0, 64)}"` });
    const kind = c.req.query('kind') ?? 'hourly';
    const at = c.req.query('at');
    if (kind === 'hourly') return c.json(await stationHourlyAqi(store, station, at ? parseTime(at, 'at') : Date.now()));
    if (kind === 'daily') {
      const day = at === undefined ? vnDayOf(Date.now() - DAY_MS) : /^\d{4}-\d{2}-\d{2}$/.test(at) ? at : vnDayOf(parseTime(at, 'at'));
      try {
        return c.json(await stationDailyAqi(store, station, day));
      } catch (err) {
        if (err instanceof RangeError) throw new HTTPException(400, { message: `"at": ${err.message}` });
        throw err;
      }
    }
    throw new HTTPException(400, { message: '"kind" must be hourly or daily' });
  });
  return app;
}
