//! The sealed channel (the patent's message security): the client end, and
//! the key derivation and message sealing that both ends share. The key
//! tier's end (`signet_keyserver::channel`) decrypts the session master key
//! and keeps sessions; it calls [`SessionKeys`] for everything else, so the
//! two ends cannot drift apart.
//!
//! # Protocol, version 1
//!
//! 1. **Bootstrap.** The key tier serves a
//!    [`SignedBootstrap`] (see [`signet_schema::channel`]): the JSON bytes of
//!    a [`BootstrapDocument`] and an RSASSA-PSS-SHA256 signature by its
//!    integrity key over exactly those bytes. [`ChannelClient::open`] refuses
//!    it unless the document's `integrity_key` is byte-for-byte the pinned
//!    SubjectPublicKeyInfo, the signature verifies under the pinned key, and
//!    `issued_at` is within [`MAX_CLOCK_SKEW`] seconds of the client's clock.
//! 2. **Opening.** The client draws a 32-byte session master key `K` and a
//!    16-byte client nonce from the OS, and sends an [`OpenRequest`]:
//!    `encrypted_key = RSAES-OAEP(confidentiality key, K)` (RFC 8017 §7.1,
//!    hash SHA-256, MGF1-SHA-256, label [`OAEP_LABEL`]). Both ends derive
//!    (RFC 5869):
//!
//!    ```text
//!    PRK        = HKDF-Extract(salt = bootstrap_nonce ‖ client_nonce, IKM = K)
//!    session_id = HKDF-Expand(PRK, "signet/v1/channel/session-id", 16)
//!    K_c2s      = HKDF-Expand(PRK, "signet/v1/channel/client-to-server", 32)
//!    K_s2c      = HKDF-Expand(PRK, "signet/v1/channel/server-to-client", 32)
//!    ```
//!
//!    and each direction key becomes an encrypt-then-MAC pair with
//!    [`SealingKey::derive`]`(K_dir, "channel")`.
//! 3. **Messages.** Every request and response body is an [`etm`](crate::etm)
//!    blob (AES-256-CBC + HMAC-SHA256) of the plaintext JSON, bound by its
//!    associated data to the session, the direction, the counter and the
//!    HTTP method and path ([`associated_data`]):
//!
//!    ```text
//!    aad = "signet/v1/channel" ‖ session_id (16) ‖ direction (1: 0x01 client→server, 0x02 server→client)
//!          ‖ u64be(counter) ‖ u16be(len(method)) ‖ method ‖ u16be(len(path)) ‖ path
//!    ```
//!
//!    Requests are numbered 0, 1, 2… and each end accepts only the next
//!    number: a replayed, reordered or skipped request is refused. A
//!    response carries its request's counter and is accepted only for the
//!    latest request, once. A message moved to another route, session or
//!    direction fails its tag. Any refusal leaves the session as it was; a
//!    client that lost a request or a response opens a new session.

use rand::rngs::SysRng;
use rsa::traits::{PublicKeyParts, RandomizedEncryptor};
use sha2::Sha256;
use signet_schema::FormatError;
use signet_schema::channel::{
    BootstrapDocument, BootstrapPolicy, NONCE_LEN, OpenRequest, SESSION_ID_LEN, SignedBootstrap,
};
use signet_schema::protocol::Bytes;
use signet_schema::{KeySize, SignatureScheme};
use zeroize::Zeroizing;

use crate::etm::SealingKey;
use crate::keys::PublicKey;
use crate::sign;

/// RSAES-OAEP label of the encrypted session master key, and the prefix of
/// every message's associated data.
pub const OAEP_LABEL: &[u8] = b"signet/v1/channel";
/// Length of the session master key, in bytes.
pub const MASTER_KEY_LEN: usize = 32;
/// Largest difference, in seconds, between the bootstrap's `issued_at` and the client's clock.
pub const MAX_CLOCK_SKEW: i64 = 300;
/// Longest HTTP method bound into a message, in bytes.
pub const MAX_METHOD_LEN: usize = 16;
/// Longest HTTP path bound into a message, in bytes.
pub const MAX_PATH_LEN: usize = 2048;

/// A session id: [`SESSION_ID_LEN`] bytes both ends derive from the master key.
pub type SessionId = [u8; SESSION_ID_LEN];

