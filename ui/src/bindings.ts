// Generated from the Rust types by `make bindings` (src-tauri/src/bindings.rs); do not edit.

export type Bytes = string;

export type Role = "user" | "helpdesk" | "auditor";

export type UserState = "pending" | "active" | "revoked" | "reset";

export type LetterState = "queued" | "printed" | "dispatched";

export type CertificateStatus = "active" | "superseded" | "revoked";

export type RevocationReason = "unspecified" | "key-compromise" | "affiliation-changed" | "superseded" | "cessation-of-operation";

export type AuditEventKind = "application.created" | "application.expired" | "application.locked" | "certificate.issued" | "certificate.revoked" | "certificate.superseded" | "consent.failed" | "crl.published" | "helpdesk.bootstrapped" | "host.certified" | "host.revoked" | "key.erased" | "key.replaced" | "letter.dispatched" | "letter.downloaded" | "letter.printed" | "passphrase.changed" | "policy.changed" | "role.granted" | "signer.policy_changed" | "signer.published" | "signin.counter_reset" | "signin.failed" | "user.activated" | "user.freed" | "user.locked" | "user.reset" | "user.revoked" | "user.signed_in" | "user.unlocked";

export type SignatureScheme = "rsa-pss-sha256" | "rsa-pkcs1v15-sha256";

export type CommandError = { 
/**
 * Stable code (`signin-failed`, `locked`, `unreachable`, …).
 */
code: string, 
/**
 * For a person.
 */
message: string, };

export type AppInfo = { 
/**
 * The app's version.
 */
version: string, 
/**
 * The server set up, if any.
 */
serverUrl: string | null, 
/**
 * Its pinned fingerprint, `AB:CD:…`.
 */
fingerprint: string | null, 
/**
 * The user id last signed in.
 */
rememberedUser: string | null, 
/**
 * Why the keyring cannot be used, when it cannot.
 */
keyringProblem: string | null, 
/**
 * Whether someone is signed in.
 */
signedIn: boolean, 
/**
 * A server address to offer on the Connect screen (`SIGNET_SERVER`,
 * set by `make run`); it is never trusted without the person's confirmation.
 */
suggestedServer: string | null, };

export type RegistrationData = { 
/**
 * Login identity; see [`validate_user_id`].
 */
user_id: string, 
/**
 * Full name (subject CN).
 */
common_name: string, 
/**
 * Organisation (subject O).
 */
organization: string, 
/**
 * Department (subject OU); may be empty.
 */
organizational_unit: string, 
/**
 * E-mail address, for the letter and the help desk.
 */
email: string, 
/**
 * ISO 3166-1 alpha-2 country code (subject C).
 */
country: string, };

export type Strength = { 
/**
 * 0 (guessed at once) to 4 (very unlikely to be guessed).
 */
score: number, 
/**
 * Whether it may be used.
 */
acceptable: boolean, 
/**
 * What rules it out, for a person.
 */
problems: Array<string>, 
/**
 * How to do better.
 */
suggestions: Array<string>, };

export type Step = "fetching-signer" | "starting-signer" | "opening-channel" | "generating-key" | "deriving-keys" | "contacting" | "opening-record" | "done";

export type Progress = { 
/**
 * The step of signing in or applying, when it is one.
 */
step: Step | null, 
/**
 * What is happening, for a person.
 */
text: string, };

export type Applied = { 
/**
 * Application id, for the help desk.
 */
applicationId: string, 
/**
 * When the letter stops being valid (Unix seconds).
 */
expiresAt: number, };

export type Consented = { 
/**
 * The new certificate.
 */
certificate: CertificateView | null, };

export type CertificateView = { 
/**
 * Subject distinguished name.
 */
subject: string, 
/**
 * Issuer distinguished name.
 */
issuer: string, 
/**
 * Serial, upper-case hex.
 */
serial: string, 
/**
 * Valid from (RFC 5280 time as printed).
 */
notBefore: string, 
/**
 * Valid until.
 */
notAfter: string, 
/**
 * SHA-256 of the DER, `AB:CD:…`.
 */
sha256: string, 
/**
 * SHA-1 of the DER (what older tools show), `AB:CD:…`.
 */
sha1: string, 
/**
 * PEM, for download.
 */
pem: string, };

