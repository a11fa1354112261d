//! The signer protocol: how the desktop app talks to the ephemeral
//! `signet-signer` process over its stdin and stdout.
//!
//! # Framing
//!
//! Every message is one frame: a 4-byte big-endian length `n`
//! (1 ..= [`MAX_FRAME_LEN`]) followed by `n` bytes of UTF-8 JSON. A frame
//! that is too long is answered with an error and skipped; the session
//! survives it.
//!
//! # Messages, version 1
//!
//! Each JSON object carries `"v": 2`, a `"type"` naming the message and an
//! `"id"` chosen by the app and echoed in the reply. Binary values are
//! standard base64. See `docs/signer-protocol.md` for a worked session.
//!
//! Two kinds of failure are kept apart, as in age's plugin protocol:
//! a *transport* failure (the pipe closed, a short read) ends the process;
//! a *protocol* failure (bad JSON, unknown message, wrong pass phrase) is
//! answered with an [`Response::Error`] and the session goes on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::channel::{BootstrapPolicy, OpenRequest, SealedMessage, SignedBootstrap};
use crate::record::KdfParams;
use crate::registration::RegistrationData;
use crate::{KeySize, SignatureScheme};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 2;
/// Largest frame body accepted, in bytes.
pub const MAX_FRAME_LEN: usize = 1024 * 1024;
/// Length of the frame header.
pub const FRAME_HEADER_LEN: usize = 4;

/// Bytes carried as base64 in JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(type = "string"))]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text.as_bytes()).map(Bytes).map_err(serde::de::Error::custom)
    }
}

/// On the wire: a string of standard base64 (RFC 4648 §4, with padding).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Bytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Byte)))
            .content_encoding("base64")
            .description(Some("Binary data as standard base64 (RFC 4648 section 4, padded)."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Bytes {}

/// A pass phrase in transit: wiped when dropped, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a pass phrase.
    pub fn new(text: String) -> Self {
        Passphrase(Zeroizing::new(text))
    }
    /// The pass phrase's UTF-8 bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

impl Serialize for Passphrase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Passphrase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Passphrase::new)
    }
}

/// Which server a sealed channel of the signing core leads to: it keeps one
/// channel to each at once (version 2 of the protocol; version 1 knew only
/// the key server).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelPeer {
    /// The key server's key tier.
    #[default]
    KeyServer,
    /// The bank's host application: its integrity key must be given pinned
    /// (from its CA-issued certificate), never taken on first use.
    Host,
}

/// What the signature is wrapped in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureFormat {
    /// The bare RSA signature over the content.
    Raw,
    /// Detached CMS SignedData (RFC 5652) with the signer certificate and a
    /// signing-time attribute.
    #[default]
    Cms,
}

/// A request from the app, with its envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// Protocol version, [`PROTOCOL_VERSION`].
    pub v: u32,
    /// Chosen by the app, echoed in the reply.
    pub id: u64,
    /// The request itself.
    #[serde(flatten)]
    pub request: Request,
}

