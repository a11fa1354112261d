// Connect: the key server's address and the fingerprint of its
// certificate, compared by the person with the one the help desk gave
// them before the app trusts it (trust on first use, kept in the keyring).

import { api, type AppInfo } from "../api";
import { go, register, setInfo } from "../app";
import { button, card, facts, field, fill, h, input, messageRegion, screen } from "../dom";
import { form, run } from "../feedback";

/** `AB:CD:…` in groups of four bytes; the text stays exactly the fingerprint. */
export function fingerprintView(fingerprint: string, id?: string): HTMLElement {
  const pairs = fingerprint.split(":");
  const view = h("div", { id, class: "fingerprint", "data-fingerprint": fingerprint });
  for (let i = 0; i < pairs.length; i += 4) {
    const last = i + 4 >= pairs.length;
    view.appendChild(h("span", { class: "group" }, pairs.slice(i, i + 4).join(":") + (last ? "" : ":")));
  }
  return view;
}

const keyringProblem = h("div", { id: "keyring-problem", class: "alert", role: "alert", hidden: true });

const connected = h("div", { id: "connected", class: "card connected", hidden: true });
const forget = button("forget-server", "Forget this server", { class: "secondary" });

const url = input("server-url", { type: "url", placeholder: "https://keys.example.com", required: true, inputmode: "url" });
const probe = button("probe", "Show the server's fingerprint", { type: "submit" });

const probed = h("div", { id: "probed", class: "card probed", hidden: true });
const confirm = button("confirm-fingerprint", "They match: trust this server", { class: "primary" });
const cancel = button("cancel-fingerprint", "They differ: do not connect", { class: "secondary" });
const connectResult = messageRegion("connect-result");

/** What was probed: confirming trusts exactly this address and fingerprint. */
let candidate: { url: string; fingerprint: string } | null = null;

function dropCandidate(): void {
  candidate = null;
  probed.hidden = true;
  probed.replaceChildren();
}

const section = screen(
  "connect",
  "Connect to your key server",
  "Signet keeps your key sealed on your organisation's key server. Tell the app where that server is, once.",
  keyringProblem,
  connected,
  card(
    "Server",
    form(
      { id: "connect-form" },
      () => {
        const address = url.value.trim();
        void run(probe, "Asking the server for its certificate…", async () => {
          dropCandidate();
          const fingerprint = await api.probeServer(address);
          candidate = { url: address, fingerprint };
          fill(
            probed,
            h("h2", {}, "Check the server's identity"),
            h("p", { class: "lead" }, "Compare with the fingerprint your help desk gave you"),
            h("p", { class: "hint" }, `The server at ${address} shows this SHA-256 fingerprint. Every character must match.`),
            fingerprintView(fingerprint, "fingerprint"),
            h("div", { class: "actions" }, confirm, cancel),
          );
          probed.hidden = false;
          confirm.focus();
        });
      },
      field("Server address", url, "The address your help desk gave you, starting with https://"),
      h("div", { class: "actions" }, probe),
    ),
  ),
  probed,
  connectResult,
);

url.addEventListener("input", dropCandidate);

confirm.addEventListener("click", () => {
  const chosen = candidate;
  if (!chosen) return;
  void run(confirm, "Connecting to the key server…", async () => {
    const info = await api.connectServer(chosen.url, chosen.fingerprint);
    dropCandidate();
    url.value = "";
    setInfo(info);
    fill(
      connectResult,
      h("p", {}, "Connected. If you have no key yet, apply for one; otherwise sign in."),
      h(
        "div",
        { class: "actions" },
        navButton("Apply for a key", "apply"),
        navButton("Sign in", "signin"),
      ),
    );
    connectResult.hidden = false;
  });
});

cancel.addEventListener("click", () => {
  dropCandidate();
  fill(
    connectResult,
    h("p", {}, "Not connected. Check the address, and if the fingerprint still differs, call your help desk: someone may be impersonating the server."),
  );
  connectResult.hidden = false;
});

forget.addEventListener("click", () => {
  void run(forget, "Forgetting the server…", async () => {
    setInfo(await api.forgetServer());
    connectResult.hidden = true;
  });
});

function navButton(text: string, to: "apply" | "signin"): HTMLButtonElement {
  const b = button(undefined, text, { class: "secondary" });
  b.addEventListener("click", () => go(to));
  return b;
}

register({
  name: "connect",
  label: "Connect to server",
  section,
  shown: () => {
    if (!connected.hidden) return;
    url.focus();
  },
  infoChanged: (info: AppInfo) => {
    if (info.keyringProblem) {
      fill(
        keyringProblem,
        h("h2", {}, "The system keyring cannot be used"),
        h("p", {}, info.keyringProblem),
        h(
          "p",
          {},
          "Signet keeps the server's identity in your operating system's keyring and cannot work without it. Unlock or start your keyring (for example GNOME Keyring), then restart Signet. If this keeps happening, call your help desk.",
        ),
      );
    }
    keyringProblem.hidden = !info.keyringProblem;
    if (info.serverUrl && info.fingerprint) {
      fill(
        connected,
        h("h2", {}, "Connected server"),
        facts([
          ["Address", h("code", {}, info.serverUrl)],
          ["Fingerprint (SHA-256)", fingerprintView(info.fingerprint)],
        ]),
        h("p", { class: "hint" }, "Forgetting it signs you out; you will then have to confirm a server's fingerprint again."),
        h("div", { class: "actions" }, forget),
      );
      connected.hidden = false;
    } else {
      connected.hidden = true;
      connected.replaceChildren();
      // Offered by whoever started the app (e.g. `make run`); the person still confirms the fingerprint.
      if (info.suggestedServer && !url.value) url.value = info.suggestedServer;
    }
  },
});
