/** The one DOM helper the views share: create an element with attributes and children in one expression. */

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/**
 * `h('td', { 'data-param': 'PM2_5', class: 'num' }, '12,3')`. Attribute values are set with setAttribute and
 * text children become text nodes, so nothing from the API is ever parsed as HTML. `true` sets an empty
 * attribute, `false`/null/undefined leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    el.setAttribute(name, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** Looks up an element the page's HTML must contain; failing loudly beats a view silently never appearing. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no element with id="${id}"`);
  return el as T;
}
