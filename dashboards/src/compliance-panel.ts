/**
 * QCVN compliance of the selected station on one Vietnamese day (`/reports/compliance`, computed by the ingest's
 * ingest/src/reports/daily-report.ts against the station's QCVN profile): per parameter and averaging period the
 * limit, how many values were judged, how many exceeded it, the worst value and the verdict; and a link to the same
 * report as CSV (`/reports/compliance.csv`). Reports need a viewer token: someone not signed in is asked to sign in,
 * as in the alarms panel. The day defaults to yesterday (the last complete day).
 */
import { complianceCsvUrl, type Api, type ComplianceReport, type ComplianceRow } from './api.ts';
import { h } from './dom.ts';
import { vnDay } from './export-panel.ts';
import { formatValue } from './format.ts';
import { t, type MessageKey } from './i18n.ts';
import type { Store } from './store.ts';

const DAY = 86_400_000;

/** The limit as a reader writes it: "≤ 100 µg/Nm³", "6,5–8,5". */
export function limitText(limit: ComplianceRow['limit'], decimals: number, lang: 'vi' | 'en'): string {
  const f = (v: number) => formatValue(v, decimals, lang);
  const unit = limit.unit ? ` ${limit.unit}` : '';
  if (limit.min !== null && limit.max !== null) return `${f(limit.min)}–${f(limit.max)}${unit}`;
  if (limit.max !== null) return `≤ ${f(limit.max)}${unit}`;
  if (limit.min !== null) return `≥ ${f(limit.min)}${unit}`;
  return '—';
}

const PERIODS = ['instant', '1h', '8h', '24h', 'annual'] as const;

function periodText(period: string, lang: 'vi' | 'en'): string {
  return (PERIODS as readonly string[]).includes(period) ? t(lang, `compliance.period.${period as (typeof PERIODS)[number]}`) : period;
}

export function mountCompliance(root: HTMLElement, store: Store, api: Api): { reload(): void } {
  let generation = 0;
  let report: ComplianceReport | null = null;
  let problem: string | null = null;
  let loading = false;
  const dayInput = h('input', { type: 'date', id: 'compliance-day', 'data-testid': 'compliance-day' });
  const link = h('a', { class: 'button', 'data-testid': 'compliance-csv', download: '' });
  dayInput.addEventListener('change', () => reload());

  function render(): void {
    const { lang, session, selected, params } = store.state;
    const parts: Node[] = [h('h2', { id: 'compliance-heading' }, t(lang, 'compliance.heading'))];
    if (!selected) return root.replaceChildren(...parts);
    if (!session?.signed_in) {
      parts.push(h('p', { class: 'muted', 'data-testid': 'compliance-sign-in' }, t(lang, 'compliance.signIn')));
      return root.replaceChildren(...parts);
    }
    if (!dayInput.value) dayInput.value = vnDay(Date.now() - DAY);
    dayInput.max = vnDay(Date.now());
    link.textContent = t(lang, 'compliance.download');
    link.href = complianceCsvUrl('', selected, dayInput.value);
    parts.push(h('div', { class: 'export-form' }, h('div', { class: 'field' }, h('label', { for: 'compliance-day' }, t(lang, 'compliance.day')), dayInput), link));
    if (problem) parts.push(h('p', { class: 'error-text', role: 'alert' }, problem));
    else if (loading || !report) parts.push(h('p', { class: 'muted' }, t(lang, 'compliance.loading')));
    else if (!report.profile) parts.push(h('p', { class: 'muted', 'data-testid': 'compliance-note' }, t(lang, 'compliance.noProfile', { note: report.note ?? '' })));
    else {
      parts.push(h('p', { class: 'small', 'data-testid': 'compliance-profile' }, t(lang, 'compliance.profile', { profile: report.profile.title })));
      if (report.rows.length === 0) parts.push(h('p', { class: 'muted' }, t(lang, 'compliance.empty')));
      else {
        const col = (k: MessageKey) => h('th', { scope: 'col' }, t(lang, k));
        parts.push(
          h(
            'div',
            { class: 'table-scroll' },
            h(
              'table',
              { class: 'compliance', 'data-testid': 'compliance' },
              h('thead', {}, h('tr', {}, col('compliance.col.param'), col('compliance.col.period'), col('compliance.col.limit'), col('compliance.col.evaluated'), col('compliance.col.exceedances'), col('compliance.col.worst'), col('compliance.col.status'))),
              h(
                'tbody',
                {},
                ...report.rows.map((r) => {
                  const p = params.get(r.param);
                  const dec = p?.decimals ?? 2;
                  const first = r.period === '24h' ? undefined : r.exceeded_at[0];
                  return h(
                    'tr',
                    { 'data-testid': 'compliance-row', 'data-param': r.param, 'data-period': r.period, 'data-status': r.status, class: `cmp-${r.status}` },
                    h('th', { scope: 'row' }, p ? p.name[lang] : r.param, r.column ? ` (${r.column})` : ''),
                    h('td', {}, periodText(r.period, lang)),
                    h('td', { title: [r.limit.source, r.limit.note ?? ''].filter(Boolean).join(' · ') }, limitText(r.limit, dec, lang), r.limit.unconfirmed ? ' *' : ''),
                    h('td', { class: 'num' }, `${r.evaluated}/${r.expected}`),
                    h('td', { class: 'num', 'data-testid': 'compliance-exceedances' }, String(r.exceedances)),
                    h('td', { class: 'num' }, r.worst === null ? '—' : formatValue(r.worst, dec, lang)),
                    h(
                      'td',
                      {},
                      h('span', { class: `cmp-badge cmp-${r.status}` }, t(lang, `compliance.status.${r.status}`)),
                      first ? h('span', { class: 'muted small' }, ` ${t(lang, 'compliance.firstAt', { time: first.time.slice(11, 16) })}`) : null,
                    ),
                  );
                }),
              ),
            ),
          ),
        );
      }
      // Annual limits are never judged by a daily report: not worth a line each. Other skips explain a setting.
      const skipped = report.skipped.filter((x) => x.period !== 'annual');
      if (skipped.length > 0) {
        parts.push(
          h(
            'ul',
            { class: 'muted small compliance-skipped', 'data-testid': 'compliance-skipped' },
            ...skipped.map((x) => h('li', {}, t(lang, 'compliance.skipped', { param: params.get(x.param)?.name[lang] ?? x.param, period: periodText(x.period, lang), reason: x.reason }))),
          ),
        );
      }
    }
    parts.push(h('p', { class: 'muted small' }, t(lang, 'compliance.note')));
    root.replaceChildren(...parts);
  }

  function reload(): void {
    const gen = ++generation;
    const { selected, session } = store.state;
    report = null;
    problem = null;
    if (!selected || !session?.signed_in) {
      loading = false;
      return render();
    }
    if (!dayInput.value) dayInput.value = vnDay(Date.now() - DAY);
    loading = true;
    render();
    api
      .compliance(selected, dayInput.value)
      .then((r) => {
        if (gen !== generation) return;
        report = r;
      })
      .catch((err: unknown) => {
        if (gen !== generation) return;
        problem = t(store.state.lang, 'compliance.unavailable', { message: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => {
        if (gen !== generation) return;
        loading = false;
        render();
      });
  }

  store.subscribe((e) => {
    if (e.type === 'selection' || e.type === 'session') reload();
    else if (e.type === 'lang' || e.type === 'catalogue') render();
  });
  render();
  return { reload };
}
