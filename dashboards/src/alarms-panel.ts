/**
 * Alarms of the selected station (`/alarms`, raised by the ingest's alarm engine): open ones first, each with its
 * rule, state, value and limit, and an Acknowledge button for operators. A viewer sees the same list without the
 * button; someone not signed in is asked to sign in. The server decides in the end: a refused acknowledgement
 * shows its message.
 */
import { ApiError, type Alarm, type Api } from './api.ts';
import { h } from './dom.ts';
import { formatTime, formatValue } from './format.ts';
import { t } from './i18n.ts';
import type { Store } from './store.ts';

const OPEN: Alarm['state'][] = ['raised', 'cleared', 'acknowledged'];

export function canAcknowledge(role: string | null | undefined): boolean {
  return role === 'operator' || role === 'admin';
}

export function mountAlarms(root: HTMLElement, store: Store, api: Api): { reload(): void } {
  let generation = 0;
  let problem: string | null = null;

  root.addEventListener('click', (ev) => {
    const button = (ev.target as Element).closest<HTMLButtonElement>('button[data-ack]');
    if (!button) return;
    button.disabled = true;
    api
      .acknowledge(Number(button.dataset.ack))
      .then((a) => store.updateAlarm(a))
      .catch((err: unknown) => {
        problem = err instanceof Error ? err.message : String(err);
        render();
      });
  });

  function render(): void {
    const { lang, alarms, session, params } = store.state;
    const heading = h('h2', { id: 'alarms-heading' }, t(lang, 'alarms.heading'));
    const parts: Node[] = [heading];
    if (problem) parts.push(h('p', { class: 'error-text', role: 'alert' }, problem));
    if (!session?.signed_in) {
      parts.push(h('p', { class: 'muted', 'data-testid': 'alarms-sign-in' }, t(lang, 'alarms.signIn')));
      return root.replaceChildren(...parts);
    }
    if (alarms === null) return root.replaceChildren(...parts);
    const mayAck = canAcknowledge(session.role);
    if (!mayAck) parts.push(h('p', { class: 'muted small' }, t(lang, 'alarms.operatorOnly')));
    const sorted = [...alarms].sort((a, b) => Number(OPEN.includes(b.state)) - Number(OPEN.includes(a.state)) || b.raised_at - a.raised_at);
    const now = Date.now();
    parts.push(
      sorted.length === 0
        ? h('p', { class: 'muted' }, t(lang, 'alarms.empty'))
        : h(
            'ul',
            { class: 'alarm-list', 'data-testid': 'alarm-list' },
            ...sorted.map((a) => {
              const p = params.get(a.param);
              const limit = a.limit?.above ?? a.limit?.below;
              return h(
                'li',
                { class: `alarm ${a.state} sev-${a.severity}`, 'data-testid': 'alarm', 'data-alarm': a.id, 'data-state': a.state },
                h('div', { class: 'alarm-head' }, h('span', { class: `sev sev-${a.severity}` }, t(lang, `severity.${a.severity}`)), h('strong', {}, a.rule_name[lang]), h('span', { class: 'alarm-state' }, t(lang, `alarms.state.${a.state}`))),
                h(
                  'p',
                  { class: 'small' },
                  p ? p.name[lang] : a.param === '*' ? '' : a.param,
                  a.value !== null ? ` ${formatValue(a.value, p?.decimals ?? 2, lang)}${p ? ` ${p.unit}` : ''}` : '',
                  limit !== undefined ? ` / ${formatValue(limit, p?.decimals ?? 2, lang)}` : '',
                  a.limit?.source ? ` (${a.limit.source})` : '',
                  ' · ',
                  t(lang, 'alarms.since', { time: formatTime(a.raised_at, now, lang) }),
                  a.acknowledged_by ? ` · ${t(lang, 'alarms.ackedBy', { by: a.acknowledged_by })}` : '',
                ),
                mayAck && (a.state === 'raised' || a.state === 'cleared')
                  ? h('button', { type: 'button', class: 'ack', 'data-ack': a.id, 'data-testid': 'alarm-ack' }, t(lang, 'alarms.ack'))
                  : null,
              );
            }),
          ),
    );
    root.replaceChildren(...parts);
  }

  function reload(): void {
    const gen = ++generation;
    problem = null;
    const { selected, session } = store.state;
    if (!selected || !session?.signed_in) {
      store.setAlarms(null);
      return;
    }
    api
      .alarms(selected)
      .then((list) => gen === generation && store.setAlarms(list))
      .catch((err: unknown) => {
        if (gen !== generation) return;
        problem = err instanceof ApiError && err.status === 404 ? null : t(store.state.lang, 'alarms.unavailable', { message: err instanceof Error ? err.message : String(err) });
        store.setAlarms([]);
      });
  }

  store.subscribe((e) => {
    if (e.type === 'selection' || e.type === 'session') reload();
    else if (e.type === 'alarms' || e.type === 'lang' || e.type === 'catalogue') render();
  });
  render();
  return { reload };
}
