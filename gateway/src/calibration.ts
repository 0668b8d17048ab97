import { DeviceStatus, type Reading } from '@envmon/protocol';
import type { CalibrationWindow } from './config.ts';

/**
 * Which parameters are being calibrated right now, from two sources: the schedule in the config (a daily or
 * weekly window in station local time, e.g. the sonde's 02:00 cleaning/calibration cycle) and remote commands
 * (`calibrate` on/off per parameter, optionally for a duration). A reading that would be 00 becomes 01 while its
 * parameter is calibrating; a device error (02) always wins.
 */
export interface Calibration {
  apply(readings: Reading[]): Reading[];
  /** Remote command: `on` until `untilMs` (undefined: until turned off). */
  set(param: string, on: boolean, untilMs?: number): void;
  /** Parameters calibrating at `time`, sorted. */
  active(time: number): string[];
}

const DAY_MIN = 24 * 60;

export function createCalibration(windows: readonly CalibrationWindow[], utcOffsetMin: number): Calibration {
  const manual = new Map<string, number>(); // param → until (Infinity: until turned off)

  const scheduled = (param: string, time: number): boolean => {
    const localMin = Math.floor((time + utcOffsetMin * 60_000) / 60_000);
    for (const w of windows) {
      if (!w.params.includes(param)) continue;
      // Today's window, and yesterday's in case it runs past midnight.
      for (const dayBack of [0, 1]) {
        const day = Math.floor(localMin / DAY_MIN) - dayBack;
        const start = day * DAY_MIN + w.atMin;
        if (localMin < start || localMin >= start + w.durationMin) continue;
        const isoWeekday = ((((day + 3) % 7) + 7) % 7) + 1; // day 0 (1970-01-01) was a Thursday
        if (!w.weekdays || w.weekdays.includes(isoWeekday)) return true;
      }
    }
    return false;
  };

  const isOn = (param: string, time: number): boolean => {
    const until = manual.get(param);
    if (until !== undefined) {
      if (time < until) return true;
      manual.delete(param);
    }
    return scheduled(param, time);
  };

  return {
    apply(readings) {
      if (windows.length === 0 && manual.size === 0) return readings;
      return readings.map((r) => (r.status === DeviceStatus.MEASURING && isOn(r.param, r.time) ? { ...r, status: DeviceStatus.CALIBRATING } : r));
    },
    set(param, on, untilMs) {
      if (on) manual.set(param, untilMs ?? Infinity);
      else manual.delete(param);
    },
    active(time) {
      const params = new Set<string>([...manual.keys()].filter((p) => isOn(p, time)));
      for (const w of windows) for (const p of w.params) if (scheduled(p, time)) params.add(p);
      return [...params].sort();
    },
  };
}
