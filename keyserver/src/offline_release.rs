//! The release manager's side of signer delivery, run on the machine that
//! holds the offline release key — never on the key server: every function
//! here works on files named by the caller, and none opens a data directory
//! or a database (`signet-keyserver applet release-key | endorse-key |
//! sign-release`).
//!
//! The release key is an RSA-3072 key apart from every server key. Its
//! public half is compiled into the app and the command line
//! (`SIGNET_RELEASE_KEYS`, see `schema/release-keys/README.md`). To rotate
//! it, the old key endorses the new one ([`endorse_key`]) and releases signed
//! with the new key carry that endorsement until clients built with the new
//! key are everywhere.

use std::path::Path;

use der::pem::LineEnding;
use sha2::{Digest, Sha256};
use signet_crypto::keys::{PublicKey, ServerKey};
use signet_schema::protocol::Bytes;
use signet_schema::release::{
    KeyEndorsement, RELEASE_FORMAT, ReleaseBuild, ReleaseContent, SIGNER_PRODUCT, SignedRelease, endorsement_bytes,
};
use signet_schema::{KeySize, SignatureScheme};
use zeroize::Zeroizing;

/// Why an offline release step failed.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A key or document is not what it should be.
    #[error("{0}")]
    Invalid(String),
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError + '_ {
    move |source| ReleaseError::File {
        path: path.display().to_string(),
        source,
    }
}

/// Makes a release key: the private half (PKCS#8 PEM, mode 0600) in
/// `key_path`, which must not exist, and the public half (SPKI PEM) in
/// `public_path`. Answers the public key's SHA-256 fingerprint, hex.
pub fn new_release_key(key_path: &Path, public_path: &Path) -> Result<String, ReleaseError> {
    let key = ServerKey::generate(KeySize::Rsa3072).map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    let der = key.to_pkcs8_der().map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    let pem = Zeroizing::new(
        der::pem::encode_string("PRIVATE KEY", LineEnding::LF, &der)
            .map_err(|e| ReleaseError::Invalid(e.to_string()))?,
    );
    if key_path.exists() {
        return Err(ReleaseError::Invalid(format!(
            "{} exists: a release key is never overwritten",
            key_path.display()
        )));
    }
    crate::secret_file::write_secret(key_path, pem.as_bytes()).map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    let spki = key
        .public_key()
        .to_spki_der()
        .map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    let public = der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki)
        .map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    std::fs::write(public_path, public).map_err(file_error(public_path))?;
    Ok(hex::encode(Sha256::digest(&spki)))
}

/// Reads a release key's private half (PKCS#8 PEM).
pub fn read_release_key(path: &Path) -> Result<ServerKey, ReleaseError> {
    let pem = Zeroizing::new(std::fs::read(path).map_err(file_error(path))?);
    let (label, der) = der::pem::decode_vec(&pem)
        .map_err(|e| ReleaseError::Invalid(format!("{}: not a PEM file ({e})", path.display())))?;
    let der = Zeroizing::new(der);
    if label != "PRIVATE KEY" {
        return Err(ReleaseError::Invalid(format!(
            "{}: expected a PKCS#8 PRIVATE KEY, found {label}",
            path.display()
        )));
    }
    ServerKey::from_pkcs8_der(&der).map_err(|e| ReleaseError::Invalid(format!("{}: {e}", path.display())))
}

