// Sign in: the pass phrase goes to a new signing process, which proves it
// to the key server and opens the sealed key; the page keeps nothing.

import { api } from "../api";
import { go, register, setSession, state } from "../app";
import { button, card, field, fill, h, input, messageRegion, needsServer, screen } from "../dom";
import { form, run } from "../feedback";

const userId = input("signin-user-id", { required: true, autocomplete: "username", autocapitalize: "none" });
const pass = input("signin-pass", { type: "password", required: true, autocomplete: "current-password" });
const submit = button("signin-submit", "Sign in", { type: "submit", class: "primary" });
const notice = messageRegion("signin-notice", "notice");

export function prefillSignIn(id: string): void {
  userId.value = id;
}

/** A note above the form: why the person is here (signed out after a pause, key revoked…). */
export function signInNotice(...lines: string[]): void {
  fill(notice, ...lines.map((line) => h("p", {}, line)));
  notice.hidden = lines.length === 0;
}

const section = screen(
  "signin",
  "Sign in",
  "Your pass phrase opens your key in a signing process that lives only as long as this session.",
  needsServer(),
  notice,
  card(
    "Your account",
    form(
      { id: "signin-form" },
      () => {
        const id = userId.value.trim();
        void run(submit, "Signing in…", async () => {
          const signedIn = api.signIn(id, pass.value);
          pass.value = "";
          const session = await signedIn;
          signInNotice();
          setSession(session);
          go("sign");
        });
      },
      field("User id", userId),
      field("Pass phrase", pass),
      h("div", { class: "actions" }, submit),
    ),
  ),
);

register({
  name: "signin",
  label: "Sign in",
  section,
  shown: () => {
    if (userId.value === "" && state.info?.rememberedUser) userId.value = state.info.rememberedUser;
    (userId.value === "" ? userId : pass).focus();
  },
  infoChanged: (info) => {
    if (userId.value === "" && info.rememberedUser) userId.value = info.rememberedUser;
  },
});
