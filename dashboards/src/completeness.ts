/**
 * Data completeness per day for the selected station: for each parameter and each of the last 30 Vietnamese days,
 * the readings received against those expected from the station's sampling interval (`/aggregates?every=1d`,
 * coverage computed by the ingest). A grid of cells shaded by the share, with the counts in each cell's title.
 */
import type { Api, Aggregates } from './api.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import type { Store } from './store.ts';

const DAY = 86_400_000;
const DAYS = 30;
const VN_OFFSET = 7 * 3_600_000;

/** Shade class of a coverage share: the bands an agency reads as good, patchy, poor, missing. */
export function coverageBand(c: number | null): 'none' | 'poor' | 'patchy' | 'good' {
  if (c === null) return 'none';
  if (c >= 0.9) return 'good';
  if (c >= 0.5) return 'patchy';
  return 'poor';
}

export function mountCompleteness(root: HTMLElement, store: Store, api: Api): { reload(): void } {
  let generation = 0;
  let data: Aggregates | null = null;

  function render(): void {
    draw();
    // The newest days are at the right: show them first when the grid is wider than the panel.
    const scroller = root.querySelector<HTMLElement>('.table-scroll');
    if (scroller) scroller.scrollLeft = scroller.scrollWidth;
  }

  function draw(): void {
    const { lang, params } = store.state;
    const heading = h('h2', { id: 'completeness-heading' }, t(lang, 'completeness.heading'));
    if (!data) return root.replaceChildren(heading);
    const dayFmt = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit' });
    const days = data.series[0]?.buckets.map((b) => b.time) ?? [];
    const pct = new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { style: 'percent', maximumFractionDigits: 0 });
    root.replaceChildren(
      heading,
      h('p', { class: 'muted small' }, t(lang, 'completeness.note', { interval: data.expected_interval_s })),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'completeness', 'data-testid': 'completeness' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t(lang, 'completeness.param')), ...days.map((d) => h('th', { scope: 'col' }, dayFmt.format(d))))),
          h(
            'tbody',
            {},
            ...data.series.map((s) =>
              h(
                'tr',
                { 'data-param': s.param },
                h('th', { scope: 'row' }, params.get(s.param)?.name[lang] ?? s.param),
                ...s.buckets.map((b) => {
                  const text = b.coverage === null ? '' : pct.format(b.coverage);
                  return h(
                    'td',
                    {
                      class: `cov cov-${coverageBand(b.coverage)}`,
                      'data-coverage': b.coverage ?? '',
                      title: t(lang, 'completeness.cell', { param: s.param, day: dayFmt.format(b.time), observed: b.observed, expected: b.expected, pct: text || '—' }),
                    },
                    b.coverage === null ? '' : String(Math.round(b.coverage * 100)),
                  );
                }),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function reload(): void {
    const gen = ++generation;
    const s = store.state.stations.find((x) => x.id === store.state.selected);
    data = null;
    render();
    if (!s || s.params.length === 0) return;
    const now = Date.now();
    // From local midnight 29 days ago: 30 whole Vietnamese days, the last one in progress.
    const todayStart = Math.floor((now + VN_OFFSET) / DAY) * DAY - VN_OFFSET;
    api
      .aggregates({ station: s.id, params: s.params, from: todayStart - (DAYS - 1) * DAY, to: now, every: '1d' })
      .then((a) => {
        if (gen !== generation) return;
        data = a;
        render();
      })
      .catch((err: unknown) => gen === generation && store.setError(err instanceof Error ? err.message : String(err)));
  }

  store.subscribe((e) => {
    if (e.type === 'selection') reload();
    else if (e.type === 'lang' || e.type === 'catalogue') render();
  });
  return { reload };
}
