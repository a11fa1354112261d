// Signet's screens. The page holds no key and does no cryptography: it
// calls the shell's commands and shows their answers.

import "./style.css";

import { listen } from "@tauri-apps/api/event";

import { api, asCommandError } from "./api";
import { buildNav, go, sections, setInfo, setSession, state } from "./app";
import { button, h } from "./dom";
import { followProgress, run, showError, whenSessionLost } from "./feedback";
import "./screens/connect";
import "./screens/apply";
import "./screens/consent";
import "./screens/signin";
import "./screens/sign";
import { bankAlert } from "./screens/orders";
import "./screens/keys";
import "./screens/helpdesk";
import "./screens/audit";
import { prefillSignIn, signInNotice } from "./screens/signin";

function layout(): void {
  const signOut = button("sign-out", "Sign out", { class: "secondary", hidden: true });
  signOut.addEventListener("click", () => {
    const userId = state.session?.userId;
    void run(signOut, "Signing out…", async () => {
      await api.signOut();
      sessionEnded(userId, "You are signed out. Your key was wiped from this computer's memory.");
    });
  });
  document.body.replaceChildren(
    h("a", { class: "skip-link", href: "#screens" }, "Skip to the screen"),
    h(
      "header",
      { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "seal", "aria-hidden": "true" }), h("span", {}, "Signet")),
      h("div", { id: "whoami", "aria-live": "polite" }),
      signOut,
    ),
    h("nav", { id: "nav", "aria-label": "Screens" }),
    h(
      "main",
      { id: "main" },
      h("div", { id: "error", class: "error", role: "alert", hidden: true }),
      h(
        "div",
        { id: "progress", class: "progress", role: "status", hidden: true },
        h("div", { class: "progress-bar", "aria-hidden": "true" }, h("span", {})),
        h("span", { id: "progress-text" }, "Working…"),
      ),
      bankAlert,
      h("div", { id: "screens", tabindex: -1 }, ...sections()),
    ),
  );
  buildNav();
}

/** The session is over (signed out, idle, revoked elsewhere): back to Sign in. */
function sessionEnded(userId: string | undefined, ...notice: string[]): void {
  setSession(null);
  if (userId) prefillSignIn(userId);
  signInNotice(...notice);
  go("signin");
}

async function start(): Promise<void> {
  layout();
  setSession(null);
  whenSessionLost(() => {
    if (state.session) sessionEnded(state.session.userId, "Your session has ended. Sign in again to continue.");
  });
  void followProgress().catch(() => {});
  void listen<string>("signed-out", () => {
    if (!state.session) return;
    sessionEnded(
      state.session.userId,
      "You were signed out after a pause without use; your key was wiped from memory. Sign in again to continue.",
    );
  }).catch(() => {});

  try {
    const info = await api.appInfo();
    setInfo(info);
    if (info.signedIn) setSession(await api.sessionInfo());
    if (info.keyringProblem || !info.serverUrl) go("connect");
    else if (state.session) go("sign");
    else go("signin");
  } catch (error) {
    go("connect");
    showError(asCommandError(error));
  }
}

void start();
