//! Signed releases of the signing core, as the key server delivers them to
//! clients (DESIGN.md, applet delivery).
//!
//! Two keys sign two things, after the split of roles in The Update
//! Framework (TUF):
//!
//! * the **release key** — offline, apart from every server key — signs the
//!   [`ReleaseContent`]: the version (which only grows), the signer protocol
//!   it speaks, and each target's binary by SHA-256 and size, all in one
//!   document, so builds of different releases cannot be mixed and matched;
//! * the key tier's **integrity key** signs a short-lived [`Freshness`]
//!   statement over the content's hash, renewed by the server, so that a
//!   manifest frozen or replayed by someone in the way expires (default
//!   [`DEFAULT_FRESHNESS_SECS`]) without the offline key coming online.
//!
//! Clients trust the release keys compiled into them, and a newer key that
//! one of them endorsed ([`KeyEndorsement`]: the new key's
//! SubjectPublicKeyInfo signed by the previous key), which is how the
//! release key is rotated. Every signature is RSASSA-PSS-SHA256.
//!
//! Like the rest of this crate, this module only parses and checks shapes;
//! the signatures are checked by the client with `signet-crypto`.

use serde::{Deserialize, Serialize};

use crate::error::{FormatError, Problem};
use crate::protocol::Bytes;

/// The format of [`ReleaseContent`] this version writes and reads.
pub const RELEASE_FORMAT: u32 = 1;
/// What a release of the signing core is a release of.
pub const SIGNER_PRODUCT: &str = "signet-signer";
/// What a [`Freshness`] statement vouches for.
pub const FRESHNESS_PURPOSE: &str = "signet-signer-freshness";
/// How long the key server's freshness statement holds, by default: 7 days.
pub const DEFAULT_FRESHNESS_SECS: i64 = 7 * 24 * 3600;
/// Largest signer binary a release may list: 16 MiB, the largest answer the
/// key server's web tier forwards (a release build is about 2.5 MiB).
pub const MAX_BINARY_LEN: u64 = 16 << 20;
/// Largest signed document (release content, freshness, endorsement chain).
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;
/// Most builds (targets) in one release.
pub const MAX_BUILDS: usize = 16;
/// Most key endorsements between a built-in release key and the signing key.
pub const MAX_ENDORSEMENTS: usize = 8;
/// What the previous release key signs when it endorses a new one, before
/// the new key's SubjectPublicKeyInfo DER.
pub const ENDORSEMENT_CONTEXT: &[u8] = b"signet release key endorsement v1\0";

/// One target's signer binary in a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseBuild {
    /// Rust target triple, e.g. `x86_64-unknown-linux-gnu`.
    pub target: String,
    /// SHA-256 of the binary, 64 lower-case hex digits (it names the binary's URL).
    pub sha256: String,
    /// Length of the binary in bytes.
    pub size: u64,
}

/// What the release key signs: the release's JSON, kept as the exact bytes
/// it signed ([`SignedRelease::content`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseContent {
    /// Always [`RELEASE_FORMAT`].
    pub format: u32,
    /// Always [`SIGNER_PRODUCT`].
    pub product: String,
    /// Release number; every release has a higher one than the last.
    pub version: u64,
    /// The version people read, e.g. `0.1.0`.
    pub label: String,
    /// The signer protocol version the binaries speak.
    pub protocol_version: u32,
    /// When the release was signed, Unix seconds.
    pub published_at: i64,
    /// One binary per target, at most one per target.
    pub builds: Vec<ReleaseBuild>,
}

impl ReleaseContent {
    /// The bytes the release key signs: this content's JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Plain structs of strings and integers always serialise.
        serde_json::to_vec(self).unwrap_or_else(|_| unreachable!())
    }

    /// Parses and checks signed content.
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() > MAX_DOCUMENT_LEN {
            return Err(FormatError::new("content", Problem::BadLength));
        }
        let content: ReleaseContent =
            serde_json::from_slice(bytes).map_err(|_| FormatError::new("content", Problem::Malformed))?;
        content.validate()?;
        Ok(content)
    }

    /// Checks every field's shape.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.format != RELEASE_FORMAT {
            return Err(FormatError::new("format", Problem::Unsupported));
        }
        if self.product != SIGNER_PRODUCT {
            return Err(FormatError::new("product", Problem::Unsupported));
        }
        if self.version == 0 || self.version > i64::MAX as u64 {
            return Err(FormatError::new("version", Problem::Unsupported));
        }
        if self.label.is_empty() || self.label.len() > 64 || !self.label.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FormatError::new("label", Problem::Malformed));
        }
        if self.published_at <= 0 {
            return Err(FormatError::new("published_at", Problem::Unsupported));
        }
        if self.builds.is_empty() || self.builds.len() > MAX_BUILDS {
            return Err(FormatError::new("builds", Problem::BadLength));
        }
        for (i, build) in self.builds.iter().enumerate() {
            if !is_target(&build.target) {
                return Err(FormatError::new("target", Problem::Malformed));
            }
            if self.builds[..i].iter().any(|b| b.target == build.target) {
                return Err(FormatError::new("target", Problem::Unsupported));
            }
            if !is_sha256_hex(&build.sha256) {
                return Err(FormatError::new("sha256", Problem::Malformed));
            }
            if build.size == 0 || build.size > MAX_BINARY_LEN {
                return Err(FormatError::new("size", Problem::BadLength));
            }
        }
        Ok(())
    }

    /// The build for `target`.
    pub fn build_for(&self, target: &str) -> Option<&ReleaseBuild> {
        self.builds.iter().find(|b| b.target == target)
    }
}