export type SignerOrigin = "delivered" | "bundled";

export type SignerIdentity = { 
/**
 * Delivered or installed.
 */
origin: SignerOrigin, 
/**
 * The release's number (the key server's current release, also for an installed signer).
 */
version: number, 
/**
 * The version people read, e.g. `0.1.0`.
 */
label: string, 
/**
 * SHA-256 of the binary that runs, hex.
 */
sha256: string, 
/**
 * The key the release was signed with: `development`, or the start of its fingerprint.
 */
releaseKey: string, };

export type SessionInfo = { 
/**
 * User id.
 */
userId: string, 
/**
 * Full name.
 */
name: string, 
/**
 * E-mail address (the pass-phrase meter keeps it out of new pass phrases).
 */
email: string, 
/**
 * Which screens they see.
 */
role: Role, 
/**
 * Modulus size of the key.
 */
keyBits: number, 
/**
 * The active certificate.
 */
certificate: CertificateView | null, 
/**
 * The signing process's id (it holds the key).
 */
signerPid: number, 
/**
 * Which signing core runs: its release, where it came from, its hash.
 */
signer: SignerIdentity, };

export type NewAddress = { 
/**
 * Street name.
 */
street: string, 
/**
 * Building number.
 */
building: string, 
/**
 * Post code.
 */
postCode: string, 
/**
 * Town (required).
 */
town: string, 
/**
 * ISO 3166 country code (required).
 */
country: string, };

export type NewPayment = { 
/**
 * End-to-end id; made from the message id when empty.
 */
endToEndId: string, 
/**
 * Amount, a decimal with at most 2 decimals, e.g. `1250.00`.
 */
amount: string, 
/**
 * ISO 4217 code; `EUR` when empty.
 */
currency: string, 
/**
 * Payee.
 */
creditorName: string, 
/**
 * Payee's IBAN.
 */
creditorIban: string, 
/**
 * Payee's bank (BIC), optional within SEPA.
 */
creditorBic: string, 
/**
 * Payee's address, optional.
 */
creditorAddress: NewAddress | null, 
/**
 * Remittance information (at most 140 characters).
 */
remittance: string, };

export type NewBatch = { 
/**
 * Payment-information id; made from the message id when empty.
 */
id: string, 
/**
 * Requested execution date, `YYYY-MM-DD`.
 */
executionDate: string, 
/**
 * Paying account holder.
 */
debtorName: string, 
/**
 * Paying account.
 */
debtorIban: string, 
/**
 * Paying bank (BIC); `NOTPROVIDED` is written when empty.
 */
debtorBic: string, 
/**
 * Debtor's address, optional.
 */
debtorAddress: NewAddress | null, 
/**
 * The payments.
 */
payments: Array<NewPayment>, };

export type NewOrder = { 
/**
 * Message id; made from the time and random bits when empty.
 */
messageId: string, 
/**
 * Who initiates the payments (usually the company); the first debtor when empty.
 */
initiatingParty: string, 
/**
 * One or more batches.
 */
batches: Array<NewBatch>, };

export type CurrencyTotal = { 
/**
 * ISO 4217 code.
 */
currency: string, 
/**
 * The sum, exact, as a decimal string.
 */
amount: string, 
/**
 * How many payments.
 */
payments: number, };

export type AccountTotal = { 
/**
 * The debtor's IBAN.
 */
account: string, 
/**
 * The debtor's name.
 */
debtor: string, 
/**
 * ISO 4217 code.
 */
currency: string, 
/**
 * The sum, as a decimal string.
 */
amount: string, 
/**
 * How many payments.
 */
payments: number, };

