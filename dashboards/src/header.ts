/** Page header: product name, the live-stream indicator and the language switch. */
import { otherLang, t } from './i18n.ts';
import { h } from './dom.ts';
import type { Store } from './store.ts';

export function mountHeader(root: HTMLElement, store: Store): void {
  const title = h('h1', { class: 'brand' });
  const indicator = h('p', { class: 'live', 'data-testid': 'live-indicator', role: 'status' });
  const langButton = h('button', { type: 'button', class: 'lang', 'data-testid': 'lang-switch' });
  langButton.addEventListener('click', () => store.setLang(otherLang(store.state.lang)));
  root.replaceChildren(title, h('div', { class: 'header-tools' }, indicator, langButton));

  function render(): void {
    const { lang, connection } = store.state;
    title.replaceChildren(
      h('span', { class: 'brand-name' }, t(lang, 'app.product')),
      h('span', { class: 'brand-sub' }, t(lang, 'app.subtitle')),
    );
    // `data-state` lets tests and CSS read the state without depending on the language of the text.
    indicator.dataset.state = connection;
    indicator.setAttribute('aria-label', `${t(lang, 'live.label')}: ${t(lang, `live.${connection}`)}`);
    indicator.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), t(lang, `live.${connection}`));
    langButton.textContent = t(lang, 'lang.switch');
    langButton.setAttribute('aria-label', t(lang, 'lang.switchLabel'));
    langButton.lang = otherLang(lang);
  }

  store.subscribe((e) => {
    if (e.type === 'lang' || e.type === 'connection') render();
  });
  render();
}
