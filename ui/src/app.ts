// What the page knows (the server set up, who is signed in) and which
// screen shows. Screens register here; the nav and the header follow the
// state. Only the signed-in person's role decides which staff screens exist.

import type { AppInfo, Role, SessionInfo } from "./api";
import { byId, fill, h } from "./dom";
import { clearError } from "./feedback";

export type ScreenName = "connect" | "apply" | "consent" | "signin" | "sign" | "orders" | "keys" | "helpdesk" | "audit";

export interface Screen {
  name: ScreenName;
  /** The nav button's words. */
  label: string;
  section: HTMLElement;
  /** The screen became visible. */
  shown?(): void;
  /** The session ended: drop everything shown from it. */
  reset?(): void;
  /** Someone signed in. */
  signedIn?(session: SessionInfo): void;
  /** What the app knows changed (server connected or forgotten). */
  infoChanged?(info: AppInfo): void;
}

export const state: { info: AppInfo | null; session: SessionInfo | null; current: ScreenName | null } = {
  info: null,
  session: null,
  current: null,
};

const screens: Screen[] = [];

/** The nav's order, whatever order the screen modules load in. */
const ORDER: ScreenName[] = ["connect", "apply", "consent", "signin", "sign", "orders", "keys", "helpdesk", "audit"];

export function register(screen: Screen): void {
  screens.push(screen);
  screens.sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
}

const BEFORE_SIGN_IN: ScreenName[] = ["connect", "apply", "consent", "signin"];

/** Whether `name` is open to whoever is (or is not) signed in now. */
export function allowed(name: ScreenName): boolean {
  const session = state.session;
  if (!session) return BEFORE_SIGN_IN.includes(name);
  switch (name) {
    case "sign":
    case "orders":
    case "keys":
      return true;
    case "helpdesk":
      return session.role === "helpdesk";
    case "audit":
      return session.role === "auditor";
    default:
      return false;
  }
}

/** Shows screen `name` (or the sign-in screen when `name` is not open now). */
export function go(name: ScreenName): void {
  if (!allowed(name)) name = state.session ? "sign" : "signin";
  clearError();
  state.current = name;
  for (const screen of screens) screen.section.hidden = screen.name !== name;
  for (const button of byId("nav").querySelectorAll<HTMLButtonElement>("button[data-screen]")) {
    if (button.dataset.screen === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  const screen = screens.find((s) => s.name === name);
  byId("screens").scrollTop = 0;
  screen?.shown?.();
}

export function setInfo(info: AppInfo): void {
  state.info = info;
  document.body.classList.toggle("no-server", !info.serverUrl);
  const server = info.serverUrl ? hostOf(info.serverUrl) : "no server yet";
  fill(byId("nav-footer"), h("span", {}, `Server: ${server}`), h("span", {}, `Signet ${info.version}`));
  for (const screen of screens) screen.infoChanged?.(info);
}

const ROLE_WORDS: Record<Role, string> = { user: "office user", helpdesk: "help desk", auditor: "auditor" };

export function setSession(session: SessionInfo | null): void {
  const ended = state.session !== null && session === null;
  const started = session !== null && state.session?.userId !== session.userId;
  state.session = session;
  const whoami = byId("whoami");
  if (session) {
    fill(
      whoami,
      h("span", { class: "who-name" }, session.name),
      h("span", { class: "who-id" }, session.userId),
      h("span", { class: `who-role role-${session.role}`, "data-role": session.role }, ROLE_WORDS[session.role] ?? session.role),
    );
  } else {
    fill(whoami, h("span", { class: "who-none" }, "Not signed in"));
  }
  byId("sign-out").hidden = !session;
  for (const button of byId("nav").querySelectorAll<HTMLButtonElement>("button[data-screen]")) {
    button.hidden = !allowed(button.dataset.screen as ScreenName);
  }
  if (ended) for (const screen of screens) screen.reset?.();
  if (started && session) for (const screen of screens) screen.signedIn?.(session);
}

/** The nav: one button per registered screen. */
export function buildNav(): void {
  const nav = byId("nav");
  const list = h("div", { class: "nav-list" });
  for (const screen of screens) {
    const button = h("button", { type: "button", "data-screen": screen.name }, screen.label);
    button.addEventListener("click", () => go(screen.name));
    list.appendChild(button);
  }
  fill(nav, list, h("div", { id: "nav-footer", class: "nav-footer" }));
}

export function sections(): HTMLElement[] {
  return screens.map((s) => s.section);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
