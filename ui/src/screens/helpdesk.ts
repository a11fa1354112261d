// Help desk: consent letters to print and post, and the users' accounts:
// re-registration for a lost pass phrase, unlocking, revoking. Every
// request is signed in the signer with the staff member's own key.

import {
  REVOCATION_REASONS,
  api,
  type ActionDone,
  type LetterInfo,
  type LetterPage,
  type RevocationReason,
  type UserInfo,
  type UserPage,
} from "../api";
import { register } from "../app";
import {
  badge,
  button,
  card,
  emptyRow,
  field,
  h,
  input,
  messageRegion,
  row,
  screen,
  select,
  sentence,
  thead,
  when,
} from "../dom";
import { form, run, say } from "../feedback";

const message = messageRegion("helpdesk-message", "flash");

function report(done: ActionDone, about: string): void {
  const lines = [`${sentence(done.message)} (${about}).`];
  if (done.crl_number !== undefined && done.crl_number !== null) lines.push(`The revocation list is now number ${done.crl_number}.`);
  say("helpdesk-message", ...lines);
}

// Letters.
const LETTER_WORDS: Record<string, string> = { queued: "to print", printed: "printed", dispatched: "posted" };
const letters = h("table", { id: "letters", class: "data" });
const lettersBody = h("tbody", {});
letters.append(thead("For", "Letter", "Dates", "Actions"), lettersBody);
const lettersRefresh = button("letters-refresh", "Refresh letters", { class: "secondary" });
const lettersMore = button("letters-more", "Show more letters", { class: "secondary", hidden: true });
/** Where the next page of letters begins, when there is one. */
let lettersNext: string | null = null;

/** Only the latest answer is shown, whatever order the answers arrive in. */
let lettersTicket = 0;
let usersTicket = 0;

/** The first page of letters, or with `more` the next one, added below. */
async function loadLetters(more = false): Promise<void> {
  const ticket = ++lettersTicket;
  const page = await api.helpdeskLetters(more ? lettersNext : null);
  if (ticket === lettersTicket) showLetters(page, more);
}

function showLetters(page: LetterPage, more: boolean): void {
  if (!more) lettersBody.replaceChildren();
  if (!more && page.letters.length === 0) lettersBody.appendChild(emptyRow(4, "No letters waiting."));
  for (const letter of page.letters) lettersBody.appendChild(letterRow(letter));
  lettersNext = page.next ?? null;
  lettersMore.hidden = lettersNext === null;
}

/**
 * One letter's row. The server lists only letters still to print, so a row
 * acted on stays in place, updated, until the next refresh: that is where
 * the person marks a printed letter posted.
 */
function letterRow(letter: LetterInfo): HTMLTableRowElement {
  const save = button(undefined, "Save PDF", {
    class: "save-letter small",
    disabled: !letter.pdf_available,
    title: letter.pdf_available ? "Save the letter to print it" : "Printed letters are no longer kept",
  });
  const printed = button(undefined, "Mark printed", {
    class: "mark-printed small",
    disabled: letter.letter_state !== "queued",
    title: "The server then deletes the letter, and the consent phrase in it",
  });
  const dispatched = button(undefined, "Mark posted", {
    class: "mark-dispatched small",
    disabled: letter.letter_state === "dispatched",
  });
  const about = `${letter.user_id}, application ${letter.application_id}`;
  const tr = row(
    { "data-application": letter.application_id },
    h(
      "div",
      { class: "who" },
      h("strong", {}, letter.full_name),
      h("span", {}, letter.user_id),
      h("span", { class: "hint" }, "application ", h("code", {}, letter.application_id)),
    ),
    badge(letter.letter_state, LETTER_WORDS[letter.letter_state] ?? letter.letter_state),
    h(
      "div",
      { class: "nowrap" },
      h("div", {}, `created ${when(letter.created_at)}`),
      h("div", { class: "hint" }, `valid until ${when(letter.expires_at)}`),
    ),
    h("div", { class: "row-actions" }, save, printed, dispatched),
  );
  save.addEventListener("click", () => {
    void run(save, "Saving the letter…", async () => {
      const path = await api.helpdeskSaveLetter(letter.application_id);
      say("helpdesk-message", `Letter for ${letter.full_name} saved as ${path}. Print it, then mark it printed.`);
    });
  });
  printed.addEventListener("click", () => {
    void run(printed, "Marking the letter printed…", async () => {
      report(await api.helpdeskMarkLetter(letter.application_id, "printed"), about);
      tr.replaceWith(letterRow({ ...letter, letter_state: "printed", pdf_available: false }));
    });
  });
  dispatched.addEventListener("click", () => {
    void run(dispatched, "Marking the letter posted…", async () => {
      report(await api.helpdeskMarkLetter(letter.application_id, "dispatched"), about);
      tr.replaceWith(letterRow({ ...letter, letter_state: "dispatched", pdf_available: false }));
    });
  });
  return tr;
}

