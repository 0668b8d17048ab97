/**
 * Entry point: creates the store, mounts the views into index.html, loads the catalogue, stations, limits and
 * session, and connects the live stream. Views never talk to each other; they react to store events.
 *
 * Two views share one page: the overview (map and list, `#` or no hash) and a station's page
 * (`#station=<id>`, optionally `&range=30d&mode=raw&params=PM2_5,PM10` for its history chart).
 */
import { createApi, type Aqi } from './api.ts';
import { mountAlarms } from './alarms-panel.ts';
import { measuresPm, mountAqiPanel } from './aqi-panel.ts';
import { mountCompleteness } from './completeness.ts';
import { mountCompliance } from './compliance-panel.ts';
import { byId, h } from './dom.ts';
import { mountChart } from './chart.ts';
import { mountExport } from './export-panel.ts';
import { mountHeader } from './header.ts';
import { mountHistory } from './history.ts';
import { loadLang, saveLang, t } from './i18n.ts';
import { mountLatestTable } from './latest-table.ts';
import { mountOverview } from './overview.ts';
import { mountStationList } from './station-list.ts';
import { createStore, initialState } from './store.ts';
import { connectStream } from './stream.ts';

const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return undefined; // storage can be blocked (privacy settings, sandboxed kiosk); the page still works
  }
})();

const api = createApi();
const store = createStore(initialState(loadLang(storage)));
performance.mark('envmon:start');

mountHeader(byId('header'), store, api);
const overviewRoot = byId('overview');
const stationRoot = byId('station-page');
const overview = mountOverview(overviewRoot, store);
const stationList = mountStationList(byId('stations'), store);
const latestTable = mountLatestTable(byId('latest'), store);
mountAqiPanel(byId('aqi'), store);
const chart = mountChart(byId('chart'), store, api);
const alarms = mountAlarms(byId('alarms'), store, api);
mountHistory(byId('history'), store, api);
mountCompleteness(byId('completeness'), store, api);
mountCompliance(byId('compliance'), store, api);
mountExport(byId('export'), store);
const banner = byId('banner');

store.subscribe((e) => {
  const { lang, error, selected, view } = store.state;
  if (e.type === 'lang') {
    saveLang(storage, lang);
    applyDocumentLang();
  }
  if (e.type === 'lang' || e.type === 'error') {
    banner.hidden = error === null;
    banner.replaceChildren(error === null ? '' : h('span', {}, t(lang, 'error.load', { message: error })));
  }
  if (e.type === 'view') {
    overviewRoot.hidden = view !== 'overview';
    stationRoot.hidden = view !== 'station';
    document.body.dataset.view = view;
  }
  // The station lives in the URL so a wall screen can be bookmarked to one station; other hash keys are kept.
  if (e.type === 'selection' && view === 'station' && selected !== null && stationFromHash() !== selected) {
    const q = new URLSearchParams(location.hash.slice(1));
    q.set('station', selected);
    history.replaceState(null, '', `#${q.toString()}`);
  }
  if (e.type === 'selection' && selected !== null) void loadAqi(selected);
});

function applyDocumentLang(): void {
  document.documentElement.lang = store.state.lang;
  document.title = t(store.state.lang, 'app.title');
}

function stationFromHash(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('station');
}

/** Shows the view the URL names. */
function route(): void {
  const id = stationFromHash();
  if (id !== null && store.state.stations.some((s) => s.id === id)) {
    store.setView('station');
    if (id !== store.state.selected) store.select(id);
  } else if (id === null) {
    store.setView('overview');
  }
}

let inFlight: Promise<void> | null = null;
let again = false;
let firstLoad = true;

/**
 * Loads stations and latest values (and the catalogue until it has been loaded once). Called at start and each
 * time the stream (re)opens; calls that overlap a running load are folded into one more load after it.
 */
