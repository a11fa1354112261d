//! The flows of DESIGN.md from the client's side: connect, apply, consent,
//! sign in, sign, change pass phrase, new key, revoke, and the signed
//! requests of help-desk staff and auditors.
//!
//! Every body that carries a record, a verifier or a phrase travels sealed
//! between the signer and the key tier (see the key server's sealed
//! channel); the pass phrase goes from the caller straight to the signer.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use signet_schema::api::{
    ApiError, ApiErrorCode, ApplyRequest, ApplyResponse, ConsentRequest, ConsentResponse, Policy, PreloginRequest,
    PreloginResponse, ReregisterRequest, ReregisterResponse, RevocationReason, RevokeRequest, RevokeResponse,
    SigninRequest, SigninResponse, signed_headers, signed_request_bytes,
};
use signet_schema::channel::{BootstrapPolicy, OpenResponse, SealedMessage, SignedBootstrap};
use signet_schema::protocol::{Bytes, ChannelPeer, Passphrase, Request, Response, SignatureFormat};
use signet_schema::vocabulary::Role;
use signet_schema::{RegistrationData, SealedKeyRecord, SignatureScheme};

use crate::delivery::{self, SignerImage};
use crate::error::{ClientError, Result};
use crate::server::{Answer, KeyServer, SEALED, decode, refusal, success};
use crate::settings::{Settings, SettingsStore};
use crate::signer::{Signer, expect_answer};
use crate::tls::Fingerprint;

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// 128 random bits in hex, for single-use nonces.
pub fn random_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ClientError::SignerUnavailable(format!("no OS randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Long work reports where it is, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Fetching and checking the signing core the key server delivers.
    FetchingSigner,
    /// Starting the signing process.
    StartingSigner,
    /// Opening the sealed channel to the key server.
    OpeningChannel,
    /// Making the key pair and sealing it under the pass phrase.
    GeneratingKey,
    /// Deriving keys from the pass phrase (Argon2id).
    DerivingKeys,
    /// Talking to the key server.
    Contacting,
    /// Opening the sealed record.
    OpeningRecord,
    /// Done.
    Done,
}

/// A connection to the remembered key server.
#[derive(Clone)]
pub struct Connection {
    server: Arc<KeyServer>,
    store: SettingsStore,
    settings: Settings,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Sets up `url` as this computer's key server, pinned to `fingerprint`
    /// (which the person confirmed), after checking it answers with it.
    pub fn connect(store: &SettingsStore, url: &str, fingerprint: Fingerprint) -> Result<Connection> {
        let server = KeyServer::new(url, fingerprint)?;
        let _: Policy = server.get_json("/v1/policy")?;
        let previous = store.load()?;
        let same = previous
            .as_ref()
            .is_some_and(|p| p.server_url == server.url() && p.fingerprint == fingerprint);
        let settings = Settings {
            server_url: server.url().to_string(),
            fingerprint,
            // A different server (or certificate) pins its integrity key afresh.
            integrity_key: previous.as_ref().filter(|_| same).and_then(|p| p.integrity_key.clone()),
            user_id: previous.and_then(|p| p.user_id),
        };
        store.save(&settings)?;
        Ok(Connection {
            server: Arc::new(server),
            store: store.clone(),
            settings,
        })
    }

    /// The key server remembered in `store`.
    pub fn open(store: &SettingsStore) -> Result<Connection> {
        let settings = store.require()?;
        let server = KeyServer::new(&settings.server_url, settings.fingerprint)?;
        Ok(Connection {
            server: Arc::new(server),
            store: store.clone(),
            settings,
        })
    }

    /// Where this computer's settings are kept.
    pub fn store(&self) -> &SettingsStore {
        &self.store
    }

    /// The key server.
    pub fn server(&self) -> &KeyServer {
        &self.server
    }

    /// What is remembered.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Remembers `user_id` for the next sign-in.
    pub fn remember_user(&mut self, user_id: &str) -> Result<()> {
        if self.settings.user_id.as_deref() != Some(user_id) {
            self.settings.user_id = Some(user_id.to_string());
            self.store.save(&self.settings)?;
        }
        Ok(())
    }

    /// The policy new keys and records are made under (KDF parameters, key
    /// size, scheme), as the key tier signs it in its bootstrap document,
    /// checked under the pinned integrity key: nothing on the way can
    /// weaken what a new record is sealed with.
    pub fn signed_policy(&mut self) -> Result<BootstrapPolicy> {
        if self.settings.integrity_key.is_none() {
            // Pins the integrity key on first use, as every first start does.
            self.signer_image()?;
        }
        let pinned = self
            .settings
            .integrity_key
            .clone()
            .ok_or_else(|| ClientError::UnexpectedAnswer("no integrity key is pinned".into()))?;
        let bootstrap: SignedBootstrap = self.server.get_json("/v1/bootstrap")?;
        let document = signet_crypto::channel::verify_bootstrap(&bootstrap, &pinned, unix_now())
            .map_err(|e| ClientError::UnexpectedAnswer(format!("the key server's signed policy: {e}")))?;
        Ok(document.policy)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> Result<Vec<u8>> {
        self.server.get_bytes("/v1/ca.pem")
    }

    /// The current CRL, DER.
    pub fn crl(&self) -> Result<Vec<u8>> {
        self.server.get_bytes("/v1/crl")
    }

    /// The signer the key server delivers, checked and ready to start (see
    /// [`crate::delivery`]); pins the key tier's integrity key on first use.
    pub fn signer_image(&mut self) -> Result<Arc<SignerImage>> {
        let (image, integrity_key) =
            delivery::deliver(&self.server, &self.store, self.settings.integrity_key.as_deref())?;
        if self.settings.integrity_key.is_none() {
            self.settings.integrity_key = Some(integrity_key);
            self.store.save(&self.settings)?;
        }
        Ok(image)
    }

    /// Starts the delivered signer.
    fn start_signer(&mut self, progress: &mut dyn FnMut(Step)) -> Result<Signer> {
        progress(Step::FetchingSigner);
        let image = self.signer_image()?;
        progress(Step::StartingSigner);
        Signer::start(&image)
    }

    /// A signer with a sealed channel to the key tier open in it.
    fn sealed_signer(&mut self, progress: &mut dyn FnMut(Step)) -> Result<Signer> {
        let mut signer = self.start_signer(progress)?;
        progress(Step::OpeningChannel);
        self.open_channel(&mut signer)?;
        Ok(signer)
    }

    /// Opens a sealed channel in `signer`, pinning the integrity key on first use.
    fn open_channel(&mut self, signer: &mut Signer) -> Result<()> {
        let bootstrap: SignedBootstrap = self.server.get_json("/v1/bootstrap")?;
        let pinned = self.settings.integrity_key.clone();
        let (open_request, session_id, integrity_key, policy) = expect_answer!(
            signer.call(Request::ChannelOpen {
                peer: ChannelPeer::KeyServer,
                bootstrap,
                pinned_integrity_key: pinned.clone().map(Bytes),
            })?,
            Response::ChannelOpened { open_request, session_id, integrity_key, policy } => (open_request, session_id, integrity_key, policy)
        )?;
        let opened: OpenResponse = self.server.post_json("/v1/channel/open", &open_request)?;
        if opened.session_id != session_id {
            return Err(ClientError::UnexpectedAnswer(
                "the server opened another session".into(),
            ));
        }
        if pinned.is_none() {
            self.settings.integrity_key = Some(integrity_key.0);
            self.store.save(&self.settings)?;
        }
        signer.channel_open = true;
        signer.signed_policy = Some(policy);
        Ok(())
    }

    /// POSTs `body` to `path` sealed by `signer`, and opens the answer.
    fn sealed_post<T: DeserializeOwned>(
        &mut self,
        signer: &mut Signer,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        self.sealed_post_with(signer, path, &[], &to_json(body)?)
    }

    /// [`Connection::sealed_post`] of the JSON `body` with extra `headers`
    /// (a signed request's).
    fn sealed_post_with<T: DeserializeOwned>(
        &mut self,
        signer: &mut Signer,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<T> {
        let mut retried = false;
        loop {
            if !signer.channel_open {
                self.open_channel(signer)?;
            }
            let exchanged = exchange(&self.server, signer, ChannelPeer::KeyServer, path, headers, body);
            if !matches!(exchanged, Ok(Exchanged::Answer(_))) {
                // Refused unread (a rate, the size, an outage, a session the
                // key server no longer holds) or lost on the way: the key
                // tier's counter may not have moved with the signing core's,
                // so the next request opens a new session.
                signer.channel_open = false;
            }
            match exchanged? {
                Exchanged::Answer(answer) => return answer,
                // The session expired, went unused too long or was given up
                // to make room: once more, in a new session.
                Exchanged::SessionGone(_) if !retried => retried = true,
                Exchanged::SessionGone(refusal) => return Err(refusal),
            }
        }
    }

    /// Applies for a key: the signer makes the key pair, seals it under
    /// `passphrase` and writes the PKCS#10 request; the application is sent
    /// sealed. The consent letter then comes by post.
    pub fn apply(
        &mut self,
        registration: &RegistrationData,
        passphrase: Passphrase,
        progress: &mut dyn FnMut(Step),
    ) -> Result<ApplyResponse> {
        let registration = &registration.clone().normalised();
        registration
            .validate()
            .map_err(|e| ClientError::input("registration", e.to_string()))?;
        let policy = self.signed_policy()?;
        // The channel is opened after the key is made, which can take a
        // while on a slow computer: the key server drops sessions left unused.
        let mut signer = self.start_signer(progress)?;
        progress(Step::GeneratingKey);
        let (record, certification_request, verifier) = expect_answer!(
            signer.call(Request::GenerateKey {
                registration: registration.clone(),
                passphrase,
                kdf: policy.kdf,
                key_bits: policy.key_bits,
            })?,
            Response::KeyGenerated { record, certification_request, verifier, .. } => (record, certification_request, verifier)
        )?;
        progress(Step::OpeningChannel);
        self.open_channel(&mut signer)?;
        progress(Step::Contacting);
        let request = ApplyRequest {
            registration: registration.clone(),
            record,
            certification_request,
            verifier,
            nonce: random_nonce()?,
            timestamp: unix_now(),
        };
        let applied = self.sealed_post(&mut signer, "/v1/apply", &request)?;
        signer.end();
        self.remember_user(&registration.user_id)?;
        progress(Step::Done);
        Ok(applied)
    }

    /// Consents with the phrase from the letter: the key becomes active and its certificate is issued.
    pub fn consent(&mut self, user_id: &str, phrase: &str, progress: &mut dyn FnMut(Step)) -> Result<ConsentResponse> {
        let mut signer = self.sealed_signer(progress)?;
        progress(Step::Contacting);
        let request = ConsentRequest {
            user_id: user_id.to_string(),
            phrase: phrase.trim().to_string(),
        };
        let consented = self.sealed_post(&mut signer, "/v1/consent", &request)?;
        signer.end();
        progress(Step::Done);
        Ok(consented)
    }

    /// Derives the verifier of `passphrase` in `signer` (pre-login, then Argon2id in the signer).
    fn verifier(
        &mut self,
        signer: &mut Signer,
        user_id: &str,
        passphrase: Passphrase,
        progress: &mut dyn FnMut(Step),
    ) -> Result<Bytes> {
        progress(Step::Contacting);
        let pre: PreloginResponse = self.sealed_post(
            signer,
            "/v1/prelogin",
            &PreloginRequest {
                user_id: user_id.to_string(),
            },
        )?;
        progress(Step::DerivingKeys);
        expect_answer!(
            signer.call(Request::Unlock { user_id: user_id.to_string(), kdf: pre.kdf, salt: pre.salt, passphrase })?,
            Response::Unlocked { verifier } => verifier
        )
    }

    /// Signs in: the record is released only for the right pass phrase and
    /// opened inside a new signer, which then holds the key until the session ends.
    pub fn sign_in(
        &mut self,
        user_id: &str,
        passphrase: Passphrase,
        progress: &mut dyn FnMut(Step),
    ) -> Result<Session> {
        let mut signer = self.sealed_signer(progress)?;
        // Kept for sealing the record again, should its KDF be behind the policy.
        let again = passphrase.clone();
        let verifier = self.verifier(&mut signer, user_id, passphrase, progress)?;
        progress(Step::Contacting);
        let released: SigninResponse = self.sealed_post(
            &mut signer,
            "/v1/signin",
            &SigninRequest {
                user_id: user_id.to_string(),
                verifier: verifier.clone(),
            },
        )?;
        let record_kdf = SealedKeyRecord::parse(&released.record.0)
            .map(|record| record.header.kdf_params)
            .ok();
        progress(Step::OpeningRecord);
        let key_bits = expect_answer!(
            signer.call(Request::OpenRecord { record: released.record, registration: released.registration.clone() })?,
            Response::RecordOpened { key_bits, .. } => key_bits
        )?;
        self.remember_user(user_id)?;
        let policy = signer.signed_policy.clone();
        let mut session = Session {
            connection: self.clone(),
            signer,
            user_id: user_id.to_string(),
            registration: released.registration,
            certificate: released.certificate.0,
            role: released.role,
            key_bits,
            resealed: None,
        };
        // A record sealed under KDF parameters the key tier's signed policy
        // has since raised is sealed again, under the same pass phrase, and
        // stored through the signed re-registration (no new certificate).
        // Not done now, it is done at a later sign-in: the sign-in stands.
        if let (Some(kdf), Some(policy)) = (record_kdf, policy)
            && (kdf.m_kib < policy.kdf.m_kib || kdf.t < policy.kdf.t)
        {
            session.resealed = Some(
                session
                    .reseal(again, verifier, policy.kdf, progress)
                    .map_err(|e| e.to_string()),
            );
        }
        progress(Step::Done);
        Ok(session)
    }
}

/// A signed-in person: the key is open in the session's signer.
pub struct Session {
    connection: Connection,
    signer: Signer,
    user_id: String,
    registration: RegistrationData,
    certificate: Vec<u8>,
    role: Role,
    key_bits: u32,
    resealed: Option<std::result::Result<(), String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Who is signed in.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Their registration data.
    pub fn registration(&self) -> &RegistrationData {
        &self.registration
    }

    /// `user`, `helpdesk` or `auditor`.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Their active certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// The key's modulus size.
    pub fn key_bits(&self) -> u32 {
        self.key_bits
    }

    /// The signing process.
    pub fn signer(&mut self) -> &mut Signer {
        &mut self.signer
    }

    /// The key server connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Signs `content` exactly as given: detached CMS (with the certificate) or a raw signature.
    ///
    /// The signature is checked before it is returned: it must verify over
    /// these exact bytes with this session's certified key (and, for CMS,
    /// name this session's certificate). So the app, the command line and
    /// every signed request get only signatures that a verifier will accept.
    pub fn sign(&mut self, content: &[u8], format: SignatureFormat, scheme: SignatureScheme) -> Result<Vec<u8>> {
        self.sign_digest(&Sha256::digest(content).into(), format, scheme)
    }

    /// [`Session::sign`] for the content whose SHA-256 is `sha256`, for a
    /// caller that already hashed it (a large order is hashed once, when it
    /// is checked): the signature is checked against that digest.
    pub fn sign_digest(
        &mut self,
        sha256: &[u8; 32],
        format: SignatureFormat,
        scheme: SignatureScheme,
    ) -> Result<Vec<u8>> {
        self.request_signature(sha256, format, scheme)?.check()
    }

    /// The signing core's signature over the content whose SHA-256 is
    /// `sha256`, to be checked before use ([`UncheckedSignature::check`]
    /// is the only way to its bytes): a batch checks and saves one signature
    /// on another thread while the signing core makes the next.
    pub fn request_signature(
        &mut self,
        sha256: &[u8; 32],
        format: SignatureFormat,
        scheme: SignatureScheme,
    ) -> Result<UncheckedSignature> {
        let certificate = matches!(format, SignatureFormat::Cms).then(|| Bytes(self.certificate.clone()));
        // Only the digest crosses the pipe: a document of any size signs in
        // one small frame, and the signing core never holds documents.
        let signature = expect_answer!(
            self.signer.call(Request::SignDigest {
                sha256: Bytes(sha256.to_vec()),
                scheme,
                format,
                certificate
            })?,
            Response::Signed { signature } => signature
        )?;
        Ok(UncheckedSignature {
            certificate: self.certificate.clone(),
            sha256: *sha256,
            format,
            scheme,
            signature: signature.0,
        })
    }

    /// The `signet-*` headers of a request signed with this person's key
    /// over `method`, `path_and_query` and `body`.
    fn signature_headers(
        &mut self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<[(&'static str, String); 4]> {
        let timestamp = unix_now();
        let nonce = random_nonce()?;
        let digest = hex::encode(Sha256::digest(body));
        let server = self
            .connection
            .settings
            .integrity_key
            .as_deref()
            .map(signet_crypto::channel::server_id)
            .ok_or_else(|| ClientError::UnexpectedAnswer("no integrity key of the key server is pinned".into()))?;
        let covered = signed_request_bytes(
            &server,
            &self.user_id,
            method,
            path_and_query,
            timestamp,
            &nonce,
            &digest,
        );
        let signature = self.sign(&covered, SignatureFormat::Raw, SignatureScheme::RsaPssSha256)?;
        use base64::Engine as _;
        Ok([
            (signed_headers::SIGNER, self.user_id.clone()),
            (signed_headers::TIMESTAMP, timestamp.to_string()),
            (signed_headers::NONCE, nonce),
            (
                signed_headers::SIGNATURE,
                base64::engine::general_purpose::STANDARD.encode(signature),
            ),
        ])
    }

    /// Sends a request signed with this person's key (staff requests).
    pub fn signed_request(&mut self, method: &str, path_and_query: &str, body: Option<Vec<u8>>) -> Result<Answer> {
        let headers = self.signature_headers(method, path_and_query, body.as_deref().unwrap_or_default())?;
        let answer =
            self.connection
                .server
                .send(method, path_and_query, &headers, body.map(|b| ("application/json", b)))?;
        success(answer)
    }

    /// POSTs `body` signed with this person's key and sealed on the signing
    /// core's channel (re-registration: it carries a sealed record and
    /// verifiers, which nothing between here and the key tier may read).
    fn signed_sealed_post<T: DeserializeOwned>(&mut self, path: &str, body: &impl Serialize) -> Result<T> {
        let json = to_json(body)?;
        let headers = self.signature_headers("POST", path, &json)?;
        self.connection
            .sealed_post_with(&mut self.signer, path, &headers, &json)
    }

    /// A signed `GET`, decoded from JSON.
    pub fn signed_get<T: DeserializeOwned>(&mut self, path_and_query: &str) -> Result<T> {
        decode(&self.signed_request("GET", path_and_query, None)?.body)
    }

    /// A signed `POST` of JSON, decoded from JSON.
    pub fn signed_post<T: DeserializeOwned>(&mut self, path: &str, body: &impl Serialize) -> Result<T> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::input("body", e.to_string()))?;
        decode(&self.signed_request("POST", path, Some(bytes))?.body)
    }

    /// The verifier of the current pass phrase, proving it again.
    fn current_verifier(&mut self, passphrase: Passphrase, progress: &mut dyn FnMut(Step)) -> Result<Bytes> {
        let user_id = self.user_id.clone();
        self.connection
            .verifier(&mut self.signer, &user_id, passphrase, progress)
    }

    /// Whether signing in sealed the record again under the key tier's
    /// current KDF policy: `None` when it did not need to, else whether it
    /// did or why not (a later sign-in tries again).
    pub fn resealed(&self) -> Option<&std::result::Result<(), String>> {
        self.resealed.as_ref()
    }

    /// Seals the loaded key again under `passphrase` with `kdf` and stores
    /// the record through the signed re-registration, proving the current
    /// pass phrase with `verifier`.
    fn reseal(
        &mut self,
        passphrase: Passphrase,
        verifier: Bytes,
        kdf: signet_schema::KdfParams,
        progress: &mut dyn FnMut(Step),
    ) -> Result<()> {
        progress(Step::DerivingKeys);
        let (record, new_verifier) = expect_answer!(
            self.signer.call(Request::Reseal { passphrase, kdf })?,
            Response::Resealed { record, verifier } => (record, verifier)
        )?;
        progress(Step::Contacting);
        let request = ReregisterRequest {
            user_id: self.user_id.clone(),
            verifier,
            record,
            new_verifier,
            certification_request: None,
        };
        let _: ReregisterResponse = self.signed_sealed_post("/v1/reregister", &request)?;
        Ok(())
    }

    /// Changes the pass phrase: the same key sealed again under `new`.
    pub fn change_passphrase(
        &mut self,
        current: Passphrase,
        new: Passphrase,
        progress: &mut dyn FnMut(Step),
    ) -> Result<()> {
        let verifier = self.current_verifier(current, progress)?;
        let policy = self.connection.signed_policy()?;
        self.reseal(new, verifier, policy.kdf, progress)?;
        progress(Step::Done);
        Ok(())
    }

    /// Replaces the key pair: a second signer makes the new key (sealed under
    /// `new`, or the current pass phrase again when `new` is `None`), the
    /// current key signs the request, and the new certificate replaces the
    /// old, which is kept in the archive as superseded.
    pub fn new_key(
        &mut self,
        current: Passphrase,
        new: Option<Passphrase>,
        progress: &mut dyn FnMut(Step),
    ) -> Result<ReregisterResponse> {
        let sealing = new.unwrap_or_else(|| Passphrase::new(String::from_utf8_lossy(current.expose()).into_owned()));
        let verifier = self.current_verifier(current, progress)?;
        let policy = self.connection.signed_policy()?;
        let mut next = self.connection.start_signer(progress)?;
        progress(Step::GeneratingKey);
        let (record, certification_request, new_verifier) = expect_answer!(
            next.call(Request::GenerateKey {
                registration: self.registration.clone(),
                passphrase: sealing,
                kdf: policy.kdf,
                key_bits: policy.key_bits,
            })?,
            Response::KeyGenerated { record, certification_request, verifier, .. } => (record, certification_request, verifier)
        )?;
        progress(Step::Contacting);
        let request = ReregisterRequest {
            user_id: self.user_id.clone(),
            verifier,
            record,
            new_verifier,
            certification_request: Some(certification_request),
        };
        let done: ReregisterResponse = self.signed_sealed_post("/v1/reregister", &request)?;
        let certificate = done
            .certificate
            .clone()
            .ok_or_else(|| ClientError::UnexpectedAnswer("no certificate for the new key".into()))?;
        // The old key goes with its process; the new one is already loaded in `next`.
        std::mem::replace(&mut self.signer, next).end();
        self.certificate = certificate.0;
        self.key_bits = policy.key_bits.bits() as u32;
        progress(Step::Done);
        Ok(done)
    }

    /// Revokes this person's key for good: the server erases the sealed
    /// record and publishes a new CRL. End the session afterwards: the key
    /// is of no use any more.
    pub fn revoke(
        &mut self,
        passphrase: Passphrase,
        reason: RevocationReason,
        progress: &mut dyn FnMut(Step),
    ) -> Result<RevokeResponse> {
        let verifier = self.current_verifier(passphrase, progress)?;
        progress(Step::Contacting);
        let request = RevokeRequest {
            user_id: self.user_id.clone(),
            verifier,
            reason,
        };
        let revoked = self.connection.sealed_post(&mut self.signer, "/v1/revoke", &request)?;
        progress(Step::Done);
        Ok(revoked)
    }

    /// Signs out: the signer wipes the key and exits.
    pub fn end(self) {
        self.signer.end();
    }
}

/// A signature as the signing core returned it, with what it must verify
/// against.
#[derive(Debug)]
pub struct UncheckedSignature {
    certificate: Vec<u8>,
    sha256: [u8; 32],
    format: SignatureFormat,
    scheme: SignatureScheme,
    signature: Vec<u8>,
}

impl UncheckedSignature {
    /// The signature, once it verifies over the digest it was asked for
    /// with the session's certified key (and, for CMS, names the session's
    /// certificate); [`ClientError::SignerFailed`] otherwise.
    pub fn check(self) -> Result<Vec<u8>> {
        check_what_was_signed(
            &self.certificate,
            &self.sha256,
            self.format,
            self.scheme,
            &self.signature,
        )?;
        Ok(self.signature)
    }
}

/// Checks a signature the signing child returned: over the content whose
/// SHA-256 is `sha256`, by the key
/// `certificate` certifies, in `scheme`; a CMS signature must also carry
/// `certificate` itself.
fn check_what_was_signed(
    certificate: &[u8],
    sha256: &[u8; 32],
    format: SignatureFormat,
    scheme: SignatureScheme,
    signature: &[u8],
) -> Result<()> {
    let refused = |why: String| ClientError::SignerFailed(format!("the new signature was not kept: {why}"));
    match format {
        SignatureFormat::Cms => {
            let verified = signet_crypto::cms::verify_detached_digest(signature, sha256)
                .map_err(|e| refused(format!("it does not verify over the signed bytes ({e})")))?;
            if verified.certificate != certificate {
                return Err(refused("it names another certificate than this session's".into()));
            }
        }
        SignatureFormat::Raw => {
            use der::Decode;
            let key = x509_cert::Certificate::from_der(certificate)
                .map_err(|e| e.to_string())
                .and_then(|parsed| signet_crypto::keys::PublicKey::from_certificate(&parsed).map_err(|e| e.to_string()))
                .map_err(|e| refused(format!("this session's certificate has no usable key ({e})")))?;
            signet_crypto::sign::verify_digest(&key, scheme, sha256, signature)
                .map_err(|e| refused(format!("it does not verify over the signed bytes ({e})")))?;
        }
    }
    Ok(())
}

/// POSTs `body` to `path` on `server`, sealed by `signer` on its channel to
/// `peer` (which must be open), and opens the answer: the decoded answer,
/// or the server's refusal.
pub(crate) fn sealed_exchange<T: DeserializeOwned>(
    server: &KeyServer,
    signer: &mut Signer,
    peer: ChannelPeer,
    path: &str,
    body: &impl Serialize,
) -> Result<T> {
    match exchange(server, signer, peer, path, &[], &to_json(body)?)? {
        Exchanged::Answer(answer) => answer,
        Exchanged::SessionGone(refusal) => Err(refusal),
    }
}

fn to_json(body: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| ClientError::input("body", e.to_string()))
}

/// What became of one sealed request.
enum Exchanged<T> {
    /// The server opened it: its answer, or the refusal it sealed.
    Answer(Result<T>),
    /// The server refused it unread because it no longer holds the session.
    SessionGone(ClientError),
}

fn exchange<T: DeserializeOwned>(
    server: &KeyServer,
    signer: &mut Signer,
    peer: ChannelPeer,
    path: &str,
    headers: &[(&str, String)],
    json: &[u8],
) -> Result<Exchanged<T>> {
    let plaintext = Bytes(json.to_vec());
    let message = expect_answer!(
        signer.call(Request::ChannelSeal { peer, method: "POST".into(), path: path.into(), plaintext })?,
        Response::ChannelSealed { message } => message
    )?;
    let sealed = serde_json::to_vec(&message).map_err(|e| ClientError::input("body", e.to_string()))?;
    let answer = server.send("POST", path, headers, Some((SEALED, sealed)))?;
    if answer.content_type.as_deref() != Some(SEALED) {
        // Refused before the server opened it (size, rate, outage, stale session).
        return match refusal(answer.status, &answer.body) {
            gone @ ClientError::Server {
                code: ApiErrorCode::StaleRequest,
                ..
            } => Ok(Exchanged::SessionGone(gone)),
            other => Err(other),
        };
    }
    let message: SealedMessage = decode(&answer.body)?;
    let plaintext = expect_answer!(
        signer.call(Request::ChannelOpenResponse { peer, method: "POST".into(), path: path.into(), message })?,
        Response::ChannelResponse { plaintext } => plaintext
    )?;
    if (200..300).contains(&answer.status) {
        Ok(Exchanged::Answer(decode(&plaintext.0)))
    } else {
        let error: ApiError = decode(&plaintext.0)?;
        Ok(Exchanged::Answer(Err(ClientError::Server {
            status: answer.status,
            code: error.code,
            message: error.message,
        })))
    }
}