export type PaymentRow = { 
/**
 * Position in the file, from 1.
 */
number: number, 
/**
 * Its batch (`PmtInfId`).
 */
batch: string, 
/**
 * `EndToEndId`.
 */
endToEndId: string, 
/**
 * Requested execution date.
 */
executionDate: string, 
/**
 * The paying account.
 */
debtorAccount: string, 
/**
 * Payee.
 */
creditor: string, 
/**
 * Payee's account.
 */
creditorAccount: string, 
/**
 * Amount, as a decimal string.
 */
amount: string, 
/**
 * ISO 4217 code.
 */
currency: string, 
/**
 * Remittance information.
 */
remittance: string, };

export type Summary = { 
/**
 * `pain.001.001.09` or `pain.001.001.03`.
 */
version: string, 
/**
 * `MsgId`.
 */
messageId: string, 
/**
 * `CreDtTm`, as written.
 */
created: string, 
/**
 * Who initiates it, when named.
 */
initiatingParty: string | null, 
/**
 * Size of the file in bytes.
 */
size: number, 
/**
 * SHA-256 of the exact bytes, upper-case hex.
 */
sha256: string, 
/**
 * Number of payments.
 */
payments: number, 
/**
 * Number of payment-information blocks.
 */
batches: number, 
/**
 * Totals per currency.
 */
totals: Array<CurrencyTotal>, 
/**
 * Totals per debtor account and currency.
 */
accounts: Array<AccountTotal>, 
/**
 * The distinct execution dates, earliest first.
 */
executionDates: Array<string>, 
/**
 * The largest payments, largest first.
 */
largest: Array<PaymentRow>, 
/**
 * Every payment, in file order.
 */
rows: Array<PaymentRow>, };

export type OrderReview = { 
/**
 * Handle to confirm with.
 */
id: string, 
/**
 * File name.
 */
name: string, 
/**
 * The summary of the exact bytes.
 */
summary: Summary, };

export type PageFile = { 
/**
 * Its name.
 */
name: string, 
/**
 * Its bytes, base64.
 */
content: string, };

export type BatchEntry = { 
/**
 * The file's name.
 */
name: string, 
/**
 * Its summary, kept for signing, when it passed.
 */
review: OrderReview | null, 
/**
 * Why it may not be signed, one problem a line.
 */
problems: Array<string>, };

export type BatchSigned = { 
/**
 * The order's handle.
 */
id: string, 
/**
 * The signature made, when it was.
 */
signed: SignedDocument | null, 
/**
 * Why not, when it was not.
 */
problem: string | null, };

export type SignedDocument = { 
/**
 * Who signed.
 */
userId: string, 
/**
 * The document's name.
 */
name: string, 
/**
 * SHA-256 of what was signed, upper-case hex.
 */
sha256: string, 
/**
 * Unix seconds.
 */
signedAt: number, 
/**
 * The certificate's serial, upper-case hex.
 */
serial: string, 
/**
 * Where the document is.
 */
documentPath: string, 
/**
 * Where its detached signature (CMS, `.p7s`) is.
 */
signaturePath: string, 
/**
 * Size of the signature.
 */
signatureSize: number, 
/**
 * SHA-256 of the signature (the `.p7s` bytes), lower-case hex; absent
 * in entries written before it was recorded.
 */
signatureSha256: string | null, };

export type Revoked = { 
/**
 * The revoked certificate.
 */
serial: string, 
/**
 * The CRL that lists it.
 */
crlNumber: number, };

export type LetterInfo = { 
/**
 * The application it belongs to.
 */
application_id: string, 
/**
 * The applicant.
 */
user_id: string, 
/**
 * Their name, for the envelope.
 */
full_name: string, 
/**
 * Where the letter stands.
 */
letter_state: LetterState, 
/**
 * When the application was made.
 */
created_at: number, 
/**
 * When the letter stops being valid.
 */
expires_at: number, 
/**
 * Whether the PDF is still available (it is deleted once printed).
 */
pdf_available: boolean, };

