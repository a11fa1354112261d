// Small DOM helpers. Text always goes in through textContent, never as
// markup, so nothing a server or a file says can become script.

type Attributes = Record<string, string | number | boolean | undefined>;
export type Child = Node | string | null | undefined | false;

/** `<tag attributes…>children</tag>`; `class` and `for` are plain attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces an element's content. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** The element with `id`, typed; a missing id is a programming error. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no element #${id}`);
  return element as T;
}

/** A labelled field: `<div class="field"><label for=id>…</label>input hint</div>`. */
export function field(label: string, input: HTMLElement, hint?: string): HTMLDivElement {
  const wrapper = h("div", { class: "field" }, h("label", { for: input.id }, label), input);
  if (hint) {
    const hintId = `${input.id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    append(wrapper, h("p", { class: "hint", id: hintId }, hint));
  }
  return wrapper;
}

/** A definition list from label/value pairs; values may be nodes. */
export function facts(rows: [string, Child][]): HTMLDListElement {
  const list = h("dl", { class: "facts" });
  for (const [label, value] of rows) append(list, h("dt", {}, label), h("dd", {}, value));
  return list;
}

/** A table head from column titles. */
export function thead(...titles: string[]): HTMLTableSectionElement {
  return h("thead", {}, h("tr", {}, ...titles.map((t) => h("th", { scope: "col" }, t))));
}

/** A row of cells; a string or node becomes one cell. */
export function row(attributes: Attributes, ...cells: Child[]): HTMLTableRowElement {
  return h("tr", attributes, ...cells.map((cell) => h("td", {}, cell)));
}

/** A table body row saying there is nothing to show. */
export function emptyRow(columns: number, text: string): HTMLTableRowElement {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, text));
}

/** A coloured status word: active, superseded, revoked, pending, queued… */
export function badge(status: string, text: string = status): HTMLSpanElement {
  return h("span", { class: `badge badge-${status}` }, text);
}

/** Monospace text that may be selected and copied. */
export function code(text: string): HTMLElement {
  return h("code", {}, text);
}

/** A colon-separated fingerprint (`AB:CD:…`) that wraps only between bytes. */
export function pairs(text: string): HTMLElement {
  const element = h("code", { class: "pairs" });
  text.split(":").forEach((pair, i, all) => {
    append(element, i < all.length - 1 ? `${pair}:` : pair);
    if (i < all.length - 1) element.appendChild(document.createElement("wbr"));
  });
  return element;
}

/** Unix seconds as `YYYY-MM-DD HH:MM UTC`. */
export function when(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** `when` for a narrow table cell: it may break between the date and the time, nowhere else. */
export function whenCell(seconds: number | null | undefined): HTMLElement {
  const text = when(seconds);
  const space = text.indexOf(" ");
  if (space < 0) return h("span", {}, text);
  return h(
    "span",
    { class: "when" },
    h("span", { class: "nowrap" }, text.slice(0, space)),
    " ",
    h("span", { class: "nowrap" }, text.slice(space + 1)),
  );
}

/** A certificate time as printed by the shell (`2025-01-31T12:00:00Z`) in the same form as `when`. */
export function certificateTime(text: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?Z$/.exec(text.trim());
  return match ? `${match[1]} ${match[2]} UTC` : text;
}

/** Today in local time, `YYYY-MM-DD` (what a date input holds). */
export function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** A byte count for people. */
export function bytes(size: number): string {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB (${size} bytes)`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB (${size} bytes)`;
}

/** The first letter in upper case: the shell's problems read as phrases. */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A chosen file as base64 (what the commands take). */
export function readFileBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsDataURL(file);
  });
}

/** A screen: `<section id="screen-<name>">` with its heading and a line saying what it is for. */
export function screen(name: string, title: string, intro: string, ...children: Child[]): HTMLElement {
  return h(
    "section",
    { id: `screen-${name}`, class: "screen", "aria-labelledby": `screen-${name}-title`, hidden: true },
    h("h1", { id: `screen-${name}-title`, tabindex: -1 }, title),
    h("p", { class: "intro" }, intro),
    ...children,
  );
}

/** A titled panel within a screen. */
export function card(title: string, ...children: Child[]): HTMLElement {
  return h("div", { class: "card" }, h("h2", {}, title), ...children);
}

/** A text-like input. */
export function input(id: string, attributes: Attributes = {}): HTMLInputElement {
  return h("input", { id, name: id, type: "text", spellcheck: "false", ...attributes });
}

/** A button; `type` defaults to "button" so it never submits by accident. */
export function button(id: string | undefined, text: string, attributes: Attributes = {}): HTMLButtonElement {
  return h("button", { id, type: "button", ...attributes }, text);
}

/** A `<select>` from value/label pairs. */
export function select(id: string, options: [string, string][], attributes: Attributes = {}): HTMLSelectElement {
  return h("select", { id, name: id, ...attributes }, ...options.map(([value, label]) => h("option", { value }, label)));
}

/**
 * A message region, hidden while empty. A `flash` region stays in view at
 * the top of a long screen and is cleared by the next action.
 */
export function messageRegion(id: string, kind: "result" | "notice" | "flash" = "result"): HTMLDivElement {
  return h("div", { id, class: kind === "flash" ? "result flash" : kind, role: "status", "aria-live": "polite", hidden: true });
}

/** A notice shown only while no server is set up. */
export function needsServer(): HTMLElement {
  return h("p", { class: "notice needs-server" }, "Connect to your key server first: see “Connect to server”.");
}
