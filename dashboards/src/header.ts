/**
 * Page header: product name, the way back to the overview, the live-stream indicator, sign-in with an API token
 * (operators acknowledge alarms; the token goes to the ingest once and comes back as an HttpOnly cookie, so the
 * page never keeps it) and the language switch.
 */
import type { Api } from './api.ts';
import { otherLang, t } from './i18n.ts';
import { h } from './dom.ts';
import type { Store } from './store.ts';

export function mountHeader(root: HTMLElement, store: Store, api: Api): void {
  const title = h('h1', { class: 'brand' });
  const nav = h('a', { href: '#', class: 'nav-link', 'data-testid': 'nav-overview' });
  const indicator = h('p', { class: 'live', 'data-testid': 'live-indicator', role: 'status' });
  const who = h('span', { class: 'who', 'data-testid': 'session' });
  const authButton = h('button', { type: 'button', class: 'auth', 'data-testid': 'auth-button' });
  const langButton = h('button', { type: 'button', class: 'lang', 'data-testid': 'lang-switch' });

  const tokenInput = h('input', { type: 'password', id: 'token-input', autocomplete: 'off', spellcheck: 'false', required: true, 'data-testid': 'token-input' });
  const tokenLabel = h('label', { for: 'token-input' });
  const dialogTitle = h('h2', { id: 'sign-in-title' });
  const failure = h('p', { class: 'error-text', role: 'alert', hidden: true, 'data-testid': 'sign-in-error' });
  const submit = h('button', { type: 'submit', 'data-testid': 'sign-in-submit' });
  const cancel = h('button', { type: 'button', class: 'secondary' });
  const form = h('form', { method: 'dialog' }, dialogTitle, tokenLabel, tokenInput, failure, h('div', { class: 'dialog-buttons' }, submit, cancel));
  const dialog = h('dialog', { class: 'sign-in', 'aria-labelledby': 'sign-in-title', 'data-testid': 'sign-in-dialog' }, form);

  langButton.addEventListener('click', () => store.setLang(otherLang(store.state.lang)));
  authButton.addEventListener('click', () => {
    if (store.state.session?.signed_in) {
      void api.signOut().then((s) => store.setSession(s), (err: unknown) => store.setError(String(err)));
      return;
    }
    failure.hidden = true;
    tokenInput.value = '';
    dialog.showModal();
  });
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (ev) => {
    ev.preventDefault(); // the page's CSP allows no form submission; sign in with fetch instead
    submit.disabled = true;
    api
      .signIn(tokenInput.value.trim())
      .then((s) => {
        tokenInput.value = '';
        dialog.close();
        store.setSession(s);
      })
      .catch((err: unknown) => {
        failure.hidden = false;
        failure.textContent = t(store.state.lang, 'auth.failed', { message: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => (submit.disabled = false));
  });

  root.replaceChildren(title, h('nav', { class: 'header-nav' }, nav), h('div', { class: 'header-tools' }, indicator, who, authButton, langButton), dialog);

  function render(): void {
    const { lang, connection, session, view } = store.state;
    title.replaceChildren(
      h('span', { class: 'brand-name' }, t(lang, 'app.product')),
      h('span', { class: 'brand-sub' }, t(lang, 'app.subtitle')),
    );
    nav.textContent = view === 'station' ? t(lang, 'nav.back') : t(lang, 'nav.overview');
    nav.toggleAttribute('aria-current', view === 'overview');
    // `data-state` lets tests and CSS read the state without depending on the language of the text.
    indicator.dataset.state = connection;
    indicator.setAttribute('aria-label', `${t(lang, 'live.label')}: ${t(lang, `live.${connection}`)}`);
    indicator.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), t(lang, `live.${connection}`));
    const signedIn = session?.signed_in === true && session.role !== null;
    who.hidden = !signedIn;
    who.dataset.role = signedIn ? (session.role ?? '') : '';
    who.textContent = signedIn ? t(lang, 'auth.as', { name: session.name ?? '', role: t(lang, `role.${session.role!}`) }) : '';
    authButton.textContent = t(lang, signedIn ? 'auth.signOut' : 'auth.signIn');
    langButton.textContent = t(lang, 'lang.switch');
    langButton.setAttribute('aria-label', t(lang, 'lang.switchLabel'));
    langButton.lang = otherLang(lang);
    dialogTitle.textContent = t(lang, 'auth.dialog');
    tokenLabel.textContent = t(lang, 'auth.token');
    submit.textContent = t(lang, 'auth.signIn');
    cancel.textContent = t(lang, 'auth.cancel');
  }

  store.subscribe((e) => {
    if (e.type === 'lang' || e.type === 'connection' || e.type === 'session' || e.type === 'view') render();
  });
  render();
}
