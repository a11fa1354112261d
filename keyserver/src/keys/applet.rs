//! The applet store: signed releases of the signing core, which the key tier
//! keeps and hands to every client before it signs in or applies (DESIGN.md,
//! applet delivery; see [`signet_schema::release`] for the formats).
//!
//! The operator publishes a release that the offline release key signed
//! (`signet-keyserver applet publish`); the key tier checks that the release
//! signs itself consistently and names exactly the binaries given, that its
//! version is higher than every published one, and stores it with its
//! binaries and an audit event in one transaction. It never holds the
//! release key: what it adds is the [`Freshness`] statement, signed with its
//! integrity key and renewed well before it expires, which also carries the
//! operator's policy on the signer installed beside the app.

use std::sync::Mutex;

use sha2::{Digest, Sha256};
use signet_crypto::release::check_release;
use signet_schema::SignatureScheme;
use signet_schema::api::ApiErrorCode;
use signet_schema::protocol::Bytes;
use signet_schema::release::{
    BundledSigner, DEFAULT_FRESHNESS_SECS, FRESHNESS_PURPOSE, Freshness, PublishedRelease, ReleaseContent,
    ReleaseManifest, SignedRelease, is_sha256_hex,
};
use signet_schema::vocabulary::AuditEventKind;

use super::KeyTier;
use super::flows::{Outcome, TxError, event, settle};
use crate::error::Failure;
use crate::keys::db::models::{self, SignerBinary, SignerRelease};
use crate::keys::db::{AnyConnection, DbError};

/// The `server_settings` name of the bundled-signer policy.
const BUNDLED_SIGNER_SETTING: &str = "bundled_signer";
/// The `server_settings` name of the highest release version published.
const HIGHEST_RELEASE_SETTING: &str = "signer_highest_release";

/// A freshness statement is signed again once it is this old (seconds), so
/// clients always get one with most of its life ahead.
const RENEW_AFTER_SECS: i64 = 3600;

/// The manifest last served, reused until its statement is due for renewal.
#[derive(Default)]
pub(crate) struct ManifestCache {
    manifest: Mutex<Option<CachedManifest>>,
    /// The binary served last, by SHA-256: fetches of the current release's
    /// binary are answered from memory, not from the database pool that
    /// sign-ins need.
    binary: Mutex<Option<(String, std::sync::Arc<Vec<u8>>)>>,
}

struct CachedManifest {
    version: i64,
    bundled_signer: BundledSigner,
    issued_at: i64,
    manifest: ReleaseManifest,
}

