//! The words every part of Signet uses for roles and states, declared once.
//!
//! Each is an enum whose wire form (JSON), stored form (database column) and
//! printed form are one and the same lower-case text, so the key server, the
//! client, the command line and the screens cannot drift apart: a new
//! variant is a compile error wherever it is matched, and a stored or sent
//! text that names no variant is a typed error ([`UnknownName`]).

use serde::{Deserialize, Serialize};

/// A stored or received text that names no value of a vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownName {
    /// Which vocabulary, e.g. "user role".
    pub what: &'static str,
    /// The text.
    pub value: String,
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The text of this value: on the wire, in the database, on screen.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, UnknownName> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { what: $what, value: text.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownName;

            fn try_from(text: String) -> Result<Self, UnknownName> {
                text.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }
    };
}

vocabulary! {
    /// What a person may do beyond signing: which screens the app shows and
    /// which staff routes the key tier lets them call.
    Role, "role" {
        /// An office user: signs their own payment orders.
        User = "user",
        /// Help-desk staff: letters, re-registration, unlock, revoke.
        Helpdesk = "helpdesk",
        /// An auditor: reads the archive and the log.
        Auditor = "auditor",
    }
}

vocabulary! {
    /// Where an account stands.
    UserState, "user state" {
        /// Applied, not yet consented.
        Pending = "pending",
        /// Consented: may sign in.
        Active = "active",
        /// Revoked for good; the key is erased.
        Revoked = "revoked",
        /// Reset by the help desk: the user applies afresh.
        Reset = "reset",
    }
}

vocabulary! {
    /// Where an application for a key stands.
    ApplicationState, "application state" {
        /// The letter is on its way; consent is awaited.
        AwaitingConsent = "awaiting_consent",
        /// The user consented; the certificate was issued.
        Consented = "consented",
        /// Too many wrong phrases.
        Locked = "locked",
        /// The letter's time ran out.
        Expired = "expired",
        /// Replaced by a later application.
        Withdrawn = "withdrawn",
    }
}

vocabulary! {
    /// Where a consent letter stands at the help desk.
    LetterState, "letter state" {
        /// Waiting to be printed.
        Queued = "queued",
        /// Printed (its PDF, with the phrase, is deleted).
        Printed = "printed",
        /// Posted to the user.
        Dispatched = "dispatched",
    }
}

vocabulary! {
    /// Status of a certificate in the archive.
    CertificateStatus, "certificate status" {
        /// In use.
        Active = "active",
        /// Replaced by a newer certificate of the same user.
        Superseded = "superseded",
        /// Revoked.
        Revoked = "revoked",
    }
}

vocabulary! {
    /// What an audit event records. Stored, signed and hash-chained by this
    /// text, so a text, once used, never changes meaning.
    AuditEventKind, "audit event kind" {
        /// An application for a key was made and its letter queued.
        ApplicationCreated = "application.created",
        /// An application's letter ran out of time.
        ApplicationExpired = "application.expired",
        /// Too many wrong consent phrases locked an application (or, with no
        /// `application_id`, an id that has none: ids are locked alike).
        ApplicationLocked = "application.locked",
        /// The CA issued a certificate.
        CertificateIssued = "certificate.issued",
        /// A certificate was revoked.
        CertificateRevoked = "certificate.revoked",
        /// A certificate was replaced by a new key's.
        CertificateSuperseded = "certificate.superseded",
        /// A wrong consent phrase was given.
        ConsentFailed = "consent.failed",
        /// A new CRL was signed.
        CrlPublished = "crl.published",
        /// The operator made the first help-desk account.
        HelpdeskBootstrapped = "helpdesk.bootstrapped",
        /// The operator certified a host application (its certificate issued).
        HostCertified = "host.certified",
        /// The operator revoked a host application's certificate.
        HostRevoked = "host.revoked",
        /// A sealed key record was erased.
        KeyErased = "key.erased",
        /// A user replaced their key pair.
        KeyReplaced = "key.replaced",
        /// The help desk posted a letter.
        LetterDispatched = "letter.dispatched",
        /// The help desk fetched a letter's PDF.
        LetterDownloaded = "letter.downloaded",
        /// The help desk printed a letter (its PDF is deleted).
        LetterPrinted = "letter.printed",
        /// A user changed their pass phrase (or their record was sealed
        /// again under the same one, with the current KDF policy).
        PassphraseChanged = "passphrase.changed",
        /// The key tier started under a policy for new records and keys
        /// (KDF parameters, key size) other than the last one it ran under.
        PolicyChanged = "policy.changed",
        /// The operator granted a role.
        RoleGranted = "role.granted",
        /// The operator changed whether clients may fall back to their
        /// installed signer where they cannot run a delivered one.
        SignerPolicyChanged = "signer.policy_changed",
        /// The operator published a signed release of the signing core.
        SignerPublished = "signer.published",
        /// A successful sign-in reset the failure counter.
        SigninCounterReset = "signin.counter_reset",
        /// A sign-in failed (wrong verifier).
        SigninFailed = "signin.failed",
        /// A user consented; their account is active.
        UserActivated = "user.activated",
        /// An id that never reached a certificate was given up: its
        /// application's letter ran out, or the help desk withdrew it. The
        /// person and their applications are deleted; anyone may apply for
        /// the id again.
        UserFreed = "user.freed",
        /// Too many failed sign-ins locked an account (or an id that names none:
        /// ids are locked alike).
        UserLocked = "user.locked",
        /// The help desk reset an account (the key is erased).
        UserReset = "user.reset",
        /// An account was revoked for good.
        UserRevoked = "user.revoked",
        /// A user signed in.
        UserSignedIn = "user.signed_in",
        /// The help desk unlocked an account.
        UserUnlocked = "user.unlocked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + std::fmt::Display + std::str::FromStr<Err = UnknownName> + Serialize + PartialEq + std::fmt::Debug,
        T: for<'de> Deserialize<'de>,
    {
        for value in all {
            let text = value.to_string();
            assert_eq!(text.parse::<T>(), Ok(*value));
            assert_eq!(serde_json::to_string(value).expect("json"), format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<T>(&format!("\"{text}\"")).expect("json"), *value);
        }
    }

    #[test]
    fn wire_stored_and_printed_forms_are_one_text() {
        round_trips(Role::ALL);
        round_trips(UserState::ALL);
        round_trips(ApplicationState::ALL);
        round_trips(LetterState::ALL);
        round_trips(CertificateStatus::ALL);
        round_trips(AuditEventKind::ALL);
        assert_eq!(ApplicationState::AwaitingConsent.as_str(), "awaiting_consent");
    }

    #[test]
    fn an_unknown_text_is_a_typed_error() {
        let error = "root".parse::<Role>().expect_err("no such role");
        assert_eq!(error.to_string(), "unknown role \"root\"");
        assert!(serde_json::from_str::<UserState>("\"Active\"").is_err());
    }
}