lettersRefresh.addEventListener("click", () => {
  void run(lettersRefresh, "Loading letters…", () => loadLetters());
});
lettersMore.addEventListener("click", () => {
  void run(lettersMore, "Loading more letters…", () => loadLetters(true));
});

// Users.
const search = input("user-search", { type: "search", placeholder: "User id, name or e-mail" });
const stateFilter = select("user-state", [
  ["", "Any state"],
  ["pending", "Pending (waiting for consent)"],
  ["active", "Active"],
  ["reset", "Re-registering"],
  ["revoked", "Revoked"],
]);
const searchSubmit = button("user-search-submit", "Search", { type: "submit", class: "primary" });
const usersMore = button("users-more", "Show more users", { class: "secondary", hidden: true });
/** Where the next page of users begins, when there is one. */
let usersNext: string | null = null;
const users = h("table", { id: "users", class: "data" });
const usersBody = h("tbody", {});
users.append(thead("User", "Role", "State", "Failed sign-ins", "Actions"), usersBody);

/** The search shown, re-run after each action. */
let lastSearch: { text: string; state: string | null } = { text: "", state: null };

/**
 * Requests one "Show more" (or a search) makes at most while they come back
 * empty: a search whose words together match few goes through the people a
 * part at a time, and the person should not have to click through empty
 * parts.
 */
const EMPTY_PARTS_SEARCHED_ON = 20;

/** The first page of the search, or with `more` the next one, added below. */
async function loadUsers(more = false): Promise<void> {
  const ticket = ++usersTicket;
  let after = more ? usersNext : null;
  let page = await api.helpdeskUsers(lastSearch.text, lastSearch.state, after);
  for (let part = 1; page.users.length === 0 && page.next && part < EMPTY_PARTS_SEARCHED_ON; part++) {
    if (ticket !== usersTicket) return;
    after = page.next;
    page = await api.helpdeskUsers(lastSearch.text, lastSearch.state, after);
  }
  if (ticket === usersTicket) showUsers(page, more);
}

const STATE_WORDS: Record<string, string> = {
  pending: "pending",
  active: "active",
  revoked: "revoked",
  reset: "re-registering",
};

interface UserAction {
  className: string;
  label: string;
  question: (user: UserInfo) => string;
  confirmLabel: string;
  progress: string;
  withReason?: boolean;
  act: (user: UserInfo, reason: RevocationReason) => Promise<ActionDone>;
}

const USER_ACTIONS: UserAction[] = [
  {
    className: "reset-user",
    label: "Re-register (lost pass phrase)",
    question: (u) =>
      `Erase ${u.user_id}'s key and revoke the certificate? The person then applies again and gets a new consent letter.`,
    confirmLabel: "Yes, re-register",
    progress: "Starting re-registration…",
    act: (u) => api.helpdeskReset(u.user_id),
  },
  {
    className: "unlock-user",
    label: "Unlock",
    question: (u) => `Unlock ${u.user_id}? Only after you checked who is asking.`,
    confirmLabel: "Yes, unlock",
    progress: "Unlocking…",
    act: (u) => api.helpdeskUnlock(u.user_id),
  },
  {
    className: "revoke-user",
    label: "Revoke",
    question: (u) => `Revoke ${u.user_id}'s key for good? This cannot be undone.`,
    confirmLabel: "Yes, revoke",
    progress: "Revoking…",
    withReason: true,
    act: (u, reason) => api.helpdeskRevoke(u.user_id, reason),
  },
];

/** Closes the open confirmation, if any. */
let closeOpenConfirmation: (() => void) | null = null;

