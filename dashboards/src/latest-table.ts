/**
 * The selected station's heading and its latest value per parameter: value with the catalogue's decimals and
 * unit, TT10 device status, QC flags and measurement time. Re-rendered whenever readings for it arrive.
 */
import type { Reading } from './api.ts';
import { exceedance, limitFor } from './exceedance.ts';
import { formatAge, formatTime, formatValue, qcFlagNames, statusCode } from './format.ts';
import { mediumKey, statusKey, t } from './i18n.ts';
import { h } from './dom.ts';
import type { Store } from './store.ts';

export interface LatestTableView {
  tick(now: number): void;
}

export function mountLatestTable(root: HTMLElement, store: Store): LatestTableView {
  let age: HTMLElement | null = null;

  function render(): void {
    const { lang, selected, stations, params, latest, limits } = store.state;
    const station = stations.find((s) => s.id === selected);
    age = null;
    if (!station) {
      root.replaceChildren(h('p', { class: 'muted placeholder' }, t(lang, 'station.none')));
      return;
    }
    const now = Date.now();
    age = h('span', {}, formatAge(station.last_seen, now, lang));
    const byParam = latest.get(station.id) ?? new Map<string, Reading>();
    // The station's configured parameters first, in its order; then anything else it actually sent.
    const codes = [...station.params, ...[...byParam.keys()].filter((c) => !station.params.includes(c))];

    const rows = codes.map((code) => {
      const p = params.get(code);
      const r = byParam.get(code);
      const flags = r ? qcFlagNames(r.qc_flags, lang) : [];
      const limit = limitFor(limits, station.medium, code);
      const ex = exceedance(r?.value ?? null, limit);
      const limitText = limit ? [limit.min, limit.max].filter((v) => v !== null).map((v) => formatValue(v, p?.decimals ?? 2, lang)).join(' – ') : '';
      const limitCell = limit && limitText ? `${limitText} (${limit.period})` : '';
      const limitTitle = limit
        ? t(lang, 'limit.title', { source: limit.source, limit: limitText, unit: limit.unit, period: limit.period })
        : undefined;
      return h(
        'tr',
        { 'data-param': code },
        h('th', { scope: 'row' }, p ? p.name[lang] : code),
        h(
          'td',
          { class: `value ex-${ex}`, 'data-testid': 'latest-value', 'data-param': code, 'data-status': r?.status, 'data-exceedance': ex, title: limitTitle },
          h('span', { class: 'num' }, r ? formatValue(r.value, p?.decimals ?? 2, lang) : '—'),
          p?.unit ? h('span', { class: 'unit' }, ` ${p.unit}`) : null,
          ex === 'over' || ex === 'near' ? h('span', { class: 'ex-label' }, ` ${t(lang, ex === 'over' ? 'limit.over' : 'limit.near')}`) : null,
          // Phones have no room for a limit column either: CSS shows this copy under the value there instead.
          limitCell ? h('span', { class: 'limit-inline', 'aria-hidden': 'true' }, ` ${t(lang, 'latest.limit')} ${limitCell}`) : null,
        ),
        h('td', { class: 'limit', title: limitTitle }, limitCell || '—'),
        h(
          'td',
          {},
          r
            ? h(
                'span',
                { class: `badge status-${r.status}`, title: `TT10 ${statusCode(r.status)}` },
                t(lang, statusKey(r.status)),
              )
            : '—',
          flags.length > 0
            ? h('span', { class: 'qc', title: t(lang, 'qc.label') }, `⚑ ${flags.join(', ')}`)
            : null,
          // Phones have no room for a time column; CSS shows this copy under the status there instead.
          r ? h('span', { class: 'time-inline', 'aria-hidden': 'true' }, formatTime(r.time, now, lang)) : null,
        ),
        h('td', { class: 'time' }, r ? formatTime(r.time, now, lang) : '—'),
      );
    });

    root.replaceChildren(
      h(
        'div',
        { class: 'detail-head' },
        h('h2', { id: 'detail-heading' }, station.name),
        h(
          'p',
          { class: 'muted' },
          ...(station.name === station.id ? [] : [h('code', {}, station.id), ' · ']),
          t(lang, mediumKey(station.medium)),
          ' · ',
          h(
            'span',
            { class: `station-state ${station.online ? 'online' : 'offline'}` },
            h('span', { class: 'dot', 'aria-hidden': 'true' }),
            t(lang, station.online ? 'station.online' : 'station.offline'),
          ),
          ' · ',
          t(lang, 'station.lastData'),
          ' ',
          age,
        ),
      ),
      h(
        'table',
        { class: 'latest', 'data-testid': 'latest-table', 'aria-labelledby': 'latest-caption' },
        h('caption', { id: 'latest-caption' }, t(lang, 'latest.heading')),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, t(lang, 'latest.param')),
            h('th', { scope: 'col', class: 'value' }, t(lang, 'latest.value')),
            h('th', { scope: 'col', class: 'limit' }, t(lang, 'latest.limit')),
            h('th', { scope: 'col' }, t(lang, 'latest.status')),
            h('th', { scope: 'col' }, t(lang, 'latest.time')),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
    if (byParam.size === 0) root.append(h('p', { class: 'muted' }, t(lang, 'latest.empty')));
  }

  store.subscribe((e) => {
    if (e.type === 'readings') {
      if (e.station === store.state.selected) render();
    } else if (e.type === 'lang' || e.type === 'catalogue' || e.type === 'stations' || e.type === 'selection' || e.type === 'limits') {
      render();
    }
  });
  render();

  return {
    tick(now) {
      const s = store.state.stations.find((x) => x.id === store.state.selected);
      if (age && s) age.textContent = formatAge(s.last_seen, now, store.state.lang);
    },
  };
}
