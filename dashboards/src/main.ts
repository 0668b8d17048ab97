/**
 * Entry point: creates the store, mounts the views into index.html, loads the catalogue and stations, and
 * connects the live stream. Views never talk to each other; they react to store events.
 */
import { createApi } from './api.ts';
import { byId, h } from './dom.ts';
import { mountChart } from './chart.ts';
import { mountHeader } from './header.ts';
import { loadLang, saveLang, t } from './i18n.ts';
import { mountLatestTable } from './latest-table.ts';
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

mountHeader(byId('header'), store);
const stationList = mountStationList(byId('stations'), store);
const latestTable = mountLatestTable(byId('latest'), store);
const chart = mountChart(byId('chart'), store, api);
const banner = byId('banner');

store.subscribe((e) => {
  const { lang, error, selected } = store.state;
  if (e.type === 'lang') {
    saveLang(storage, lang);
    applyDocumentLang();
  }
  if (e.type === 'lang' || e.type === 'error') {
    banner.hidden = error === null;
    banner.replaceChildren(error === null ? '' : h('span', {}, t(lang, 'error.load', { message: error })));
  }
  // The selection lives in the URL so a wall screen can be bookmarked to one station.
  if (e.type === 'selection') {
    const hash = selected === null ? '' : `#station=${encodeURIComponent(selected)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
  }
  // A station we have never heard of sent data: it was added to the config after the page loaded.
  if (e.type === 'readings' && !store.state.stations.some((s) => s.id === e.station)) void refresh();
});

function applyDocumentLang(): void {
  document.documentElement.lang = store.state.lang;
  document.title = t(store.state.lang, 'app.title');
}

function stationFromHash(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('station');
}

let inFlight: Promise<void> | null = null;
let again = false;

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
      if (store.state.params.size === 0) store.setCatalogue(await api.parameters());
      const [stations, latest] = await Promise.all([api.stations(), api.latest()]);
      store.setStations(stations);
      store.setLatest(latest);
      store.setError(null);
      if (store.state.selected === null) {
        const wanted = stationFromHash();
        const pick = stations.find((s) => s.id === wanted) ?? stations[0];
        if (pick) store.select(pick.id);
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

window.addEventListener('hashchange', () => {
  const id = stationFromHash();
  if (id !== null && id !== store.state.selected) store.select(id);
});

applyDocumentLang();
let opens = 0;
connectStream('/api/v1/stream', {
  readings: (station, readings) => store.applyReadings(station, readings),
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

setInterval(() => {
  const now = Date.now();
  stationList.tick(now);
  latestTable.tick(now);
  chart.tick(now);
}, 1000);
