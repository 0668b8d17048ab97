import { QcFlag, type Catalogue } from '@envmon/protocol';
import type { StoredReading } from '../store/store.ts';

export interface QcOptions {
  catalogue: Catalogue;
  /** Readings arriving later than this after their source time are flagged STALE (backfill, not live). */
  staleAfterMs: number;
  /** Per station, per parameter plausible range [min, max]: outside it a value is kept but flagged RANGE. */
  plausible: (station: string, param: string) => readonly [number, number] | undefined;
}

interface Track {
  time: number;
  value: number;
  /** Since when the value has not changed. */
  sameSince: number;
}

/**
 * Quality control: flags, never drops. A flagged value is stored with its flags so an analyst can judge it;
 * the regulation's "nothing faked" means we neither delete nor correct.
 *
 * Spike and flatline need the previous value of the same series. That state lives in memory, per
 * (station, param) for raw readings, and only moves forward in time: late readings (backfill) are checked for
 * range and staleness but not compared with newer neighbours. After a restart the first reading of each series
 * starts a new track, so a spike exactly across a restart goes unflagged — a documented, accepted gap.
 */
export class QualityControl {
  /** Per station, per parameter: the series' last raw value. Nested maps: no key string built per reading. */
  private readonly tracks = new Map<string, Map<string, Track>>();

  constructor(private readonly o: QcOptions) {}

  apply(readings: StoredReading[], receivedAt: number): void {
    // What a reading is checked against depends only on its (station, param), and a batch is long runs of few of
    // them: looked up again only when the pair changes.
    let station: string | undefined;
    let param: string | undefined;
    let plausible: readonly [number, number] | undefined;
    let maxStep: number | undefined;
    let flatlineMs: number | undefined;
    let byParam: Map<string, Track> | undefined;
    for (const r of readings) {
      if (receivedAt - r.time > this.o.staleAfterMs) r.qc_flags |= QcFlag.STALE;
      if (r.value === null) continue;
      if (r.station !== station || r.param !== param) {
        station = r.station;
        param = r.param;
        plausible = this.o.plausible(station, param);
        const qc = this.o.catalogue.get(param)?.qc;
        maxStep = qc?.max_step_per_min;
        flatlineMs = qc?.flatline_min === undefined ? undefined : qc.flatline_min * 60_000;
        byParam = this.tracks.get(station);
        if (byParam === undefined) this.tracks.set(station, (byParam = new Map()));
      }
      if (plausible && (r.value < plausible[0] || r.value > plausible[1])) r.qc_flags |= QcFlag.RANGE;
      if (r.period_s !== 0) continue;
      const prev = byParam!.get(r.param);
      if (!prev) {
        byParam!.set(r.param, { time: r.time, value: r.value, sameSince: r.time });
        continue;
      }
      if (r.time <= prev.time) continue; // late or repeated: no neighbour to compare with
      const minutes = Math.max((r.time - prev.time) / 60_000, 1 / 60);
      if (maxStep !== undefined && Math.abs(r.value - prev.value) / minutes > maxStep) r.qc_flags |= QcFlag.SPIKE;
      const sameSince = r.value === prev.value ? prev.sameSince : r.time;
      if (flatlineMs !== undefined && r.time - sameSince > flatlineMs) r.qc_flags |= QcFlag.FLATLINE;
      prev.time = r.time;
      prev.value = r.value;
      prev.sameSince = sameSince;
    }
  }
}