/// Requests, app → signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// Asks for the signer's version and hardening status.
    Hello,
    /// Generates a key pair, seals it under the pass phrase and builds a
    /// PKCS#10 request signed by the new key. The key stays loaded.
    GenerateKey {
        /// Who applies.
        registration: RegistrationData,
        /// The new pass phrase.
        passphrase: Passphrase,
        /// Argon2id parameters from the server's policy.
        kdf: KdfParams,
        /// RSA modulus size from the server's policy.
        key_bits: KeySize,
    },
    /// Derives the pass-phrase keys for a sign-in and returns the verifier.
    Unlock {
        /// The user signing in.
        user_id: String,
        /// Parameters from the server's pre-login answer.
        kdf: KdfParams,
        /// Salt from the server's pre-login answer.
        salt: Bytes,
        /// The pass phrase.
        passphrase: Passphrase,
    },
    /// Opens a sealed record with the keys from [`Request::Unlock`].
    OpenRecord {
        /// The sealed record released by the server.
        record: Bytes,
        /// The registration data it is bound to.
        registration: RegistrationData,
    },
    /// Signs content with the loaded key.
    Sign {
        /// The exact bytes to sign.
        content: Bytes,
        /// Signature scheme.
        #[serde(default)]
        scheme: SignatureScheme,
        /// Raw signature or detached CMS.
        #[serde(default)]
        format: SignatureFormat,
        /// The signer's certificate (DER), required for CMS.
        #[serde(default)]
        certificate: Option<Bytes>,
    },
    /// Signs the content whose SHA-256 is `sha256` with the loaded key: the
    /// same signature as [`Request::Sign`] over the content, for documents
    /// of any size (the content never has to cross the pipe).
    SignDigest {
        /// SHA-256 of the exact bytes to sign: 32 bytes.
        sha256: Bytes,
        /// Signature scheme.
        #[serde(default)]
        scheme: SignatureScheme,
        /// Raw signature or detached CMS.
        #[serde(default)]
        format: SignatureFormat,
        /// The signer's certificate (DER), required for CMS.
        #[serde(default)]
        certificate: Option<Bytes>,
    },
    /// Seals the loaded key again under a new pass phrase (fresh salt and IV).
    Reseal {
        /// The new pass phrase.
        passphrase: Passphrase,
        /// Argon2id parameters from the server's policy.
        kdf: KdfParams,
    },
    /// Exports the loaded key as encrypted PKCS#8 (PBES2), for a user who leaves.
    ExportKey {
        /// The pass phrase protecting the exported file.
        passphrase: Passphrase,
    },
    /// Verifies the key server's bootstrap document against the pinned
    /// integrity key (or, with none pinned, accepts a self-signed, fresh one
    /// for pinning on first use) and opens a sealed channel to it.
    ChannelOpen {
        /// Which server; the key server when absent.
        #[serde(default)]
        peer: ChannelPeer,
        /// The document from `GET /v1/bootstrap`.
        bootstrap: SignedBootstrap,
        /// The pinned integrity key (SubjectPublicKeyInfo DER), if any.
        #[serde(default)]
        pinned_integrity_key: Option<Bytes>,
    },
    /// Seals a request body for the open channel.
    ChannelSeal {
        /// Which server's channel; the key server when absent.
        #[serde(default)]
        peer: ChannelPeer,
        /// HTTP method of the request.
        method: String,
        /// HTTP path of the request.
        path: String,
        /// The JSON body to seal.
        plaintext: Bytes,
    },
    /// Opens a sealed response from the key server.
    ChannelOpenResponse {
        /// Which server's channel; the key server when absent.
        #[serde(default)]
        peer: ChannelPeer,
        /// HTTP method of the request it answers.
        method: String,
        /// HTTP path of the request it answers.
        path: String,
        /// The sealed response.
        message: SealedMessage,
    },
    /// Ends the session: the key is wiped and the process exits.
    End,
}

/// The signer's hardening, as it found it after start-up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardeningReport {
    /// RLIMIT_CORE is 0.
    pub core_dumps_disabled: bool,
    /// PR_SET_DUMPABLE is 0: no ptrace attach, no /proc/pid/mem by others.
    pub not_dumpable: bool,
    /// The pages holding keys are locked in memory: they never reach swap.
    pub memory_locked: bool,
    /// What is locked: `"all-pages"`, `"heap-and-stack"` or `"none"`.
    pub memory_lock: String,
    /// PR_SET_PDEATHSIG is set: the process dies with its parent.
    pub parent_death_signal: bool,
    /// The system-call filter in force (`"seccomp"`: the signer does not run without it).
    pub sandbox: String,
    /// A probe after the filter was installed saw file writes and sockets refused.
    pub sandbox_verified: bool,
    /// Seconds without a request before the signer exits.
    pub idle_timeout_secs: u64,
}

/// A reply, with its envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    /// Protocol version, [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The request's id (0 when the request was too broken to have one).
    pub id: u64,
    /// The reply itself.
    #[serde(flatten)]
    pub response: Response,
}

