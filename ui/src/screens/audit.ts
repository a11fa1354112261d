// Audit (read-only): every certificate ever issued, one in full, the event
// history, the audit log's hash chain, and checking an old signed file
// against the certificate that was valid when it was signed.

import { api, asCommandError, reasonText, type ArchiveQuery, type CertificateInfo, type SignatureReport } from "../api";
import { register } from "../app";
import {
  badge,
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
  readFileBase64,
  row,
  screen,
  select,
  sentence,
  thead,
  when,
  whenCell,
  type Child,
} from "../dom";
import { form, run, say, showError } from "../feedback";

const message = messageRegion("audit-message", "flash");

// The archive.
const user = input("audit-user", {});
const serial = input("audit-serial", { class: "mono" });
const status = select("audit-status", [
  ["", "Any"],
  ["active", "Active"],
  ["superseded", "Superseded"],
  ["revoked", "Revoked"],
]);
const from = input("audit-from", { type: "date" });
const to = input("audit-to", { type: "date" });
const searchButton = button("audit-search", "Search", { type: "submit", class: "primary" });
const exportButton = button("audit-export", "Export as CSV", { class: "secondary" });

const certificates = h("table", { id: "certificates", class: "data clickable" });
const certificatesBody = h("tbody", {});
certificates.append(thead("Serial", "User", "Status", "Issued", "Not after", "Revoked at"), certificatesBody);
const detail = h("div", { id: "certificate-detail", class: "card detail", hidden: true, tabindex: -1 });
const savePem = button("save-pem", "Save PEM file", { class: "secondary" });

function query(): ArchiveQuery {
  return { user: user.value.trim(), serial: serial.value.trim(), status: status.value, from: from.value, to: to.value };
}

/** Only the latest search's answer is shown, whatever order the answers arrive in. */
let archiveTicket = 0;

async function searchArchive(): Promise<void> {
  const ticket = ++archiveTicket;
  const list = await api.auditCertificates(query());
  if (ticket === archiveTicket) showCertificates(list);
}

function statusBadge(value: string): HTMLElement {
  return badge(value);
}

function showCertificates(list: CertificateInfo[]): void {
  certificatesBody.replaceChildren();
  if (list.length === 0) certificatesBody.appendChild(emptyRow(6, "No certificate matches."));
  for (const info of list) {
    const tr = row(
      { "data-serial": info.serial, tabindex: 0, title: "Show this certificate" },
      code(info.serial),
      info.user_id,
      statusBadge(info.status),
      whenCell(info.not_before),
      whenCell(info.not_after),
      whenCell(info.revoked_at),
    );
    tr.addEventListener("click", () => openCertificate(info.serial, tr));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openCertificate(info.serial, tr);
      }
    });
    certificatesBody.appendChild(tr);
  }
}

let shownSerial: string | null = null;

function openCertificate(wanted: string, tr: HTMLTableRowElement): void {
  void run(null, "Loading the certificate…", async () => {
    const { info, view } = await api.auditCertificate(wanted);
    for (const other of certificatesBody.querySelectorAll("tr[aria-selected]")) other.removeAttribute("aria-selected");
    tr.setAttribute("aria-selected", "true");
    shownSerial = info.serial;
    const rows: [string, Child][] = [
      ["Subject", view?.subject ?? info.subject],
      ["Issuer", view?.issuer ?? "—"],
      ["Serial", code(info.serial)],
      ["User", info.user_id],
      ["Status", statusBadge(info.status)],
      [
        "Valid",
        view
          ? `${certificateTime(view.notBefore)} to ${certificateTime(view.notAfter)}`
          : `${when(info.not_before)} to ${when(info.not_after)}`,
      ],
      ["SHA-256", view ? pairs(view.sha256) : code(info.sha256_fingerprint)],
      ["SHA-1", view ? pairs(view.sha1) : "—"],
      [
        "Revocation",
        info.revoked_at !== null
          ? `${when(info.revoked_at)}, reason: ${reasonText(info.revocation_reason)}`
          : "Not revoked",
      ],
    ];
    fill(
      detail,
      h("h2", {}, `Certificate ${info.serial}`),
      facts(rows),
      view ? h("pre", { class: "pem", tabindex: 0 }, view.pem) : h("p", { class: "hint" }, "The archived certificate does not parse."),
      h("div", { class: "actions" }, savePem),
    );
    savePem.disabled = !view;
    detail.hidden = false;
    detail.scrollIntoView({ block: "nearest" });
  });
}

