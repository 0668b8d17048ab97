import { describe, expect, it } from 'vitest';
import type { Reading, Station } from './api.ts';
import { createStore, initialState, mergeLatest, type StoreEvent } from './store.ts';

const r = (param: string, time: number, value: number | null = 1, period_s = 0): Reading => ({
  station: 'st-01',
  param,
  time,
  value,
  status: 0,
  qc_flags: 0,
  period_s,
});
const station = (id: string, params: string[]): Station => ({
  id,
  name: id,
  medium: 'air',
  params,
  online: false,
  last_seen: null,
});

describe('mergeLatest', () => {
  it('keeps the newest raw reading per parameter', () => {
    const m = new Map<string, Reading>();
    expect(mergeLatest(m, [r('PM10', 2000, 5), r('PM10', 1000, 9), r('PM2_5', 1500)])).toBe(true);
    expect(m.get('PM10')?.value).toBe(5); // a replayed older reading does not win
    expect(mergeLatest(m, [r('PM10', 2000, 6)])).toBe(true); // same time: the later message wins
    expect(m.get('PM10')?.value).toBe(6);
    expect(mergeLatest(m, [r('PM10', 9000, 1, 300)])).toBe(false); // a 5-minute mean is not "the latest value"
    expect(m.get('PM10')?.time).toBe(2000);
  });
});

describe('store', () => {
  function setup() {
    const store = createStore(initialState('vi'));
    const events: StoreEvent['type'][] = [];
    store.subscribe((e) => events.push(e.type));
    store.setStations([station('st-01', ['PM2_5', 'PM10']), station('st-02', ['PH'])]);
    events.length = 0;
    return { store, events };
  }

  it('selects a station and picks its first parameter for the chart, keeping a shared one', () => {
    const { store, events } = setup();
    store.select('st-01');
    expect(store.state.chartParam).toBe('PM2_5');
    store.setChart('PM10', '1h');
    store.select('st-02');
    expect(store.state.chartParam).toBe('PH');
    expect(store.state.chartWindow).toBe('1h');
    store.select('nope');
    expect([store.state.selected, store.state.chartParam]).toEqual([null, null]);
    expect(events).toContain('selection');
  });

  it('moves last_seen forward with raw readings only, and learns parameters a station sends', () => {
    const { store, events } = setup();
    store.applyReadings('st-01', [r('PM10', 5000), r('PM10', 3000)]);
    expect(store.state.stations[0]?.last_seen).toBe(5000);
    store.applyReadings('st-01', [r('PM10', 9000, 1, 300)]);
    expect(store.state.stations[0]?.last_seen).toBe(5000);
    expect(store.state.latest.get('st-01')?.get('PM10')?.time).toBe(5000);
    store.applyReadings('st-01', [r('NO2', 6000)]);
    expect(store.state.stations[0]?.params).toEqual(['PM2_5', 'PM10', 'NO2']);
    expect(events).toEqual(['readings', 'readings', 'readings', 'stations']);
  });

  it('keeps readings of a station it does not know yet, for when the station list catches up', () => {
    const { store } = setup();
    store.applyReadings('st-09', [r('PM10', 1000)]);
    expect(store.state.latest.get('st-09')?.size).toBe(1);
  });

  it('updates online state from status events, and only emits on change', () => {
    const { store, events } = setup();
    store.setOnline('st-02', true);
    store.setOnline('st-02', true);
    store.setOnline('unknown', true);
    expect(store.state.stations[1]?.online).toBe(true);
    expect(events).toEqual(['stations']);
  });

  it('drops the selection when the station disappears from the list', () => {
    const { store } = setup();
    store.select('st-02');
    store.setStations([station('st-01', ['PM10'])]);
    expect(store.state.selected).toBeNull();
  });

  it('groups a /latest answer by station', () => {
    const { store } = setup();
    store.setLatest([r('PM10', 1000), { ...r('PH', 2000), station: 'st-02' }]);
    expect(store.state.latest.get('st-01')?.has('PM10')).toBe(true);
    expect(store.state.latest.get('st-02')?.get('PH')?.time).toBe(2000);
  });
});
