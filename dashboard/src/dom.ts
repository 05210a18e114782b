/**
 * The only way the dashboard builds DOM: elements, attributes and text nodes.
 * Strings are never parsed as HTML (no innerHTML, insertAdjacentHTML, or
 * document.write anywhere), so whatever an upstream puts in a tool name,
 * description, schema or result is shown as text — safe by construction.
 */
export type Child = Node | string | number | null | undefined | false;

type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

let unique = 0;
/** A fresh id for label/control pairs. */
export function nextId(prefix: string): string {
  unique += 1;
  return `${prefix}-${unique}`;
}

/** A labelled control: every input of the dashboard goes through here, so none lacks a label. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= nextId('f');
  const hintNode = hint ? h('small', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintNode);
}

/** A status line screen readers announce. */
export function notice(kind: 'error' | 'info' | 'ok', text: string): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** An execution's progress as the upstream reports it: a total is optional, and so is a message. */
export interface ProgressState {
  progress: number | null | undefined;
  total: number | null | undefined;
  message?: string | null | undefined;
  running: boolean;
}

/**
 * A bar when the share done is known; while running without a total, a moving
 * bar and the count; once finished without a total, only the count (nothing
 * moves any more). The upstream's message, when it sent one, follows.
 */
export function progressBar({ progress, total, message, running }: ProgressState, label: string): HTMLElement {
  const percent = progress != null && total ? Math.min(100, Math.round((progress / total) * 100)) : progress != null ? null : 0;
  const text = percent !== null ? `${percent} %` : `progress ${progress ?? 0}`;
  const said = message ? ` — ${message}` : '';
  if (percent === null && !running) return h('span', { class: 'progress' }, h('span', { class: 'progress-text' }, text + said));
  const bar = h('progress', { max: 100, 'aria-label': label });
  if (percent !== null) bar.value = percent;
  return h('span', { class: 'progress' }, bar, h('span', { class: 'progress-text' }, text + said));
}
