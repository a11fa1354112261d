//! What the host's tests share: a CA, user keys and certificates, the
//! host's data directory with its certified keys, signed requests, orders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use signet_channel::{Clock, ServerKeys};
use signet_crypto::keys::UserKey;
use signet_database::testing::PgDatabase;
use signet_host::{Host, HostPolicy, db, files};
use signet_keyserver::keys::ca::{CertificateAuthority, RevocationReason, RevokedEntry};
use signet_orders::status_report;
use signet_orders::{NewBatch, NewOrder, NewPayment};
use signet_schema::api::ApiErrorCode;
use signet_schema::host::{
    COSIGN_PATH, CosignOrder, LIST_PATH, ListOrders, OrderScope, OrderStatus, SUBMIT_PATH, SignedHostRequest,
    SubmitOrder, request_bytes,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KeySize, RegistrationData, SignatureScheme};

/// 2026-12-01 09:00:00 UTC.
pub const T0: i64 = 1_796_115_600;
pub const ACCOUNT: &str = "DE89370400440532013000";

pub struct User {
    pub id: String,
    pub key: UserKey,
    pub certificate: Vec<u8>,
    pub serial: String,
}

/// A CA, and a host data directory whose keys it certified.
pub struct Pki {
    pub ca: CertificateAuthority,
    pub data_dir: PathBuf,
    /// The next CRL's number (they only grow, as the key server's do).
    crl_number: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
}

impl Pki {
    /// A CA made a day before `t0`, a host `order-desk` certified at `t0`.
    pub fn new(t0: i64) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("host");
        std::fs::create_dir_all(&data_dir).expect("mkdir");
        let ca = CertificateAuthority::create_at("Example Bank CA", "Example Bank", t0 - 86_400, 3650).expect("CA");
        let keys = ServerKeys::load_or_create(&data_dir).expect("host keys");
        let request = files::write_request(&data_dir, &keys.integrity, "order-desk").expect("request");
        let (_, csr) = der::pem::decode_vec(&std::fs::read(request).expect("read")).expect("pem");
        let issued = ca
            .issue_host(&csr, "order-desk", t0 - 3600, 365)
            .expect("host certificate");
        let certificate = dir.path().join("issued.der");
        let ca_file = dir.path().join("ca.der");
        std::fs::write(&certificate, &issued.der).expect("write");
        std::fs::write(&ca_file, ca.ca_der().expect("ca der")).expect("write");
        files::install(&data_dir, &keys.integrity, &certificate, &ca_file).expect("install");
        Pki {
            ca,
            data_dir,
            crl_number: std::sync::atomic::AtomicU64::new(1),
            _dir: dir,
        }
    }

    /// A user certified at `t0`.
    pub fn user(&self, id: &str, t0: i64) -> User {
        let key = key();
        let csr = signet_crypto::csr::certification_request(&key, &registration(id), SignatureScheme::RsaPssSha256)
            .expect("csr");
        let issued = self
            .ca
            .issue(&csr, &registration(id), t0 - 3600, 365)
            .expect("certificate");
        User {
            id: id.into(),
            key,
            serial: issued.serial_hex.clone(),
            certificate: issued.der,
        }
    }

    /// A CRL of `now`, current for a day, listing `revoked`.
    pub fn crl(&self, now: i64, revoked: &[(&User, i64)]) -> Vec<u8> {
        let entries: Vec<RevokedEntry> = revoked
            .iter()
            .map(|(user, at)| RevokedEntry {
                serial_hex: user.serial.clone(),
                revoked_at: *at,
                reason: RevocationReason::KeyCompromise,
            })
            .collect();
        let number = self.crl_number.fetch_add(1, Ordering::SeqCst);
        self.ca.crl(number, now, now + 86_400, &entries).expect("crl")
    }
}

