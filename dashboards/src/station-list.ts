/**
 * The list of stations: name, id, medium, online/offline and the age of the newest data, which `tick()`
 * refreshes every second. Each station is a button, so the list works with a keyboard and a screen reader.
 */
import { formatAge } from './format.ts';
import { mediumKey, t } from './i18n.ts';
import { h } from './dom.ts';
import type { Store } from './store.ts';

export interface StationListView {
  tick(now: number): void;
}

export function mountStationList(root: HTMLElement, store: Store): StationListView {
  const heading = h('h2', { id: 'stations-heading' });
  const count = h('p', { class: 'muted count' });
  const list = h('ul', { class: 'station-list', 'data-testid': 'station-list', 'aria-labelledby': 'stations-heading' });
  root.replaceChildren(heading, count, list);
  /** Age cells by station id, updated in place each second without rebuilding the list. */
  const ages = new Map<string, HTMLElement>();

  list.addEventListener('click', (ev) => {
    const button = (ev.target as Element).closest<HTMLElement>('button[data-station]');
    if (button?.dataset.station) store.select(button.dataset.station);
  });

  function render(): void {
    const { lang, stations, selected } = store.state;
    heading.textContent = t(lang, 'stations.heading');
    const online = stations.filter((s) => s.online).length;
    count.textContent = t(lang, 'stations.count', { online, total: stations.length });
    // Rebuilding drops keyboard focus; put it back on the same station so arrowing through the list works.
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.station;
    ages.clear();
    const now = Date.now();
    list.replaceChildren(
      ...stations.map((s) => {
        const age = h('span', { class: 'age' }, formatAge(s.last_seen, now, lang));
        ages.set(s.id, age);
        const state = s.online ? 'online' : 'offline';
        return h(
          'li',
          { 'data-testid': 'station-item', 'data-station': s.id, 'data-online': s.online },
          h(
            'button',
            {
              type: 'button',
              class: `station${s.id === selected ? ' selected' : ''}`,
              'data-station': s.id,
              'aria-pressed': s.id === selected,
            },
            h('span', { class: 'station-name' }, s.name),
            // The id is what operators type in configs and tickets; shown unless the name already is the id.
            h(
              'span',
              { class: 'station-meta' },
              ...(s.name === s.id ? [] : [h('code', {}, s.id), ' · ']),
              t(lang, mediumKey(s.medium)),
            ),
            h(
              'span',
              { class: `station-state ${state}` },
              h('span', { class: 'dot', 'aria-hidden': 'true' }),
              t(lang, s.online ? 'station.online' : 'station.offline'),
              ' · ',
              age,
            ),
          ),
        );
      }),
    );
    if (stations.length === 0) list.append(h('li', { class: 'muted empty' }, t(lang, 'stations.empty')));
    if (focused) list.querySelector<HTMLElement>(`button[data-station="${CSS.escape(focused)}"]`)?.focus();
  }

  store.subscribe((e) => {
    if (e.type === 'stations' || e.type === 'lang' || e.type === 'selection') render();
    // last_seen moves with every reading; the age text shows it at the next tick.
  });
  render();

  return {
    tick(now) {
      const { lang, stations } = store.state;
      for (const s of stations) {
        const el = ages.get(s.id);
        const text = formatAge(s.last_seen, now, lang);
        if (el && el.textContent !== text) el.textContent = text;
      }
    },
  };
}
