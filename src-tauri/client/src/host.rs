//! The bank's host application as a signed-in person reaches it: found
//! through the key server's list of hosts, its certificate checked against
//! the CA and the CRL and pinned on first use, and every order, signature
//! and answer sealed end to end between the signing core and the host (the
//! signing core opens a channel to the host's own key, pinned from its
//! certificate). Every request is signed with the person's certified key;
//! every answer carries the host's `pain.002.001.10` status report, whose
//! detached CMS signature is checked against the pinned host certificate
//! before anything is shown or kept.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, DecodePem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use signet_crypto::keys::PublicKey;
use signet_crypto::pki::{self, VerifiedCrl};
use signet_orders::status_report::{self, ReportStatus, StatusReport};
use signet_schema::SignatureScheme;
use signet_schema::channel::{OpenResponse, SignedBootstrap};
use signet_schema::host::{
    CANCEL_PATH, COSIGN_PATH, CosignOrder, HostInfo, LIST_PATH, ListOrders, OrderDetail, OrderInfo, OrderRef,
    OrderScope, OrderSignature, OrderState, OrderStatus, SHOW_PATH, SUBMIT_PATH, SignedHostRequest, SubmitOrder,
    request_bytes,
};
use signet_schema::protocol::{Bytes, ChannelPeer, Request, Response, SignatureFormat};
use x509_cert::Certificate;

use crate::error::{ClientError, Result};
use crate::server::{KeyServer, probe_fingerprint};
use crate::session::{Session, random_nonce, sealed_exchange, unix_now};
use crate::settings::HostPin;
use crate::signer::expect_answer;
use crate::signing::{Document, History, Placement, SignedDocument, safe_file_name, sign_and_save, write_durably};
use crate::tls::Fingerprint;

/// What [`Host::find`] says (as a `ClientError::Input` message) when the key
/// server publishes no host application at all.
pub const NO_HOST: &str = "the key server publishes no host application";

/// A host application, checked and pinned.
#[derive(Debug)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// Its HTTPS address.
    pub url: String,
    server: KeyServer,
    certificate: Vec<u8>,
    integrity_key: Vec<u8>,
}

fn not_valid(what: impl Into<String>) -> ClientError {
    ClientError::NotValid(what.into())
}

