//! The bank's host application as a signed-in person reaches it: found
//! through the key server's list of hosts, its certificate checked against
//! the CA and the CRL and pinned on first use, and every order, signature
//! and answer sealed end to end between the signing core and the host (the
//! signing core opens a channel to the host's own key, pinned from its
//! certificate). Every request is signed with the person's certified key;
//! every answer carries the host's `pain.002.001.10` status report, whose
//! detached CMS signature is checked against the pinned host certificate
//! before anything is shown or kept.

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
    OrderScope, OrderState, OrderStatus, SHOW_PATH, SUBMIT_PATH, SignedHostRequest, SubmitOrder, request_bytes,
};
use signet_schema::protocol::{Bytes, ChannelPeer, Request, Response, SignatureFormat};
use x509_cert::Certificate;

use crate::error::{ClientError, Result};
use crate::server::{KeyServer, probe_fingerprint};
use crate::session::{Session, random_nonce, sealed_exchange, unix_now};
use crate::settings::HostPin;
use crate::signer::expect_answer;
use crate::tls::Fingerprint;

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
                        return Err(ClientError::input(
                            "--host",
                            "the key server publishes no host application",
                        ));
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
    /// as an order (schema, banks' checks, today's date), signs them and
    /// sends the signature. Answers the host's status.
    pub fn cosign(
        &self,
        session: &mut Session,
        order_id: &str,
        reviewed_sha256: &str,
    ) -> Result<(OrderStatus, StatusReport)> {
        let (detail, _) = self.show(session, order_id)?;
        if !detail.status.order.sha256.eq_ignore_ascii_case(reviewed_sha256.trim()) {
            return Err(not_valid(
                "the order at the host is not the one you reviewed (its SHA-256 differs): nothing was signed",
            ));
        }
        signet_orders::check(&detail.order.0, signet_orders::today())?;
        let signature = session.sign(&detail.order.0, SignatureFormat::Cms, SignatureScheme::RsaPssSha256)?;
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
        Ok((status, report))
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
