// Orders at the bank: what the bank's host application holds under your
// certificate and what waits for your signature, read from the host (not
// from this computer's files), each with the host's signed status report,
// which the shell checked against the host's pinned certificate. An order
// you co-sign is fetched again and signed only if its bytes are the ones
// you reviewed here. A signature of yours that the host holds and this
// computer did not make is raised as an alert.

import {
  api,
  asCommandError,
  type HostAnswer,
  type HostOrderDetail,
  type OrderInfo,
  type UnknownSignature,
} from "../api";
import { go, register, state } from "../app";
import { button, card, code, emptyRow, facts, fill, h, messageRegion, row, screen, thead, when, whenCell } from "../dom";
import { reportText, stateBadge } from "../bank";
import { run } from "../feedback";
import { money, paymentTable } from "./sign";

function signaturesText(order: OrderInfo): string {
  return order.signatures.length === 0 ? "—" : order.signatures.map((s) => `${s.user_id} (${s.class})`).join(", ");
}

function totals(order: OrderInfo): HTMLElement {
  return h(
    "span",
    { class: "amount" },
    order.totals
      .map((t) => {
        const [amount, currency] = t.split(" ");
        return currency ? money(amount, currency) : t;
      })
      .join(", "),
  );
}

// The alert: shown above every screen until the orders are looked at again.
export const bankAlert = h("div", { id: "bank-alert", class: "result bad", role: "alert", hidden: true });

function showUnknown(unknown: UnknownSignature[]): void {
  bankAlert.classList.add("bad");
  bankAlert.classList.remove("notice");
  if (unknown.length === 0) {
    bankAlert.hidden = true;
    bankAlert.replaceChildren();
    return;
  }
  const look = button("bank-alert-open", "See your orders at the bank", { class: "secondary" });
  look.addEventListener("click", () => go("orders"));
  fill(
    bankAlert,
    h("h2", {}, "The bank holds a signature of yours that this computer did not make"),
    h(
      "ul",
      { class: "problems" },
      ...unknown.map((u) =>
        h(
          "li",
          { "data-order": u.orderId },
          `Order ${u.messageId} (host order ${u.orderId}), received ${when(u.receivedAt)}, under certificate ${u.certificateSerial}.`,
        ),
      ),
    ),
    h(
      "p",
      {},
      "If you did not sign it on another computer, someone else can use your key: revoke it now (My key, reason “The key may be compromised”), cancel the order if it is still waiting, and call your help desk.",
    ),
    h("div", { class: "actions" }, look),
  );
  bankAlert.hidden = false;
}

/** Asks the host, after sign-in, whether it holds signatures this computer did not make. */
export async function checkForUnknownSignatures(): Promise<void> {
  try {
    const mine = await api.hostOrders("mine");
    showUnknown(mine.notMadeHere);
  } catch (error) {
    // No host application published: nothing to check. Anything else is said, not swallowed:
    // a check that could not run is not a check that found nothing.
    const failure = asCommandError(error);
    if (failure.code === "no-host") return;
    fill(
      bankAlert,
      h("h2", {}, "Your orders at the bank could not be checked"),
      h("p", {}, `${failure.message} Open “Orders at the bank” to try again.`),
    );
    bankAlert.classList.remove("bad");
    bankAlert.classList.add("notice");
    bankAlert.hidden = false;
  }
}

const result = messageRegion("orders-result");
const hostName = h("p", { class: "hint", id: "orders-host" });

const pendingRefresh = button("orders-pending-refresh", "Refresh", { class: "secondary" });
const pendingBody = h("tbody", {});
const pendingTable = h(
  "table",
  { class: "data", id: "orders-pending" },
  thead("Order", "From", "Total", "Submitted by", "Signatures", "Expires", ""),
  pendingBody,
);

const mineRefresh = button("orders-mine-refresh", "Refresh", { class: "secondary" });
const mineBody = h("tbody", {});
const mineTable = h(
  "table",
  { class: "data", id: "orders-mine" },
  thead("Order", "From", "Total", "State", "Signatures", "Received", ""),
  mineBody,
);

const detail = h("div", { id: "order-detail", class: "card summary", hidden: true, tabindex: -1 });

function reviewButton(order: OrderInfo): HTMLButtonElement {
  const review = button(undefined, "Review", { class: "secondary review-order" });
  review.addEventListener("click", () => void run(review, "Fetching the order from the bank…", () => openOrder(order.order_id)));
  return review;
}

async function loadPending(): Promise<void> {
  const listed = await api.hostOrders("awaiting-me");
  hostName.textContent = `Bank host application: ${listed.host}. Every list and report is signed by it and checked here.`;
  pendingBody.replaceChildren(
    ...(listed.orders.length === 0
      ? [emptyRow(7, "Nothing waits for your signature.")]
      : listed.orders.map((o) =>
          row(
            { "data-order": o.order_id },
            o.message_id,
            code(o.debtor_accounts.join(", ")),
            totals(o),
            o.submitted_by,
            signaturesText(o),
            whenCell(o.expires_at),
            reviewButton(o),
          ),
        )),
  );
}

async function loadMine(): Promise<void> {
  const listed = await api.hostOrders("mine");
  hostName.textContent = `Bank host application: ${listed.host}. Every list and report is signed by it and checked here.`;
  showUnknown(listed.notMadeHere);
  const unknown = new Set(listed.notMadeHere.map((u) => u.orderId));
  mineBody.replaceChildren(
    ...(listed.orders.length === 0
      ? [emptyRow(7, "The bank holds no order of yours.")]
      : listed.orders.map((o) =>
          row(
            { "data-order": o.order_id, class: unknown.has(o.order_id) ? "refused" : "" },
            o.message_id,
            code(o.debtor_accounts.join(", ")),
            totals(o),
            h("span", {}, stateBadge(o.state), o.reason_code ? ` ${o.reason_code}` : ""),
            signaturesText(o),
            whenCell(o.received_at),
            reviewButton(o),
          ),
        )),
  );
}