/// What the channel refuses, on the client's side (and the shared sealing).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The bootstrap document or the pinned key does not parse.
    #[error("the bootstrap document is malformed: {0}")]
    Bootstrap(#[from] FormatError),
    /// The document names another integrity key than the pinned one.
    #[error("the key server's integrity key is not the pinned one: refusing to connect")]
    ServerKeyMismatch,
    /// The signature over the document does not verify under the pinned key.
    #[error("the bootstrap document's signature does not verify")]
    BootstrapSignature,
    /// The document's time stamp is too far from the client's clock.
    #[error("the bootstrap document was issued at {issued_at}, too far from now ({now}); check the clock")]
    BootstrapStale {
        /// The document's `issued_at`.
        issued_at: i64,
        /// The client's clock.
        now: i64,
    },
    /// The confidentiality key is not an RSA key of an allowed size.
    #[error("the key server's confidentiality key is unusable")]
    ConfidentialityKey,
    /// A response whose counter was already accepted.
    #[error("message {counter} is a replay (expected {expected})")]
    Replay {
        /// The message's counter.
        counter: u64,
        /// The counter that would have been accepted.
        expected: u64,
    },
    /// A response for a request that was not the latest, or not sent.
    #[error("message {counter} is out of order (expected {expected})")]
    OutOfOrder {
        /// The message's counter.
        counter: u64,
        /// The counter that would have been accepted.
        expected: u64,
    },
    /// The body's tag did not verify: altered, moved to another route, session or direction.
    #[error("the sealed message was altered or is not for this session, direction, counter or route")]
    BadTag,
    /// The method or path is too long to be bound into a message.
    #[error("the {0} is too long for a sealed message")]
    RouteTooLong(&'static str),
    /// Every counter value was used (after 2^64 requests).
    #[error("the session's counter is exhausted: open a new session")]
    CounterExhausted,
    /// The OS random number generator or an RSA operation failed.
    #[error("cryptographic failure: {0}")]
    Crypto(String),
}

/// Which way a message goes; its byte is part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A request, client → key tier (0x01).
    ClientToServer,
    /// A response, key tier → client (0x02).
    ServerToClient,
}

impl Direction {
    /// The direction's byte in the associated data.
    pub const fn byte(self) -> u8 {
        match self {
            Direction::ClientToServer => 1,
            Direction::ServerToClient => 2,
        }
    }
}

/// The associated data that binds a sealed body to its place (module
/// documentation, step 3).
pub fn associated_data(
    session_id: &SessionId,
    direction: Direction,
    counter: u64,
    method: &str,
    path: &str,
) -> Result<Vec<u8>, ChannelError> {
    if method.len() > MAX_METHOD_LEN {
        return Err(ChannelError::RouteTooLong("method"));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(ChannelError::RouteTooLong("path"));
    }
    let mut aad = Vec::with_capacity(OAEP_LABEL.len() + SESSION_ID_LEN + 1 + 8 + 4 + method.len() + path.len());
    aad.extend_from_slice(OAEP_LABEL);
    aad.extend_from_slice(session_id);
    aad.push(direction.byte());
    aad.extend_from_slice(&counter.to_be_bytes());
    // Both lengths are bounded above, far below u16::MAX.
    aad.extend_from_slice(&(method.len() as u16).to_be_bytes());
    aad.extend_from_slice(method.as_bytes());
    aad.extend_from_slice(&(path.len() as u16).to_be_bytes());
    aad.extend_from_slice(path.as_bytes());
    Ok(aad)
}

/// One session's id and direction keys, as both ends derive them. No
/// `Debug`; the keys are wiped on drop.
pub struct SessionKeys {
    id: SessionId,
    client_to_server: SealingKey,
    server_to_client: SealingKey,
}

