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
  private readonly tracks = new Map<string, Track>();

  constructor(private readonly o: QcOptions) {}

  apply(readings: StoredReading[], receivedAt: number): void {
    for (const r of readings) {
      if (receivedAt - r.time > this.o.staleAfterMs) r.qc_flags |= QcFlag.STALE;
      if (r.value === null) continue;
      const plausible = this.o.plausible(r.station, r.param);
      if (plausible && (r.value < plausible[0] || r.value > plausible[1])) r.qc_flags |= QcFlag.RANGE;
      if (r.period_s !== 0) continue;
      const qc = this.o.catalogue.get(r.param)?.qc;
      const key = `${r.station}\u0000${r.param}`;
      const prev = this.tracks.get(key);
      if (prev && r.time <= prev.time) continue; // late or repeated: no neighbour to compare with
      if (!prev) {
        this.tracks.set(key, { time: r.time, value: r.value, sameSince: r.time });
        continue;
      }
      const minutes = Math.max((r.time - prev.time) / 60_000, 1 / 60);
      if (qc?.max_step_per_min !== undefined && Math.abs(r.value - prev.value) / minutes > qc.max_step_per_min) {
        r.qc_flags |= QcFlag.SPIKE;
      }
      const sameSince = r.value === prev.value ? prev.sameSince : r.time;
      if (qc?.flatline_min !== undefined && r.time - sameSince > qc.flatline_min * 60_000) r.qc_flags |= QcFlag.FLATLINE;
      this.tracks.set(key, { time: r.time, value: r.value, sameSince });
    }
  }
}