savePem.addEventListener("click", () => {
  const chosen = shownSerial;
  if (!chosen) return;
  void run(savePem, "Saving the certificate…", async () => {
    say("audit-message", `Certificate saved as ${await api.auditSaveCertificate(chosen)}.`);
  });
});

exportButton.addEventListener("click", () => {
  const filters = query();
  void run(exportButton, "Exporting…", async () => {
    say("audit-message", `Exported as ${await api.auditExportCsv(filters)}.`);
  });
});

const archiveForm = form(
  { id: "audit-form", class: "toolbar" },
  () => {
    void run(searchButton, "Searching the archive…", searchArchive);
  },
  field("User id", user),
  field("Serial", serial),
  field("Status", status),
  field("Issued from", from),
  field("Issued to", to),
  h("div", { class: "actions" }, searchButton, exportButton),
);

// Events.
const eventsSubject = input("events-subject", { placeholder: "User id; empty for all" });
const eventsFrom = input("events-from-seq", { type: "number", min: 0, step: 1, class: "short" });
const eventsLoad = button("events-load", "Load events", { type: "submit", class: "primary" });
const events = h("table", { id: "events", class: "data" });
const eventsBody = h("tbody", {});
events.append(thead("#", "Time", "Actor", "Event", "Subject", "Detail"), eventsBody);

function detailText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "object") return String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return "";
  return entries.map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join("; ");
}

const eventsForm = form(
  { id: "events-form", class: "toolbar" },
  () => {
    const subject = eventsSubject.value.trim();
    const seq = eventsFrom.value === "" ? null : Number(eventsFrom.value);
    void run(eventsLoad, "Loading events…", async () => {
      const list = await api.auditEvents(subject, seq !== null && Number.isFinite(seq) ? Math.trunc(seq) : null);
      eventsBody.replaceChildren();
      if (list.length === 0) eventsBody.appendChild(emptyRow(6, "No events."));
      for (const e of list) {
        eventsBody.appendChild(
          row({ "data-seq": e.seq }, String(e.seq), h("span", { class: "nowrap" }, when(e.at)), e.actor, code(e.kind), e.subject ?? "—", h("span", { class: "detail-text" }, detailText(e.detail))),
        );
      }
    });
  },
  field("Subject", eventsSubject),
  field("From event #", eventsFrom),
  h("div", { class: "actions" }, eventsLoad),
);

// The log's chain.
const verifyLog = button("verify-log", "Verify the audit log", { class: "primary" });
const verifyResult = messageRegion("verify-log-result");
verifyLog.addEventListener("click", () => {
  void run(verifyLog, "Verifying the audit log…", async () => {
    const v = await api.auditVerifyLog();
    verifyResult.classList.toggle("bad", !v.intact);
    fill(
      verifyResult,
      v.intact
        ? h("p", {}, badge("active", "INTACT"), ` ${v.verified} events verified: the chain and its signatures hold; none was removed or changed.`)
        : h(
            "p",
            {},
            badge("revoked", "BROKEN"),
            ` ${v.verified} events verified before the chain breaks${v.broken_seq !== null ? ` at event #${v.broken_seq}` : ""}.`,
            v.problem ? ` ${sentence(v.problem)}` : "",
          ),
    );
    verifyResult.hidden = false;
  });
});

// Checking a signed file.
const checkFile = h("input", { id: "check-file", name: "check-file", type: "file" });
const checkSignature = h("input", { id: "check-signature", name: "check-signature", type: "file", accept: ".p7s,.p7m,.der" });
const checkReceipt = h("input", { id: "check-receipt", name: "check-receipt", type: "file", accept: ".xml" });
const checkReceiptSignature = h("input", {
  id: "check-receipt-signature",
  name: "check-receipt-signature",
  type: "file",
  accept: ".p7s",
});
const checkSubmit = button("check-submit", "Check the signature", { type: "submit", class: "primary" });
const checkResult = messageRegion("check-result");

