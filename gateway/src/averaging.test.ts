import { DeviceStatus, QcFlag, type Reading } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import { createAverager } from './averaging.ts';
import { createCalibration } from './calibration.ts';

const T0 = Date.UTC(2026, 0, 5, 3, 0, 0); // a Monday, 10:00 in Vietnam
const raw = (param: string, t: number, value: number | null, status: DeviceStatus = DeviceStatus.MEASURING): Reading => ({ param, time: t, value, status, qc_flags: 0, period_s: 0 });

describe('averaging', () => {
  it('emits 1- and 5-minute means with sample count and coverage, stamped with the period start', () => {
    const a = createAverager([60, 300], () => 10_000);
    const out: Reading[] = [];
    // 6 samples a minute expected; minute 0 gets all 6 (one of them missing), minute 1 gets 3.
    for (let i = 0; i < 6; i++) out.push(...a.add([raw('PH', T0 + i * 10_000, i === 2 ? null : 7 + i * 0.1)]));
    for (let i = 0; i < 3; i++) out.push(...a.add([raw('PH', T0 + 60_000 + i * 10_000, 8)]));
    expect(out.map((r) => [r.period_s, r.time])).toEqual([[60, T0]]); // the first sample of minute 1 closed minute 0
    out.push(...a.add([raw('PH', T0 + 120_000, 9)]));
    const m1 = out.filter((r) => r.period_s === 60);
    expect(m1).toHaveLength(2);
    expect(m1[0]).toMatchObject({ time: T0, period_s: 60, status: 0, samples: 5, coverage: 5 / 6 });
    expect(m1[0]!.value).toBeCloseTo((7 + 7.1 + 7.3 + 7.4 + 7.5) / 5, 6);
    expect(m1[1]).toMatchObject({ time: T0 + 60_000, value: 8, samples: 3, coverage: 0.5 });
    // The 5-minute mean closes by time once the period and one interval (+ grace) have passed.
    // At 5:05 only minute 2's mean is due; the 5-minute period waits for its last poll interval and the grace.
    expect(a.flush(T0 + 300_000 + 5000).map((r) => [r.period_s, r.time, r.value])).toEqual([[60, T0 + 120_000, 9]]);
    const flushed = a.flush(T0 + 300_000 + 12_001);
    const m5 = flushed.find((r) => r.period_s === 300)!;
    expect(m5).toMatchObject({ time: T0, samples: 9, coverage: 9 / 30 });
    expect(m5.value).toBeCloseTo((7 + 7.1 + 7.3 + 7.4 + 7.5 + 8 * 3 + 9) / 9, 6);
  });

  it('uses calibration samples only when there were no good ones, and gives 02 when nothing had a value', () => {
    const a = createAverager([60], () => 20_000);
    a.add([raw('COD', T0, 50, DeviceStatus.CALIBRATING), raw('COD', T0 + 20_000, 80), raw('NH4', T0, 3, DeviceStatus.CALIBRATING), raw('TSS', T0, null, DeviceStatus.DEVICE_ERROR)]);
    const out = a.add([raw('COD', T0 + 60_000, 1), raw('NH4', T0 + 60_000, 1), raw('TSS', T0 + 60_000, 1)]);
    const by = Object.fromEntries(out.map((r) => [r.param, r]));
    expect(by.COD).toMatchObject({ value: 80, status: 0, samples: 1 });
    expect(by.NH4).toMatchObject({ value: 3, status: 1, samples: 1, coverage: 1 / 3 });
    expect(by.TSS).toMatchObject({ value: null, status: 2, samples: 0, coverage: 0 });
  });
});

describe('averaging QC flags', () => {
  it('carries the flags of the samples that went into a mean (a humid PM sample marks its mean humid)', () => {
    const a = createAverager([60], () => 20_000);
    const humid = (t: number, v: number, status: DeviceStatus = DeviceStatus.MEASURING): Reading => ({ ...raw('PM2_5', t, v, status), qc_flags: QcFlag.HUMIDITY });
    a.add([raw('PM2_5', T0, 30), humid(T0 + 20_000, 50), raw('PM10', T0, 40), { ...raw('PH', T0, 7, DeviceStatus.CALIBRATING), qc_flags: QcFlag.HUMIDITY }, raw('PH', T0 + 20_000, 7.2)]);
    const by = Object.fromEntries(a.add([raw('PM2_5', T0 + 60_000, 1), raw('PM10', T0 + 60_000, 1), raw('PH', T0 + 60_000, 1)]).map((r) => [r.param, r]));
    expect(by.PM2_5).toMatchObject({ value: 40, samples: 2, qc_flags: QcFlag.HUMIDITY });
    expect(by.PM10).toMatchObject({ qc_flags: 0 });
    expect(by.PH).toMatchObject({ value: 7.2, status: 0, qc_flags: 0 }); // the flagged sample was a calibration one, not used
  });
});

describe('calibration', () => {
  it('marks 00 readings 01 inside a scheduled local-time window on its weekdays, never hiding an 02', () => {
    // 02:00–02:15 Vietnam time (19:00–19:15 UTC the day before), Mondays and Thursdays.
    const c = createCalibration([{ params: ['PH'], atMin: 120, durationMin: 15, weekdays: [1, 4] }], 420);
    const mon0205 = Date.UTC(2026, 0, 4, 19, 5); // Monday 5 Jan 02:05 local
    expect(c.apply([raw('PH', mon0205, 7), raw('COD', mon0205, 9), raw('PH', mon0205, null, 2)]).map((r) => r.status)).toEqual([1, 0, 2]);
    expect(c.apply([raw('PH', mon0205 + 11 * 60_000, 7)])[0]!.status).toBe(0); // 02:16
    expect(c.apply([raw('PH', mon0205 + 86_400_000, 7)])[0]!.status).toBe(0); // Tuesday
    expect(c.active(mon0205)).toEqual(['PH']);
  });

  it('follows remote commands, with or without a duration, and windows across midnight', () => {
    const c = createCalibration([{ params: ['NH4'], atMin: 23 * 60 + 50, durationMin: 20, weekdays: undefined }], 420);
    const local0005 = Date.UTC(2026, 0, 5, 17, 5); // 00:05 local: inside yesterday's 23:50 window
    expect(c.apply([raw('NH4', local0005, 1)])[0]!.status).toBe(1);
    c.set('COD', true, T0 + 60_000);
    expect(c.apply([raw('COD', T0, 1)])[0]!.status).toBe(1);
    expect(c.apply([raw('COD', T0 + 60_000, 1)])[0]!.status).toBe(0);
    c.set('TSS', true);
    expect(c.active(T0 + 1e9)).toContain('TSS');
    c.set('TSS', false);
    expect(c.apply([raw('TSS', T0, 1)])[0]!.status).toBe(0);
  });
});