async function refresh(): Promise<void> {
  await loadPending();
  await loadMine();
}

pendingRefresh.addEventListener("click", () => void run(pendingRefresh, "Asking the bank…", loadPending));
mineRefresh.addEventListener("click", () => void run(mineRefresh, "Asking the bank…", loadMine));

/** Shows the host's answer to a step in the result region. */
export function showAnswer(title: string, answer: HostAnswer, refused = false): void {
  result.classList.toggle("bad", refused || answer.order.state === "rejected");
  fill(
    result,
    h("h2", {}, title),
    facts([
      ["Order", `${answer.order.message_id} (host order ${answer.order.order_id})`],
      ["State at the bank", stateBadge(answer.order.state)],
      ["Status report", reportText(answer.report)],
      ["Signatures", signaturesText(answer.order)],
      ["Report kept in", answer.reportPath ? code(answer.reportPath) : "—"],
    ]),
  );
  result.hidden = false;
}

function closeDetail(): void {
  detail.hidden = true;
  detail.replaceChildren();
}

async function openOrder(orderId: string): Promise<void> {
  const shown: HostOrderDetail = await api.hostOrder(orderId);
  const o = shown.answer.order;
  const s = shown.summary;
  const me = state.session?.userId ?? "";
  const signedByMe = o.signatures.some((sig) => sig.user_id === me);
  const cosign = button("order-cosign", "Sign this order too", { class: "primary" });
  const cancel = button("order-cancel", "Cancel the order", { class: "secondary" });
  const close = button("order-close", "Close", { class: "secondary" });
  const confirmCancel = h(
    "div",
    { id: "order-cancel-confirm-box", class: "notice", hidden: true },
    h("p", {}, "Cancel this order at the bank? It will not be executed, and it cannot be signed again."),
    (() => {
      const yes = button("order-cancel-confirm", "Yes, cancel it", { class: "danger" });
      yes.addEventListener("click", () =>
        void run(yes, "Cancelling at the bank…", async () => {
          const answer = await api.hostCancel(o.order_id);
          closeDetail();
          showAnswer("Cancelled", answer);
          await refresh();
        }),
      );
      return yes;
    })(),
  );
  cosign.addEventListener("click", () =>
    void run(cosign, "Fetching the order again, signing it and sending your signature…", async () => {
      const answer = await api.hostCosign(o.order_id, o.sha256);
      closeDetail();
      // The host answers a refused signature with the order unchanged and the reason first.
      const taken = answer.order.signatures.some((sig) => sig.user_id === me);
      showAnswer(taken ? "Co-signed" : "Your signature was not taken", answer, !taken);
      await refresh();
    }),
  );
  cancel.addEventListener("click", () => {
    confirmCancel.hidden = false;
  });
  close.addEventListener("click", closeDetail);
  const waiting = o.state === "awaiting-signatures";
  cosign.hidden = !waiting || signedByMe || !s;
  cancel.hidden = !waiting;
  fill(
    detail,
    h("h2", {}, `Order ${o.message_id}`),
    h("p", { class: "hint" }, "Read from the exact bytes the bank holds; signing signs these bytes and no others."),
    facts([
      ["Host order", code(o.order_id)],
      ["State at the bank", stateBadge(o.state)],
      ["Status report", reportText(shown.answer.report)],
      ["Submitted by", o.submitted_by],
      ["Signatures", signaturesText(o)],
      ["Received", when(o.received_at)],
      ["Expires if incomplete", waiting ? when(o.expires_at) : "—"],
      ["SHA-256", code(o.sha256)],
    ]),
    s
      ? h(
          "div",
          {},
          facts([
            ["Order", `${s.version}, message ${s.messageId}`],
            ["Payments", `${s.payments} in ${s.batches} batch${s.batches === 1 ? "" : "es"}`],
            ["Execution", s.executionDates.join(", ")],
            ["Totals", s.totals.map((t) => money(t.amount, t.currency)).join(", ")],
          ]),
          paymentTable(s.rows),
        )
      : h("p", { class: "field-problem" }, shown.problem ?? "The order cannot be read."),
    signedByMe && waiting ? h("p", { class: "hint" }, "You have signed this order; it waits for another signer.") : null,
    h("div", { class: "actions" }, cosign, cancel, close),
    confirmCancel,
  );
  detail.hidden = false;
  detail.scrollIntoView({ block: "start" });
}

const section = screen(
  "orders",
  "Orders at the bank",
  "What the bank's host application holds under your certificate, and orders that wait for your signature. The bank answers every step with a signed status report.",
  hostName,
  result,
  card("Waiting for your signature", h("div", { class: "actions" }, pendingRefresh), h("div", { class: "scroll" }, pendingTable)),
  detail,
  card("Your orders at the bank", h("div", { class: "actions" }, mineRefresh), h("div", { class: "scroll" }, mineTable)),
);

register({
  name: "orders",
  label: "Orders at the bank",
  section,
  shown: () => {
    void run(null, "Asking the bank…", refresh);
  },
  signedIn: () => {
    void checkForUnknownSignatures();
  },
  reset: () => {
    closeDetail();
    result.hidden = true;
    result.replaceChildren();
    pendingBody.replaceChildren();
    mineBody.replaceChildren();
    hostName.textContent = "";
    showUnknown([]);
  },
});
