import { afterEach, describe, expect, it } from 'vitest';
import { SECRET, eventually, startTestIngest } from '../../ingest/test/helpers.ts';
import { startApp, type App } from '../src/app.ts';
import { QC_HUMIDITY } from '../src/node/channel.ts';
import { simRig, type SimRig } from '../src/platform/sim/rig.ts';

describe('MQTT mode into the real ingest', () => {
  let rig: SimRig | undefined;
  let app: App | undefined;
  let ingest: Awaited<ReturnType<typeof startTestIngest>> | undefined;
  afterEach(async () => {
    app?.stop();
    rig?.p.shutdown();
    await ingest?.cleanup();
  });

  it('station S1 authenticates with its secret and its windows are stored with status and flags', async () => {
    ingest = await startTestIngest();
    rig = simRig('real', {
      station: 'S1', mode: 'mqtt', samplePeriodMs: 200, reportPeriodMs: 1000, ds18b20: null, analog: null,
      mqtt: { host: '127.0.0.1', port: ingest.mqttPort, password: SECRET, keepaliveS: 10, batchMax: 20 },
    });
    rig.sht.t = 29.5;
    rig.sht.rh = 88; // humid → PM flagged
    rig.pms.pm25 = 44;
    app = startApp(rig.p, rig.cfg);
    await eventually(async () => ((await ingest!.store.count('S1')) >= 8 ? true : undefined), 15_000, 'S1 readings stored');
    const latest = await ingest.store.latest({ station: 'S1' });
    const by = Object.fromEntries(latest.map((r) => [r.param, r]));
    expect(Object.keys(by).sort()).toEqual(['PM10', 'PM2_5', 'RH', 'TEMP']);
    expect(by.PM2_5!.value).toBe(44);
    expect(by.PM2_5!.status).toBe(0);
    expect(by.PM2_5!.qc_flags & QC_HUMIDITY).toBe(QC_HUMIDITY);
    expect(by.TEMP!.value).toBeCloseTo(29.5, 1);
    expect(by.TEMP!.time % 1000).toBe(0);
    expect(by.TEMP!.period_s).toBe(0); // raw series: what latest, hourly means, AQI and alarms read
    expect(app.client!.lastRefusal).toBe(0);

    // The PMS stops: the next windows reach the ingest as null values with status 02.
    rig.pms.silent = true;
    await eventually(async () => {
      const l = await ingest!.store.latest({ station: 'S1', param: 'PM2_5' });
      return l[0] && l[0].status === 2 && l[0].value === null ? true : undefined;
    }, 10_000, 'PM2_5 with status 02');
  });

  it('a wrong secret is refused by the broker and nothing is stored', async () => {
    ingest = await startTestIngest();
    rig = simRig('real', {
      station: 'S1', mode: 'mqtt', samplePeriodMs: 200, reportPeriodMs: 1000, ds18b20: null, analog: null,
      mqtt: { host: '127.0.0.1', port: ingest.mqttPort, password: 'not-the-secret', keepaliveS: 10, batchMax: 20 },
    });
    app = startApp(rig.p, rig.cfg);
    await eventually(() => (app!.client!.lastRefusal !== 0 ? true : undefined), 10_000, 'CONNACK refusal');
    expect([4, 5]).toContain(app.client!.lastRefusal);
    expect(await ingest.store.count('S1')).toBe(0);
    expect(app.ring!.count).toBeGreaterThanOrEqual(0); // readings wait in RAM for a fixed secret
  });
});
