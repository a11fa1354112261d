//! One signer session: protocol requests in, core calls, replies out.
//!
//! A session holds at most one private key and at most one set of
//! pass-phrase keys; both are wiped when replaced and when the session ends.
//! The loop in `main.rs` owns framing and transport; this module never does I/O.

use std::time::SystemTime;

use signet_schema::protocol::{Bytes, HardeningReport, PROTOCOL_VERSION, Request, Response, SignatureFormat};
use signet_schema::{FormatError, Problem, RegistrationData, SealedKeyRecord, SignatureScheme};

use crate::kdf::{self, PassphraseKeys};
use crate::keys::PrivateKey;
use crate::{Error, Result, cms, csr, export, seal, sign};

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
    key: PrivateKey,
    registration: RegistrationData,
}

/// State of one signer process.
pub struct Session {
    hardening: HardeningReport,
    unlocked: Option<PassphraseKeys>,
    loaded: Option<LoadedKey>,
}

impl Session {
    /// A session with nothing loaded; `hardening` is reported by `hello`.
    pub fn new(hardening: HardeningReport) -> Self {
        Session {
            hardening,
            unlocked: None,
            loaded: None,
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
        }
        (response, next)
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
                let key = PrivateKey::generate(key_bits)?;
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
            Request::End => Ok(Response::Ended),
        }
    }
}
