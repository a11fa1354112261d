// Apply: registration data and a new pass phrase. The key pair is made and
// sealed in the signer; the help desk then posts a consent letter.

import { api, type RegistrationData } from "../api";
import { go, register } from "../app";
import { button, card, field, fill, h, input, messageRegion, needsServer, screen, when } from "../dom";
import { form, run } from "../feedback";
import { meterElements, passphraseMeter } from "../strength";
import { prefillConsent } from "./consent";

const userId = input("reg-user-id", { required: true, autocomplete: "username", autocapitalize: "none" });
const name = input("reg-name", { required: true, autocomplete: "name" });
const org = input("reg-org", { required: true, autocomplete: "organization" });
const unit = input("reg-unit", {});
const email = input("reg-email", { type: "email", required: true, autocomplete: "email" });
const country = input("reg-country", {
  required: true,
  maxlength: 2,
  minlength: 2,
  pattern: "[A-Za-z]{2}",
  autocomplete: "country",
  class: "short",
  autocapitalize: "characters",
});
const pass = input("reg-pass", { type: "password", required: true, autocomplete: "new-password" });
const pass2 = input("reg-pass2", { type: "password", required: true, autocomplete: "new-password" });
const submit = button("apply-submit", "Apply for my key", { type: "submit", class: "primary", disabled: true });
const result = messageRegion("apply-result");
const strength = meterElements("strength");

const meter = passphraseMeter({
  pass,
  again: pass2,
  meter: strength.meter,
  text: strength.text,
  submit,
  personal: () => [userId.value, name.value, email.value],
});
for (const personal of [userId, name, email]) personal.addEventListener("change", () => meter.refresh());
country.addEventListener("blur", () => {
  country.value = country.value.trim().toUpperCase();
});

function registration(): RegistrationData {
  return {
    user_id: userId.value.trim(),
    common_name: name.value.trim(),
    organization: org.value.trim(),
    organizational_unit: unit.value.trim(),
    email: email.value.trim(),
    country: country.value.trim().toUpperCase(),
  };
}

const section = screen(
  "apply",
  "Apply for a key",
  "Your key pair is made on this computer and sealed under your pass phrase before it is sent; nobody else ever learns the pass phrase.",
  needsServer(),
  form(
    { id: "apply-form" },
    () => {
      const data = registration();
      void run(submit, "Generating your key pair…", async () => {
        result.hidden = true;
        const applied = api.apply(data, pass.value, pass2.value);
        pass.value = "";
        pass2.value = "";
        meter.reset();
        const { applicationId, expiresAt } = await applied;
        const next = button(undefined, "Go to Consent", { class: "secondary" });
        next.addEventListener("click", () => {
          prefillConsent(data.user_id);
          go("consent");
        });
        fill(
          result,
          h("h2", {}, "Application sent"),
          h("p", {}, "Application id: ", h("code", { class: "application-id" }, applicationId)),
          h("p", {}, `Your consent letter is valid until ${when(expiresAt)}.`),
          h("p", {}, "Your consent letter comes by post; then go to Consent and type the phrase it holds."),
          h("div", { class: "actions" }, next),
        );
        result.hidden = false;
        result.scrollIntoView({ block: "nearest" });
      }).then(() => meter.refresh()); // the button waits for an acceptable pass phrase again
    },
    card(
      "About you",
      h(
        "div",
        { class: "grid" },
        field("User id", userId, "The name you sign in with, e.g. dana.example"),
        field("Full name", name),
        field("Organisation", org),
        field("Department (optional)", unit),
        field("E-mail address", email),
        field("Country", country, "Two letters, e.g. DE"),
      ),
    ),
    card(
      "Your pass phrase",
      h(
        "p",
        { class: "hint" },
        "It opens your key. If you lose it, the help desk cannot recover it: you would have to apply again.",
      ),
      h(
        "div",
        { class: "grid" },
        field("Pass phrase", pass),
        field("Pass phrase again", pass2),
      ),
      strength.box,
      h("div", { class: "actions" }, submit),
    ),
  ),
  result,
);

register({ name: "apply", label: "Apply for a key", section });