impl SessionKeys {
    /// Derives the session id and direction keys from the master key and the
    /// two nonces (module documentation, step 2; RFC 5869).
    pub fn derive(master: &[u8; MASTER_KEY_LEN], bootstrap_nonce: &[u8], client_nonce: &[u8]) -> SessionKeys {
        let mut salt = Vec::with_capacity(bootstrap_nonce.len() + client_nonce.len());
        salt.extend_from_slice(bootstrap_nonce);
        salt.extend_from_slice(client_nonce);
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(&salt), master);
        let mut id = [0u8; SESSION_ID_LEN];
        let mut c2s = Zeroizing::new([0u8; 32]);
        let mut s2c = Zeroizing::new([0u8; 32]);
        // 16 and 32 bytes are far below HKDF-SHA256's 8160-byte limit: cannot fail.
        let _ = hkdf.expand(b"signet/v1/channel/session-id", &mut id);
        let _ = hkdf.expand(b"signet/v1/channel/client-to-server", c2s.as_mut());
        let _ = hkdf.expand(b"signet/v1/channel/server-to-client", s2c.as_mut());
        SessionKeys {
            id,
            client_to_server: SealingKey::derive(&c2s, "channel"),
            server_to_client: SealingKey::derive(&s2c, "channel"),
        }
    }

    /// The session id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    fn key(&self, direction: Direction) -> &SealingKey {
        match direction {
            Direction::ClientToServer => &self.client_to_server,
            Direction::ServerToClient => &self.server_to_client,
        }
    }

    /// Seals `plaintext` for `direction`, `counter`, `method` and `path`.
    pub fn seal(
        &self,
        direction: Direction,
        counter: u64,
        method: &str,
        path: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ChannelError> {
        let aad = associated_data(&self.id, direction, counter, method, path)?;
        self.key(direction)
            .seal(&aad, plaintext)
            .map_err(|e| ChannelError::Crypto(e.to_string()))
    }

    /// Opens a body sealed for exactly this `direction`, `counter`, `method`
    /// and `path`; anything else is [`ChannelError::BadTag`]. Counters are the
    /// caller's business.
    pub fn open(
        &self,
        direction: Direction,
        counter: u64,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
        let aad = associated_data(&self.id, direction, counter, method, path)?;
        self.key(direction).open(&aad, body).map_err(|_| ChannelError::BadTag)
    }
}

/// Checks a bootstrap envelope against the pinned integrity key and the clock;
/// returns the document.
pub fn verify_bootstrap(
    bootstrap: &SignedBootstrap,
    pinned_integrity_spki: &[u8],
    now: i64,
) -> Result<BootstrapDocument, ChannelError> {
    let document = BootstrapDocument::from_json(&bootstrap.document.0)?;
    if document.integrity_key.0 != pinned_integrity_spki {
        return Err(ChannelError::ServerKeyMismatch);
    }
    let pinned = PublicKey::from_spki_der(pinned_integrity_spki).map_err(|_| ChannelError::ServerKeyMismatch)?;
    sign::verify(
        &pinned,
        SignatureScheme::RsaPssSha256,
        &bootstrap.document.0,
        &bootstrap.signature.0,
    )
    .map_err(|_| ChannelError::BootstrapSignature)?;
    if now.abs_diff(document.issued_at) > MAX_CLOCK_SKEW.unsigned_abs() {
        return Err(ChannelError::BootstrapStale {
            issued_at: document.issued_at,
            now,
        });
    }
    Ok(document)
}