impl Host {
    /// The host application `name` (or the only one) that the key server
    /// behind `session` publishes, after checking its certificate: issued
    /// by the key server's CA — the CA that issued the signed-in person's
    /// own certificate, which came over the sealed channel, so a web tier
    /// that serves another CA, host list or CRL is found out — for that
    /// name, a host certificate ("Signet host" extended key usage), valid
    /// now, not revoked in a current CRL the CA signed.
    /// Pinned on first use (address, TLS certificate, integrity key); a
    /// host that later presents another key or address is refused.
    pub fn find(session: &Session, name: Option<&str>) -> Result<Host> {
        let connection = session.connection();
        let hosts: Vec<HostInfo> = connection.server().get_json("/v1/hosts")?;
        let info = match name {
            Some(name) => hosts
                .into_iter()
                .find(|h| h.name == name)
                .ok_or_else(|| ClientError::input("--host", format!("the key server knows no host {name:?}")))?,
            None => {
                let mut hosts = hosts.into_iter();
                match (hosts.next(), hosts.next()) {
                    (Some(only), None) => only,
                    (None, _) => {
                        return Err(ClientError::input("--host", NO_HOST));
                    }
                    (Some(_), Some(_)) => {
                        return Err(ClientError::input(
                            "--host",
                            "the key server publishes several hosts: name one",
                        ));
                    }
                }
            }
        };
        let ca_pem = connection.ca_pem()?;
        let ca = Certificate::from_pem(&ca_pem)
            .map_err(|e| ClientError::UnexpectedAnswer(format!("the CA certificate does not parse: {e}")))?;
        let certificate = Certificate::from_der(&info.certificate.der.0)
            .map_err(|_| not_valid("the host's certificate is damaged"))?;
        let own = Certificate::from_der(session.certificate())
            .map_err(|_| not_valid("your own certificate is damaged: sign in again"))?;
        if !pki::issued_by(&own, &ca) {
            return Err(not_valid(
                "the key server answered with another CA than the one that issued your certificate: do not send \
                 orders; tell your help desk",
            ));
        }
        if pki::common_name_of(&certificate).as_deref() != Some(info.name.as_str()) {
            return Err(not_valid(format!("{}: the certificate is for another host", info.name)));
        }
        if !pki::issued_by(&certificate, &ca) {
            return Err(not_valid(format!(
                "{}: the host's certificate was not issued by the key server's CA",
                info.name
            )));
        }
        if !pki::has_extended_key_usage(&certificate, pki::ID_KP_SIGNET_HOST) {
            return Err(not_valid(format!(
                "{}: the certificate is not a host application's",
                info.name
            )));
        }
        let now = unix_now();
        if !pki::valid_at(&certificate, now) {
            return Err(not_valid(format!(
                "{}: the host's certificate is not valid now",
                info.name
            )));
        }
        let crl = VerifiedCrl::parse(&connection.crl()?, &ca).map_err(|e| not_valid(format!("the CRL: {e}")))?;
        if now >= crl.next_update {
            return Err(not_valid(
                "the key server's CRL is out of date: the host cannot be checked",
            ));
        }
        if let Some(revoked) = crl.revocation(&pki::serial_hex(&certificate)) {
            return Err(not_valid(format!(
                "{}: the host's certificate was revoked at {} ({})",
                info.name,
                revoked.revoked_at,
                revoked.reason.rfc5280_name()
            )));
        }
        let integrity_key = PublicKey::from_certificate(&certificate)
            .and_then(|k| k.to_spki_der())
            .map_err(|e| not_valid(format!("the host's key: {e}")))?;
        let store = connection.store();
        let pins = store.host_pins()?;
        let tls = match pins.get(&info.name) {
            Some(pin) => {
                if pin.integrity_key != B64.encode(&integrity_key) || pin.url != info.url {
                    return Err(not_valid(format!(
                        "the host application {} now presents another key or address than the one this computer \
                         pinned: do not send it orders; ask your help desk",
                        info.name
                    )));
                }
                pin.tls_sha256
                    .parse::<Fingerprint>()
                    .map_err(|e| ClientError::Keyring(format!("the host's pinned TLS fingerprint is damaged ({e})")))?
            }
            None => {
                // What authenticates the host is its CA-issued key, which signs the channel's
                // documents and its reports; its TLS certificate is pinned as it is first seen.
                let tls = probe_fingerprint(&info.url)?;
                store.pin_host(
                    &info.name,
                    &HostPin {
                        url: info.url.clone(),
                        tls_sha256: tls.to_hex(),
                        integrity_key: B64.encode(&integrity_key),
                    },
                )?;
                tls
            }
        };
        Ok(Host {
            server: KeyServer::new(&info.url, tls)?,
            name: info.name,
            url: info.url,
            certificate: info.certificate.der.0,
            integrity_key,
        })
    }

    /// Opens the sealed channel from `session`'s signing core to the host.
    fn open_channel(&self, session: &mut Session) -> Result<()> {
        let bootstrap: SignedBootstrap = self.server.get_json("/v1/bootstrap")?;
        let (open_request, session_id) = expect_answer!(
            session.signer().call(Request::ChannelOpen {
                peer: ChannelPeer::Host,
                bootstrap,
                pinned_integrity_key: Some(Bytes(self.integrity_key.clone())),
            })?,
            Response::ChannelOpened { open_request, session_id, .. } => (open_request, session_id)
        )?;
        let opened: OpenResponse = self.server.post_json("/v1/channel/open", &open_request)?;
        if opened.session_id != session_id {
            return Err(ClientError::UnexpectedAnswer("the host opened another session".into()));
        }
        session.signer().host_channel = Some(self.url.clone());
        Ok(())
    }

    /// Sends `payload` to `path`, signed with the person's key and sealed to the host.
    fn call<T: DeserializeOwned>(&self, session: &mut Session, path: &str, payload: &impl Serialize) -> Result<T> {
        let payload = serde_json::to_vec(payload).map_err(|e| ClientError::input("request", e.to_string()))?;
        let timestamp = unix_now();
        let nonce = random_nonce()?;
        let digest = hex::encode(Sha256::digest(&payload));
        let host = hex::encode(Sha256::digest(&self.certificate));
        let covered = request_bytes(&host, path, timestamp, &nonce, &digest);
        let signature = session.sign(&covered, SignatureFormat::Raw, SignatureScheme::RsaPssSha256)?;
        let request = SignedHostRequest {
            certificate: Bytes(session.certificate().to_vec()),
            timestamp,
            nonce,
            payload: Bytes(payload),
            signature: Bytes(signature),
        };
        if session.signer().host_channel.as_deref() != Some(self.url.as_str()) {
            self.open_channel(session)?;
        }
        sealed_exchange(&self.server, session.signer(), ChannelPeer::Host, path, &request)
    }