/// Replies, signer → app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Response {
    /// Answer to [`Request::Hello`].
    Ready {
        /// Protocol version spoken.
        protocol: u32,
        /// The signer build's version.
        signer_version: String,
        /// Process id, so the app can watch it.
        pid: u32,
        /// Hardening in force.
        hardening: HardeningReport,
    },
    /// Answer to [`Request::GenerateKey`].
    KeyGenerated {
        /// The sealed key record.
        record: Bytes,
        /// PKCS#10 CertificationRequest (DER), signed by the new key.
        certification_request: Bytes,
        /// The sign-in verifier derived from the pass phrase.
        verifier: Bytes,
        /// SubjectPublicKeyInfo (DER).
        public_key: Bytes,
    },
    /// Answer to [`Request::Unlock`].
    Unlocked {
        /// The sign-in verifier.
        verifier: Bytes,
    },
    /// Answer to [`Request::OpenRecord`].
    RecordOpened {
        /// SubjectPublicKeyInfo (DER) of the opened key.
        public_key: Bytes,
        /// Its modulus size.
        key_bits: u32,
    },
    /// Answer to [`Request::Sign`] and [`Request::SignDigest`].
    Signed {
        /// The raw signature or the DER of the CMS ContentInfo.
        signature: Bytes,
    },
    /// Answer to [`Request::Reseal`].
    Resealed {
        /// The new sealed record.
        record: Bytes,
        /// The new sign-in verifier.
        verifier: Bytes,
    },
    /// Answer to [`Request::ExportKey`].
    KeyExported {
        /// `-----BEGIN ENCRYPTED PRIVATE KEY-----` PEM.
        pkcs8_pem: String,
    },
    /// Answer to [`Request::ChannelOpen`].
    ChannelOpened {
        /// What to `POST /v1/channel/open`.
        open_request: OpenRequest,
        /// The session id the server must answer with.
        session_id: Bytes,
        /// The integrity key the document was verified with: the app pins it.
        integrity_key: Bytes,
        /// The policy the signed document announces.
        policy: BootstrapPolicy,
    },
    /// Answer to [`Request::ChannelSeal`]: the body to send.
    ChannelSealed {
        /// The sealed request.
        message: SealedMessage,
    },
    /// Answer to [`Request::ChannelOpenResponse`].
    ChannelResponse {
        /// The response's JSON body.
        plaintext: Bytes,
    },
    /// Answer to [`Request::End`]; the process exits after sending it.
    Ended,
    /// A protocol failure; the session goes on.
    Error {
        /// Stable, machine-readable code.
        code: ErrorCode,
        /// What happened, for a person.
        message: String,
    },
}

/// Protocol error codes (stable across versions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame is empty or not a JSON object of the expected shape.
    MalformedFrame,
    /// The frame is longer than [`MAX_FRAME_LEN`].
    FrameTooLarge,
    /// The request's `v` is not one this signer speaks.
    UnsupportedVersion,
    /// The request's `type` is unknown.
    UnknownMessage,
    /// A field has a bad value; the message names it.
    BadRequest,
    /// The KDF parameters are below the floor; nothing was derived.
    /// (Parameters above the ceiling are a [`ErrorCode::BadRequest`].)
    KdfTooWeak,
    /// The pass phrase does not open the record (or the record was altered).
    WrongPassphrase,
    /// The record belongs to another user, or opened but its content is
    /// inconsistent with its header or the registration data.
    RecordInvalid,
    /// A signing request came before a key was loaded.
    NoKey,
    /// `open-record` came before `unlock`.
    NotUnlocked,
    /// The certificate does not match the loaded key.
    CertificateMismatch,
    /// The sealed channel refused: bad bootstrap document, wrong server key,
    /// a message replayed or out of order, no channel open. Reconnect.
    ChannelRefused,
    /// Anything else; the message says what.
    Internal,
}

/// Why a frame could not be decoded into a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// Code to send back.
    pub code: ErrorCode,
    /// The request id, when it could be read.
    pub id: u64,
    /// Human-readable detail.
    pub message: String,
}