/// A mandate of `user` on the test account.
pub fn mandate(database: &db::Database, user: &User, class: &str, limit: Option<&str>) {
    let mandate = db::Mandate {
        iban: ACCOUNT.into(),
        user_id: user.id.clone(),
        class: class.into(),
        amount_limit: limit.map(Into::into),
        currency: "EUR".into(),
        created_at: T0,
    };
    database.write(|c| db::mandates::put(c, &mandate)).expect("mandate");
}

/// `payload` to `path` of the host with certificate `host` as `user` signs it at `now`.
pub fn signed_request(
    host: &[u8],
    user: &User,
    path: &str,
    payload: &impl serde::Serialize,
    now: i64,
) -> SignedHostRequest {
    let payload = serde_json::to_vec(payload).expect("json");
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("rng");
    let nonce = hex::encode(nonce);
    let digest = hex::encode(Sha256::digest(&payload));
    let host = hex::encode(Sha256::digest(host));
    let covered = request_bytes(&host, path, now, &nonce, &digest);
    let signature = signet_crypto::sign::sign(&user.key, SignatureScheme::RsaPssSha256, &covered).expect("signature");
    SignedHostRequest {
        certificate: Bytes(user.certificate.clone()),
        timestamp: now,
        nonce,
        payload: Bytes(payload),
        signature: Bytes(signature),
    }
}

/// `user`'s detached CMS signature over `bytes`, signing time `at`.
pub fn sign_at(user: &User, bytes: &[u8], at: i64) -> Vec<u8> {
    let when = UNIX_EPOCH + Duration::from_secs(at as u64);
    signet_crypto::cms::sign_detached(&user.key, SignatureScheme::RsaPssSha256, &user.certificate, bytes, when)
        .expect("cms")
}

