// The shell's commands, typed. Everything that touches a key or a pass
// phrase happens in Rust (and in the signer it supervises); the page only
// sends what the person typed and shows what comes back.

import { invoke } from "@tauri-apps/api/core";

/** What a failed command says: a stable code and a message for a person. */
export interface CommandError {
  code: string;
  message: string;
}

/** Any rejection as a CommandError (the shell may also reject with a bare string). */
export function asCommandError(error: unknown): CommandError {
  if (typeof error === "object" && error !== null && "message" in error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code: typeof code === "string" ? code : "internal", message: String(message) };
  }
  return { code: "internal", message: String(error) };
}

export type Role = "user" | "helpdesk" | "auditor";
export type RevocationReason =
  | "unspecified"
  | "key-compromise"
  | "affiliation-changed"
  | "superseded"
  | "cessation-of-operation";
export type CertificateStatus = "active" | "superseded" | "revoked";

export interface AppInfo {
  version: string;
  serverUrl: string | null;
  fingerprint: string | null;
  rememberedUser: string | null;
  keyringProblem: string | null;
  signedIn: boolean;
  suggestedServer: string | null;
}

export interface RegistrationData {
  user_id: string;
  common_name: string;
  organization: string;
  organizational_unit: string;
  email: string;
  country: string;
}

export interface Strength {
  score: number;
  acceptable: boolean;
  problems: string[];
  suggestions: string[];
}

export interface CertificateView {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
  sha1: string;
  pem: string;
}

export interface SessionInfo {
  userId: string;
  name: string;
  email: string;
  role: Role;
  keyBits: number;
  certificate: CertificateView | null;
  signerPid: number;
}

export interface PaymentOrder {
  debtorName: string;
  debtorIban: string;
  creditorName: string;
  creditorIban: string;
  amount: string;
  currency: string;
  reference: string;
  executionDate: string;
}

export interface DocumentSummary {
  id: string;
  name: string;
  size: number;
  sha256: string;
  facts: [string, string][];
  preview: string | null;
}

export interface SignedDocument {
  userId: string;
  name: string;
  sha256: string;
  signedAt: number;
  serial: string;
  documentPath: string;
  signaturePath: string;
  signatureSize: number;
}

export interface LetterInfo {
  application_id: string;
  user_id: string;
  full_name: string;
  letter_state: "queued" | "printed" | "dispatched";
  created_at: number;
  expires_at: number;
  pdf_available: boolean;
}

export interface UserInfo {
  user_id: string;
  registration: RegistrationData;
  role: string;
  state: "pending" | "active" | "revoked" | "reset";
  failed_logins: number;
  locked_until: number | null;
}

export interface ActionDone {
  message: string;
  crl_number?: number;
}

export interface ArchiveQuery {
  user: string;
  serial: string;
  status: string;
  from: string;
  to: string;
}

export interface CertificateInfo {
  serial: string;
  user_id: string;
  subject: string;
  sha256_fingerprint: string;
  not_before: number;
  not_after: number;
  status: CertificateStatus;
  revoked_at: number | null;
  revocation_reason: RevocationReason | null;
}

export interface EventInfo {
  seq: number;
  at: number;
  actor: string;
  kind: string;
  subject: string | null;
  detail: unknown;
}

export interface AuditVerification {
  intact: boolean;
  verified: number;
  broken_seq: number | null;
  problem: string | null;
}

export interface SignatureReport {
  valid: boolean;
  problems: string[];
  signer: string;
  user_id: string;
  serial: string;
  certificate_sha256: string;
  signing_time: number | null;
  scheme: string;
  status: CertificateStatus;
  revoked_at: number | null;
  revocation_reason: RevocationReason | null;
}

/** Progress of long work, sent by the shell as `progress` events. */
export interface Progress {
  step: string;
  text: string;
}

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  probeServer: (url: string) => invoke<string>("probe_server", { url }),
  connectServer: (url: string, fingerprint: string) => invoke<AppInfo>("connect_server", { url, fingerprint }),
  forgetServer: () => invoke<AppInfo>("forget_server"),

  passphraseStrength: (passphrase: string, personal: string[]) =>
    invoke<Strength>("passphrase_strength", { passphrase, personal }),
  apply: (registration: RegistrationData, passphrase: string, passphraseAgain: string) =>
    invoke<{ applicationId: string; expiresAt: number }>("apply", { registration, passphrase, passphraseAgain }),
  consent: (userId: string, phrase: string) =>
    invoke<{ certificate: CertificateView | null }>("consent", { userId, phrase }),
  signIn: (userId: string, passphrase: string) => invoke<SessionInfo>("sign_in", { userId, passphrase }),
  sessionInfo: () => invoke<SessionInfo | null>("session_info"),
  signOut: () => invoke<null>("sign_out"),

  prepareOrder: (order: PaymentOrder) => invoke<DocumentSummary>("prepare_order", { order }),
  prepareFile: (name: string, content: string) => invoke<DocumentSummary>("prepare_file", { name, content }),
  signDocument: (id: string) => invoke<SignedDocument>("sign_document", { id }),
  mySignatures: () => invoke<SignedDocument[]>("my_signatures"),

  changePassphrase: (current: string, passphrase: string, passphraseAgain: string) =>
    invoke<null>("change_passphrase", { current, passphrase, passphraseAgain }),
  newKey: (current: string) => invoke<SessionInfo>("new_key", { current }),
  revokeOwnKey: (passphrase: string, reason: RevocationReason) =>
    invoke<{ serial: string; crlNumber: number }>("revoke_own_key", { passphrase, reason }),

  helpdeskLetters: () => invoke<LetterInfo[]>("helpdesk_letters"),
  helpdeskSaveLetter: (applicationId: string) => invoke<string>("helpdesk_save_letter", { applicationId }),
  helpdeskMarkLetter: (applicationId: string, mark: "printed" | "dispatched") =>
    invoke<ActionDone>("helpdesk_mark_letter", { applicationId, mark }),
  helpdeskUsers: (search: string, stateFilter: string | null) =>
    invoke<UserInfo[]>("helpdesk_users", { search, stateFilter }),
  helpdeskReset: (userId: string) => invoke<ActionDone>("helpdesk_reset", { userId }),
  helpdeskUnlock: (userId: string) => invoke<ActionDone>("helpdesk_unlock", { userId }),
  helpdeskRevoke: (userId: string, reason: RevocationReason) =>
    invoke<ActionDone>("helpdesk_revoke", { userId, reason }),

  auditCertificates: (query: ArchiveQuery) => invoke<CertificateInfo[]>("audit_certificates", { query }),
  auditCertificate: (serial: string) =>
    invoke<{ info: CertificateInfo; view: CertificateView | null }>("audit_certificate", { serial }),
  auditSaveCertificate: (serial: string) => invoke<string>("audit_save_certificate", { serial }),
  auditExportCsv: (query: ArchiveQuery) => invoke<string>("audit_export_csv", { query }),
  auditEvents: (subject: string, fromSeq: number | null) => invoke<EventInfo[]>("audit_events", { subject, fromSeq }),
  auditVerifyLog: () => invoke<AuditVerification>("audit_verify_log"),
  checkSignedFile: (content: string, signature: string) =>
    invoke<SignatureReport>("check_signed_file", { content, signature }),
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