/// Reads a public key (SPKI PEM), answering its DER.
pub fn read_public_key(path: &Path) -> Result<Vec<u8>, ReleaseError> {
    let pem = std::fs::read(path).map_err(file_error(path))?;
    let (label, der) = der::pem::decode_vec(&pem)
        .map_err(|e| ReleaseError::Invalid(format!("{}: not a PEM file ({e})", path.display())))?;
    if label != "PUBLIC KEY" {
        return Err(ReleaseError::Invalid(format!(
            "{}: expected a PUBLIC KEY, found {label}",
            path.display()
        )));
    }
    PublicKey::from_spki_der(&der).map_err(|e| ReleaseError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(der)
}

fn sign(key: &ServerKey, bytes: &[u8]) -> Result<Bytes, ReleaseError> {
    signet_crypto::sign::sign(key, SignatureScheme::RsaPssSha256, bytes)
        .map(Bytes)
        .map_err(|e| ReleaseError::Invalid(e.to_string()))
}

/// The old release key (`old_key`) endorses the new one (`new_public`, SPKI DER).
pub fn endorse_key(old_key: &ServerKey, new_public: &[u8]) -> Result<KeyEndorsement, ReleaseError> {
    Ok(KeyEndorsement {
        key: Bytes(new_public.to_vec()),
        signature: sign(old_key, &endorsement_bytes(new_public))?,
    })
}

/// What a release says about itself besides its binaries.
#[derive(Clone, Debug)]
pub struct ReleaseInfo {
    /// Release number, higher than every earlier one.
    pub version: u64,
    /// The version people read.
    pub label: String,
    /// The signer protocol the binaries speak.
    pub protocol_version: u32,
    /// Signing time, Unix seconds.
    pub published_at: i64,
}

/// Signs a release of `binaries` (target triple, bytes) with `key`, carrying
/// `endorsements` (oldest first) when `key` is not itself built into clients.
pub fn sign_release(
    key: &ServerKey,
    info: &ReleaseInfo,
    binaries: &[(String, Vec<u8>)],
    endorsements: Vec<KeyEndorsement>,
) -> Result<SignedRelease, ReleaseError> {
    let content = ReleaseContent {
        format: RELEASE_FORMAT,
        product: SIGNER_PRODUCT.into(),
        version: info.version,
        label: info.label.clone(),
        protocol_version: info.protocol_version,
        published_at: info.published_at,
        builds: binaries
            .iter()
            .map(|(target, bytes)| ReleaseBuild {
                target: target.clone(),
                sha256: hex::encode(Sha256::digest(bytes)),
                size: bytes.len() as u64,
            })
            .collect(),
    };
    content
        .validate()
        .map_err(|e| ReleaseError::Invalid(format!("the release would be malformed: {e}")))?;
    let signing_key = key
        .public_key()
        .to_spki_der()
        .map_err(|e| ReleaseError::Invalid(e.to_string()))?;
    if let Some(last) = endorsements.last()
        && last.key.0 != signing_key
    {
        return Err(ReleaseError::Invalid(
            "the last endorsement is of another key than the one signing this release".into(),
        ));
    }
    let content = content.to_json();
    let release = SignedRelease {
        signature: sign(key, &content)?,
        content: Bytes(content),
        signing_key: Bytes(signing_key),
        endorsements,
    };
    signet_crypto::release::check_release(&release).map_err(|e| ReleaseError::Invalid(e.into()))?;
    Ok(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_signed_here_checks_and_an_endorsed_key_chains() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (old_path, new_path) = (dir.path().join("old.pem"), dir.path().join("new.pem"));
        new_release_key(&old_path, &dir.path().join("old.pub.pem")).expect("old key");
        new_release_key(&new_path, &dir.path().join("new.pub.pem")).expect("new key");
        assert!(
            new_release_key(&old_path, &dir.path().join("again.pub.pem")).is_err(),
            "never overwritten"
        );
        let old = read_release_key(&old_path).expect("read");
        let new = read_release_key(&new_path).expect("read");
        let new_public = read_public_key(&dir.path().join("new.pub.pem")).expect("public");
        let info = ReleaseInfo {
            version: 2,
            label: "0.1.0".into(),
            protocol_version: 1,
            published_at: 1_800_000_000,
        };
        let binaries = vec![("x86_64-unknown-linux-gnu".to_string(), b"binary".to_vec())];
        let endorsement = endorse_key(&old, &new_public).expect("endorse");
        let release = sign_release(&new, &info, &binaries, vec![endorsement.clone()]).expect("signed");
        let (_, content) = SignedRelease::from_json(&serde_json::to_vec(&release).expect("json")).expect("parses");
        assert_eq!(content.version, 2);
        // An endorsement of another key cannot be attached to this release.
        let other = endorse_key(&old, &release.endorsements[0].key.0[..]).expect("endorse");
        assert!(sign_release(&old, &info, &binaries, vec![other]).is_err());
    }
}
