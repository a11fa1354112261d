// The page's two shared regions: #error (what went wrong and what to do)
// and #progress (what long work is doing now), and `run`, which ties a
// button to a command: clears the last error, shows progress, disables the
// button, and reports a failure.

import { listen } from "@tauri-apps/api/event";

import { asCommandError, type CommandError, type Progress } from "./api";
import { byId, fill, h, type Child } from "./dom";

/** Called when a command says nobody is signed in any more. */
let onSessionLost: () => void = () => {};

export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

/** Clears #error and the last action's note in a `.flash` region. */
export function clearError(): void {
  for (const region of [byId("error"), ...document.querySelectorAll<HTMLElement>(".flash")]) {
    region.hidden = true;
    region.replaceChildren();
  }
}

export function showError(error: CommandError): void {
  const region = byId("error");
  fill(
    region,
    h("p", { class: "error-message" }, error.message),
    h("span", { class: "error-code", title: "Error code, for your help desk" }, error.code),
  );
  region.hidden = false;
  if (error.code === "not-signed-in") onSessionLost();
}

let running = 0;

function showProgress(text: string): void {
  running += 1;
  byId("progress-text").textContent = text;
  byId("progress").hidden = false;
  document.body.setAttribute("aria-busy", "true");
}

function hideProgress(): void {
  running = Math.max(0, running - 1);
  if (running > 0) return;
  byId("progress").hidden = true;
  document.body.removeAttribute("aria-busy");
}

/** Shows the shell's progress reports while work runs. */
export async function followProgress(): Promise<void> {
  await listen<Progress>("progress", (event) => {
    if (running > 0 && event.payload.text) byId("progress-text").textContent = event.payload.text;
  });
}

/**
 * Runs `work` for `button`: the button is disabled and #progress shows
 * `text` (then the shell's progress reports) until it ends. A failure is
 * shown in #error. Returns whether the work succeeded.
 */
export async function run(
  button: HTMLButtonElement | null,
  text: string,
  work: () => Promise<void>,
): Promise<boolean> {
  clearError();
  if (button) button.disabled = true;
  showProgress(text);
  try {
    await work();
    return true;
  } catch (error) {
    showError(asCommandError(error));
    return false;
  } finally {
    hideProgress();
    if (button) button.disabled = false;
  }
}

/** A short-lived note in a message region (#helpdesk-message, #audit-message…). */
export function say(regionId: string, ...lines: string[]): void {
  const region = byId(regionId);
  fill(region, ...lines.map((line) => h("p", {}, line)));
  region.hidden = lines.length === 0;
}

/**
 * A form that never navigates (the CSP forbids form actions anyway). On
 * submit, an empty required field is named in #error and focused, so that
 * nothing is sent half-filled (an empty pass phrase would count as a failed
 * sign-in); everything else is checked by the shell, which says what is wrong.
 */
export function form(attributes: Record<string, string>, submit: () => void, ...children: Child[]): HTMLFormElement {
  const element = h("form", { autocomplete: "off", novalidate: true, ...attributes }, ...children);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    const empty = Array.from(element.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input[required], select[required]")).find(
      (field) => field.offsetParent !== null && field.value.trim() === "",
    );
    if (empty) {
      const label = element.querySelector(`label[for="${empty.id}"]`)?.textContent ?? "A field";
      showError({ code: "bad-input", message: `${label}: please fill this in.` });
      empty.focus();
      return;
    }
    submit();
  });
  return element;
}