impl KeyTier {
    /// `applet publish`: stores a signed release and its binaries (one per
    /// build it lists, matched by SHA-256 and size) and audits it; the
    /// version must be higher than every published one.
    pub fn publish_signer(&self, signed_release: &[u8], binaries: &[Vec<u8>]) -> Result<PublishedRelease, Failure> {
        let (release, content) = SignedRelease::from_json(signed_release)
            .map_err(|e| Failure::bad_field("release", format!("not a signed release: {e}")))?;
        check_release(&release).map_err(|e| Failure::new(ApiErrorCode::BadSignature, e))?;
        let mut stored = Vec::new();
        for binary in binaries {
            let sha256 = hex::encode(Sha256::digest(binary));
            if !content.builds.iter().any(|b| b.sha256 == sha256) {
                return Err(Failure::bad_field(
                    "binary",
                    format!("a binary (SHA-256 {sha256}) is not one the release lists"),
                ));
            }
            stored.push(SignerBinary {
                sha256,
                size: binary.len() as i64,
                bytes: binary.clone(),
            });
        }
        for build in &content.builds {
            if !stored
                .iter()
                .any(|b| b.sha256 == build.sha256 && b.size as u64 == build.size)
            {
                return Err(Failure::bad_field(
                    "binary",
                    format!("the {} build (SHA-256 {}) was not given", build.target, build.sha256),
                ));
            }
        }
        let now = self.now();
        let row = SignerRelease {
            version: content.version as i64,
            label: content.label.clone(),
            protocol_version: i64::from(content.protocol_version),
            signed_release: signed_release.to_vec(),
            published_at: content.published_at,
            stored_at: now,
        };
        settle(self.db.write(|c| -> Result<Outcome<()>, TxError> {
            let latest = models::signer_releases::latest(c)?.map(|r| r.version);
            let highest = self
                .setting(c, HIGHEST_RELEASE_SETTING)?
                .and_then(|v| v.parse::<i64>().ok());
            if let Some(published) = latest.max(highest)
                && published >= row.version
            {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    format!(
                        "release versions only grow: version {published} is published already, this one is {}",
                        row.version
                    ),
                )));
            }
            self.set_setting(c, HIGHEST_RELEASE_SETTING, &row.version.to_string())?;
            for binary in &stored {
                models::signer_binaries::insert_new(c, binary)?;
            }
            models::signer_releases::insert(c, &row)?;
            self.audit(
                c,
                event(
                    "operator",
                    AuditEventKind::SignerPublished,
                    "signet-signer",
                    serde_json::json!({
                        "version": content.version,
                        "label": content.label,
                        "protocol_version": content.protocol_version,
                        "builds": content.builds,
                    }),
                ),
            )?;
            Ok(Outcome::Done(()))
        }))?;
        Ok(published(&content, now))
    }

    /// `applet list`: every published release, newest first.
    pub fn signer_releases(&self) -> Result<Vec<PublishedRelease>, Failure> {
        let rows = self
            .db
            .read(|c| -> Result<_, Failure> { Ok(models::signer_releases::all(c)?) })?;
        rows.iter()
            .map(|row| {
                let (_, content) = SignedRelease::from_json(&row.signed_release).map_err(Failure::internal)?;
                Ok(published(&content, row.stored_at))
            })
            .collect()
    }

    /// `applet bundled-signer`: whether clients that cannot run a delivered
    /// signer may run the installed one; audited.
    pub fn set_bundled_signer(&self, policy: BundledSigner) -> Result<(), Failure> {
        settle(self.db.write(|c| -> Result<Outcome<()>, TxError> {
            self.set_setting(c, BUNDLED_SIGNER_SETTING, policy.as_str())?;
            self.audit(
                c,
                event(
                    "operator",
                    AuditEventKind::SignerPolicyChanged,
                    "signet-signer",
                    serde_json::json!({ "bundled_signer": policy.as_str() }),
                ),
            )?;
            Ok(Outcome::Done(()))
        }))
    }

    /// `GET /v1/signer/release`: the newest release with a freshness
    /// statement signed now or within the last hour.
    pub fn signer_manifest(&self) -> Result<ReleaseManifest, Failure> {
        let (latest, highest, policy) = self.db.read(|c| -> Result<_, Failure> {
            // A policy whose MAC does not verify was not set by the operator: refused.
            let policy = match self.setting(c, BUNDLED_SIGNER_SETTING) {
                Ok(Some(text)) => text.parse::<BundledSigner>().unwrap_or_default(),
                Ok(None) => BundledSigner::default(),
                Err(e) => {
                    tracing::error!(error = %e, "the bundled-signer policy in the database is not the operator's");
                    BundledSigner::Refused
                }
            };
            let highest = self.setting(c, HIGHEST_RELEASE_SETTING).map_err(Failure::internal)?;
            Ok((models::signer_releases::latest(c)?, highest, policy))
        })?;
        let latest = latest.ok_or_else(|| {
            Failure::new(
                ApiErrorCode::NotFound,
                "no signer release is published on this key server (the operator publishes one with \
                 `signet-keyserver applet publish`)",
            )
        })?;
        // Vouch only for the release published last, as it was published: a
        // row relabelled, or newer rows removed, in storage is not vouched for.
        let (release, content) = SignedRelease::from_json(&latest.signed_release).map_err(Failure::internal)?;
        let recorded = highest.and_then(|v| v.parse::<i64>().ok());
        if content.version as i64 != latest.version || recorded != Some(latest.version) {
            return Err(Failure::internal(format!(
                "the newest signer release in storage (row {}, signed version {}) is not the one published last \
                 ({recorded:?}): not vouched for",
                latest.version, content.version
            )));
        }
        check_release(&release).map_err(Failure::internal)?;
        let now = self.now();
        let mut cache = self
            .manifests
            .manifest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = cache.as_ref()
            && cached.version == latest.version
            && cached.bundled_signer == policy
            && (0..RENEW_AFTER_SECS).contains(&(now - cached.issued_at))
        {
            return Ok(cached.manifest.clone());
        }
        let freshness = Freshness {
            purpose: FRESHNESS_PURPOSE.into(),
            content_sha256: Bytes(Sha256::digest(&release.content.0).to_vec()),
            issued_at: now,
            expires_at: now + DEFAULT_FRESHNESS_SECS,
            bundled_signer: policy,
        }
        .to_json();
        let freshness_signature = signet_crypto::sign::sign(&self.integrity, SignatureScheme::RsaPssSha256, &freshness)
            .map_err(Failure::internal)?;
        let manifest = ReleaseManifest {
            release,
            freshness: Bytes(freshness),
            freshness_signature: Bytes(freshness_signature),
            integrity_key: Bytes(self.integrity.public_key().to_spki_der().map_err(Failure::internal)?),
        };
        *cache = Some(CachedManifest {
            version: latest.version,
            bundled_signer: policy,
            issued_at: now,
            manifest: manifest.clone(),
        });
        Ok(manifest)
    }

    /// `GET /v1/signer/binaries/{sha256}`: a published binary.
    pub fn signer_binary(&self, sha256: &str) -> Result<Vec<u8>, Failure> {
        if !is_sha256_hex(sha256) {
            return Err(Failure::bad_field(
                "sha256",
                "a binary is named by its SHA-256: 64 lower-case hexadecimal digits",
            ));
        }
        let mut cached = self
            .manifests
            .binary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((hash, bytes)) = cached.as_ref()
            && hash == sha256
        {
            return Ok(bytes.as_ref().clone());
        }
        let bytes = self
            .db
            .read(|c| -> Result<_, Failure> { Ok(models::signer_binaries::find(c, sha256)?) })?
            .ok_or_else(|| Failure::new(ApiErrorCode::NotFound, "no published signer binary has this SHA-256"))?;
        *cached = Some((sha256.to_owned(), std::sync::Arc::new(bytes.clone())));
        Ok(bytes)
    }

    /// The operator setting `name`, checked against its keyed MAC: `Err` when
    /// the stored value was not written by this key tier.
    fn setting(&self, c: &mut AnyConnection, name: &str) -> Result<Option<String>, DbError> {
        let Some(stored) = models::server_settings::get(c, name)? else {
            return Ok(None);
        };
        let (value, tag) = stored.rsplit_once(' ').unwrap_or((stored.as_str(), ""));
        let expected = self.setting_tag(name, value);
        let tag = hex::decode(tag).unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_slice(), tag.as_slice())) {
            return Err(DbError::Corrupt(format!("the setting {name} does not carry its MAC")));
        }
        Ok(Some(value.to_owned()))
    }

    /// Stores the operator setting `name` with its keyed MAC.
    fn set_setting(&self, c: &mut AnyConnection, name: &str, value: &str) -> Result<(), DbError> {
        let stored = format!("{value} {}", hex::encode(self.setting_tag(name, value)));
        models::server_settings::set(c, name, &stored, self.now())
    }

    /// HMAC-SHA256, under a key derived from the storage key, of the
    /// length-prefixed name and the value.
    fn setting_tag(&self, name: &str, value: &str) -> Vec<u8> {
        use hmac::Mac;
        let mut mac = super::keyed_mac(&self.storage, b"server settings");
        mac.update(&(name.len() as u32).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

fn published(content: &ReleaseContent, stored_at: i64) -> PublishedRelease {
    PublishedRelease {
        version: content.version,
        label: content.label.clone(),
        protocol_version: content.protocol_version,
        builds: content.builds.clone(),
        published_at: content.published_at,
        stored_at,
    }
}
