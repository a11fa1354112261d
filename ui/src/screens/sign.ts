// Sign: a payment order composed in the form (one or many payments), or a
// pain.001 file. The shell writes or reads the exact bytes, validates them
// against the official schema and the banks' checks, and summarises those
// bytes; the person confirms the summary, and only then does the signer
// sign them.

import { api, asCommandError, type BatchEntry, type NewOrder, type NewPayment, type OrderReview, type PaymentRow } from "../api";
import { register } from "../app";
import {
  button,
  bytes,
  card,
  code,
  emptyRow,
  facts,
  field,
  fill,
  h,
  input,
  messageRegion,
  readFileBase64,
  row,
  screen,
  thead,
  today,
  when,
} from "../dom";
import { form, run, showError } from "../feedback";
import { reportText, stateBadge } from "../bank";

/**
 * A button that sends signed orders (named by their signatures' paths) to
 * the bank's host application, one after the other, and lists the answers
 * under `after`.
 */
function sendToBank(id: string, signaturePaths: string[], after: HTMLElement): HTMLButtonElement {
  const send = button(id, signaturePaths.length === 1 ? "Send to the bank" : `Send ${signaturePaths.length} orders to the bank`, {
    class: "primary",
  });
  const answers = h("tbody", {});
  const table = h("table", { class: "data", id: `${id}-answers`, hidden: true }, thead("Order", "State at the bank", "Status report"), answers);
  after.append(table);
  // What is still to send: a failed order stays, and the button sends it again.
  let waiting = [...signaturePaths];
  send.addEventListener("click", () => {
    void run(send, "Sending to the bank…", async () => {
      table.hidden = false;
      const failed: string[] = [];
      for (const path of waiting) {
        try {
          const answer = await api.hostSubmit(path);
          answers.append(
            row({ "data-order": answer.order.order_id }, answer.order.message_id, stateBadge(answer.order.state), reportText(answer.report)),
          );
        } catch (error) {
          failed.push(path);
          answers.append(row({ class: "refused" }, path, "not sent", h("span", { class: "field-problem" }, asCommandError(error).message)));
        }
      }
      waiting = failed;
    }).then(() => {
      if (waiting.length === 0) {
        send.disabled = true;
        send.textContent = "Sent";
      } else {
        send.textContent = `Send the ${waiting.length} not sent again`;
      }
    });
  });
  return send;
}

