// The pass-phrase meter shared by Apply and Change pass phrase. The shell
// rates the pass phrase (the same rules it enforces on submit); the page
// only shows the reading and keeps the submit button disabled until the
// pass phrase is acceptable and typed the same twice.

import { api } from "./api";
import { append, h, sentence } from "./dom";

const WORDS = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];
const HINT = "Use at least 15 characters. A few unrelated words make a pass phrase that is long and easy to remember.";

export interface Meter {
  /** Re-rates the pass phrase now (e.g. after a personal detail changed). */
  refresh(): void;
  /** Back to empty, after the fields were cleared. */
  reset(): void;
}

export interface MeterParts {
  pass: HTMLInputElement;
  again: HTMLInputElement;
  meter: HTMLMeterElement;
  text: HTMLElement;
  submit: HTMLButtonElement;
  /** The person's id, name and e-mail: they must not make up the pass phrase. */
  personal: () => string[];
}

/** The `<meter>` and its text, with ids `<prefix>` and `<prefix>-text`. */
export function meterElements(prefix: string): { meter: HTMLMeterElement; text: HTMLElement; box: HTMLElement } {
  const meter = h("meter", { id: prefix, min: 0, max: 4, low: 2, high: 3, optimum: 4, value: 0 });
  const text = h("div", { id: `${prefix}-text`, class: "strength-text", "aria-live": "polite" }, HINT);
  const box = h(
    "div",
    { class: "strength" },
    h("div", { class: "strength-row" }, h("label", { for: prefix }, "Strength"), meter),
    text,
  );
  return { meter, text, box };
}

export function passphraseMeter(parts: MeterParts): Meter {
  const { pass, again, meter, text, submit } = parts;
  let acceptable = false;
  let asked = 0;
  let timer: number | undefined;
  let problems: string[] = [];
  let suggestions: string[] = [];

  const render = () => {
    const typed = pass.value.length > 0;
    const same = pass.value === again.value;
    text.replaceChildren();
    if (!typed) {
      append(text, h("p", {}, HINT));
    } else {
      const word = WORDS[Math.max(0, Math.min(4, meter.value))] ?? "";
      append(text, h("p", { class: acceptable ? "strength-ok" : "strength-bad" }, acceptable ? `${word}: good.` : `${word}: not yet acceptable.`));
      const list = h("ul", {});
      for (const p of problems) append(list, h("li", { class: "problem" }, sentence(p)));
      for (const s of suggestions) append(list, h("li", {}, sentence(s)));
      if (list.childElementCount > 0) append(text, list);
      if (again.value.length > 0 && !same) append(text, h("p", { class: "strength-bad" }, "The two entries differ."));
    }
    submit.disabled = !(typed && acceptable && same);
  };

  const rate = () => {
    timer = undefined;
    const ticket = ++asked;
    if (pass.value.length === 0) {
      acceptable = false;
      meter.value = 0;
      problems = [];
      suggestions = [];
      render();
      return;
    }
    api
      .passphraseStrength(pass.value, parts.personal().filter((s) => s.trim() !== ""))
      .then((strength) => {
        if (ticket !== asked) return; // a newer keystroke is being rated
        acceptable = strength.acceptable;
        meter.value = strength.score;
        problems = strength.problems;
        suggestions = strength.suggestions;
        render();
      })
      .catch(() => {
        if (ticket !== asked) return;
        acceptable = false;
        render();
      });
  };

  const later = () => {
    // Until the new reading arrives, the old verdict must not let a changed pass phrase through.
    acceptable = false;
    submit.disabled = true;
    if (timer !== undefined) window.clearTimeout(timer);
    timer = window.setTimeout(rate, 150);
  };

  /** Rates now if a rating is waiting: the person has moved on from the pass phrase. */
  const flush = () => {
    if (timer === undefined) return;
    window.clearTimeout(timer);
    rate();
  };

  pass.addEventListener("input", later);
  pass.addEventListener("change", flush);
  again.addEventListener("input", () => {
    flush();
    render();
  });
  render();

  return {
    refresh: () => {
      if (pass.value.length > 0) later();
      else render();
    },
    reset: () => {
      if (timer !== undefined) window.clearTimeout(timer);
      timer = undefined;
      asked += 1;
      acceptable = false;
      meter.value = 0;
      problems = [];
      suggestions = [];
      render();
    },
  };
}

