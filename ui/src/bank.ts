// Words for what the bank's host application answers: an order's state and
// its signed status report.

import type { OrderState, ReportView } from "./api";
import { badge, when } from "./dom";

const STATE_WORDS: Record<OrderState, string> = {
  "awaiting-signatures": "waiting for signatures",
  "awaiting-revocation-status": "waiting for the bank's revocation check",
  accepted: "accepted",
  rejected: "rejected",
  cancelled: "cancelled",
  expired: "expired",
};

const REPORT_WORDS: Record<string, string> = { ACCP: "accepted", PDNG: "pending", RJCT: "rejected" };

/** An order's state as a coloured word. */
export function stateBadge(state: OrderState): HTMLSpanElement {
  return badge(state, STATE_WORDS[state] ?? state);
}

/** The signed report, in words: its status, the receipt time the host signed, its reasons. */
export function reportText(report: ReportView): string {
  const reasons = report.reasons.map((r) => `${r.code}: ${r.text}`).join("; ");
  return (
    `${report.status} (${REPORT_WORDS[report.status] ?? report.status}), signed by the bank` +
    (report.receivedAt !== null ? `; order received ${when(report.receivedAt)}` : "") +
    (reasons ? `; ${reasons}` : "")
  );
}