function refresh(): Promise<void> {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = (async () => {
    try {
      // One round trip: the catalogue (first load only), stations and latest values in parallel.
      const [catalogue, stations, latest, limits] = await Promise.all([
        store.state.params.size === 0 ? api.parameters() : null,
        api.stations(),
        api.latest(),
        // Limits colour the values: on the first load they come with them, so the list is drawn once.
        firstLoad ? api.limits().catch(() => null) : null,
      ]);
      if (catalogue) store.setCatalogue(catalogue);
      if (limits) store.setLimits(limits);
      // Latest values before stations, so that views draw each station once, with its values.
      store.setLatest(latest);
      store.setStations(stations);
      store.setError(null);
      route();
      if (firstLoad) {
        firstLoad = false;
        performance.mark('envmon:overview-ready');
        document.body.dataset.ready = 'true';
        // The indices are secondary on the overview: fetched once the page is drawn and idle.
        setTimeout(() => void loadAllAqi(), 500);
      }
    } catch (err) {
      store.setError(err instanceof Error ? err.message : String(err));
    } finally {
      inFlight = null;
      if (again) {
        again = false;
        void refresh();
      }
    }
  })();
  return inFlight;
}

/** Hourly and daily VN_AQI of one station; quiet when the station has no PM data yet. */
async function loadAqi(station: string, kinds: ('hourly' | 'daily')[] = ['hourly', 'daily']): Promise<void> {
  const s = store.state.stations.find((x) => x.id === station);
  if (!s || !measuresPm(s.params)) return;
  await Promise.all(
    kinds.map((kind) =>
      api.aqi(station, kind).then(
        (a: Aqi) => store.setAqi(a),
        () => undefined, // shown as "…" in the panel; the next refresh tries again
      ),
    ),
  );
}

/** Hourly VN_AQI of every station that measures PM, four requests at a time (the API is rate-limited per client). */
async function loadAllAqi(): Promise<void> {
  const ids = store.state.stations.filter((s) => measuresPm(s.params)).map((s) => s.id);
  const next = async (): Promise<void> => {
    for (let id = ids.shift(); id !== undefined; id = ids.shift()) await loadAqi(id, ['hourly']);
  };
  await Promise.all([next(), next(), next(), next()]);
}

window.addEventListener('hashchange', route);

applyDocumentLang();
store.setView(stationFromHash() !== null ? 'station' : 'overview');
document.body.dataset.view = store.state.view;
overviewRoot.hidden = store.state.view !== 'overview';
stationRoot.hidden = store.state.view !== 'station';

let opens = 0;
connectStream('/api/v1/stream', {
  readings: (station, readings) => {
    store.applyReadings(station, readings);
    // A station we have never heard of sent data: it was added to the config after the page loaded.
    if (!store.state.stations.some((s) => s.id === station)) void refresh();
  },
  status: (station, online) => store.setOnline(station, online),
  connection: (c) => store.setConnection(c),
  opened: () => {
    // The stream is requested before the initial load below, so that load already covers the first open.
    // After a drop, whatever was sent while the stream was down is only in the ingest's store: fetch it again.
    if (opens++ === 0) return;
    void refresh().then(() => chart.reload());
  },
  invalid: (event, data) => console.warn(`envmon: ignored malformed "${event}" event from /api/v1/stream:`, data),
});
void refresh();
void api.session().then((s) => store.setSession(s), () => undefined);
void api.config().then((c) => store.setServer(c), () => undefined);
const loadLimits = () => api.limits().then((l) => store.setLimits(l), () => undefined);

setInterval(() => {
  const now = Date.now();
  overview.tick(now);
  stationList.tick(now);
  latestTable.tick(now);
  chart.tick(now);
}, 1000);
// Indices move hourly, limits with regulations, alarms with the engine: polled, not streamed.
setInterval(() => {
  void loadAllAqi().then(() => (store.state.selected === null ? undefined : loadAqi(store.state.selected)));
}, 5 * 60_000);
setInterval(() => void loadLimits(), 60 * 60_000);
setInterval(() => {
  if (store.state.view === 'station') alarms.reload();
}, 30_000);
