/**
 * CSV export of any range of the selected station: pick days (Vietnam time, last day included), parameters and
 * resolution; the link points at `/export.csv`, which the ingest streams, so a year of data downloads straight to
 * disk without passing through the page.
 */
import { exportUrl } from './api.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import type { Store } from './store.ts';

const DAY = 86_400_000;

/** `YYYY-MM-DD` of a time in Vietnam. */
export function vnDay(ms: number): string {
  return new Date(ms + 7 * 3_600_000).toISOString().slice(0, 10);
}

/** Start of a Vietnamese day, Unix ms. */
export function vnDayStart(day: string): number {
  return Date.parse(`${day}T00:00:00+07:00`);
}

export function mountExport(root: HTMLElement, store: Store): void {
  const fromInput = h('input', { type: 'date', id: 'export-from', 'data-testid': 'export-from' });
  const toInput = h('input', { type: 'date', id: 'export-to', 'data-testid': 'export-to' });
  const everySelect = h('select', { id: 'export-every', 'data-testid': 'export-every' });
  const paramsBox = h('fieldset', { class: 'param-picks' });
  const link = h('a', { class: 'button', 'data-testid': 'export-link', download: '' });
  root.addEventListener('change', update);
  root.addEventListener('input', update);

  function render(): void {
    const { lang, stations, selected, params } = store.state;
    const s = stations.find((x) => x.id === selected);
    if (!s) return root.replaceChildren();
    const today = vnDay(Date.now());
    if (!fromInput.value) fromInput.value = vnDay(Date.now() - 6 * DAY);
    if (!toInput.value) toInput.value = today;
    const every = everySelect.value || 'raw';
    everySelect.replaceChildren(...(['raw', '1h', '1d'] as const).map((v) => h('option', { value: v }, t(lang, `export.every.${v}`))));
    everySelect.value = every;
    paramsBox.replaceChildren(
      h('legend', {}, t(lang, 'history.params')),
      ...s.params.map((code) => h('label', { class: 'pick' }, h('input', { type: 'checkbox', value: code, checked: true }), ` ${params.get(code)?.name[lang] ?? code}`)),
    );
    link.textContent = t(lang, 'export.download');
    root.replaceChildren(
      h('h2', { id: 'export-heading' }, t(lang, 'export.heading')),
      h(
        'div',
        { class: 'export-form' },
        h('div', { class: 'field' }, h('label', { for: 'export-from' }, t(lang, 'export.from')), fromInput),
        h('div', { class: 'field' }, h('label', { for: 'export-to' }, t(lang, 'export.to')), toInput),
        h('div', { class: 'field' }, h('label', { for: 'export-every' }, t(lang, 'export.every')), everySelect),
        link,
      ),
      paramsBox,
      h('p', { class: 'muted small' }, t(lang, 'export.note')),
    );
    update();
  }

  function update(): void {
    const s = store.state.selected;
    const picked = [...paramsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
    const ok = s !== null && picked.length > 0 && fromInput.value !== '' && toInput.value !== '' && fromInput.value <= toInput.value;
    if (!ok || !s) {
      link.removeAttribute('href');
      link.setAttribute('aria-disabled', 'true');
      return;
    }
    link.removeAttribute('aria-disabled');
    link.href = exportUrl('', { station: s, params: picked, from: vnDayStart(fromInput.value), to: vnDayStart(toInput.value) + DAY, every: everySelect.value || 'raw' });
  }

  store.subscribe((e) => {
    if (e.type === 'selection' || e.type === 'lang' || e.type === 'catalogue') render();
  });
  render();
}