/// A one-payment order of `amount` EUR from the test account, message id
/// `id`, written at `now` for the next day.
pub fn order(id: &str, amount: &str, now: i64) -> Vec<u8> {
    let now = time::OffsetDateTime::from_unix_timestamp(now).expect("time");
    let tomorrow = now.date().next_day().expect("date");
    let order = NewOrder {
        message_id: id.into(),
        initiating_party: "Example GmbH".into(),
        batches: vec![NewBatch {
            id: format!("{id}-B"),
            execution_date: tomorrow.to_string(),
            debtor_name: "Example GmbH".into(),
            debtor_iban: ACCOUNT.into(),
            debtor_bic: "COBADEFFXXX".into(),
            payments: vec![NewPayment {
                end_to_end_id: format!("{id}-1"),
                amount: amount.into(),
                currency: "EUR".into(),
                creditor_name: "Supplier SA".into(),
                creditor_iban: "FR1420041010050500013M02606".into(),
                remittance: "Invoice 7".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    signet_orders::write::write(&order, now).expect("written").0
}

/// A submission to the host with certificate `host` of `bytes` with `user`'s signature, signed at `now`.
pub fn submission(host: &[u8], user: &User, bytes: &[u8], now: i64) -> SignedHostRequest {
    signed_request(
        host,
        user,
        SUBMIT_PATH,
        &SubmitOrder {
            order: Bytes(bytes.to_vec()),
            signature: Bytes(sign_at(user, bytes, now)),
        },
        now,
    )
}

/// The host in-process on a [`Pki`], with a clock the test moves.
pub struct Desk {
    pub host: Arc<Host>,
    pub pki: Pki,
    pub time: Arc<AtomicI64>,
    _pg: Option<PgDatabase>,
}

pub fn key() -> UserKey {
    UserKey::generate(KeySize::Rsa2048).expect("keygen")
}

pub fn registration(user_id: &str) -> RegistrationData {
    RegistrationData {
        user_id: user_id.into(),
        common_name: format!("{user_id} Example"),
        organization: "Example GmbH".into(),
        organizational_unit: String::new(),
        email: format!("{user_id}@example.com"),
        country: "DE".into(),
    }
}

impl Desk {
    pub fn open(database: Option<PgDatabase>) -> Desk {
        let pki = Pki::new(T0);
        let time = Arc::new(AtomicI64::new(T0));
        let t = time.clone();
        let clock: Clock = Arc::new(move || t.load(Ordering::SeqCst));
        let host = Host::open(
            &pki.data_dir,
            database.as_ref().map(|d| d.url.as_str()),
            HostPolicy::default(),
            clock,
        )
        .expect("host");
        let desk = Desk {
            host: Arc::new(host),
            pki,
            time,
            _pg: database,
        };
        desk.publish_crl(&[]);
        desk
    }

    pub fn now(&self) -> i64 {
        self.time.load(Ordering::SeqCst)
    }

    pub fn advance(&self, seconds: i64) {
        self.time.fetch_add(seconds, Ordering::SeqCst);
    }

    /// A CRL of now, current for a day, listing `revoked`.
    pub fn publish_crl(&self, revoked: &[(&User, i64)]) {
        self.host
            .accept_crl(&self.pki.crl(self.now(), revoked))
            .expect("accepted");
    }

    pub fn user(&self, id: &str) -> User {
        self.pki.user(id, T0)
    }

    pub fn mandate(&self, user: &User, class: &str, limit: Option<&str>) {
        mandate(self.host.database(), user, class, limit);
    }

    pub fn request(&self, user: &User, path: &str, payload: &impl serde::Serialize) -> SignedHostRequest {
        signed_request(self.host.certificate_der(), user, path, payload, self.now())
    }

    pub fn list(&self, user: &User, scope: OrderScope) -> Vec<signet_schema::host::OrderInfo> {
        self.host
            .list(&self.request(user, LIST_PATH, &ListOrders { scope }))
            .expect("list")
    }

    pub fn sign_at(&self, user: &User, bytes: &[u8], at: i64) -> Vec<u8> {
        sign_at(user, bytes, at)
    }

    pub fn submit_signed(&self, user: &User, bytes: &[u8], signature: Vec<u8>) -> Result<OrderStatus, ApiErrorCode> {
        let request = self.request(
            user,
            SUBMIT_PATH,
            &SubmitOrder {
                order: Bytes(bytes.to_vec()),
                signature: Bytes(signature),
            },
        );
        self.host.submit(&request).map_err(|f| f.body.code)
    }

    pub fn submit(&self, user: &User, bytes: &[u8]) -> OrderStatus {
        let signature = self.sign_at(user, bytes, self.now());
        self.submit_signed(user, bytes, signature).expect("submitted")
    }

    pub fn cosign(&self, user: &User, order: &OrderStatus) -> OrderStatus {
        let bytes = self.order_bytes(&order.order.order_id);
        let signature = self.sign_at(user, &bytes, self.now());
        let request = self.request(
            user,
            COSIGN_PATH,
            &CosignOrder {
                order_id: order.order.order_id.clone(),
                signature: Bytes(signature),
            },
        );
        self.host.cosign(&request).expect("answered")
    }

    pub fn order_bytes(&self, order_id: &str) -> Vec<u8> {
        self.host
            .database()
            .read(|c| db::orders::find(c, order_id))
            .expect("read")
            .expect("order")
            .bytes
    }

    /// A one-payment order of `amount` EUR from the desk's account, message id `id`.
    pub fn order(&self, id: &str, amount: &str) -> Vec<u8> {
        order(id, amount, self.now())
    }

    /// The report is signed by the host's certificate over its exact bytes,
    /// valid against pain.002.001.10, and says `status`.
    pub fn report(&self, status: &OrderStatus) -> status_report::StatusReport {
        let verified =
            signet_crypto::cms::verify_detached(&status.report.signature.0, &status.report.xml.0).expect("signed");
        assert_eq!(verified.certificate, self.host.certificate_der(), "signed by the host");
        status_report::read(&status.report.xml.0).expect("a valid pain.002")
    }
}