function actionsCell(user: UserInfo): HTMLElement {
  const cell = h("div", { class: "row-actions" });
  const showButtons = () => {
    cell.replaceChildren();
    for (const action of USER_ACTIONS) {
      const b = button(undefined, action.label, { class: `${action.className} small${action.withReason ? " danger" : ""}` });
      b.addEventListener("click", () => ask(action));
      cell.appendChild(b);
    }
  };
  const ask = (action: UserAction) => {
    closeOpenConfirmation?.();
    const confirm = button(undefined, action.confirmLabel, { class: "confirm small danger" });
    const cancel = button(undefined, "Cancel", { class: "cancel small secondary" });
    const reason = action.withReason
      ? select(
          `revoke-reason-${user.user_id}`,
          REVOCATION_REASONS.filter(([value]) => value !== "superseded"),
          { class: "revoke-reason", "aria-label": "Reason" },
        )
      : null;
    cell.replaceChildren(
      h("p", { class: "confirm-question" }, action.question(user)),
      ...(reason ? [reason] : []),
      h("div", { class: "row-actions" }, confirm, cancel),
    );
    closeOpenConfirmation = showButtons;
    cancel.addEventListener("click", () => {
      closeOpenConfirmation = null;
      showButtons();
    });
    confirm.addEventListener("click", () => {
      const why = (reason?.value ?? "unspecified") as RevocationReason;
      void run(confirm, action.progress, async () => {
        const done = await action.act(user, why);
        closeOpenConfirmation = null;
        report(done, user.user_id);
        await loadUsers();
        if (action.className === "reset-user") await loadLetters();
      });
    });
    confirm.focus();
  };
  showButtons();
  return cell;
}

function showUsers(page: UserPage, more: boolean): void {
  if (!more) {
    closeOpenConfirmation = null;
    usersBody.replaceChildren();
    // A search of common words goes through the people a part at a time: an
    // empty first part with more to search is not "no match".
    const none = page.next ? "No match among the first people searched: show more to search on." : "No user matches.";
    if (page.users.length === 0) usersBody.appendChild(emptyRow(5, none));
  }
  usersNext = page.next ?? null;
  usersMore.hidden = usersNext === null;
  const now = Date.now() / 1000;
  for (const user of page.users) {
    const locked = user.locked_until !== null && user.locked_until > now;
    usersBody.appendChild(
      row(
        { "data-user": user.user_id },
        h(
          "div",
          { class: "who" },
          h("strong", {}, user.user_id),
          h("span", {}, user.registration.common_name),
          h("span", { class: "hint" }, user.registration.email),
        ),
        user.role,
        badge(user.state, STATE_WORDS[user.state] ?? user.state),
        h(
          "div",
          {},
          String(user.failed_logins),
          locked ? h("div", { class: "locked" }, `locked until ${when(user.locked_until)}`) : null,
        ),
        actionsCell(user),
      ),
    );
  }
}

const usersForm = form(
  { id: "user-search-form", class: "toolbar" },
  () => {
    lastSearch = { text: search.value.trim(), state: stateFilter.value || null };
    void run(searchSubmit, "Searching…", () => loadUsers());
  },
  field("Search", search),
  field("State", stateFilter),
  h("div", { class: "actions" }, searchSubmit),
);

const section = screen(
  "helpdesk",
  "Help desk",
  "Print and post consent letters; help people who lost their pass phrase or locked their account.",
  message,
  card(
    "Consent letters",
    h("p", { class: "hint" }, "Save a letter, print it, mark it printed (the server then deletes it), and mark it posted once it is in the mail."),
    h("div", { class: "table-wrap" }, letters),
    h("div", { class: "actions" }, lettersMore, lettersRefresh),
  ),
  card(
    "Users",
    h("p", { class: "hint" }, "Search by the beginning of a user id, e-mail address or domain, or of a name's words."),
    usersForm,
    h("div", { class: "table-wrap" }, users),
    h("div", { class: "actions" }, usersMore),
  ),
);

register({
  name: "helpdesk",
  label: "Help desk",
  section,
  shown: () => {
    void run(null, "Loading letters and users…", async () => {
      await loadLetters();
      await loadUsers();
    });
  },
  reset: () => {
    lettersBody.replaceChildren();
    usersBody.replaceChildren();
    closeOpenConfirmation = null;
    search.value = "";
    stateFilter.value = "";
    lastSearch = { text: "", state: null };
    say("helpdesk-message");
  },
});
