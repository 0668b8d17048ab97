/**
 * The overview: every station on the map and in a list — state (online, offline, calibrating, fault), age of the
 * newest data, hourly VN_AQI in its official colour, and the latest values coloured against the limits.
 * Live readings re-render only the rows of the stations they belong to, once per animation frame, so 200
 * stations reporting every few seconds cost little.
 */
import type { Reading, Station } from './api.ts';
import { aqiBadge } from './aqi-panel.ts';
import { h } from './dom.ts';
import { exceedance, limitFor } from './exceedance.ts';
import { formatAge, formatValue } from './format.ts';
import { mediumKey, t } from './i18n.ts';
import { mountStationMap } from './station-map.ts';
import { STATE_ORDER, stationState, type StationState } from './station-status.ts';
import type { Store } from './store.ts';

/** How many latest values a row shows (the station page shows them all). */
const VALUES_PER_ROW = 4;

export interface OverviewView {
  tick(now: number): void;
}

export function mountOverview(root: HTMLElement, store: Store): OverviewView {
  const heading = h('h2', { id: 'overview-heading' });
  const summary = h('p', { class: 'muted', 'data-testid': 'overview-summary' });
  const mapPanel = h('section', { class: 'panel map-panel', 'aria-labelledby': 'map-heading' });
  const listHeading = h('h2', { id: 'list-heading' });
  const filter = h('input', { type: 'search', id: 'station-filter', class: 'filter', 'data-testid': 'station-filter' });
  const filterLabel = h('label', { for: 'station-filter', class: 'sr-only' });
  const tbody = h('tbody', {});
  const headRow = h('tr', {});
  const cols = h('colgroup', {}, ...['station', 'state', 'age', 'aqi', 'values'].map((c) => h('col', { class: `c-${c}` })));
  const table = h('table', { class: 'overview-table', 'data-testid': 'overview-table' }, cols, h('thead', {}, headRow), tbody);
  const listPanel = h(
    'section',
    { class: 'panel list-panel', 'aria-labelledby': 'list-heading' },
    h('div', { class: 'list-head' }, listHeading, filterLabel, filter),
    h('div', { class: 'table-scroll' }, table),
  );
  root.replaceChildren(h('div', { class: 'overview-head' }, heading, summary), h('div', { class: 'overview-grid' }, mapPanel, listPanel));
  const map = mountStationMap(mapPanel, store);

  const rows = new Map<string, HTMLTableRowElement>();
  const ages = new Map<string, HTMLElement>();
  const dirty = new Set<string>();
  let frame = 0;

  filter.addEventListener('input', () => applyFilter());

  function applyFilter(): void {
    const q = filter.value.trim().toLowerCase();
    for (const s of store.state.stations) {
      const row = rows.get(s.id);
      if (row) row.hidden = q !== '' && !`${s.name} ${s.id}`.toLowerCase().includes(q);
    }
  }

  function row(s: Station, state: StationState, now: number): HTMLTableRowElement {
    const { lang, params, latest, limits, aqi } = store.state;
    const byParam = latest.get(s.id) ?? new Map<string, Reading>();
    const age = h('span', {}, formatAge(s.last_seen, now, lang));
    ages.set(s.id, age);
    const hourly = aqi.get(s.id)?.hourly;
    const codes = [...s.params, ...[...byParam.keys()].filter((c) => !s.params.includes(c))].filter((c) => byParam.has(c)).slice(0, VALUES_PER_ROW);
    const values = codes.map((code) => {
      const r = byParam.get(code)!;
      const p = params.get(code);
      const ex = exceedance(r.value, limitFor(limits, s.medium, code));
      return h(
        'span',
        { class: `chip ex-${ex} status-${r.status}`, 'data-param': code, 'data-exceedance': ex, title: p ? p.name[lang] : code },
        h('span', { class: 'chip-name' }, p ? shortName(code) : code),
        ' ',
        h('span', { class: 'num' }, formatValue(r.value, p?.decimals ?? 2, lang)),
        p?.unit ? h('span', { class: 'unit' }, ` ${p.unit}`) : null,
      );
    });
    return h(
      'tr',
      { 'data-testid': 'overview-row', 'data-station': s.id, 'data-state': state },
      h(
        'th',
        { scope: 'row' },
        h('a', { href: `#station=${encodeURIComponent(s.id)}`, class: 'station-link' }, s.name),
        h('span', { class: 'station-meta' }, ...(s.name === s.id ? [] : [h('code', {}, s.id), ' · ']), t(lang, mediumKey(s.medium))),
      ),
      h('td', {}, h('span', { class: `state-badge ${state}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t(lang, `state.${state}`))),
      h('td', { class: 'age' }, age),
      h(
        'td',
        { class: 'aqi-cell' },
        hourly && hourly.aqi !== null ? aqiBadge(hourly, lang, paramName) : '',
      ),
      h('td', { class: 'values' }, ...values),
    );
  }

  function paramName(code: string): string {
    return store.state.params.get(code)?.name[store.state.lang] ?? code;
  }

  function shortName(code: string): string {
    return code.replace('_', '.');
  }

  function renderAll(): void {
    const { lang, stations, latest } = store.state;
    heading.textContent = t(lang, 'overview.heading');
    listHeading.textContent = t(lang, 'overview.list');
    filterLabel.textContent = t(lang, 'overview.filter');
    filter.placeholder = t(lang, 'overview.filter');
    headRow.replaceChildren(
      ...(['overview.col.station', 'overview.col.state', 'overview.col.age', 'overview.col.aqi', 'overview.col.values'] as const).map((k) => h('th', { scope: 'col' }, t(lang, k))),
    );
    const now = Date.now();
    rows.clear();
    ages.clear();
    // Worst first, so a fault or a silent station is at the top of a long list.
    const states = new Map(stations.map((s) => [s.id, stationState(s, latest.get(s.id))]));
    const sorted = [...stations].sort((a, b) => STATE_ORDER[states.get(a.id)!] - STATE_ORDER[states.get(b.id)!] || a.name.localeCompare(b.name, lang));
    const frag = document.createDocumentFragment();
    for (const s of sorted) {
      const r = row(s, states.get(s.id)!, now);
      rows.set(s.id, r);
      frag.append(r);
    }
    tbody.replaceChildren(frag);
    dirty.clear(); // every row was just drawn from the current state
    renderSummary();
    applyFilter();
  }

  function renderSummary(): void {
    const counts: Record<StationState, number> = { online: 0, offline: 0, calibrating: 0, fault: 0 };
    for (const s of store.state.stations) counts[stationState(s, store.state.latest.get(s.id))]++;
    summary.textContent = t(store.state.lang, 'overview.summary', counts);
  }

  function flush(): void {
    frame = 0;
    // Many stations at once (a resync after the stream was down): one full render beats row by row.
    if (dirty.size > 50) {
      renderAll();
      map.refresh();
      return;
    }
    const now = Date.now();
    const byId = new Map(store.state.stations.map((x) => [x.id, x]));
    for (const id of dirty) {
      const s = byId.get(id);
      const old = rows.get(id);
      if (!s || !old) continue;
      const r = row(s, stationState(s, store.state.latest.get(id)), now);
      r.hidden = old.hidden;
      old.replaceWith(r);
      rows.set(id, r);
    }
    map.refresh(dirty);
    dirty.clear();
    renderSummary();
  }

  function markDirty(id: string): void {
    dirty.add(id);
    if (!frame) frame = requestAnimationFrame(flush);
  }

  store.subscribe((e) => {
    if (e.type === 'stations' || e.type === 'lang' || e.type === 'catalogue' || e.type === 'limits') renderAll();
    else if (e.type === 'readings' || e.type === 'aqi') markDirty(e.station);
  });
  renderAll();

  return {
    tick(now) {
      if (store.state.view !== 'overview') return;
      const lang = store.state.lang;
      for (const s of store.state.stations) {
        const el = ages.get(s.id);
        const text = formatAge(s.last_seen, now, lang);
        if (el && el.textContent !== text) el.textContent = text;
      }
    },
  };
}
