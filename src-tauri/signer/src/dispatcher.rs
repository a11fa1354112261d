//! One signer session: protocol requests in, core calls, replies out.
//!
//! A session holds at most one private key and at most one set of
//! pass-phrase keys; both are wiped when replaced and when the session ends.
//! The loop in `main.rs` owns framing and transport; this module never does I/O.

use std::time::{SystemTime, UNIX_EPOCH};

use signet_schema::channel::SealedMessage;
use signet_schema::protocol::{
    Bytes, ChannelPeer, HardeningReport, PROTOCOL_VERSION, Request, Response, SignatureFormat,
};
use signet_schema::{FormatError, Problem, RegistrationData, SealedKeyRecord, SignatureScheme};

use signet_crypto::channel::{self, ChannelClient};
use signet_crypto::kdf::{self, PassphraseKeys};
use signet_crypto::keys::UserKey;
use signet_crypto::{Error, Result, cms, csr, export, seal, sign};

/// What the loop should do after sending a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next request.
    Continue,
    /// Exit: the session is over.
    End,
}

/// The key in use, with the registration data it is bound to.
struct LoadedKey {
    key: UserKey,
    registration: RegistrationData,
}

/// State of one signer process.
pub struct Session {
    hardening: HardeningReport,
    unlocked: Option<PassphraseKeys>,
    loaded: Option<LoadedKey>,
    /// The open sealed channel to the key server.
    key_server: Option<ChannelClient>,
    /// The open sealed channel to the host application.
    host: Option<ChannelClient>,
}

impl Session {
    /// A session with nothing loaded; `hardening` is reported by `hello`.
    pub fn new(hardening: HardeningReport) -> Self {
        Session {
            hardening,
            unlocked: None,
            loaded: None,
            key_server: None,
            host: None,
        }
    }

    /// Whether a private key is loaded.
    pub fn has_key(&self) -> bool {
        self.loaded.is_some()
    }

    /// Handles one request. Errors become [`Response::Error`]; the session goes on.
    pub fn handle(&mut self, request: Request) -> (Response, Next) {
        let next = if matches!(request, Request::End) {
            Next::End
        } else {
            Next::Continue
        };
        let response = self.dispatch(request).unwrap_or_else(|e| Response::Error {
            code: e.code(),
            message: e.to_string(),
        });
        if next == Next::End {
            self.unlocked = None;
            self.loaded = None;
            self.key_server = None;
            self.host = None;
        }
        (response, next)
    }

    /// The channel slot of `peer`.
    fn channel(&mut self, peer: ChannelPeer) -> &mut Option<ChannelClient> {
        match peer {
            ChannelPeer::KeyServer => &mut self.key_server,
            ChannelPeer::Host => &mut self.host,
        }
    }