export type LetterPage = { 
/**
 * The letters on this page.
 */
letters: Array<LetterInfo>, 
/**
 * Pass as `after` for the next page; absent on the last.
 */
next: string | null, };

export type UserInfo = { 
/**
 * User id.
 */
user_id: string, 
/**
 * Registration data.
 */
registration: RegistrationData, 
/**
 * Their role.
 */
role: Role, 
/**
 * Where their account stands.
 */
state: UserState, 
/**
 * Consecutive failed sign-ins.
 */
failed_logins: number, 
/**
 * Locked until (Unix seconds), if locked.
 */
locked_until: number | null, };

export type UserPage = { 
/**
 * The users on this page. A search of common words examines a bounded
 * number of people per request, so a page may hold fewer than `limit`
 * (even none) and still have a `next`.
 */
users: Array<UserInfo>, 
/**
 * Pass as `after` for the next page; absent on the last.
 */
next: string | null, };

export type ActionDone = { 
/**
 * What was done, for a person.
 */
message: string, 
/**
 * The CRL number when a certificate was revoked.
 */
crl_number?: number | null, };

export type ArchiveQuery = { 
/**
 * Only this user's.
 */
user: string, 
/**
 * Only this serial.
 */
serial: string, 
/**
 * `active`, `superseded`, `revoked` or empty.
 */
status: string, 
/**
 * Issued on or after.
 */
from: string, 
/**
 * Issued on or before.
 */
to: string, };

export type CertificateInfo = { 
/**
 * Serial, upper-case hex.
 */
serial: string, 
/**
 * Owner.
 */
user_id: string, 
/**
 * Subject, RFC 4514 form.
 */
subject: string, 
/**
 * SHA-256 of the DER, hex.
 */
sha256_fingerprint: string, 
/**
 * Validity start, Unix seconds.
 */
not_before: number, 
/**
 * Validity end, Unix seconds.
 */
not_after: number, 
/**
 * Status.
 */
status: CertificateStatus, 
/**
 * When it was revoked.
 */
revoked_at: number | null, 
/**
 * Why.
 */
revocation_reason: RevocationReason | null, 
/**
 * The certificate, DER.
 */
der: Bytes, };

export type CertificateDetail = { 
/**
 * What the archive says.
 */
info: CertificateInfo, 
/**
 * What the certificate says.
 */
view: CertificateView | null, };

export type EventInfo = { 
/**
 * Position in the chain.
 */
seq: number, 
/**
 * Unix seconds.
 */
at: number, 
/**
 * Who acted.
 */
actor: string, 
/**
 * What happened.
 */
kind: AuditEventKind, 
/**
 * Whom it concerns.
 */
subject: string | null, 
/**
 * Detail (JSON).
 */
detail: unknown, };

export type AuditVerification = { 
/**
 * Whether every event checked out.
 */
intact: boolean, 
/**
 * Events verified before the first broken one (or all).
 */
verified: number, 
/**
 * The first broken event, when there is one.
 */
broken_seq: number | null, 
/**
 * What is wrong with it.
 */
problem: string | null, };

export type SignatureReport = { 
/**
 * Whether the signature holds: the bytes are unchanged, the CA issued
 * the certificate, and it was valid when the file was signed.
 */
valid: boolean, 
/**
 * Why not, when it does not hold.
 */
problems: Array<string>, 
/**
 * The certificate's subject.
 */
signer: string, 
/**
 * The account the certificate belongs to (from the archive).
 */
user_id: string, 
/**
 * The certificate's serial (hex).
 */
serial: string, 
/**
 * SHA-256 of the certificate (hex).
 */
certificate_sha256: string, 
/**
 * The signing time the signer's clock put in the signature.
 */
signing_time: number | null, 
/**
 * When the host application received the signed order, by its signed
 * receipt, when one was given: the time the check used.
 */
received_at: number | null, 
/**
 * The host application that received it.
 */
received_by: string | null, 
/**
 * `rsa-pss-sha256` or `rsa-pkcs1v15-sha256`.
 */
scheme: SignatureScheme, 
/**
 * The certificate's status now.
 */
status: CertificateStatus, 
/**
 * When it was revoked or superseded, if it was.
 */
revoked_at: number | null, 
/**
 * Why.
 */
revocation_reason: RevocationReason | null, };

