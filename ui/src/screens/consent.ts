// Consent: the phrase from the posted letter activates the key and the
// key server issues the certificate.

import { api } from "../api";
import { go, register } from "../app";
import { button, card, certificateTime, code, facts, field, fill, h, input, messageRegion, needsServer, screen } from "../dom";
import { form, run } from "../feedback";
import { prefillSignIn } from "./signin";

const userId = input("consent-user-id", { required: true, autocomplete: "username", autocapitalize: "none" });
const phrase = input("consent-phrase", { required: true, class: "mono wide", autocapitalize: "none", autocorrect: "off" });
const submit = button("consent-submit", "Activate my key", { type: "submit", class: "primary" });
const result = messageRegion("consent-result");

export function prefillConsent(id: string): void {
  userId.value = id;
}

const section = screen(
  "consent",
  "Activate your key with the consent letter",
  "After you applied, the help desk posts you a letter with a consent phrase. Typing it here activates your key and your certificate is issued.",
  needsServer(),
  card(
    "Consent letter",
    form(
      { id: "consent-form" },
      () => {
        const id = userId.value.trim();
        void run(submit, "Activating your key…", async () => {
          result.hidden = true;
          const consented = api.consent(id, phrase.value);
          phrase.value = "";
          const { certificate } = await consented;
          const next = button(undefined, "Go to Sign in", { class: "secondary" });
          next.addEventListener("click", () => {
            prefillSignIn(id);
            go("signin");
          });
          fill(
            result,
            h("h2", {}, "Your key is active"),
            certificate
              ? facts([
                  ["Certificate", certificate.subject],
                  ["Serial", code(certificate.serial)],
                  ["Valid until", certificateTime(certificate.notAfter)],
                ])
              : h("p", {}, "The certificate was issued."),
            h("p", {}, "Now sign in with your user id and pass phrase."),
            h("div", { class: "actions" }, next),
          );
          result.hidden = false;
          prefillSignIn(id);
        });
      },
      field("User id", userId),
      field("Consent phrase", phrase, "Six groups of four letters and digits, e.g. K7QM-3XR0-VD9A-2NHT-E5WC-PJ4F. Capitals, spaces and dashes do not matter."),
      h("div", { class: "actions" }, submit),
    ),
  ),
  result,
);

register({ name: "consent", label: "Consent letter", section });
