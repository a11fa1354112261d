// My key: the certificate in use, the signatures made on this computer,
// and the three things a person does to their own key: change the pass
// phrase, make a new key pair, revoke it.

import { REVOCATION_REASONS, api, type RevocationReason } from "../api";
import { go, register, setSession, state } from "../app";
import {
  button,
  card,
  certificateTime,
  code,
  emptyRow,
  facts,
  field,
  fill,
  h,
  input,
  messageRegion,
  pairs,
  row,
  screen,
  select,
  thead,
  when,
} from "../dom";
import { form, run } from "../feedback";
import { meterElements, passphraseMeter } from "../strength";
import { signInNotice } from "./signin";

// The certificate in use.
const certificate = h("div", { id: "keys-certificate" });
// The signing core that holds the key in this session.
const signingCore = h("div", { id: "keys-signer" });

function showCertificate(): void {
  const session = state.session;
  if (!session) {
    certificate.replaceChildren();
    signingCore.replaceChildren();
    return;
  }
  const view = session.certificate;
  fill(
    certificate,
    view
      ? facts([
          ["Subject", view.subject],
          ["Serial", code(view.serial)],
          ["Valid", `${certificateTime(view.notBefore)} to ${certificateTime(view.notAfter)}`],
          ["SHA-256", pairs(view.sha256)],
          ["Key", `RSA, ${session.keyBits} bits`],
          ["Issuer", view.issuer],
        ])
      : h("p", {}, `No certificate is on record for this key (RSA, ${session.keyBits} bits).`),
  );
  const signer = session.signer;
  fill(
    signingCore,
    facts([
      ["Release", `${signer.label} (release ${signer.version})`],
      [
        "Came from",
        signer.origin === "delivered"
          ? "Delivered by the key server, running from memory only"
          : "Installed on this computer (it cannot run a signer from memory; the key server allows this)",
      ],
      ["SHA-256", pairs(signer.sha256)],
      ["Release key", signer.releaseKey === "development" ? "Development key (not for production)" : signer.releaseKey],
    ]),
  );
}


// Signatures made on this computer.
const history = h("table", { id: "history", class: "data" });
const historyBody = h("tbody", {});
history.append(thead("Signed at", "Document", "Certificate serial", "Saved as"), historyBody);

async function loadHistory(): Promise<void> {
  const signatures = await api.mySignatures();
  historyBody.replaceChildren();
  if (signatures.length === 0) historyBody.appendChild(emptyRow(4, "No signatures made on this computer yet."));
  for (const s of signatures) {
    historyBody.appendChild(
      row(
        {},
        h("span", { class: "nowrap" }, when(s.signedAt)),
        h("span", { title: `SHA-256 ${s.sha256}` }, s.name),
        code(s.serial),
        h("span", { class: "path", title: `Signature: ${s.signaturePath}` }, s.documentPath),
      ),
    );
  }
}

// Change the pass phrase.
const cpCurrent = input("cp-current", { type: "password", required: true, autocomplete: "current-password" });
const cpNew = input("cp-new", { type: "password", required: true, autocomplete: "new-password" });
const cpNew2 = input("cp-new2", { type: "password", required: true, autocomplete: "new-password" });
const cpSubmit = button("cp-submit", "Change pass phrase", { type: "submit", class: "primary", disabled: true });
const cpResult = messageRegion("cp-result");
const cpStrength = meterElements("cp-strength");
const cpMeter = passphraseMeter({
  pass: cpNew,
  again: cpNew2,
  meter: cpStrength.meter,
  text: cpStrength.text,
  submit: cpSubmit,
  personal: () => (state.session ? [state.session.userId, state.session.name, state.session.email] : []),
});

const changeForm = form(
  { id: "cp-form" },
  () => {
    void run(cpSubmit, "Sealing your key under the new pass phrase…", async () => {
      cpResult.hidden = true;
      const changed = api.changePassphrase(cpCurrent.value, cpNew.value, cpNew2.value);
      cpCurrent.value = "";
      cpNew.value = "";
      cpNew2.value = "";
      cpMeter.reset();
      await changed;
      fill(cpResult, h("p", {}, "Your pass phrase is changed. Use the new one from your next sign-in on."));
      cpResult.hidden = false;
    }).then(() => cpMeter.refresh());
  },
  h("div", { class: "grid" }, field("Current pass phrase", cpCurrent), h("div", {})),
  h("div", { class: "grid" }, field("New pass phrase", cpNew), field("New pass phrase again", cpNew2)),
  cpStrength.box,
  h("div", { class: "actions" }, cpSubmit),
  cpResult,
);