    /// Checks the host's report in `status`: signed by the pinned host
    /// certificate, valid against the pain.002.001.10 schema, about this
    /// order, with the state the host claims.
    pub fn check_report(&self, status: &OrderStatus) -> Result<StatusReport> {
        let report = &status.report;
        let verified = signet_crypto::cms::verify_detached(&report.signature.0, &report.xml.0)
            .map_err(|_| not_valid("the host's status report is not signed over its exact bytes"))?;
        if verified.certificate != self.certificate {
            return Err(not_valid(
                "the status report is signed under another certificate than the host's",
            ));
        }
        let read = status_report::read(&report.xml.0)?;
        if read.original_message_id != status.order.message_id
            || read.order_sha256.as_deref() != Some(status.order.sha256.as_str())
        {
            return Err(not_valid("the status report is about another order"));
        }
        let expected = match status.order.state {
            OrderState::Accepted => ReportStatus::Accepted,
            OrderState::AwaitingSignatures | OrderState::AwaitingRevocationStatus => ReportStatus::Pending,
            OrderState::Rejected | OrderState::Cancelled | OrderState::Expired => ReportStatus::Rejected,
        };
        if read.status != expected {
            return Err(not_valid(
                "the status report says another status than the host's answer",
            ));
        }
        Ok(read)
    }

    /// Submits an order (its exact bytes) with the person's detached CMS
    /// signature over them; answers the host's status, its report checked.
    pub fn submit(&self, session: &mut Session, order: &[u8], signature: &[u8]) -> Result<(OrderStatus, StatusReport)> {
        let status: OrderStatus = self.call(
            session,
            SUBMIT_PATH,
            &SubmitOrder {
                order: Bytes(order.to_vec()),
                signature: Bytes(signature.to_vec()),
            },
        )?;
        if status.order.sha256 != hex::encode(Sha256::digest(order)) {
            return Err(not_valid("the host answered about other bytes than the order sent"));
        }
        let report = self.check_report(&status)?;
        Ok((status, report))
    }

    /// Orders under the person's account, or those awaiting their signature.
    pub fn list(&self, session: &mut Session, scope: OrderScope) -> Result<Vec<OrderInfo>> {
        self.call(session, LIST_PATH, &ListOrders { scope })
    }

    /// One order with its exact bytes, checked against the hash the host states.
    pub fn show(&self, session: &mut Session, order_id: &str) -> Result<(OrderDetail, StatusReport)> {
        let detail: OrderDetail = self.call(
            session,
            SHOW_PATH,
            &OrderRef {
                order_id: order_id.to_owned(),
            },
        )?;
        if detail.status.order.sha256 != hex::encode(Sha256::digest(&detail.order.0)) {
            return Err(not_valid("the order's bytes do not match the hash the host states"));
        }
        let report = self.check_report(&detail.status)?;
        Ok((detail, report))
    }