/// Whether `text` is 64 lower-case hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_target(text: &str) -> bool {
    (3..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'))
}

/// A newer release key, endorsed by the one before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyEndorsement {
    /// The newer key's SubjectPublicKeyInfo, DER.
    pub key: Bytes,
    /// The previous key's signature over [`endorsement_bytes`] of `key`.
    pub signature: Bytes,
}

/// What the previous release key signs to endorse the key `spki`.
pub fn endorsement_bytes(spki: &[u8]) -> Vec<u8> {
    [ENDORSEMENT_CONTEXT, spki].concat()
}

/// A release as the release key signed it: what `applet sign-release`
/// writes and `applet publish` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedRelease {
    /// [`ReleaseContent`] JSON, the exact bytes signed.
    pub content: Bytes,
    /// The release key's signature over `content`.
    pub signature: Bytes,
    /// The release key's SubjectPublicKeyInfo, DER.
    pub signing_key: Bytes,
    /// From a key built into clients to `signing_key`, oldest first; empty
    /// when `signing_key` is itself built in.
    #[serde(default)]
    pub endorsements: Vec<KeyEndorsement>,
}

impl SignedRelease {
    /// Parses a signed release and checks its content's shape (not the signature).
    pub fn from_json(bytes: &[u8]) -> Result<(Self, ReleaseContent), FormatError> {
        if bytes.len() > 4 * MAX_DOCUMENT_LEN {
            return Err(FormatError::new("release", Problem::BadLength));
        }
        let release: SignedRelease =
            serde_json::from_slice(bytes).map_err(|_| FormatError::new("release", Problem::Malformed))?;
        if release.endorsements.len() > MAX_ENDORSEMENTS {
            return Err(FormatError::new("endorsements", Problem::BadLength));
        }
        let content = ReleaseContent::from_json(&release.content.0)?;
        Ok((release, content))
    }
}

/// Whether clients that cannot run a delivered signer may run the one
/// installed beside them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum BundledSigner {
    /// Only a delivered signer runs (the default).
    #[default]
    Refused,
    /// Where the system forbids running code from memory, the installed
    /// signer may run; the client says so.
    Allowed,
}

impl BundledSigner {
    /// The stored and printed text.
    pub fn as_str(self) -> &'static str {
        match self {
            BundledSigner::Refused => "refused",
            BundledSigner::Allowed => "allowed",
        }
    }
}

impl std::str::FromStr for BundledSigner {
    type Err = FormatError;
    fn from_str(text: &str) -> Result<Self, FormatError> {
        match text {
            "refused" => Ok(BundledSigner::Refused),
            "allowed" => Ok(BundledSigner::Allowed),
            _ => Err(FormatError::new("bundled_signer", Problem::Unsupported)),
        }
    }
}

/// What the key tier's integrity key signs to keep a release current.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Freshness {
    /// Always [`FRESHNESS_PURPOSE`]: the integrity key signs other documents too.
    pub purpose: String,
    /// SHA-256 of the [`SignedRelease::content`] bytes it keeps current.
    pub content_sha256: Bytes,
    /// When the key tier signed it, Unix seconds.
    pub issued_at: i64,
    /// After this, Unix seconds, clients refuse the release until the key
    /// tier signs a new statement.
    pub expires_at: i64,
    /// The key server's policy on the installed signer.
    pub bundled_signer: BundledSigner,
}