// A new key pair.
const newkeyCurrent = input("newkey-current", { type: "password", required: true, autocomplete: "current-password" });
const newkeySubmit = button("newkey-submit", "Make a new key pair", { type: "submit", class: "primary" });
const newkeyResult = messageRegion("newkey-result");

const newKeyForm = form(
  { id: "newkey-form" },
  () => {
    void run(newkeySubmit, "Generating a new key pair…", async () => {
      newkeyResult.hidden = true;
      const made = api.newKey(newkeyCurrent.value);
      newkeyCurrent.value = "";
      const session = await made;
      setSession(session);
      showCertificate();
      fill(
        newkeyResult,
        h(
          "p",
          {},
          `Your new key pair is in use${session.certificate ? `, with certificate ${session.certificate.serial}` : ""}. The previous certificate is superseded; what you signed with it stays valid.`,
        ),
      );
      newkeyResult.hidden = false;
    });
  },
  h("p", { class: "hint" }, "A new key pair under the same pass phrase, with a new certificate. No consent letter is needed."),
  field("Current pass phrase", newkeyCurrent),
  h("div", { class: "actions" }, newkeySubmit),
  newkeyResult,
);

// Revoke the key for good.
const revokePass = input("revoke-pass", { type: "password", required: true, autocomplete: "current-password" });
const revokeReason = select("revoke-reason", REVOCATION_REASONS.filter(([value]) => value !== "superseded"));
const revokeSubmit = button("revoke-submit", "Revoke my key…", { type: "submit", class: "danger" });
const revokeConfirm = button("revoke-confirm", "Yes, revoke my key for good", { class: "danger" });
const revokeCancel = button("revoke-cancel", "No, keep my key", { class: "secondary" });
const revokeBox = h(
  "div",
  { id: "revoke-confirm-box", class: "alert confirm-box", role: "alertdialog", "aria-labelledby": "revoke-warning", hidden: true },
  h("p", { id: "revoke-warning", class: "warning-title" }, "This cannot be undone."),
  h(
    "p",
    {},
    "Your key is erased from the key server and your certificate is listed as revoked. You are signed out at once, and to sign again you must apply for a new key and wait for a new consent letter.",
  ),
  h("div", { class: "actions" }, revokeConfirm, revokeCancel),
);

const revokeForm = form(
  { id: "revoke-form" },
  () => {
    revokeBox.hidden = false;
    revokeSubmit.disabled = true;
    revokeConfirm.focus();
  },
  h("p", { class: "hint" }, "Revoke your key if someone else may know your pass phrase or you no longer sign for your organisation."),
  h("div", { class: "grid" }, field("Pass phrase", revokePass), field("Reason", revokeReason)),
  h("div", { class: "actions" }, revokeSubmit),
  revokeBox,
);

function closeRevokeConfirmation(): void {
  revokeBox.hidden = true;
  revokeSubmit.disabled = false;
}

revokeCancel.addEventListener("click", () => {
  closeRevokeConfirmation();
  revokePass.value = "";
});

revokeConfirm.addEventListener("click", () => {
  const reason = revokeReason.value as RevocationReason;
  void run(revokeConfirm, "Revoking your key…", async () => {
    const revoked = api.revokeOwnKey(revokePass.value, reason);
    revokePass.value = "";
    const { serial, crlNumber } = await revoked;
    setSession(null);
    signInNotice(
      `Your key is revoked: certificate ${serial} is listed in revocation list number ${crlNumber}.`,
      "You are signed out. To sign again, apply for a new key.",
    );
    go("signin");
  }).then(closeRevokeConfirmation);
});

const section = screen(
  "keys",
  "My key",
  "Your certificate, what you signed on this computer, and what you can do with your key.",
  card("Certificate in use", certificate),
  card("Signing core", signingCore),
  card("Signatures made on this computer", h("div", { class: "table-wrap" }, history)),
  card("Change pass phrase", changeForm),
  card("New key pair", newKeyForm),
  h("div", { class: "card danger-zone" }, h("h2", {}, "Revoke my key"), revokeForm),
);

register({
  name: "keys",
  label: "My key",
  section,
  shown: () => {
    showCertificate();
    void run(null, "Loading your signatures…", loadHistory);
  },
  reset: () => {
    certificate.replaceChildren();
    historyBody.replaceChildren();
    for (const region of [cpResult, newkeyResult]) {
      region.hidden = true;
      region.replaceChildren();
    }
    for (const field of [cpCurrent, cpNew, cpNew2, newkeyCurrent, revokePass]) field.value = "";
    cpMeter.reset();
    closeRevokeConfirmation();
  },
});