    fn dispatch(&mut self, request: Request) -> Result<Response> {
        match request {
            Request::Hello => Ok(Response::Ready {
                protocol: PROTOCOL_VERSION,
                signer_version: env!("CARGO_PKG_VERSION").into(),
                pid: std::process::id(),
                hardening: self.hardening.clone(),
            }),
            Request::GenerateKey {
                registration,
                passphrase,
                kdf,
                key_bits,
            } => {
                // Everything cheap is checked before the expensive key generation.
                registration.validate()?;
                kdf::check_floor(kdf)?;
                let salt = kdf::new_salt()?;
                let keys = kdf::derive(passphrase.expose(), &registration.user_id, kdf, &salt)?;
                let key = UserKey::generate(key_bits)?;
                let record = seal::seal(&key, &registration, &keys)?.encode()?;
                let request = csr::certification_request(&key, &registration, SignatureScheme::RsaPssSha256)?;
                let public_key = key.public_key().to_spki_der()?;
                let verifier = keys.verifier().to_vec();
                self.loaded = Some(LoadedKey { key, registration });
                self.unlocked = Some(keys);
                Ok(Response::KeyGenerated {
                    record: Bytes(record),
                    certification_request: Bytes(request),
                    verifier: Bytes(verifier),
                    public_key: Bytes(public_key),
                })
            }
            Request::Unlock {
                user_id,
                kdf,
                salt,
                passphrase,
            } => {
                let keys = kdf::derive(passphrase.expose(), &user_id, kdf, &salt.0)?;
                let verifier = keys.verifier().to_vec();
                self.unlocked = Some(keys);
                Ok(Response::Unlocked {
                    verifier: Bytes(verifier),
                })
            }
            Request::OpenRecord { record, registration } => {
                let keys = self.unlocked.as_ref().ok_or(Error::NotUnlocked)?;
                let record = SealedKeyRecord::parse(&record.0)?;
                let key = seal::open(&record, &registration, keys)?;
                let public_key = key.public_key().to_spki_der()?;
                let key_bits = key.bits();
                self.loaded = Some(LoadedKey { key, registration });
                Ok(Response::RecordOpened {
                    public_key: Bytes(public_key),
                    key_bits,
                })
            }
            Request::Sign {
                content,
                scheme,
                format,
                certificate,
            } => {
                let loaded = self.loaded.as_ref().ok_or(Error::NoKey)?;
                let signature = match format {
                    SignatureFormat::Raw => sign::sign(&loaded.key, scheme, &content.0)?,
                    SignatureFormat::Cms => {
                        let certificate = certificate.ok_or(Error::CertificateRequired)?;
                        cms::sign_detached(&loaded.key, scheme, &certificate.0, &content.0, SystemTime::now())?
                    }
                };
                Ok(Response::Signed {
                    signature: Bytes(signature),
                })
            }
            Request::SignDigest {
                sha256,
                scheme,
                format,
                certificate,
            } => {
                let loaded = self.loaded.as_ref().ok_or(Error::NoKey)?;
                let digest: [u8; 32] = sha256
                    .0
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::from(FormatError::new("sha256", Problem::BadLength)))?;
                let signature = match format {
                    SignatureFormat::Raw => sign::sign_digest(&loaded.key, scheme, &digest)?,
                    SignatureFormat::Cms => {
                        let certificate = certificate.ok_or(Error::CertificateRequired)?;
                        cms::sign_detached_digest(&loaded.key, scheme, &certificate.0, &digest, SystemTime::now())?
                    }
                };
                Ok(Response::Signed {
                    signature: Bytes(signature),
                })
            }
            Request::Reseal { passphrase, kdf } => {
                let loaded = self.loaded.as_ref().ok_or(Error::NoKey)?;
                let salt = kdf::new_salt()?;
                let keys = kdf::derive(passphrase.expose(), &loaded.registration.user_id, kdf, &salt)?;
                let record = seal::seal(&loaded.key, &loaded.registration, &keys)?.encode()?;
                let verifier = keys.verifier().to_vec();
                self.unlocked = Some(keys);
                Ok(Response::Resealed {
                    record: Bytes(record),
                    verifier: Bytes(verifier),
                })
            }
            Request::ExportKey { passphrase } => {
                let loaded = self.loaded.as_ref().ok_or(Error::NoKey)?;
                if passphrase.expose().is_empty() {
                    return Err(FormatError::new("passphrase", Problem::BadLength).into());
                }
                let pem = export::encrypted_pkcs8_pem(&loaded.key, passphrase.expose())?;
                Ok(Response::KeyExported {
                    pkcs8_pem: pem.to_string(),
                })
            }
            Request::ChannelOpen {
                peer,
                bootstrap,
                pinned_integrity_key,
            } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                let pinned = match (pinned_integrity_key, peer) {
                    (Some(key), _) => key.0,
                    (None, ChannelPeer::KeyServer) => channel::first_use_integrity_key(&bootstrap, now)?,
                    // A host is known only by its certificate, never on first use.
                    (None, ChannelPeer::Host) => return Err(channel::ChannelError::ServerKeyMismatch.into()),
                };
                let (client, open_request) = ChannelClient::open(&bootstrap, &pinned, now)?;
                let response = Response::ChannelOpened {
                    open_request,
                    session_id: Bytes(client.session_id().to_vec()),
                    integrity_key: Bytes(pinned),
                    policy: client.policy().clone(),
                };
                *self.channel(peer) = Some(client);
                Ok(response)
            }
            Request::ChannelSeal {
                peer,
                method,
                path,
                plaintext,
            } => {
                let client = self.channel(peer).as_mut().ok_or(Error::NoChannel)?;
                let (counter, body) = client.seal_request(&method, &path, &plaintext.0)?;
                let session_id = Bytes(client.session_id().to_vec());
                Ok(Response::ChannelSealed {
                    message: SealedMessage {
                        session_id,
                        counter,
                        body: Bytes(body),
                    },
                })
            }
            Request::ChannelOpenResponse {
                peer,
                method,
                path,
                message,
            } => {
                let client = self.channel(peer).as_mut().ok_or(Error::NoChannel)?;
                if message.session_id.0 != client.session_id().as_slice() {
                    return Err(channel::ChannelError::BadTag.into());
                }
                let plaintext = client.open_response(message.counter, &method, &path, &message.body.0)?;
                Ok(Response::ChannelResponse {
                    plaintext: Bytes(plaintext.to_vec()),
                })
            }
            Request::End => Ok(Response::Ended),
        }
    }
}
