// The shell's commands, typed. Everything that touches a key or a pass
// phrase happens in Rust (and in the signer it supervises); the page only
// sends what the person typed and shows what comes back.

import { invoke } from "@tauri-apps/api/core";
import type {
  ActionDone,
  Applied,
  AppInfo,
  ArchiveQuery,
  AuditVerification,
  CertificateDetail,
  CertificateInfo,
  CommandError,
  Consented,
  EventInfo,
  HostAnswer,
  HostOrderDetail,
  HostOrders,
  OrderScope,
  LetterPage,
  LetterState,
  BatchEntry,
  BatchSigned,
  NewOrder,
  OrderReview,
  PageFile,
  RegistrationData,
  RevocationReason,
  Revoked,
  SessionInfo,
  SignatureReport,
  SignedDocument,
  Strength,
  UserPage,
} from "./bindings";

// The types the commands take and give are generated from the Rust types
// (`make bindings`); screens import them from here.
export type * from "./bindings";

/** Any rejection as a CommandError (the shell may also reject with a bare string). */
export function asCommandError(error: unknown): CommandError {
  if (typeof error === "object" && error !== null && "message" in error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code: typeof code === "string" ? code : "internal", message: String(message) };
  }
  return { code: "internal", message: String(error) };
}

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  probeServer: (url: string) => invoke<string>("probe_server", { url }),
  connectServer: (url: string, fingerprint: string) => invoke<AppInfo>("connect_server", { url, fingerprint }),
  forgetServer: () => invoke<AppInfo>("forget_server"),

  passphraseStrength: (passphrase: string, personal: string[]) =>
    invoke<Strength>("passphrase_strength", { passphrase, personal }),
  apply: (registration: RegistrationData, passphrase: string, passphraseAgain: string) =>
    invoke<Applied>("apply", { registration, passphrase, passphraseAgain }),
  consent: (userId: string, phrase: string) =>
    invoke<Consented>("consent", { userId, phrase }),
  signIn: (userId: string, passphrase: string) => invoke<SessionInfo>("sign_in", { userId, passphrase }),
  sessionInfo: () => invoke<SessionInfo | null>("session_info"),
  signOut: () => invoke<null>("sign_out"),

  prepareOrder: (order: NewOrder) => invoke<OrderReview>("prepare_order", { order }),
  prepareFile: (name: string, content: string) => invoke<OrderReview>("prepare_file", { name, content }),
  checkOrderField: (kind: string, value: string) => invoke<string | null>("check_order_field", { kind, value }),
  prepareFiles: (files: PageFile[]) => invoke<BatchEntry[]>("prepare_files", { files }),
  signDocuments: (ids: string[]) => invoke<BatchSigned[]>("sign_documents", { ids }),
  signDocument: (id: string) => invoke<SignedDocument>("sign_document", { id }),
  mySignatures: () => invoke<SignedDocument[]>("my_signatures"),

  changePassphrase: (current: string, passphrase: string, passphraseAgain: string) =>
    invoke<null>("change_passphrase", { current, passphrase, passphraseAgain }),
  newKey: (current: string) => invoke<SessionInfo>("new_key", { current }),
  revokeOwnKey: (passphrase: string, reason: RevocationReason) =>
    invoke<Revoked>("revoke_own_key", { passphrase, reason }),

  helpdeskLetters: (after: string | null) => invoke<LetterPage>("helpdesk_letters", { after }),
  helpdeskSaveLetter: (applicationId: string) => invoke<string>("helpdesk_save_letter", { applicationId }),
  helpdeskMarkLetter: (applicationId: string, mark: Exclude<LetterState, "queued">) =>
    invoke<ActionDone>("helpdesk_mark_letter", { applicationId, mark }),
  helpdeskUsers: (search: string, stateFilter: string | null, after: string | null) =>
    invoke<UserPage>("helpdesk_users", { search, stateFilter, after }),
  helpdeskReset: (userId: string) => invoke<ActionDone>("helpdesk_reset", { userId }),
  helpdeskUnlock: (userId: string) => invoke<ActionDone>("helpdesk_unlock", { userId }),
  helpdeskRevoke: (userId: string, reason: RevocationReason) =>
    invoke<ActionDone>("helpdesk_revoke", { userId, reason }),

  auditCertificates: (query: ArchiveQuery) => invoke<CertificateInfo[]>("audit_certificates", { query }),
  auditCertificate: (serial: string) =>
    invoke<CertificateDetail>("audit_certificate", { serial }),
  auditSaveCertificate: (serial: string) => invoke<string>("audit_save_certificate", { serial }),
  auditExportCsv: (query: ArchiveQuery) => invoke<string>("audit_export_csv", { query }),
  auditEvents: (subject: string, fromSeq: number | null) => invoke<EventInfo[]>("audit_events", { subject, fromSeq }),
  auditVerifyLog: () => invoke<AuditVerification>("audit_verify_log"),
  checkSignedFile: (content: string, signature: string, receipt: string | null = null, receiptSignature: string | null = null) =>
    invoke<SignatureReport>("check_signed_file", { content, signature, receipt, receiptSignature }),

  hostSubmit: (signaturePath: string) => invoke<HostAnswer>("host_submit", { signaturePath }),
  hostOrders: (scope: OrderScope) => invoke<HostOrders>("host_orders", { scope }),
  hostOrder: (orderId: string) => invoke<HostOrderDetail>("host_order", { orderId }),
  hostCosign: (orderId: string, sha256: string) => invoke<HostAnswer>("host_cosign", { orderId, sha256 }),
  hostCancel: (orderId: string) => invoke<HostAnswer>("host_cancel", { orderId }),
};

/** Words for revocation reasons, in the order the menus offer them. */
export const REVOCATION_REASONS: [RevocationReason, string][] = [
  ["key-compromise", "The key may be compromised"],
  ["affiliation-changed", "Changed role or left the organisation"],
  ["cessation-of-operation", "No longer signs payment orders"],
  ["superseded", "Replaced by another key"],
  ["unspecified", "Another reason"],
];

export function reasonText(reason: RevocationReason | null | undefined): string {
  switch (reason) {
    case "key-compromise":
      return "key compromise";
    case "affiliation-changed":
      return "affiliation changed";
    case "superseded":
      return "superseded";
    case "cessation-of-operation":
      return "cessation of operation";
    case "unspecified":
      return "unspecified";
    default:
      return "—";
  }
}
