// Sign: a payment order typed in the form, or a file. The shell turns it
// into the exact bytes to sign and summarises those bytes; the person
// confirms the summary, and only then does the signer sign them.

import { api, type DocumentSummary } from "../api";
import { register } from "../app";
import {
  button,
  bytes,
  card,
  code,
  facts,
  field,
  fill,
  h,
  input,
  messageRegion,
  readFileBase64,
  screen,
  today,
  when,
} from "../dom";
import { form, run, showError } from "../feedback";

const debtorName = input("order-debtor-name", { required: true });
const debtorIban = input("order-debtor-iban", { required: true, class: "mono", autocapitalize: "characters" });
const creditorName = input("order-creditor-name", { required: true });
const creditorIban = input("order-creditor-iban", { required: true, class: "mono", autocapitalize: "characters" });
const amount = input("order-amount", { required: true, inputmode: "decimal", placeholder: "1250.00", class: "amount" });
const currency = input("order-currency", {
  required: true,
  value: "EUR",
  maxlength: 3,
  pattern: "[A-Za-z]{3}",
  class: "short",
  autocapitalize: "characters",
});
const reference = input("order-reference", { maxlength: 140 });
const date = input("order-date", { type: "date", required: true, value: today() });
const prepare = button("order-prepare", "Review the order", { type: "submit", class: "primary" });

const file = h("input", { id: "file-input", name: "file-input", type: "file" });
const filePrepare = button("file-prepare", "Review the file", { type: "submit", class: "primary" });

const summary = h("div", { id: "order-summary", class: "card summary", hidden: true, tabindex: -1 });
const confirm = button("order-confirm", "Sign this order", { class: "primary" });
const cancel = button("order-cancel", "Cancel", { class: "secondary" });
const result = messageRegion("sign-result");

/** The document the summary shows, the only one `#order-confirm` signs. */
let pending: DocumentSummary | null = null;

const orderForm = form(
  { id: "order-form" },
  () => {
    const order = {
      debtorName: debtorName.value.trim(),
      debtorIban: debtorIban.value.trim(),
      creditorName: creditorName.value.trim(),
      creditorIban: creditorIban.value.trim(),
      amount: amount.value.trim(),
      currency: currency.value.trim().toUpperCase(),
      reference: reference.value.trim(),
      executionDate: date.value,
    };
    void run(prepare, "Preparing the payment order…", async () => {
      showSummary(await api.prepareOrder(order), "Sign this order");
    });
  },
  h(
    "div",
    { class: "grid" },
    field("Paying account holder", debtorName),
    field("Paying account (IBAN)", debtorIban),
    field("Payee", creditorName),
    field("Payee's account (IBAN)", creditorIban),
    h(
      "div",
      { class: "field-pair" },
      field("Amount", amount),
      field("Currency", currency),
    ),
    field("Execution date", date),
    h("div", { class: "field span-2" }, h("label", { for: reference.id }, "Reference (shown to the payee)"), reference),
  ),
  h("div", { class: "actions" }, prepare),
);

const fileForm = form(
  { id: "file-form" },
  () => {
    const chosen = file.files?.[0];
    if (!chosen) {
      showError({ code: "bad-input", message: "Choose a file first." });
      return;
    }
    void run(filePrepare, "Reading the file…", async () => {
      const content = await readFileBase64(chosen);
      showSummary(await api.prepareFile(chosen.name, content), "Sign this file");
    });
  },
  field("File", file, "A payment-order file (pain.001 XML) or any other document, up to 8 MiB."),
  h("div", { class: "actions" }, filePrepare),
);

const entry = h(
  "div",
  { class: "entry" },
  card("Payment order", orderForm),
  card("Or sign a file", fileForm),
);

function showSummary(prepared: DocumentSummary, verb: string): void {
  pending = prepared;
  result.hidden = true;
  const parts = [
    h("h2", {}, "Check before signing"),
    h("p", { class: "hint" }, "This is what will be signed, read from the exact bytes the signer receives."),
  ];
  if (prepared.facts.length > 0) {
    const body = h("tbody", {});
    for (const [label, value] of prepared.facts) body.appendChild(h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value)));
    parts.push(h("table", { class: "facts-table" }, body));
  }
  fill(
    summary,
    ...parts,
    facts([
      ["Document", prepared.name],
      ["Size", bytes(prepared.size)],
      ["SHA-256", code(prepared.sha256)],
    ]),
    prepared.preview !== null
      ? h("div", { class: "preview" }, h("h3", {}, "The document's text"), h("pre", { tabindex: 0 }, prepared.preview))
      : h("p", { class: "hint" }, "No preview: this file is not text."),
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
  for (const field of [debtorName, debtorIban, creditorName, creditorIban, amount, reference]) field.value = "";
  currency.value = "EUR";
  date.value = today();
  file.value = "";
}

confirm.addEventListener("click", () => {
  const chosen = pending;
  if (!chosen) return;
  void run(confirm, "Signing…", async () => {
    const signed = await api.signDocument(chosen.id);
    backToEntry();
    clearEntry();
    fill(
      result,
      h("h2", {}, "Signed"),
      facts([
        ["Document", signed.name],
        ["Saved as", code(signed.documentPath)],
        ["Signature", h("span", {}, code(signed.signaturePath), `, ${bytes(signed.signatureSize)}`)],
        ["SHA-256", code(signed.sha256)],
        ["Certificate serial", code(signed.serial)],
        ["Signed at", when(signed.signedAt)],
      ]),
      h("p", { class: "hint" }, "Send both files to your bank; the .p7s file is the signature."),
    );
    result.hidden = false;
    result.scrollIntoView({ block: "start" });
  }).then((signed) => {
    // The shell hands a prepared document to the signer once: after a failure it must be reviewed again.
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
  "Type the order or choose a file. You will see exactly what is signed before you confirm.",
  result,
  entry,
  summary,
);

register({
  name: "sign",
  label: "Sign an order",
  section,
  reset: () => {
    backToEntry();
    clearEntry();
    result.hidden = true;
    result.replaceChildren();
  },
});