    /// Co-signs the order `order_id` that the person reviewed as the bytes
    /// whose SHA-256 is `reviewed_sha256` (shown by `list` and `show`):
    /// fetches its exact bytes, refuses unless they are those, checks them
    /// as an order (schema, banks' checks, today's date), signs them, keeps
    /// the bytes and the signature in `dir` and records them in `history`
    /// (as every signature made on this computer), and sends the signature.
    /// Answers the host's status; the report is kept beside the signature.
    pub fn cosign(
        &self,
        session: &mut Session,
        order_id: &str,
        reviewed_sha256: &str,
        dir: &Path,
        history: &History,
    ) -> Result<Cosigned> {
        let (detail, _) = self.show(session, order_id)?;
        if !detail.status.order.sha256.eq_ignore_ascii_case(reviewed_sha256.trim()) {
            return Err(not_valid(
                "the order at the host is not the one you reviewed (its SHA-256 differs): nothing was signed",
            ));
        }
        signet_orders::check(&detail.order.0, signet_orders::today())?;
        std::fs::create_dir_all(dir).map_err(|e| ClientError::file(dir, e))?;
        let name = format!("{}.xml", detail.status.order.message_id);
        let signed = sign_and_save(
            session,
            Document {
                name: &safe_file_name(&name),
                bytes: &detail.order.0,
                placement: Placement::Into { dir },
            },
            history,
        )?;
        let signature_path = PathBuf::from(&signed.signature_path);
        let signature = std::fs::read(&signature_path).map_err(|e| ClientError::file(&signature_path, e))?;
        let status: OrderStatus = self.call(
            session,
            COSIGN_PATH,
            &CosignOrder {
                order_id: order_id.to_owned(),
                signature: Bytes(signature),
            },
        )?;
        if status.order.order_id != order_id || status.order.sha256 != detail.status.order.sha256 {
            return Err(not_valid("the host answered about another order than the one signed"));
        }
        let report = self.check_report(&status)?;
        let report_path = keep_report(&signature_path, &status)?;
        Ok(Cosigned {
            status,
            report,
            signed,
            report_path,
        })
    }

    /// Submits an order this computer signed and saved (an entry of its
    /// signature history): reads the order and its signature back, refuses
    /// if the order's bytes are no longer those signed, submits them and
    /// keeps the host's checked report beside the signature.
    pub fn submit_saved(&self, session: &mut Session, signed: &SignedDocument) -> Result<Submitted> {
        let document_path = PathBuf::from(&signed.document_path);
        let signature_path = PathBuf::from(&signed.signature_path);
        let order = std::fs::read(&document_path).map_err(|e| ClientError::file(&document_path, e))?;
        if !hex::encode(Sha256::digest(&order)).eq_ignore_ascii_case(&signed.sha256) {
            return Err(not_valid(format!(
                "{} changed after it was signed: sign it again",
                document_path.display()
            )));
        }
        let signature = std::fs::read(&signature_path).map_err(|e| ClientError::file(&signature_path, e))?;
        if signed
            .signature_sha256
            .as_ref()
            .is_some_and(|recorded| !hex::encode(Sha256::digest(&signature)).eq_ignore_ascii_case(recorded))
        {
            return Err(not_valid(format!(
                "{} is not the signature made here: sign the order again",
                signature_path.display()
            )));
        }
        let (status, report) = self.submit(session, &order, &signature)?;
        let report_path = keep_report(&signature_path, &status)?;
        Ok(Submitted {
            status,
            report,
            report_path,
        })
    }

    /// Cancels a waiting order.
    pub fn cancel(&self, session: &mut Session, order_id: &str) -> Result<(OrderStatus, StatusReport)> {
        let status: OrderStatus = self.call(
            session,
            CANCEL_PATH,
            &OrderRef {
                order_id: order_id.to_owned(),
            },
        )?;
        let report = self.check_report(&status)?;
        Ok((status, report))
    }
}

/// An order submitted, with the host's checked report and where it is kept.
#[derive(Debug)]
pub struct Submitted {
    /// What the host answered.
    pub status: OrderStatus,
    /// Its report, checked.
    pub report: StatusReport,
    /// Where the report is kept (its signature beside it, `.p7s`).
    pub report_path: PathBuf,
}

/// An order co-signed: the host's answer, and the signature as saved.
#[derive(Debug)]
pub struct Cosigned {
    /// What the host answered.
    pub status: OrderStatus,
    /// Its report, checked.
    pub report: StatusReport,
    /// The order and the signature as saved and recorded on this computer.
    pub signed: SignedDocument,
    /// Where the report is kept (its signature beside it, `.p7s`).
    pub report_path: PathBuf,
}

/// Where the host's `n`th report (from 1) on the order whose signature is at
/// `signature` is kept: `ORDER.pain002.xml` and the host's signature over
/// it, `ORDER.pain002.xml.p7s`, beside the order's signature (`ORDER.p7s`);
/// later ones as `ORDER.pain002-2.xml`, `-3`, …. `signet verify` finds them there.
pub fn report_paths(signature: &Path, n: usize) -> (PathBuf, PathBuf) {
    let name = signature.file_name().unwrap_or_default().to_string_lossy();
    let order = name.strip_suffix(".p7s").unwrap_or(&name);
    let xml = match n {
        0 | 1 => signature.with_file_name(format!("{order}.pain002.xml")),
        n => signature.with_file_name(format!("{order}.pain002-{n}.xml")),
    };
    let mut p7s = xml.clone().into_os_string();
    p7s.push(".p7s");
    (xml, PathBuf::from(p7s))
}

