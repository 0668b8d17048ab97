/**
 * The overview map: every station with coordinates as a dot coloured by its state, on optional background tiles
 * (`dashboard.map.tile_url` in the ingest config; e.g. a tile server on the agency network). Without tiles it
 * draws a latitude/longitude grid, so the map works on a closed network. SVG: 200 stations are 200 circles,
 * each a link to the station's page with a tooltip.
 */
import type { Lang, Station } from './api.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import { fitView, graticuleStep, project, tilesFor, toView, type View } from './map-projection.ts';
import { stationState, type StationState } from './station-status.ts';
import type { Store } from './store.ts';

const NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export interface StationMapView {
  /** Re-colours the dots whose state changed (cheap; called when readings or status arrive). */
  refresh(stationIds?: Iterable<string>): void;
}

export function mountStationMap(root: HTMLElement, store: Store): StationMapView {
  const heading = h('h2', { id: 'map-heading' });
  const box = h('div', { class: 'map-box', 'data-testid': 'station-map' });
  const note = h('p', { class: 'muted map-note' });
  root.replaceChildren(heading, box, note);
  const dots = new Map<string, { el: SVGCircleElement; title: SVGTitleElement; state: StationState }>();
  let size = { w: 0, h: 0 };

  function located(): (Station & { location: { lat: number; lon: number } })[] {
    return store.state.stations.filter((s): s is Station & { location: { lat: number; lon: number } } => !!s.location);
  }

  function render(): void {
    const { lang, stations, server } = store.state;
    heading.textContent = t(lang, 'overview.map');
    const w = Math.max(280, Math.round(box.clientWidth || 600));
    const hgt = Math.max(240, Math.round(Math.min(w * 0.75, innerHeight * 0.6)));
    size = { w, h: hgt };
    const pts = located();
    const view = fitView(pts.map((s) => s.location), w, hgt);
    const tile = server?.map.tile_url ?? null;
    const root = svg('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img', 'aria-label': t(lang, 'map.label', { n: pts.length }) });
    root.append(svg('rect', { x: 0, y: 0, width: w, height: hgt, class: 'map-bg' }));
    if (tile) for (const tl of tilesFor(view, tile)) root.append(svg('image', { href: tl.url, x: tl.x, y: tl.y, width: 256, height: 256 }));
    else root.append(graticule(view, lang));
    dots.clear();
    const layer = svg('g', { class: 'map-stations' });
    for (const s of pts) {
      const { x, y } = toView(view, s.location.lat, s.location.lon);
      const state = stationState(s, store.state.latest.get(s.id));
      const title = svg('title', {}, stationTitle(s, state, lang));
      const dot = svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 7, class: `map-dot ${state}`, 'data-station': s.id, 'data-state': state }, title);
      const link = svg('a', { href: `#station=${encodeURIComponent(s.id)}`, 'aria-label': `${s.name}: ${t(lang, `state.${state}`)}` }, dot);
      layer.append(link);
      dots.set(s.id, { el: dot, title, state });
    }
    root.append(layer);
    box.replaceChildren(root);
    const missing = stations.length - pts.length;
    const parts = [tile ? (server?.map.tile_attribution ?? '') : t(lang, 'map.offline')];
    if (missing > 0) parts.push(t(lang, 'map.noLocation', { n: missing }));
    note.textContent = parts.filter(Boolean).join(' · ');
  }

  function graticule(view: View, lang: Lang): SVGGElement {
    const g = svg('g', { class: 'map-grid', 'aria-hidden': 'true' });
    const step = graticuleStep(view.zoom);
    const west = ((view.left / (256 * 2 ** view.zoom)) * 360) - 180;
    const east = (((view.left + view.width) / (256 * 2 ** view.zoom)) * 360) - 180;
    const latAt = (py: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * py) / (256 * 2 ** view.zoom)))) * 180) / Math.PI;
    const north = latAt(view.top);
    const south = latAt(view.top + view.height);
    const fmt = (v: number) => `${Math.abs(v).toFixed(step < 0.1 ? 2 : step < 1 ? 1 : 0)}°`;
    // (labels are placed where they do not collide: longitudes along the bottom, latitudes at the left)
    for (let lon = Math.ceil(west / step) * step; lon <= east; lon += step) {
      const x = project(0, lon, view.zoom).x - view.left;
      g.append(svg('line', { x1: x, y1: 0, x2: x, y2: view.height }), svg('text', { x: x + 3, y: view.height - 4 }, `${fmt(lon)}${lang === 'vi' ? 'Đ' : 'E'}`));
    }
    for (let lat = Math.ceil(south / step) * step; lat <= north; lat += step) {
      const y = project(lat, 0, view.zoom).y - view.top;
      g.append(svg('line', { x1: 0, y1: y, x2: view.width, y2: y }), svg('text', { x: 3, y: y - 3 }, `${fmt(lat)}${lat >= 0 ? 'N' : 'S'}`));
    }
    return g;
  }

  function stationTitle(s: Station, state: StationState, lang: Lang): string {
    return `${s.name} (${s.id}) — ${t(lang, `state.${state}`)}`;
  }

  function refresh(ids?: Iterable<string>): void {
    const lang = store.state.lang;
    for (const id of ids ?? dots.keys()) {
      const d = dots.get(id);
      const s = store.state.stations.find((x) => x.id === id);
      if (!d || !s) continue;
      const state = stationState(s, store.state.latest.get(id));
      if (state === d.state) continue;
      d.state = state;
      d.el.setAttribute('class', `map-dot ${state}`);
      d.el.setAttribute('data-state', state);
      d.title.textContent = stationTitle(s, state, lang);
    }
  }

  new ResizeObserver(() => {
    if (store.state.view === 'overview' && Math.abs((box.clientWidth || 0) - size.w) > 40) render();
  }).observe(box);

  store.subscribe((e) => {
    if (e.type === 'stations' || e.type === 'lang' || e.type === 'server') render();
  });
  render();
  return { refresh };
}
