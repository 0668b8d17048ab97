import type { StationConfig } from '../config/config.ts';
import type { LiveHub } from './hub.ts';

export interface StationView {
  id: string;
  name: string;
  medium: StationConfig['medium'];
  params: string[];
  /** From the gateway's retained birth / last will on envmon/v1/<station>/status. */
  online: boolean;
  /** Source time of the newest accepted reading, Unix ms. */
  last_seen: number | null;
  location: StationConfig['location'] | null;
}

/** What the ingest knows of each configured station right now, kept current from the live hub. */
export class StationRegistry {
  private readonly views = new Map<string, StationView>();

  constructor(stations: readonly StationConfig[], hub: LiveHub) {
    for (const s of stations) {
      this.views.set(s.id, {
        id: s.id,
        name: s.name ?? s.id,
        medium: s.medium,
        params: [...s.params],
        online: false,
        last_seen: null,
        location: s.location ?? null,
      });
    }
    hub.subscribe((e) => {
      const v = this.views.get(e.station);
      if (!v) return;
      if (e.type === 'status') v.online = e.online;
      else if (e.type === 'readings') {
        for (const r of e.readings) {
          if (r.period_s === 0 && (v.last_seen === null || r.time > v.last_seen)) v.last_seen = r.time;
          if (!v.params.includes(r.param)) v.params.push(r.param);
        }
      }
    });
  }

  /** Seeds last_seen from the store at start-up so a restart does not show every station as never seen. */
  seedLastSeen(station: string, time: number): void {
    const v = this.views.get(station);
    if (v && (v.last_seen === null || time > v.last_seen)) v.last_seen = time;
  }

  list(): StationView[] {
    return [...this.views.values()];
  }

  get(id: string): StationView | undefined {
    return this.views.get(id);
  }
}
