/**
 * A station's state as the agency reads it at a glance: offline (its gateway's last will, or nothing at all),
 * fault (an analyser reports device error, TT10 02), calibrating (TT10 01), or online. Pure, so it is unit-tested.
 */
import type { Reading, Station } from './api.ts';

export type StationState = 'online' | 'offline' | 'calibrating' | 'fault';

/** Worst first: a station with one failed analyser is in fault even while the others measure. */
export function stationState(station: Pick<Station, 'online'>, latest: ReadonlyMap<string, Reading> | undefined): StationState {
  if (!station.online) return 'offline';
  let calibrating = false;
  for (const r of latest?.values() ?? []) {
    if (r.status === 2) return 'fault';
    if (r.status === 1) calibrating = true;
  }
  return calibrating ? 'calibrating' : 'online';
}

export const STATE_ORDER: Record<StationState, number> = { fault: 0, offline: 1, calibrating: 2, online: 3 };