impl Freshness {
    /// The bytes the integrity key signs: this statement's JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| unreachable!())
    }

    /// Parses and checks a statement's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() > MAX_DOCUMENT_LEN {
            return Err(FormatError::new("freshness", Problem::BadLength));
        }
        let freshness: Freshness =
            serde_json::from_slice(bytes).map_err(|_| FormatError::new("freshness", Problem::Malformed))?;
        if freshness.purpose != FRESHNESS_PURPOSE {
            return Err(FormatError::new("purpose", Problem::Unsupported));
        }
        if freshness.content_sha256.0.len() != 32 {
            return Err(FormatError::new("content_sha256", Problem::BadLength));
        }
        if freshness.expires_at <= freshness.issued_at {
            return Err(FormatError::new("expires_at", Problem::Unsupported));
        }
        Ok(freshness)
    }
}

/// `GET /v1/signer/release`: the current release and its freshness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseManifest {
    /// The release, as the release key signed it.
    pub release: SignedRelease,
    /// [`Freshness`] JSON, the exact bytes signed.
    pub freshness: Bytes,
    /// The integrity key's RSASSA-PSS-SHA256 signature over `freshness`.
    pub freshness_signature: Bytes,
    /// The key tier's integrity key, SubjectPublicKeyInfo DER (clients
    /// check it against the one they pinned).
    pub integrity_key: Bytes,
}

/// One published release, as `applet list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedRelease {
    /// Release number.
    pub version: u64,
    /// The version people read.
    pub label: String,
    /// Signer protocol version.
    pub protocol_version: u32,
    /// The builds.
    pub builds: Vec<ReleaseBuild>,
    /// When the release was signed.
    pub published_at: i64,
    /// When it was published on this key server.
    pub stored_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> ReleaseContent {
        ReleaseContent {
            format: RELEASE_FORMAT,
            product: SIGNER_PRODUCT.into(),
            version: 3,
            label: "0.1.0".into(),
            protocol_version: 1,
            published_at: 1_800_000_000,
            builds: vec![ReleaseBuild {
                target: "x86_64-unknown-linux-gnu".into(),
                sha256: "ab".repeat(32),
                size: 4_000_000,
            }],
        }
    }

    #[test]
    fn content_round_trips_through_its_signed_bytes() {
        let c = content();
        assert_eq!(ReleaseContent::from_json(&c.to_json()), Ok(c.clone()));
        assert_eq!(c.build_for("x86_64-unknown-linux-gnu").map(|b| b.size), Some(4_000_000));
        assert_eq!(c.build_for("aarch64-apple-darwin"), None);
    }

    #[test]
    fn malformed_content_names_its_field() {
        let field = |change: fn(&mut ReleaseContent)| {
            let mut c = content();
            change(&mut c);
            ReleaseContent::from_json(&c.to_json()).expect_err("refused").field
        };
        assert_eq!(field(|c| c.format = 2), "format");
        assert_eq!(field(|c| c.product = "other".into()), "product");
        assert_eq!(field(|c| c.version = 0), "version");
        assert_eq!(field(|c| c.label = "a b".into()), "label");
        assert_eq!(field(|c| c.builds.clear()), "builds");
        assert_eq!(field(|c| c.builds[0].sha256 = "AB".repeat(32)), "sha256");
        assert_eq!(field(|c| c.builds[0].size = MAX_BINARY_LEN + 1), "size");
        assert_eq!(field(|c| c.builds[0].target = "../x".into()), "target");
        assert_eq!(field(|c| c.builds.push(c.builds[0].clone())), "target");
        assert_eq!(
            ReleaseContent::from_json(b"{\"format\":1}").expect_err("refused").field,
            "content"
        );
    }

    #[test]
    fn freshness_is_for_one_purpose_and_ends_after_it_starts() {
        let good = Freshness {
            purpose: FRESHNESS_PURPOSE.into(),
            content_sha256: Bytes(vec![7; 32]),
            issued_at: 10,
            expires_at: 20,
            bundled_signer: BundledSigner::Refused,
        };
        assert_eq!(Freshness::from_json(&good.to_json()), Ok(good.clone()));
        let bootstrap_like = Freshness {
            purpose: "signet-bootstrap".into(),
            ..good.clone()
        };
        assert_eq!(
            Freshness::from_json(&bootstrap_like.to_json())
                .expect_err("refused")
                .field,
            "purpose"
        );
        let backwards = Freshness { expires_at: 10, ..good };
        assert_eq!(
            Freshness::from_json(&backwards.to_json()).expect_err("refused").field,
            "expires_at"
        );
    }

    #[test]
    fn the_bundled_signer_policy_reads_as_it_is_written() {
        for policy in [BundledSigner::Refused, BundledSigner::Allowed] {
            assert_eq!(policy.as_str().parse::<BundledSigner>(), Ok(policy));
            assert_eq!(
                serde_json::to_string(&policy).expect("json"),
                format!("\"{}\"", policy.as_str())
            );
        }
        assert!("yes".parse::<BundledSigner>().is_err());
    }
}
