/**
 * VN_AQI of the selected station, hourly and daily (computed by the ingest, `/aqi`, QĐ 1459/QĐ-TCMT): the index
 * in its official colour, the category, the dominant pollutant and each pollutant's sub-index. Shown for
 * stations that measure PM (no PM, no index). Refreshed every 5 minutes and when the station changes.
 */
import type { Aqi, Lang } from './api.ts';
import { textOn } from './aqi-colour.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import type { Store } from './store.ts';

/** The index as a coloured badge; the colour is set through CSSOM (the page's CSP forbids style attributes). */
export function aqiBadge(aqi: Aqi, lang: Lang, paramName: (code: string) => string): HTMLElement {
  const el = h('span', { class: 'aqi-badge', 'data-testid': 'aqi-badge', 'data-aqi': aqi.aqi ?? '' }, aqi.aqi === null ? '—' : String(aqi.aqi));
  if (aqi.category) {
    el.style.backgroundColor = aqi.category.colour.hex;
    el.style.color = textOn(aqi.category.colour.hex);
    el.title = `${aqi.category.name[lang]}${aqi.dominant ? ` — ${t(lang, 'aqi.dominant', { param: paramName(aqi.dominant) })}` : ''}`;
  }
  return el;
}

/** Whether VN_AQI can be computed for a station at all (it needs PM2.5 or PM10). */
export function measuresPm(params: readonly string[]): boolean {
  return params.includes('PM2_5') || params.includes('PM10');
}

export function mountAqiPanel(root: HTMLElement, store: Store): void {
  function paramName(code: string): string {
    return store.state.params.get(code)?.name[store.state.lang] ?? code;
  }

  function card(kind: 'hourly' | 'daily', aqi: Aqi | undefined): HTMLElement {
    const lang = store.state.lang;
    const title = h('h3', {}, t(lang, kind === 'hourly' ? 'aqi.hourly' : 'aqi.daily'));
    if (!aqi) return h('div', { class: 'aqi-card', 'data-kind': kind }, title, h('p', { class: 'muted' }, '…'));
    const period = aqi.period.day ?? `${aqi.period.from.slice(11, 16)}–${aqi.period.to.slice(11, 16)}`;
    return h(
      'div',
      { class: 'aqi-card', 'data-testid': `aqi-${kind}`, 'data-kind': kind },
      title,
      h('p', { class: 'aqi-main' }, aqiBadge(aqi, lang, paramName), h('span', { class: 'aqi-cat' }, aqi.category ? aqi.category.name[lang] : t(lang, 'aqi.none'))),
      aqi.dominant ? h('p', { class: 'aqi-dominant', 'data-testid': 'aqi-dominant' }, t(lang, 'aqi.dominant', { param: paramName(aqi.dominant) })) : null,
      h('p', { class: 'muted small' }, period),
      h(
        'ul',
        { class: 'aqi-pollutants' },
        ...aqi.pollutants
          .filter((p) => p.aqi !== null)
          .map((p) => h('li', { class: p.param === aqi.dominant ? 'dominant' : '' }, `${paramName(p.param)}: ${p.aqi}`)),
      ),
    );
  }

  function render(): void {
    const { lang, selected, stations, aqi } = store.state;
    const s = stations.find((x) => x.id === selected);
    root.hidden = !s || !measuresPm(s.params);
    if (root.hidden || !s) return root.replaceChildren();
    const a = aqi.get(s.id);
    root.replaceChildren(
      h('h2', { id: 'aqi-heading' }, t(lang, 'aqi.heading')),
      h('div', { class: 'aqi-cards' }, card('hourly', a?.hourly), card('daily', a?.daily)),
    );
  }

  store.subscribe((e) => {
    if (e.type === 'selection' || e.type === 'lang' || e.type === 'stations' || e.type === 'catalogue') render();
    else if (e.type === 'aqi' && e.station === store.state.selected) render();
  });
  render();
}