function showReport(report: SignatureReport): void {
  checkResult.classList.toggle("bad", !report.valid);
  const problems = h("ul", { class: "problems" }, ...report.problems.map((p) => h("li", {}, sentence(p))));
  fill(
    checkResult,
    h("p", { class: "verdict" }, report.valid ? badge("active", "VALID") : badge("revoked", "NOT VALID")),
    report.problems.length > 0 ? problems : null,
    facts([
      ["Signer", report.signer],
      ["User", report.user_id],
      ["Certificate serial", code(report.serial)],
      ["Certificate SHA-256", code(report.certificate_sha256)],
      ["Signing time (the signer's clock)", when(report.signing_time)],
      [
        "Received by the bank",
        report.received_at !== null ? `${when(report.received_at)} by ${report.received_by ?? "the host application"}, by its signed receipt` : "— (no receipt given: the check used the signing time)",
      ],
      ["Scheme", report.scheme],
      ["Certificate status now", statusBadge(report.status)],
      [
        "Revoked or superseded",
        report.revoked_at !== null ? `${when(report.revoked_at)}, reason: ${reasonText(report.revocation_reason)}` : "—",
      ],
    ]),
  );
  checkResult.hidden = false;
}

const checkForm = form(
  { id: "check-form" },
  () => {
    const content = checkFile.files?.[0];
    const signature = checkSignature.files?.[0];
    const receipt = checkReceipt.files?.[0];
    const receiptSignature = checkReceiptSignature.files?.[0];
    if (!content || !signature) {
      showError({ code: "bad-input", message: "Choose both the signed file and its signature (.p7s)." });
      return;
    }
    if (!receipt !== !receiptSignature) {
      showError({ code: "bad-input", message: "Choose both the bank's receipt (.pain002.xml) and its signature (.pain002.xml.p7s), or neither." });
      return;
    }
    void run(checkSubmit, "Checking the signature…", async () => {
      checkResult.hidden = true;
      const [c, s, r, rs] = await Promise.all([
        readFileBase64(content),
        readFileBase64(signature),
        receipt ? readFileBase64(receipt) : Promise.resolve(null),
        receiptSignature ? readFileBase64(receiptSignature) : Promise.resolve(null),
      ]);
      try {
        showReport(await api.checkSignedFile(c, s, r, rs));
      } catch (error) {
        const failure = asCommandError(error);
        if (failure.code !== "not-valid") throw error;
        // The signature does not match the file at all: that is the answer, not a failure of the check.
        checkResult.classList.add("bad");
        fill(checkResult, h("p", { class: "verdict" }, badge("revoked", "NOT VALID")), h("ul", { class: "problems" }, h("li", {}, failure.message)));
        checkResult.hidden = false;
      }
    });
  },
  h(
    "div",
    { class: "grid" },
    field("Signed file", checkFile),
    field("Its signature (.p7s)", checkSignature),
    field("The bank's receipt (.pain002.xml)", checkReceipt, "optional: the host application's signed status report"),
    field("The receipt's signature (.pain002.xml.p7s)", checkReceiptSignature, "optional"),
  ),
  h(
    "p",
    { class: "hint" },
    "With the bank's receipt, the certificate's status is taken at the time the bank's host application received this very signature, which it signed (a co-signature's own time, not the order's); without it, at the signing time the signer's own clock put in the signature.",
  ),
  h("div", { class: "actions" }, checkSubmit),
  checkResult,
);

const section = screen(
  "audit",
  "Audit",
  "Every certificate ever issued, the event history and its integrity, and old signatures checked against the certificate valid when they were made. Nothing here changes anything.",
  message,
  card(
    "Certificates",
    archiveForm,
    h("div", { class: "table-wrap tall" }, certificates),
    h("p", { class: "hint" }, "Choose a certificate to see it in full."),
  ),
  detail,
  card("Event history", eventsForm, h("div", { class: "table-wrap tall" }, events)),
  card(
    "Audit log integrity",
    h("p", { class: "hint" }, "Checks that every event is chained to the one before and signed by the key server."),
    h("div", { class: "actions" }, verifyLog),
    verifyResult,
  ),
  card("Check a signed file", checkForm),
);

register({
  name: "audit",
  label: "Audit",
  section,
  shown: () => {
    if (certificatesBody.childElementCount === 0) void run(null, "Loading the archive…", searchArchive);
  },
  reset: () => {
    for (const body of [certificatesBody, eventsBody]) body.replaceChildren();
    detail.hidden = true;
    detail.replaceChildren();
    shownSerial = null;
    for (const region of [verifyResult, checkResult]) {
      region.hidden = true;
      region.replaceChildren();
    }
    for (const field of [user, serial, from, to, eventsSubject, eventsFrom]) field.value = "";
    status.value = "";
    checkFile.value = "";
    checkSignature.value = "";
    checkReceipt.value = "";
    checkReceiptSignature.value = "";
    say("audit-message");
  },
});
