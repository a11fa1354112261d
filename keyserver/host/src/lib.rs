//! The bank's host application (`signet-host`): the order desk that
//! receives signed payment orders, verifies each end to end, collects the
//! co-signatures its mandates ask for, and answers every submission and
//! state change with a signed `pain.002.001.10` status report.
//!
//! It may be run by another organisation than the key server's and trusts
//! the key server only as a CA: its own keys (an integrity key, certified
//! by that CA with the "Signet host" extended key usage, and a
//! confidentiality key) open the sealed channel clients talk to it through,
//! and sign its reports; the CA certificate is installed by its operator;
//! the CRL it fetches itself and checks against that CA.
//!
//! - [`files`]: the data directory: keys, certification request, certificates;
//! - [`db`]: orders, signatures, mandates, nonces, the CRL (SQLite or PostgreSQL);
//! - [`trust`]: the CA, the CRL, user certificates, ISO reason codes;
//! - [`mandates`]: signature classes and limits;
//! - [`desk`]: submit, co-sign, cancel, list, show, expire — each one transaction;
//! - [`routes`]: the HTTP API, sealed end to end;
//! - [`crl_fetch`]: fetching the CRL before its nextUpdate.

pub mod crl_fetch;
pub mod db;
pub mod desk;
pub mod files;
pub mod mandates;
pub mod routes;
pub mod trust;

use std::path::Path;
use std::sync::Arc;

use signet_channel::{ChannelLimits, ChannelServer, Clock, ServerKeys};
use signet_crypto::keys::ServerKey;
use signet_orders::status_report::{
    self, NewStatusReport, OriginalMessage, ReceivedSignature, ReportStatus, StatusReason,
};
use signet_schema::SignatureScheme;
use signet_schema::host::SignedStatusReport;

use crate::db::Database;
use crate::trust::Trust;

/// How the host decides.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    /// Seconds a signature's signing time may lie before its receipt.
    pub signing_window_seconds: i64,
    /// Seconds a signing time may lie after receipt (the signer's clock running ahead).
    pub clock_skew_seconds: i64,
    /// Seconds an order may wait for its signatures.
    pub waiting_seconds: i64,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy {
            signing_window_seconds: 5 * 60,
            clock_skew_seconds: 60,
            waiting_seconds: 7 * 24 * 3600,
        }
    }
}

/// The running host: its keys, certificate, database, channel end and trust.
pub struct Host {
    name: String,
    integrity: ServerKey,
    certificate_der: Vec<u8>,
    db: Database,
    channel: ChannelServer,
    trust: Trust,
    policy: HostPolicy,
    clock: Clock,
}

impl signet_channel::SealedEnd for Host {
    fn channel(&self) -> &ChannelServer {
        &self.channel
    }
}

impl Host {
    /// Opens the host in `data_dir` (keys, installed certificates) with the
    /// database at `database_url` (default: SQLite in `data_dir`). Fails
    /// unless the certificate is installed and matches the integrity key.
    pub fn open(data_dir: &Path, database_url: Option<&str>, policy: HostPolicy, clock: Clock) -> Result<Host, String> {
        // Orders arrive from many connections at once: check them on every core.
        signet_orders::use_checker_threads(std::thread::available_parallelism().map_or(1, |n| n.get()));
        let keys = ServerKeys::load_or_create(data_dir).map_err(|e| e.to_string())?;
        let installed = files::installed(data_dir, &keys.integrity)?;
        let trust = Trust::new(&installed.ca_der)?;
        let default_url = data_dir.join(files::DATABASE_FILE).display().to_string();
        let db = db::open(database_url.unwrap_or(&default_url)).map_err(|e| e.to_string())?;
        let channel = ChannelServer::new(
            &keys.integrity,
            &keys.confidentiality,
            ChannelLimits::default(),
            clock.clone(),
        )
        .map_err(|e| e.to_string())?;
        let host = Host {
            name: installed.name,
            integrity: keys.integrity,
            certificate_der: installed.certificate_der,
            db,
            channel,
            trust,
            policy,
            clock,
        };
        host.load_stored_crl()?;
        Ok(host)
    }

    /// The host's name (its certificate's CN).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The CA and CRL.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Now, Unix seconds.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The bootstrap document clients open the channel with.
    pub fn bootstrap(&self) -> Result<signet_schema::channel::SignedBootstrap, signet_channel::ChannelError> {
        // The host makes no keys: the policy fields are the key server's defaults, unused here.
        self.channel
            .bootstrap_document(signet_schema::channel::BootstrapPolicy {
                kdf: signet_schema::KdfParams::DEFAULT,
                key_bits: signet_schema::KeySize::Rsa3072,
                signature_scheme: SignatureScheme::RsaPssSha256,
            })
    }

    fn load_stored_crl(&self) -> Result<(), String> {
        let stored = self
            .db
            .read(db::crl::get)
            .map_err(|e| format!("reading the stored CRL: {e}"))?;
        if let Some(stored) = stored {
            // A stored CRL was verified when fetched; checking it again costs one signature.
            self.trust.install_crl(&stored.der)?;
        }
        Ok(())
    }

    /// A status report on the order in `bytes` (whose SHA-256 is `sha256`),
    /// received at `received_at`, stating when each of `signatures` was
    /// received, signed by the host's integrity key (detached CMS with the
    /// host's certificate).
    pub fn signed_report(
        &self,
        bytes: &[u8],
        status: ReportStatus,
        reasons: Vec<StatusReason>,
        received_at: i64,
        sha256: &str,
        signatures: Vec<ReceivedSignature>,
    ) -> Result<SignedStatusReport, String> {
        let original = match signet_orders::read_order(bytes) {
            Ok(order) => OriginalMessage::of(&order),
            Err(_) => OriginalMessage::unreadable(bytes),
        };
        let now = self.now();
        let at = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).map_err(|e| e.to_string());
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| format!("OS random number generator: {e}"))?;
        let report = NewStatusReport {
            message_id: format!("R{now}{}", hex::encode_upper(id)),
            created: at(now)?,
            host_name: self.name.clone(),
            original,
            status,
            reasons,
            received_at: at(received_at)?,
            order_sha256: Some(sha256.to_owned()),
            signatures,
        };
        let xml = status_report::write(&report).map_err(|e| e.to_string())?;
        let signing_time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(now).unwrap_or(0));
        let signature = signet_crypto::cms::sign_detached(
            &self.integrity,
            SignatureScheme::RsaPssSha256,
            &self.certificate_der,
            &xml,
            signing_time,
        )
        .map_err(|e| e.to_string())?;
        Ok(SignedStatusReport {
            xml: signet_schema::protocol::Bytes(xml),
            signature: signet_schema::protocol::Bytes(signature),
        })
    }
}

/// A shared host.
pub type SharedHost = Arc<Host>;
