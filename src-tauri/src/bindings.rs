//! The TypeScript declarations of everything the screens send to and
//! receive from the commands, `ui/src/bindings.ts`, are generated from the
//! Rust types (`ts_rs::TS`, derived under `cfg(test)` here and under the
//! `typescript` feature in `signet-schema` and `signet-client`). The test
//! below fails when the checked-in file differs from a fresh generation;
//! `make bindings` writes it.
//!
//! Unix times and sizes are `number` in TypeScript: JSON numbers, all far
//! below 2^53.

#[cfg(test)]
mod tests {
    use ts_rs::{Config, TS};

    use crate::certificates::CertificateView;
    use crate::commands::Progress;
    use crate::commands::audit::{ArchiveQuery, CertificateDetail};
    use crate::commands::connection::AppInfo;
    use crate::commands::host::{HostAnswer, HostOrderDetail, HostOrders, ReportView};
    use crate::commands::office::{Applied, BatchEntry, BatchSigned, Consented, PageFile, Revoked, SessionInfo};
    use crate::error::CommandError;
    use crate::orders::OrderReview;
    use signet_client::delivery::{SignerIdentity, SignerOrigin};
    use signet_client::host::UnknownSignature;
    use signet_client::orders::status_report::StatusReason;
    use signet_client::orders::summary::{AccountTotal, CurrencyTotal, PaymentRow, Summary};
    use signet_client::orders::{NewAddress, NewBatch, NewOrder, NewPayment};
    use signet_client::passphrase::Strength;
    use signet_client::session::Step;
    use signet_client::signing::SignedDocument;
    use signet_client::verify::SignatureReport;
    use signet_schema::api::{
        ActionDone, AuditVerification, CertificateInfo, EventInfo, LetterInfo, LetterPage, RevocationReason, UserInfo,
        UserPage,
    };
    use signet_schema::host::{OrderInfo, OrderScope, OrderSignature, OrderState, SignatureClass};
    use signet_schema::protocol::Bytes;
    use signet_schema::vocabulary::AuditEventKind;
    use signet_schema::vocabulary::{CertificateStatus, LetterState, Role, UserState};
    use signet_schema::{RegistrationData, SignatureScheme};

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");

    /// The file's text, freshly generated.
    fn bindings() -> String {
        let cfg = Config::new().with_large_int("number");
        let mut out = String::from(
            "// Generated from the Rust types by `make bindings` (src-tauri/src/bindings.rs); do not edit.\n",
        );
        macro_rules! declare {
            ($($t:ty),+ $(,)?) => {
                $(
                    out.push_str("\nexport ");
                    out.push_str(&<$t as TS>::decl(&cfg));
                    out.push('\n');
                )+
            };
        }
        declare!(
            Bytes,
            Role,
            UserState,
            LetterState,
            CertificateStatus,
            RevocationReason,
            AuditEventKind,
            SignatureScheme,
            CommandError,
            AppInfo,
            RegistrationData,
            Strength,
            Step,
            Progress,
            Applied,
            Consented,
            CertificateView,
            SignerOrigin,
            SignerIdentity,
            SessionInfo,
            NewAddress,
            NewPayment,
            NewBatch,
            NewOrder,
            CurrencyTotal,
            AccountTotal,
            PaymentRow,
            Summary,
            OrderReview,
            PageFile,
            BatchEntry,
            BatchSigned,
            SignedDocument,
            Revoked,
            LetterInfo,
            LetterPage,
            UserInfo,
            UserPage,
            ActionDone,
            ArchiveQuery,
            CertificateInfo,
            CertificateDetail,
            EventInfo,
            AuditVerification,
            SignatureReport,
            OrderScope,
            OrderState,
            SignatureClass,
            OrderSignature,
            OrderInfo,
            StatusReason,
            ReportView,
            HostAnswer,
            HostOrders,
            UnknownSignature,
            HostOrderDetail,
        );
        out
    }

    #[test]
    fn the_checked_in_bindings_are_those_of_the_rust_types() {
        let fresh = bindings();
        if std::env::var_os("SIGNET_WRITE_BINDINGS").is_some() {
            std::fs::write(PATH, &fresh).expect("write ui/src/bindings.ts");
            return;
        }
        let current = std::fs::read_to_string(PATH).unwrap_or_default();
        assert!(
            current == fresh,
            "ui/src/bindings.ts differs from the Rust types; run `make bindings` and commit the result"
        );
    }
}
