import { catalogue, QcFlag, qcFlagNames } from '@envmon/protocol';
import { describe, expect, it } from 'vitest';
import type { StoredReading } from '../store/store.ts';
import { QualityControl } from './qc.ts';

const T0 = 1_790_000_000_000;
const MIN = 60_000;
const r = (param: string, minute: number, value: number | null, period_s = 0): StoredReading => ({
  station: 'S1',
  param,
  time: T0 + minute * MIN,
  value,
  status: 0,
  qc_flags: 0,
  period_s,
});

function qc(plausible?: [number, number]) {
  return new QualityControl({ catalogue: catalogue(), staleAfterMs: 10 * MIN, plausible: () => plausible });
}

describe('quality control flags', () => {
  it('flags a spike faster than the parameter allows, not a steady rise', () => {
    const q = qc();
    const series = [r('PM2_5', 0, 30), r('PM2_5', 1, 60), r('PM2_5', 2, 400), r('PM2_5', 3, 390)];
    q.apply(series, T0 + 3 * MIN);
    expect(series.map((s) => qcFlagNames(s.qc_flags))).toEqual([[], [], ['spike'], []]);
  });

  it('flags a flatline once the same value has lasted longer than the parameter allows', () => {
    const q = qc();
    const series = Array.from({ length: 130 }, (_, i) => r('PM10', i, 42));
    q.apply(series, T0 + 130 * MIN);
    const flagged = series.filter((s) => s.qc_flags & QcFlag.FLATLINE).map((s) => s.time);
    expect(flagged[0]).toBe(T0 + 121 * MIN);
    expect(flagged).toHaveLength(9);
  });

  it('flags stale (late) data and implausible values, and never touches FLOW spikes', () => {
    const q = qc([0, 300]);
    const late = r('PM10', 0, 350);
    q.apply([late], T0 + 30 * MIN);
    expect(qcFlagNames(late.qc_flags)).toEqual(['range', 'stale']);
    const flow = [r('FLOW', 0, 0), r('FLOW', 1, 900)];
    qc().apply(flow, T0 + MIN);
    expect(flow[1]!.qc_flags).toBe(0);
  });

  it('does not compare late readings with newer neighbours', () => {
    const q = qc();
    q.apply([r('O3', 10, 50)], T0 + 10 * MIN);
    const late = r('O3', 5, 900);
    q.apply([late], T0 + 10 * MIN);
    expect(late.qc_flags & QcFlag.SPIKE).toBe(0);
  });
});