/// Reads a frame header; `Err` carries the declared length when it is out of range.
pub fn frame_len(header: [u8; FRAME_HEADER_LEN]) -> Result<usize, usize> {
    let len = u32::from_be_bytes(header) as usize;
    if len == 0 || len > MAX_FRAME_LEN {
        Err(len)
    } else {
        Ok(len)
    }
}

/// Encodes a message as one frame (header and JSON body).
pub fn encode_frame<T: Serialize>(message: &T) -> Vec<u8> {
    // Serialising these types cannot fail: no maps with non-string keys, no
    // custom serialisers that error.
    let body = serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec());
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes a frame body into a request, telling apart a broken frame, an
/// unsupported version, an unknown message and a bad field.
pub fn decode_request(body: &[u8]) -> Result<RequestEnvelope, DecodeError> {
    #[derive(Deserialize)]
    struct Head {
        v: Option<u32>,
        id: Option<u64>,
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let fail = |code, id, message: String| DecodeError { code, id, message };
    let head: Head = serde_json::from_slice(body)
        .map_err(|e| fail(ErrorCode::MalformedFrame, 0, format!("frame is not a JSON object: {e}")))?;
    let id = head.id.unwrap_or(0);
    match head.v {
        Some(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(fail(
                ErrorCode::UnsupportedVersion,
                id,
                format!("protocol version {v} is not supported; this signer speaks {PROTOCOL_VERSION}"),
            ));
        }
        None => {
            return Err(fail(ErrorCode::MalformedFrame, id, "field `v` is missing".into()));
        }
    }
    if head.id.is_none() {
        return Err(fail(ErrorCode::MalformedFrame, 0, "field `id` is missing".into()));
    }
    let Some(kind) = head.kind else {
        return Err(fail(ErrorCode::MalformedFrame, id, "field `type` is missing".into()));
    };
    const KNOWN: &[&str] = &[
        "hello",
        "generate-key",
        "unlock",
        "open-record",
        "sign",
        "sign-digest",
        "reseal",
        "export-key",
        "channel-open",
        "channel-seal",
        "channel-open-response",
        "end",
    ];
    if !KNOWN.contains(&kind.as_str()) {
        return Err(fail(
            ErrorCode::UnknownMessage,
            id,
            format!("unknown message type `{}`", kind.chars().take(64).collect::<String>()),
        ));
    }
    serde_json::from_slice(body).map_err(|e| fail(ErrorCode::BadRequest, id, format!("bad `{kind}` request: {e}")))
}

/// Decodes a frame body into a response (used by the app side and tests).
pub fn decode_response(body: &[u8]) -> Result<ResponseEnvelope, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_round_trip() {
        let env = RequestEnvelope {
            v: PROTOCOL_VERSION,
            id: 7,
            request: Request::Sign {
                content: Bytes(b"order".to_vec()),
                scheme: SignatureScheme::RsaPkcs1v15Sha256,
                format: SignatureFormat::Raw,
                certificate: None,
            },
        };
        let frame = encode_frame(&env);
        assert_eq!(frame_len(frame[..4].try_into().expect("4 bytes")), Ok(frame.len() - 4));
        assert_eq!(decode_request(&frame[4..]), Ok(env));
    }

    #[test]
    fn wire_form_is_stable() {
        let env = RequestEnvelope {
            v: PROTOCOL_VERSION,
            id: 1,
            request: Request::Hello,
        };
        assert_eq!(
            serde_json::to_string(&env).expect("serialises"),
            r#"{"v":2,"id":1,"type":"hello"}"#
        );
        let sign = r#"{"v":2,"id":2,"type":"sign","content":"b3JkZXI="}"#;
        match decode_request(sign.as_bytes()).expect("decodes").request {
            Request::Sign {
                content,
                scheme,
                format,
                certificate,
            } => {
                assert_eq!(content.0, b"order");
                assert_eq!(
                    (scheme, format, certificate),
                    (SignatureScheme::RsaPssSha256, SignatureFormat::Cms, None)
                );
            }
            other => panic!("decoded as {other:?}"),
        }
    }

    #[test]
    fn errors_are_told_apart() {
        let code = |s: &str| decode_request(s.as_bytes()).expect_err(s).code;
        assert_eq!(code("not json"), ErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"id":1,"type":"hello"}"#), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"v":1,"id":1,"type":"hello"}"#), ErrorCode::UnsupportedVersion);
        assert_eq!(code(r#"{"v":2,"id":1,"type":"launch"}"#), ErrorCode::UnknownMessage);
        assert_eq!(
            code(r#"{"v":2,"id":1,"type":"sign","content":"***"}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(code(r#"{"v":2,"id":1,"type":"generate-key"}"#), ErrorCode::BadRequest);
        let e = decode_request(br#"{"v":2,"id":9,"type":"unlock","user_id":"a"}"#).expect_err("missing fields");
        assert_eq!(e.id, 9);
    }

    /// Every request the app can send is one the signer knows by name.
    #[test]
    fn every_request_type_is_known() {
        use crate::channel::{SealedMessage, SignedBootstrap};
        let registration = crate::RegistrationData {
            user_id: "a".into(),
            common_name: "A".into(),
            organization: "O".into(),
            organizational_unit: String::new(),
            email: "a@b.c".into(),
            country: "GB".into(),
        };
        let message = SealedMessage {
            session_id: Bytes(vec![0; 16]),
            counter: 0,
            body: Bytes(vec![]),
        };
        let bootstrap = SignedBootstrap {
            document: Bytes(vec![]),
            signature: Bytes(vec![]),
        };
        let pass = || Passphrase::new("x".into());
        let requests = vec![
            Request::Hello,
            Request::GenerateKey {
                registration: registration.clone(),
                passphrase: pass(),
                kdf: KdfParams::FLOOR,
                key_bits: KeySize::Rsa2048,
            },
            Request::Unlock {
                user_id: "a".into(),
                kdf: KdfParams::FLOOR,
                salt: Bytes(vec![]),
                passphrase: pass(),
            },
            Request::OpenRecord {
                record: Bytes(vec![]),
                registration,
            },
            Request::Sign {
                content: Bytes(vec![]),
                scheme: SignatureScheme::RsaPssSha256,
                format: SignatureFormat::Raw,
                certificate: None,
            },
            Request::Reseal {
                passphrase: pass(),
                kdf: KdfParams::FLOOR,
            },
            Request::ExportKey { passphrase: pass() },
            Request::ChannelOpen {
                peer: ChannelPeer::KeyServer,
                bootstrap,
                pinned_integrity_key: None,
            },
            Request::ChannelSeal {
                peer: ChannelPeer::Host,
                method: "POST".into(),
                path: "/".into(),
                plaintext: Bytes(vec![]),
            },
            Request::ChannelOpenResponse {
                peer: ChannelPeer::Host,
                method: "POST".into(),
                path: "/".into(),
                message,
            },
            Request::End,
        ];
        for request in requests {
            let frame = encode_frame(&RequestEnvelope {
                v: PROTOCOL_VERSION,
                id: 1,
                request: request.clone(),
            });
            assert_eq!(decode_request(&frame[4..]).map(|e| e.request), Ok(request));
        }
    }

    #[test]
    fn frame_limits() {
        assert_eq!(frame_len(0u32.to_be_bytes()), Err(0));
        assert_eq!(frame_len((MAX_FRAME_LEN as u32).to_be_bytes()), Ok(MAX_FRAME_LEN));
        assert_eq!(
            frame_len((MAX_FRAME_LEN as u32 + 1).to_be_bytes()),
            Err(MAX_FRAME_LEN + 1)
        );
    }

    #[test]
    fn passphrase_is_not_printed() {
        let p = Passphrase::new("correct horse battery staple".into());
        assert_eq!(format!("{p:?}"), "Passphrase(***)");
        let req = Request::ExportKey { passphrase: p };
        assert!(!format!("{req:?}").contains("horse"));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_request(&bytes);
        }
    }
}