export type OrderScope = "mine" | "awaiting-me";

export type OrderState = "awaiting-signatures" | "awaiting-revocation-status" | "accepted" | "rejected" | "cancelled" | "expired";

export type SignatureClass = "E" | "A" | "B" | "T";

export type OrderSignature = { 
/**
 * Whose.
 */
user_id: string, 
/**
 * The class it counted with.
 */
class: SignatureClass, 
/**
 * The certificate's serial (hex).
 */
certificate_serial: string, 
/**
 * SHA-256 of the signature (the detached CMS, DER), hex: which
 * signature it is, so its signer can tell one they made from another.
 */
signature_sha256: string, 
/**
 * When the host received it (Unix seconds).
 */
received_at: number, };

export type OrderInfo = { 
/**
 * The host's id.
 */
order_id: string, 
/**
 * `GrpHdr/MsgId`.
 */
message_id: string, 
/**
 * SHA-256 of the exact bytes, hex.
 */
sha256: string, 
/**
 * The debtor accounts (IBANs) it draws on.
 */
debtor_accounts: Array<string>, 
/**
 * Total per currency, e.g. `1250.00 EUR`.
 */
totals: Array<string>, 
/**
 * Number of payments.
 */
payments: number, 
/**
 * Who submitted it.
 */
submitted_by: string, 
/**
 * Its state.
 */
state: OrderState, 
/**
 * The ISO reason code of the latest decision, if any.
 */
reason_code: string | null, 
/**
 * Its text.
 */
reason: string | null, 
/**
 * The signatures it holds.
 */
signatures: Array<OrderSignature>, 
/**
 * When the host received it (Unix seconds).
 */
received_at: number, 
/**
 * When a waiting order expires (Unix seconds).
 */
expires_at: number, };

export type StatusReason = { 
/**
 * E.g. `DS0C` (signer certificate revoked), `DUPL` (duplicate).
 */
code: string, 
/**
 * What it means here.
 */
text: string, };

export type ReportView = { 
/**
 * The report's own message id.
 */
messageId: string, 
/**
 * `ACCP`, `PDNG` or `RJCT`.
 */
status: string, 
/**
 * The receipt time the host signed (Unix seconds).
 */
receivedAt: number | null, 
/**
 * Why, when it says why.
 */
reasons: Array<StatusReason>, };

export type HostAnswer = { 
/**
 * The host application's name.
 */
host: string, 
/**
 * The order.
 */
order: OrderInfo, 
/**
 * Its signed report, checked against the pinned host certificate.
 */
report: ReportView, 
/**
 * Where the report is kept, beside the order's signature.
 */
reportPath: string | null, };

export type HostOrders = { 
/**
 * The host application's name.
 */
host: string, 
/**
 * The orders, latest first.
 */
orders: Array<OrderInfo>, 
/**
 * Signatures of the person's the host holds that this computer's
 * history does not record (only with the scope `mine`).
 */
notMadeHere: Array<UnknownSignature>, };

export type UnknownSignature = { 
/**
 * The host's order id.
 */
orderId: string, 
/**
 * The order's `MsgId`.
 */
messageId: string, 
/**
 * SHA-256 of the order's bytes.
 */
sha256: string, 
/**
 * The certificate the signature was made under.
 */
certificateSerial: string, 
/**
 * When the host received it (Unix seconds).
 */
receivedAt: number, };

export type HostOrderDetail = { 
/**
 * The order and its checked report.
 */
answer: HostAnswer, 
/**
 * The summary of the exact bytes every signature is over.
 */
summary: Summary | null, 
/**
 * Why there is no summary.
 */
problem: string | null, };
