import { DeviceStatus, type Reading } from '@envmon/protocol';

/**
 * Means over fixed clock-aligned periods (60 s and 300 s by default) beside the raw samples, as TT10/2021 files
 * and QCVN comparisons use them. Per parameter and period, stamped with the START of the period:
 *
 * - value: the mean of the samples with status 00; if there were none, of the samples with status 01 (the mean is
 *   then 01); if no sample had a value, null with status 02;
 * - samples: how many samples went into the mean;
 * - coverage: samples / samples expected in the period (period / the device's poll interval), at most 1;
 * - qc_flags: the flags of the samples that went into the mean, OR-ed (e.g. QcFlag.HUMIDITY from a sensor node:
 *   a mean with one humid sample in it is marked humid).
 *
 * A period is closed when a sample of a later period arrives for that parameter, or by `flush(now)` once the
 * period has ended and one poll interval (plus a grace) has passed, so a device that stops still gets its mean.
 */
export interface Averager {
  add(readings: readonly Reading[]): Reading[];
  /** Closes periods that ended before `now - grace`; returns their means. */
  flush(now: number): Reading[];
}

interface Acc {
  start: number;
  good: number;
  goodN: number;
  goodFlags: number;
  cal: number;
  calN: number;
  calFlags: number;
}

export function createAverager(periodsS: readonly number[], intervalOf: (param: string) => number, graceMs = 2000): Averager {
  const open = new Map<string, Acc>(); // `${period}|${param}`

  const close = (param: string, periodS: number, a: Acc): Reading => {
    const expected = Math.max(1, Math.round((periodS * 1000) / intervalOf(param)));
    const base = { param, time: a.start, qc_flags: 0, period_s: periodS };
    if (a.goodN > 0) return { ...base, qc_flags: a.goodFlags, value: tidy(a.good / a.goodN), status: DeviceStatus.MEASURING, samples: a.goodN, coverage: Math.min(1, a.goodN / expected) };
    if (a.calN > 0) return { ...base, qc_flags: a.calFlags, value: tidy(a.cal / a.calN), status: DeviceStatus.CALIBRATING, samples: a.calN, coverage: Math.min(1, a.calN / expected) };
    return { ...base, value: null, status: DeviceStatus.DEVICE_ERROR, samples: 0, coverage: 0 };
  };

  return {
    add(readings) {
      const out: Reading[] = [];
      for (const r of readings) {
        if (r.period_s !== 0) continue;
        for (const p of periodsS) {
          const key = `${p}|${r.param}`;
          const start = Math.floor(r.time / (p * 1000)) * p * 1000;
          let a = open.get(key);
          if (a && a.start !== start) {
            if (start < a.start) continue; // a late sample of a closed period: the mean is already out
            out.push(close(r.param, p, a));
            a = undefined;
          }
          if (!a) {
            a = { start, good: 0, goodN: 0, goodFlags: 0, cal: 0, calN: 0, calFlags: 0 };
            open.set(key, a);
          }
          if (r.value === null) continue;
          if (r.status === DeviceStatus.MEASURING) {
            a.good += r.value;
            a.goodN++;
            a.goodFlags |= r.qc_flags;
          } else if (r.status === DeviceStatus.CALIBRATING) {
            a.cal += r.value;
            a.calN++;
            a.calFlags |= r.qc_flags;
          }
        }
      }
      return out;
    },
    flush(now) {
      const out: Reading[] = [];
      for (const [key, a] of open) {
        const [p, param] = [Number(key.slice(0, key.indexOf('|'))), key.slice(key.indexOf('|') + 1)];
        if (a.start + p * 1000 + intervalOf(param) + graceMs <= now) {
          out.push(close(param, p, a));
          open.delete(key);
        }
      }
      return out;
    },
  };
}

function tidy(v: number): number {
  return Number(v.toPrecision(7));
}