/// The most reports kept for one signature.
const MAX_REPORTS: usize = 10_000;

/// Keeps the host's signed report in `status` beside the order's signature,
/// as the first of [`report_paths`] not yet taken; answers where the XML is.
/// An earlier report is never replaced: it is the receipt of the
/// signature's first arrival, which a later answer (a duplicate sent again,
/// say) must not push out.
pub fn keep_report(signature: &Path, status: &OrderStatus) -> Result<PathBuf> {
    let (xml, p7s) = (1..=MAX_REPORTS)
        .map(|n| report_paths(signature, n))
        .find(|(xml, _)| !xml.exists())
        .ok_or_else(|| ClientError::input("report", format!("{MAX_REPORTS} reports are kept already")))?;
    // The signature first: a report is never left without its signature
    // beside it, where a reader would take it for a signed one (a lone
    // `.p7s` a crash left is replaced).
    write_durably(&p7s, &status.report.signature.0)?;
    write_durably(&xml, &status.report.xml.0)?;
    Ok(xml)
}

/// The host's reports kept beside the order's `signature` by
/// [`keep_report`], first answer first, with their signatures.
pub fn receipts_beside(signature: &Path) -> Vec<(PathBuf, PathBuf)> {
    (1..=MAX_REPORTS)
        .map(|n| report_paths(signature, n))
        .take_while(|(xml, _)| xml.exists())
        .filter(|(_, p7s)| p7s.exists())
        .collect()
}

/// A signature of the person's that the host holds and this computer did
/// not make (its signature history does not record it): made on another
/// computer, or with a key that is no longer theirs alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnknownSignature {
    /// The host's order id.
    pub order_id: String,
    /// The order's `MsgId`.
    pub message_id: String,
    /// SHA-256 of the order's bytes.
    pub sha256: String,
    /// The certificate the signature was made under.
    pub certificate_serial: String,
    /// When the host received it (Unix seconds).
    pub received_at: i64,
}

