/**
 * The page's one state object and the events that tell views what changed. Views read the state and re-render
 * their part; nothing but the functions here changes it. Later views (map, AQI, alarms) subscribe the same way.
 */
import type { Alarm, Aqi, Lang, Limits, Parameter, Reading, ServerConfig, Session, Station } from './api.ts';
import type { WindowId } from './live-series.ts';

export type Connection = 'connecting' | 'live' | 'reconnecting';
/** Overview (map and list of all stations) or one station's page. */
export type View = 'overview' | 'station';

export interface State {
  lang: Lang;
  /** Parameter catalogue by code. */
  params: Map<string, Parameter>;
  /** In the order the API lists them. */
  stations: Station[];
  /** Newest reading per station and parameter. */
  latest: Map<string, Map<string, Reading>>;
  selected: string | null;
  chartParam: string | null;
  chartWindow: WindowId;
  connection: Connection;
  /** Last load error, shown in a banner until the next successful load. */
  error: string | null;
  view: View;
  /** Who is signed in (null until the first answer). */
  session: Session | null;
  server: ServerConfig | null;
  limits: Limits | null;
  /** Latest VN_AQI per station, hourly and daily. */
  aqi: Map<string, { hourly?: Aqi; daily?: Aqi }>;
  /** Alarms of the selected station; null when they could not be read (not signed in). */
  alarms: Alarm[] | null;
}

export type StoreEvent =
  | { type: 'lang' | 'catalogue' | 'stations' | 'selection' | 'chart' | 'connection' | 'error' }
  | { type: 'view' | 'session' | 'server' | 'limits' | 'alarms' }
  | { type: 'aqi'; station: string }
  | { type: 'readings'; station: string; readings: Reading[] };

export type Listener = (e: StoreEvent) => void;

export function initialState(lang: Lang): State {
  return {
    lang,
    params: new Map(),
    stations: [],
    latest: new Map(),
    selected: null,
    chartParam: null,
    chartWindow: '15m',
    connection: 'connecting',
    error: null,
    view: 'overview',
    session: null,
    server: null,
    limits: null,
    aqi: new Map(),
    alarms: null,
  };
}

/**
 * Keeps the newest raw reading per parameter, as `/latest` does: gateway means (period_s 60, 300) travel on the
 * same stream but are not "the latest value". Older readings (a gateway replaying its outbox after an outage)
 * do not replace a newer one; at equal times the later message wins, as the store's idempotent write does.
 * Returns whether anything changed.
 */
export function mergeLatest(byParam: Map<string, Reading>, readings: readonly Reading[]): boolean {
  let changed = false;
  for (const r of readings) {
    if (r.period_s !== 0) continue;
    const cur = byParam.get(r.param);
    if (!cur || r.time >= cur.time) {
      byParam.set(r.param, r);
      changed = true;
    }
  }
  return changed;
}

export function createStore(state: State) {
  const listeners = new Set<Listener>();
  const emit = (e: StoreEvent) => {
    for (const l of listeners) l(e);
  };
  const station = (id: string) => state.stations.find((s) => s.id === id);

  const store = {
    state: state as Readonly<State>,

    subscribe(l: Listener): () => void {
      listeners.add(l);
      return () => listeners.delete(l);
    },

    setLang(lang: Lang): void {
      if (lang === state.lang) return;
      state.lang = lang;
      emit({ type: 'lang' });
    },

    setCatalogue(params: readonly Parameter[]): void {
      state.params = new Map(params.map((p) => [p.code, p]));
      emit({ type: 'catalogue' });
    },

    setStations(stations: Station[]): void {
      state.stations = stations;
      emit({ type: 'stations' });
      // A selected station that disappeared (removed from config) would leave a dead panel.
      if (state.selected !== null && !station(state.selected)) store.select(null);
    },

    /** Replaces the latest values (an initial load or a resync after the stream was down). */
    setLatest(readings: readonly Reading[]): void {
      const byStation = new Map<string, Reading[]>();
      for (const r of readings) {
        const list = byStation.get(r.station) ?? [];
        list.push(r);
        byStation.set(r.station, list);
      }
      for (const [id, list] of byStation) {
        const m = new Map<string, Reading>();
        mergeLatest(m, list);
        state.latest.set(id, m);
        emit({ type: 'readings', station: id, readings: list });
      }
    },

    /**
     * Readings from the live stream: newest values, and the station's last-seen time moves forward. Both follow
     * the ingest's own rules (StationRegistry): last_seen counts raw readings only, and a parameter the station
     * was not configured with is added to its list once it sends one.
     */
    applyReadings(stationId: string, readings: Reading[]): void {
      if (readings.length === 0) return;
      let m = state.latest.get(stationId);
      if (!m) state.latest.set(stationId, (m = new Map()));
      mergeLatest(m, readings);
      const s = station(stationId);
      let paramsChanged = false;
      if (s) {
        for (const r of readings) {
          if (r.period_s === 0 && (s.last_seen === null || r.time > s.last_seen)) s.last_seen = r.time;
          if (!s.params.includes(r.param)) {
            s.params.push(r.param);
            paramsChanged = true;
          }
        }
      }
      emit({ type: 'readings', station: stationId, readings });
      if (paramsChanged) emit({ type: 'stations' });
    },

    setOnline(stationId: string, online: boolean): void {
      const s = station(stationId);
      if (!s || s.online === online) return;
      s.online = online;
      emit({ type: 'stations' });
    },

    /** Selecting a station also picks the chart parameter: keep the current one if the station has it. */
    select(id: string | null): void {
      const s = id === null ? undefined : station(id);
      state.selected = s ? s.id : null;
      if (!s) state.chartParam = null;
      else if (state.chartParam === null || !s.params.includes(state.chartParam)) state.chartParam = s.params[0] ?? null;
      emit({ type: 'selection' });
      emit({ type: 'chart' });
    },

    setChart(param: string | null, window: WindowId): void {
      if (param === state.chartParam && window === state.chartWindow) return;
      state.chartParam = param;
      state.chartWindow = window;
      emit({ type: 'chart' });
    },

    setConnection(c: Connection): void {
      if (c === state.connection) return;
      state.connection = c;
      emit({ type: 'connection' });
    },

    setView(view: View): void {
      if (view === state.view) return;
      state.view = view;
      emit({ type: 'view' });
    },

    setSession(session: Session): void {
      state.session = session;
      emit({ type: 'session' });
    },

    setServer(server: ServerConfig): void {
      state.server = server;
      emit({ type: 'server' });
    },

    setLimits(limits: Limits): void {
      state.limits = limits;
      emit({ type: 'limits' });
    },

    setAqi(aqi: Aqi): void {
      const cur = state.aqi.get(aqi.station) ?? {};
      state.aqi.set(aqi.station, { ...cur, [aqi.kind]: aqi });
      emit({ type: 'aqi', station: aqi.station });
    },

    setAlarms(alarms: Alarm[] | null): void {
      state.alarms = alarms;
      emit({ type: 'alarms' });
    },

    /** An alarm changed (acknowledged here): replace it in the list. */
    updateAlarm(alarm: Alarm): void {
      if (!state.alarms) return;
      state.alarms = state.alarms.map((a) => (a.id === alarm.id ? alarm : a));
      emit({ type: 'alarms' });
    },

    setError(message: string | null): void {
      if (message === state.error) return;
      state.error = message;
      emit({ type: 'error' });
    },
  };
  return store;
}

export type Store = ReturnType<typeof createStore>;