/// The name a key tier is known by in the requests signed for it: the
/// lower-case hex SHA-256 of its integrity key (SubjectPublicKeyInfo DER),
/// which every client pins. A request signed for one key tier is refused by
/// any other.
pub fn server_id(integrity_spki: &[u8]) -> String {
    use sha2::Digest as _;
    Sha256::digest(integrity_spki)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// For the first connection, before any key is pinned: the integrity key
/// (SPKI DER) a bootstrap document announces, after checking that the
/// document is signed by it and fresh. Whoever calls this trusts the network
/// once (the app then keeps the key in the OS keyring, or configuration sets
/// it beforehand).
pub fn first_use_integrity_key(bootstrap: &SignedBootstrap, now: i64) -> Result<Vec<u8>, ChannelError> {
    let document = BootstrapDocument::from_json(&bootstrap.document.0)?;
    verify_bootstrap(bootstrap, &document.integrity_key.0, now)?;
    Ok(document.integrity_key.0)
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, ChannelError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(|e| ChannelError::Crypto(format!("OS random number generator: {e}")))?;
    Ok(bytes)
}

/// The client end of one session. No `Debug`; the keys are wiped on drop.
pub struct ChannelClient {
    keys: SessionKeys,
    policy: BootstrapPolicy,
    /// Counter of the next request.
    next_request: u64,
    /// Lowest counter a response may still carry.
    next_response: u64,
}

impl ChannelClient {
    /// Checks `bootstrap` (pinned integrity key, signature, `now` within
    /// [`MAX_CLOCK_SKEW`] of `issued_at`), makes a session master key and
    /// returns the client with the [`OpenRequest`] to send.
    pub fn open(
        bootstrap: &SignedBootstrap,
        pinned_integrity_spki: &[u8],
        now: i64,
    ) -> Result<(ChannelClient, OpenRequest), ChannelError> {
        let document = verify_bootstrap(bootstrap, pinned_integrity_spki, now)?;
        let confidentiality =
            PublicKey::from_spki_der(&document.confidentiality_key.0).map_err(|_| ChannelError::ConfidentialityKey)?;
        let bits = confidentiality.rsa().size() * 8;
        if bits < KeySize::Rsa2048.bits() || bits > KeySize::Rsa4096.bits() {
            return Err(ChannelError::ConfidentialityKey);
        }
        let master = random::<MASTER_KEY_LEN>()?;
        let client_nonce = random::<NONCE_LEN>()?;
        let encrypted_key =
            rsa::oaep::EncryptingKey::<Sha256>::new_with_label(confidentiality.rsa().clone(), OAEP_LABEL)
                .encrypt_with_rng(&mut SysRng, master.as_ref())
                .map_err(|e| ChannelError::Crypto(e.to_string()))?;
        let keys = SessionKeys::derive(&master, &document.nonce.0, client_nonce.as_ref());
        let request = OpenRequest {
            bootstrap_nonce: document.nonce.clone(),
            encrypted_key: Bytes(encrypted_key),
            client_nonce: Bytes(client_nonce.to_vec()),
        };
        let client = ChannelClient {
            keys,
            policy: document.policy,
            next_request: 0,
            next_response: 0,
        };
        Ok((client, request))
    }

    /// The session id; the key tier's answer to the [`OpenRequest`] must name the same.
    pub fn session_id(&self) -> &SessionId {
        self.keys.id()
    }

    /// The policy the signed bootstrap document announced.
    pub fn policy(&self) -> &BootstrapPolicy {
        &self.policy
    }

    /// Seals a request body for `method` and `path`; returns its counter and the body.
    pub fn seal_request(&mut self, method: &str, path: &str, plaintext: &[u8]) -> Result<(u64, Vec<u8>), ChannelError> {
        let counter = self.next_request;
        let next = counter.checked_add(1).ok_or(ChannelError::CounterExhausted)?;
        let body = self
            .keys
            .seal(Direction::ClientToServer, counter, method, path, plaintext)?;
        self.next_request = next;
        Ok((counter, body))
    }

    /// Opens the response to the latest request (`counter` as returned by
    /// [`ChannelClient::seal_request`]), once.
    pub fn open_response(
        &mut self,
        counter: u64,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
        check_response_counter(counter, self.next_request, self.next_response)?;
        let plaintext = self.keys.open(Direction::ServerToClient, counter, method, path, body)?;
        self.next_response = counter + 1;
        Ok(plaintext)
    }
}

/// The request rule the key tier applies: only the next counter is
/// accepted, so a request is never answered twice and none is skipped.
pub fn check_request_counter(counter: u64, expected: u64) -> Result<(), ChannelError> {
    if counter < expected {
        return Err(ChannelError::Replay { counter, expected });
    }
    if counter > expected {
        return Err(ChannelError::OutOfOrder { counter, expected });
    }
    Ok(())
}

/// The response rule both ends apply: a response is for the latest request
/// (`counter + 1 == next_request`) and was not answered before
/// (`counter >= next_response`).
pub fn check_response_counter(counter: u64, next_request: u64, next_response: u64) -> Result<(), ChannelError> {
    if counter < next_response {
        return Err(ChannelError::Replay {
            counter,
            expected: next_request.saturating_sub(1).max(next_response),
        });
    }
    if next_request == 0 || counter != next_request - 1 {
        return Err(ChannelError::OutOfOrder {
            counter,
            expected: next_request.saturating_sub(1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Sealed;
    use crate::keys::UserKey;
    use crate::keys::tests::test_key;
    use rsa::traits::Decryptor;
    use signet_schema::KdfParams;
    use std::sync::OnceLock;

    const NOW: i64 = 1_767_225_600;

    fn other_key() -> &'static UserKey {
        static KEY: OnceLock<UserKey> = OnceLock::new();
        KEY.get_or_init(|| UserKey::generate(KeySize::Rsa2048).expect("keygen"))
    }

    fn spki(key: &UserKey) -> Vec<u8> {
        key.public_key().to_spki_der().expect("spki")
    }

    fn document(issued_at: i64) -> BootstrapDocument {
        BootstrapDocument {
            version: 1,
            confidentiality_key: Bytes(spki(other_key())),
            integrity_key: Bytes(spki(test_key())),
            nonce: Bytes(vec![7; NONCE_LEN]),
            issued_at,
            policy: BootstrapPolicy {
                kdf: KdfParams::DEFAULT,
                key_bits: KeySize::Rsa3072,
                signature_scheme: SignatureScheme::RsaPssSha256,
            },
        }
    }

    fn signed_by(key: &UserKey, document: &BootstrapDocument) -> SignedBootstrap {
        let json = document.to_json();
        let signature = sign::sign(key, SignatureScheme::RsaPssSha256, &json).expect("sign");
        SignedBootstrap {
            document: Bytes(json),
            signature: Bytes(signature),
        }
    }

    /// What the key tier does with an open request, minus its bookkeeping.
    fn server_keys(request: &OpenRequest) -> SessionKeys {
        let master = rsa::oaep::DecryptingKey::<Sha256>::new_with_label(other_key().rsa().clone(), OAEP_LABEL)
            .decrypt(&request.encrypted_key.0)
            .expect("decrypt");
        let master: [u8; 32] = master.as_slice().try_into().expect("32 bytes");
        SessionKeys::derive(&master, &request.bootstrap_nonce.0, &request.client_nonce.0)
    }

    fn connected() -> (ChannelClient, SessionKeys) {
        let (client, request) =
            ChannelClient::open(&signed_by(test_key(), &document(NOW)), &spki(test_key()), NOW).expect("open");
        assert_eq!(request.encrypted_key.0.len(), 256);
        let server = server_keys(&request);
        assert_eq!(client.session_id(), server.id());
        (client, server)
    }

    #[test]
    fn round_trip_both_ways() {
        let (mut client, server) = connected();
        assert_eq!(client.policy().key_bits, KeySize::Rsa3072);
        for n in 0..3 {
            let (counter, body) = client
                .seal_request("POST", "/v1/signin", b"{\"user\":\"alice\"}")
                .expect("seal");
            assert_eq!(counter, n);
            let plain = server
                .open(Direction::ClientToServer, counter, "POST", "/v1/signin", &body)
                .expect("server opens");
            assert_eq!(plain.as_slice(), b"{\"user\":\"alice\"}");
            let reply = server
                .seal(
                    Direction::ServerToClient,
                    counter,
                    "POST",
                    "/v1/signin",
                    b"{\"ok\":true}",
                )
                .expect("seal reply");
            let plain = client
                .open_response(counter, "POST", "/v1/signin", &reply)
                .expect("client opens");
            assert_eq!(plain.as_slice(), b"{\"ok\":true}");
        }
    }

    #[test]
    fn sessions_differ_and_bodies_do_not_show_the_plaintext() {
        let (mut a, _) = connected();
        let (b, _) = connected();
        assert_ne!(a.session_id(), b.session_id());
        let (_, body) = a
            .seal_request("POST", "/v1/apply", b"secret secret secret")
            .expect("seal");
        assert!(!body.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn a_body_moved_elsewhere_is_refused() {
        let (mut client, server) = connected();
        let (counter, body) = client.seal_request("POST", "/v1/signin", b"{}").expect("seal");
        for (method, path) in [("PUT", "/v1/signin"), ("POST", "/v1/apply"), ("POST", "/v1/signin/")] {
            assert!(matches!(
                server.open(Direction::ClientToServer, counter, method, path, &body),
                Err(ChannelError::BadTag)
            ));
        }
        assert!(matches!(
            server.open(Direction::ClientToServer, counter + 1, "POST", "/v1/signin", &body),
            Err(ChannelError::BadTag)
        ));
        // A request reflected back as a response is for the other direction.
        assert!(matches!(
            client.open_response(counter, "POST", "/v1/signin", &body),
            Err(ChannelError::BadTag)
        ));
        // Another session's keys do not open it.
        let (_, other) = connected();
        assert!(matches!(
            other.open(Direction::ClientToServer, counter, "POST", "/v1/signin", &body),
            Err(ChannelError::BadTag)
        ));
    }

    #[test]
    fn responses_are_bound_to_the_latest_request_and_accepted_once() {
        let (mut client, server) = connected();
        let reply = |counter| {
            server
                .seal(Direction::ServerToClient, counter, "GET", "/v1/policy", b"{}")
                .expect("seal")
        };
        // No request yet: no response can be accepted.
        assert!(matches!(
            client.open_response(0, "GET", "/v1/policy", &reply(0)),
            Err(ChannelError::OutOfOrder { .. })
        ));
        let (c0, _) = client.seal_request("GET", "/v1/policy", b"").expect("seal");
        let (c1, _) = client.seal_request("GET", "/v1/policy", b"").expect("seal");
        // The response to request 0 is not the response to request 1.
        assert!(matches!(
            client.open_response(c1, "GET", "/v1/policy", &reply(c0)),
            Err(ChannelError::BadTag)
        ));
        assert!(matches!(
            client.open_response(c0, "GET", "/v1/policy", &reply(c0)),
            Err(ChannelError::OutOfOrder {
                counter: 0,
                expected: 1
            })
        ));
        let r1 = reply(c1);
        client.open_response(c1, "GET", "/v1/policy", &r1).expect("open");
        assert!(matches!(
            client.open_response(c1, "GET", "/v1/policy", &r1),
            Err(ChannelError::Replay { counter: 1, .. })
        ));
        assert!(matches!(
            client.open_response(7, "GET", "/v1/policy", &r1),
            Err(ChannelError::OutOfOrder { counter: 7, .. })
        ));
    }

    #[test]
    fn a_refused_response_does_not_spend_the_counter() {
        let (mut client, server) = connected();
        let (c, _) = client.seal_request("GET", "/v1/policy", b"").expect("seal");
        let mut reply = server
            .seal(Direction::ServerToClient, c, "GET", "/v1/policy", b"{}")
            .expect("seal");
        let last = reply.len() - 1;
        reply[last] ^= 1;
        assert!(matches!(
            client.open_response(c, "GET", "/v1/policy", &reply),
            Err(ChannelError::BadTag)
        ));
        reply[last] ^= 1;
        client.open_response(c, "GET", "/v1/policy", &reply).expect("open");
    }

    #[test]
    fn tampered_bootstrap_is_refused() {
        let good = signed_by(test_key(), &document(NOW));
        let pinned = spki(test_key());
        // The document altered after signing (another confidentiality key).
        let mut altered = document(NOW);
        altered.confidentiality_key = Bytes(spki(test_key()));
        let forged = SignedBootstrap {
            document: Bytes(altered.to_json()),
            signature: good.signature.clone(),
        };
        assert!(matches!(
            ChannelClient::open(&forged, &pinned, NOW),
            Err(ChannelError::BootstrapSignature)
        ));
        // One flipped bit in the signature.
        let mut bad = good.clone();
        bad.signature.0[10] ^= 1;
        assert!(matches!(
            ChannelClient::open(&bad, &pinned, NOW),
            Err(ChannelError::BootstrapSignature)
        ));
        // Re-serialised JSON (extra space) is not what was signed.
        let mut spaced = good.clone();
        spaced.document.0.insert(1, b' ');
        assert!(matches!(
            ChannelClient::open(&spaced, &pinned, NOW),
            Err(ChannelError::BootstrapSignature)
        ));
        // Garbage.
        let garbage = SignedBootstrap {
            document: Bytes(b"not json".to_vec()),
            signature: good.signature,
        };
        assert!(matches!(
            ChannelClient::open(&garbage, &pinned, NOW),
            Err(ChannelError::Bootstrap(_))
        ));
    }

    #[test]
    fn stale_bootstrap_is_refused() {
        let pinned = spki(test_key());
        // Time stamps at the extremes of i64 are refused, never wrapped.
        for issued_at in [
            NOW - MAX_CLOCK_SKEW - 1,
            NOW + MAX_CLOCK_SKEW + 1,
            0,
            i64::MIN,
            i64::MAX,
        ] {
            assert!(matches!(
                ChannelClient::open(&signed_by(test_key(), &document(issued_at)), &pinned, NOW),
                Err(ChannelError::BootstrapStale { .. })
            ));
        }
        for issued_at in [NOW - MAX_CLOCK_SKEW, NOW + MAX_CLOCK_SKEW] {
            ChannelClient::open(&signed_by(test_key(), &document(issued_at)), &pinned, NOW).expect("fresh enough");
        }
    }

    #[test]
    fn wrong_pinned_key_is_refused() {
        let good = signed_by(test_key(), &document(NOW));
        // Pinned another key: the document names a different one.
        assert!(matches!(
            ChannelClient::open(&good, &spki(other_key()), NOW),
            Err(ChannelError::ServerKeyMismatch)
        ));
        // An impostor signs a document naming the pinned key with its own key.
        let impostor = signed_by(other_key(), &document(NOW));
        assert!(matches!(
            ChannelClient::open(&impostor, &spki(test_key()), NOW),
            Err(ChannelError::BootstrapSignature)
        ));
        // An impostor announcing its own key.
        let mut own = document(NOW);
        own.integrity_key = Bytes(spki(other_key()));
        let own = signed_by(other_key(), &own);
        assert!(matches!(
            ChannelClient::open(&own, &spki(test_key()), NOW),
            Err(ChannelError::ServerKeyMismatch)
        ));
        // First use accepts a self-consistent document and returns its key.
        assert_eq!(
            first_use_integrity_key(&own, NOW).expect("first use"),
            spki(other_key())
        );
        assert!(first_use_integrity_key(&impostor, NOW).is_err());
    }

    #[test]
    fn unusable_confidentiality_key_is_refused() {
        let mut d = document(NOW);
        d.confidentiality_key = Bytes(vec![0x30, 0x00]);
        assert!(matches!(
            ChannelClient::open(&signed_by(test_key(), &d), &spki(test_key()), NOW),
            Err(ChannelError::ConfidentialityKey)
        ));
    }

    #[test]
    fn associated_data_layout() {
        let aad = associated_data(&[0xAA; 16], Direction::ServerToClient, 258, "GET", "/x").expect("aad");
        let mut expected = b"signet/v1/channel".to_vec();
        expected.extend_from_slice(&[0xAA; 16]);
        expected.push(2);
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 2]);
        expected.extend_from_slice(b"\x00\x03GET\x00\x02/x");
        assert_eq!(aad, expected);
        assert!(matches!(
            associated_data(
                &[0; 16],
                Direction::ClientToServer,
                0,
                "GET",
                &"/".repeat(MAX_PATH_LEN + 1)
            ),
            Err(ChannelError::RouteTooLong("path"))
        ));
        assert!(matches!(
            associated_data(&[0; 16], Direction::ClientToServer, 0, &"A".repeat(17), "/"),
            Err(ChannelError::RouteTooLong("method"))
        ));
    }

    #[test]
    fn derivation_is_bound_to_both_nonces() {
        let master = [5u8; 32];
        let a = SessionKeys::derive(&master, &[1; 16], &[2; 16]);
        let b = SessionKeys::derive(&master, &[1; 16], &[3; 16]);
        let c = SessionKeys::derive(&master, &[9; 16], &[2; 16]);
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
        assert_eq!(a.id(), SessionKeys::derive(&master, &[1; 16], &[2; 16]).id());
        let body = a.seal(Direction::ClientToServer, 0, "POST", "/", b"x").expect("seal");
        let mut b_same_id = SessionKeys::derive(&master, &[1; 16], &[3; 16]);
        b_same_id.id = *a.id();
        assert!(matches!(
            b_same_id.open(Direction::ClientToServer, 0, "POST", "/", &body),
            Err(ChannelError::BadTag)
        ));
    }
}