/// The signatures by `user_id` on `orders` that `made_here` (this
/// computer's history of that person's signatures) does not record: by the
/// signature's own hash, or — for history entries written before it was
/// recorded — by the order's hash and the certificate.
pub fn signatures_not_made_here(
    orders: &[OrderInfo],
    user_id: &str,
    made_here: &[SignedDocument],
) -> Vec<UnknownSignature> {
    let known = |order_sha256: &str, signature: &OrderSignature| {
        made_here.iter().any(|signed| {
            signed.user_id == user_id
                && match &signed.signature_sha256 {
                    Some(digest) => digest.eq_ignore_ascii_case(&signature.signature_sha256),
                    None => {
                        signed.sha256.eq_ignore_ascii_case(order_sha256)
                            && signed.serial.eq_ignore_ascii_case(&signature.certificate_serial)
                    }
                }
        })
    };
    orders
        .iter()
        .flat_map(|order| {
            order
                .signatures
                .iter()
                .filter(|s| s.user_id == user_id && !known(&order.sha256, s))
                .map(|s| UnknownSignature {
                    order_id: order.order_id.clone(),
                    message_id: order.message_id.clone(),
                    sha256: order.sha256.clone(),
                    certificate_serial: s.certificate_serial.clone(),
                    received_at: s.received_at,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_schema::host::SignatureClass;

    /// An order whose `signatures` are (user, certificate serial, signature hash).
    fn order(id: &str, sha256: &str, signatures: &[(&str, &str, &str)]) -> OrderInfo {
        OrderInfo {
            order_id: id.into(),
            message_id: format!("MSG-{id}"),
            sha256: sha256.into(),
            debtor_accounts: vec!["DE89370400440532013000".into()],
            totals: vec!["10.00 EUR".into()],
            payments: 1,
            submitted_by: signatures.first().map_or("alice", |s| s.0).into(),
            state: OrderState::AwaitingSignatures,
            reason_code: None,
            reason: None,
            signatures: signatures
                .iter()
                .map(|(user, serial, digest)| OrderSignature {
                    user_id: (*user).into(),
                    class: SignatureClass::A,
                    certificate_serial: (*serial).into(),
                    signature_sha256: (*digest).into(),
                    received_at: 1_700_000_000,
                })
                .collect(),
            received_at: 1_700_000_000,
            expires_at: 1_700_604_800,
        }
    }

    fn made_here(user: &str, sha256: &str, serial: &str, digest: Option<&str>) -> SignedDocument {
        SignedDocument {
            user_id: user.into(),
            name: "order.xml".into(),
            sha256: sha256.to_uppercase(),
            signed_at: 1_700_000_000,
            serial: serial.into(),
            document_path: "order.xml".into(),
            signature_path: "order.xml.p7s".into(),
            signature_size: 2000,
            signature_sha256: digest.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_persons_signatures_this_computer_did_not_make_are_reported() {
        let orders = [
            // Alice signed it here (the history's hash is upper-case): known.
            order("1", "aa11", &[("alice", "0A", "d1")]),
            // Bob's signature is not Alice's business.
            order("2", "bb22", &[("bob", "0B", "d2"), ("alice", "0A", "d3")]),
            // The same bytes signed here, but under another certificate: not made here.
            order("3", "cc33", &[("alice", "0C", "d4")]),
            // The same bytes under the same certificate, signed again elsewhere (a copy
            // sent after the first was cancelled): another signature, not made here.
            order("4", "aa11", &[("alice", "0A", "d5")]),
            // An entry from before signatures' hashes were recorded: by order and certificate.
            order("5", "ee55", &[("alice", "0A", "d6")]),
        ];
        let history = [
            made_here("alice", "aa11", "0A", Some("D1")),
            made_here("alice", "cc33", "0A", Some("d9")),
            made_here("alice", "ee55", "0A", None),
            // Bob's history entry for order 2 says nothing of Alice's signature on it.
            made_here("bob", "bb22", "0A", Some("d3")),
        ];
        let unknown = signatures_not_made_here(&orders, "alice", &history);
        let ids: Vec<&str> = unknown.iter().map(|u| u.order_id.as_str()).collect();
        assert_eq!(ids, ["2", "3", "4"]);
        assert_eq!(unknown[1].certificate_serial, "0C");
        assert_eq!(signatures_not_made_here(&orders, "alice", &[]).len(), 5);
        assert!(signatures_not_made_here(&orders, "carol", &history).is_empty());
    }

    #[test]
    fn reports_are_kept_beside_the_signature_and_never_replaced() {
        let (xml, p7s) = report_paths(Path::new("/home/a/Signet/signed/MSG-1.xml.p7s"), 1);
        assert_eq!(xml, Path::new("/home/a/Signet/signed/MSG-1.xml.pain002.xml"));
        assert_eq!(p7s, Path::new("/home/a/Signet/signed/MSG-1.xml.pain002.xml.p7s"));
        let dir = tempfile::tempdir().expect("tempdir");
        let signature = dir.path().join("MSG-1.xml.p7s");
        let status = |n: u8| OrderStatus {
            order: order("1", "aa11", &[]),
            report: signet_schema::host::SignedStatusReport {
                xml: Bytes(vec![n]),
                signature: Bytes(vec![n, n]),
            },
        };
        let kept: Vec<PathBuf> = (1..=3)
            .map(|n| keep_report(&signature, &status(n)).expect("kept"))
            .collect();
        let names: Vec<String> = kept
            .iter()
            .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "MSG-1.xml.pain002.xml",
                "MSG-1.xml.pain002-2.xml",
                "MSG-1.xml.pain002-3.xml"
            ]
        );
        let beside: Vec<PathBuf> = receipts_beside(&signature).into_iter().map(|(xml, _)| xml).collect();
        assert_eq!(beside, kept);
        // The first receipt is still the first answer, each beside its own signature.
        assert_eq!(std::fs::read(&kept[0]).expect("read"), [1]);
        assert_eq!(
            std::fs::read(dir.path().join("MSG-1.xml.pain002.xml.p7s")).expect("read"),
            [1, 1]
        );
        assert_eq!(
            std::fs::read(dir.path().join("MSG-1.xml.pain002-3.xml.p7s")).expect("read"),
            [3, 3]
        );
    }
}