/** `1250.5` → `1,250.50`: amounts as people read them (the exact decimal comes from Rust). */
export function money(amount: string, currency: string): string {
  const [whole, fraction = ""] = amount.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${grouped}.${fraction.padEnd(2, "0")} ${currency}`;
}

/** Asks the shell whether a field is acceptable, and shows the answer beside it. */
function liveCheck(element: HTMLInputElement, kind: string): HTMLInputElement {
  const note = h("span", { class: "field-problem", id: `${element.id}-problem`, role: "status" });
  element.setAttribute("aria-describedby", note.id);
  element.addEventListener("change", () => {
    void api.checkOrderField(kind, element.value).then((problem) => {
      element.setCustomValidity(problem ?? "");
      note.textContent = problem ?? "";
    });
  });
  // Placed beside the input once `field()` has wrapped it.
  queueMicrotask(() => element.parentElement?.append(note));
  return element;
}

const debtorName = input("order-debtor-name", { required: true, maxlength: 70 });
const debtorIban = liveCheck(
  input("order-debtor-iban", { required: true, class: "mono", autocapitalize: "characters" }),
  "iban",
);
const debtorBic = liveCheck(
  input("order-debtor-bic", { class: "mono", autocapitalize: "characters", placeholder: "optional" }),
  "bic",
);
const date = liveCheck(input("order-date", { type: "date", required: true, value: today() }), "date");

/** One payment's fields; the first keeps the plain ids. */
interface PaymentFields {
  creditorName: HTMLInputElement;
  creditorIban: HTMLInputElement;
  amount: HTMLInputElement;
  currency: HTMLInputElement;
  reference: HTMLInputElement;
  element: HTMLElement;
}

const paymentList = h("div", { id: "order-payments", class: "payments" });
const payments: PaymentFields[] = [];

function paymentFields(): PaymentFields {
  const n = payments.length + 1;
  const suffix = n === 1 ? "" : `-${n}`;
  const fields = {
    creditorName: liveCheck(input(`order-creditor-name${suffix}`, { required: true, maxlength: 70 }), "name"),
    creditorIban: liveCheck(
      input(`order-creditor-iban${suffix}`, { required: true, class: "mono", autocapitalize: "characters" }),
      "iban",
    ),
    amount: liveCheck(
      input(`order-amount${suffix}`, { required: true, inputmode: "decimal", placeholder: "1250.00", class: "amount" }),
      "amount",
    ),
    currency: input(`order-currency${suffix}`, {
      required: true,
      value: "EUR",
      maxlength: 3,
      pattern: "[A-Za-z]{3}",
      class: "short",
      autocapitalize: "characters",
    }),
    reference: liveCheck(input(`order-reference${suffix}`, { maxlength: 140 }), "text"),
    element: h("fieldset", { class: "payment" }),
  };
  const remove = button(undefined, "Remove", { type: "button", class: "secondary" });
  remove.addEventListener("click", () => {
    const at = payments.indexOf(fields);
    if (at > 0) {
      payments.splice(at, 1);
      fields.element.remove();
    }
  });
  fill(
    fields.element,
    h("legend", {}, `Payment ${n}`),
    h(
      "div",
      { class: "grid" },
      field("Payee", fields.creditorName),
      field("Payee's account (IBAN)", fields.creditorIban),
      h("div", { class: "field-pair" }, field("Amount", fields.amount), field("Currency", fields.currency)),
      field("Reference (shown to the payee)", fields.reference),
    ),
    n > 1 ? h("div", { class: "actions" }, remove) : "",
  );
  payments.push(fields);
  paymentList.append(fields.element);
  return fields;
}

paymentFields();
const addPayment = button("order-add-payment", "Add a payment", { type: "button", class: "secondary" });
addPayment.addEventListener("click", () => paymentFields().creditorName.focus());
const prepare = button("order-prepare", "Review the order", { type: "submit", class: "primary" });

const file = h("input", {
  id: "file-input",
  name: "file-input",
  type: "file",
  multiple: true,
  accept: ".xml,application/xml,text/xml",
});
const folder = h("input", { id: "folder-input", name: "folder-input", type: "file", webkitdirectory: true });
const filePrepare = button("file-prepare", "Review the file", { type: "submit", class: "primary" });

const summary = h("div", { id: "order-summary", class: "card summary", hidden: true, tabindex: -1 });
const confirm = button("order-confirm", "Sign this order", { class: "primary" });
const cancel = button("order-cancel", "Cancel", { class: "secondary" });
const result = messageRegion("sign-result");

/** The order the summary shows, the only one `#order-confirm` signs. */
let pending: OrderReview | null = null;

function composed(): NewOrder {
  const list: NewPayment[] = payments.map((p) => ({
    endToEndId: "",
    amount: p.amount.value.trim(),
    currency: p.currency.value.trim().toUpperCase(),
    creditorName: p.creditorName.value.trim(),
    creditorIban: p.creditorIban.value.trim(),
    creditorBic: "",
    creditorAddress: null,
    remittance: p.reference.value.trim(),
  }));
  return {
    messageId: "",
    initiatingParty: "",
    batches: [
      {
        id: "",
        executionDate: date.value,
        debtorName: debtorName.value.trim(),
        debtorIban: debtorIban.value.trim(),
        debtorBic: debtorBic.value.trim(),
        debtorAddress: null,
        payments: list,
      },
    ],
  };
}

const orderForm = form(
  { id: "order-form" },
  () => {
    const order = composed();
    void run(prepare, "Writing and checking the payment order…", async () => {
      showSummary(await api.prepareOrder(order), "Sign this order");
    });
  },
  h(
    "div",
    { class: "grid" },
    field("Paying account holder", debtorName),
    field("Paying account (IBAN)", debtorIban),
    field("Paying bank (BIC)", debtorBic),
    field("Execution date", date),
  ),
  paymentList,
  h("div", { class: "actions" }, addPayment, prepare),
);

/** The files chosen, from both inputs. */
function chosenFiles(): File[] {
  return [...(file.files ?? []), ...(folder.files ?? [])];
}

const fileForm = form(
  { id: "file-form" },
  () => {
    const chosen = chosenFiles();
    if (chosen.length === 0) {
      showError({ code: "bad-input", message: "Choose a file or a folder first." });
      return;
    }
    if (chosen.length === 1) {
      void run(filePrepare, "Reading and checking the file…", async () => {
        const content = await readFileBase64(chosen[0]);
        showSummary(await api.prepareFile(chosen[0].name, content), "Sign this file");
      });
      return;
    }
    void run(filePrepare, `Reading ${chosen.length} files…`, async () => {
      const files = [];
      for (const f of chosen) files.push({ name: f.webkitRelativePath || f.name, content: await readFileBase64(f) });
      showBatch(await api.prepareFiles(files));
    });
  },
  field(
    "Files",
    file,
    "Payment orders, ISO 20022 pain.001.001.09 or .03. Each is checked against the official schema and the banks' rules, and signed exactly as it is.",
  ),
  field("Or a whole folder", folder),
  h("div", { class: "actions" }, filePrepare),
);

const batch = h("div", { id: "batch", class: "card summary", hidden: true, tabindex: -1 });
const batchConfirm = button("batch-confirm", "Sign these orders", { class: "primary" });
const batchCancel = button("batch-cancel", "Cancel", { class: "secondary" });
let batchIds: string[] = [];

function totalsText(entry: BatchEntry): string {
  return entry.review ? entry.review.summary.totals.map((t) => money(t.amount, t.currency)).join(", ") : "—";
}

function showBatch(entries: BatchEntry[]): void {
  result.hidden = true;
  batchIds = entries.flatMap((e) => (e.review ? [e.review.id] : []));
  const refused = entries.length - batchIds.length;
  const body = h("tbody", {});
  for (const e of entries)
    body.append(
      row(
        { class: e.review ? "" : "refused" },
        e.name,
        e.review ? String(e.review.summary.payments) : "—",
        h("span", { class: "amount" }, totalsText(e)),
        e.review ? code(e.review.summary.sha256.slice(0, 16) + "…") : "",
        e.review ? "ready to sign" : h("span", { class: "field-problem" }, e.problems.join("; ")),
      ),
    );
  batchConfirm.textContent = `Sign ${batchIds.length} order${batchIds.length === 1 ? "" : "s"}`;
  batchConfirm.disabled = batchIds.length === 0;
  fill(
    batch,
    h("h2", {}, "Check before signing"),
    h(
      "p",
      { class: "hint", id: "batch-counts" },
      `${batchIds.length} of ${entries.length} files can be signed` + (refused > 0 ? `; ${refused} refused, see why below.` : "."),
    ),
    h("div", { class: "scroll" }, h("table", { class: "data", id: "batch-files" }, thead("File", "Payments", "Total", "SHA-256", "Status"), body)),
    h("div", { class: "actions" }, batchConfirm, batchCancel),
  );
  entry.hidden = true;
  batch.hidden = false;
  batchConfirm.focus();
}

function closeBatch(): void {
  batchIds = [];
  batch.hidden = true;
  batch.replaceChildren();
  entry.hidden = false;
}

batchConfirm.addEventListener("click", () => {
  const ids = batchIds;
  if (ids.length === 0) return;
  void run(batchConfirm, `Signing ${ids.length} orders…`, async () => {
    const results = await api.signDocuments(ids);
    closeBatch();
    clearEntry();
    const signed = results.filter((r) => r.signed).length;
    const body = h("tbody", {});
    for (const r of results)
      body.append(
        row(
          {},
          r.signed ? r.signed.name : r.id,
          r.signed ? code(r.signed.signaturePath) : h("span", { class: "field-problem" }, r.problem ?? "not signed"),
        ),
      );
    const paths = results.flatMap((r) => (r.signed ? [r.signed.signaturePath] : []));
    const answers = h("div", {});
    fill(
      result,
      h("h2", {}, `Signed ${signed} of ${results.length}`),
      h("table", { class: "data", id: "batch-results" }, thead("Order", "Signature or problem"), body),
      h("p", { class: "hint" }, "Send them to the bank's host application now, or later with each order's .p7s file."),
      paths.length > 0 ? h("div", { class: "actions" }, sendToBank("batch-send", paths, answers)) : null,
      answers,
    );
    result.hidden = false;
    result.scrollIntoView({ block: "start" });
  });
});
batchCancel.addEventListener("click", closeBatch);

const entry = h(
  "div",
  { class: "entry" },
  card("Payment order", orderForm),
  card("Or import order files", fileForm),
);

/** How many payments the table shows at once. */
const PAGE = 200;

export function paymentTable(rows: PaymentRow[]): HTMLElement {
  const search = input("order-search", { type: "search", placeholder: "Payee, IBAN, reference, id or amount" });
  const body = h("tbody", {});
  const shown = h("p", { class: "hint", id: "order-rows-shown" });
  const render = (): void => {
    const needle = search.value.trim().toLowerCase();
    const matching = needle
      ? rows.filter((r) =>
          [r.creditor, r.creditorAccount, r.remittance, r.endToEndId, r.amount, r.debtorAccount]
            .join(" ")
            .toLowerCase()
            .includes(needle),
        )
      : rows;
    body.replaceChildren(
      ...(matching.length === 0
        ? [emptyRow(6, "No payment matches.")]
        : matching
            .slice(0, PAGE)
            .map((r) =>
              row(
                {},
                String(r.number),
                r.creditor,
                code(r.creditorAccount),
                h("span", { class: "amount" }, money(r.amount, r.currency)),
                r.executionDate,
                r.remittance,
              ),
            )),
    );
    shown.textContent =
      matching.length > PAGE
        ? `Showing ${PAGE} of ${matching.length} matching payments; search to narrow them down.`
        : `${matching.length} of ${rows.length} payments.`;
  };
  search.addEventListener("input", render);
  render();
  return h(
    "div",
    { class: "payments-table" },
    h("h3", {}, "Every payment"),
    field("Search", search),
    h(
      "div",
      { class: "scroll", tabindex: 0 },
      h("table", { class: "data", id: "order-rows" }, thead("#", "Payee", "Account", "Amount", "Date", "Reference"), body),
    ),
    shown,
  );
}

function showSummary(prepared: OrderReview, verb: string): void {
  pending = prepared;
  result.hidden = true;
  const s = prepared.summary;
  const totals = h("tbody", {});
  for (const t of s.totals) totals.append(row({}, t.currency, h("span", { class: "amount" }, money(t.amount, t.currency)), String(t.payments)));
  const accounts = h("tbody", {});
  for (const a of s.accounts)
    accounts.append(row({}, code(a.account), a.debtor, h("span", { class: "amount" }, money(a.amount, a.currency)), String(a.payments)));
  const largest = h("tbody", {});
  for (const r of s.largest)
    largest.append(row({}, h("span", { class: "amount" }, money(r.amount, r.currency)), r.creditor, code(r.creditorAccount), r.endToEndId));
  fill(
    summary,
    h("h2", {}, "Check before signing"),
    h("p", { class: "hint" }, "This is what will be signed, read from the exact bytes the signer receives."),
    facts([
      ["Order", `${s.version}, message ${s.messageId}`],
      ["Payments", `${s.payments} in ${s.batches} batch${s.batches === 1 ? "" : "es"}`],
      ["Execution", s.executionDates.join(", ")],
      ["File", `${prepared.name}, ${bytes(s.size)}`],
      ["SHA-256", code(s.sha256)],
    ]),
    h("h3", {}, "Totals"),
    h("table", { class: "data", id: "order-totals" }, thead("Currency", "Total", "Payments"), totals),
    h("h3", {}, "From each account"),
    h("table", { class: "data", id: "order-accounts" }, thead("Account", "Holder", "Total", "Payments"), accounts),
    h("h3", {}, "Largest payments"),
    h("table", { class: "data", id: "order-largest" }, thead("Amount", "Payee", "Account", "End-to-end id"), largest),
    paymentTable(s.rows),
    h("div", { class: "actions" }, confirm, cancel),
  );
  confirm.textContent = verb;
  entry.hidden = true;
  summary.hidden = false;
  confirm.focus();
}

function backToEntry(): void {
  pending = null;
  summary.hidden = true;
  summary.replaceChildren();
  entry.hidden = false;
}

function clearEntry(): void {
  for (const element of [debtorName, debtorIban, debtorBic]) element.value = "";
  while (payments.length > 1) payments.pop()?.element.remove();
  const first = payments[0];
  for (const element of [first.creditorName, first.creditorIban, first.amount, first.reference]) element.value = "";
  first.currency.value = "EUR";
  date.value = today();
  file.value = "";
  folder.value = "";
}

confirm.addEventListener("click", () => {
  const chosen = pending;
  if (!chosen) return;
  void run(confirm, "Signing…", async () => {
    const signed = await api.signDocument(chosen.id);
    const answers = h("div", {});
    backToEntry();
    clearEntry();
    fill(
      result,
      h("h2", {}, "Signed"),
      facts([
        ["Order", signed.name],
        ["Saved as", code(signed.documentPath)],
        ["Signature", h("span", {}, code(signed.signaturePath), `, ${bytes(signed.signatureSize)}`)],
        ["SHA-256", code(signed.sha256)],
        ["Certificate serial", code(signed.serial)],
        ["Signed at", when(signed.signedAt)],
      ]),
      h("p", { class: "hint" }, "Send it to the bank's host application now; the bank answers with a signed status report, kept beside the order."),
      h("div", { class: "actions" }, sendToBank("send-to-bank", [signed.signaturePath], answers)),
      answers,
    );
    result.hidden = false;
    result.scrollIntoView({ block: "start" });
  }).then((signed) => {
    // The shell hands a prepared order to the signer once: after a failure it must be reviewed again.
    if (!signed) backToEntry();
  });
});

cancel.addEventListener("click", () => {
  backToEntry();
  result.hidden = true;
});

const section = screen(
  "sign",
  "Sign a payment order",
  "Compose the order or import a pain.001 file. It is checked as your bank will, and you see exactly what is signed before you confirm.",
  result,
  entry,
  summary,
  batch,
);

register({
  name: "sign",
  label: "Sign an order",
  section,
  reset: () => {
    closeBatch();
    backToEntry();
    clearEntry();
    result.hidden = true;
    result.replaceChildren();
  },
});
