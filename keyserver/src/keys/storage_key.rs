//! The storage key: every sealed record and consent wrap is encrypted again
//! under it before it reaches the database, so a copy of the database alone
//! gives an attacker nothing to guess pass phrases against.
//!
//! The key is 32 bytes from the OS RNG in `DATA_DIR/storage.key` (mode 0600),
//! made on first start; it never enters the database. Blobs are sealed with
//! [`signet_crypto::etm`], bound to what they are and whose they are.

use std::path::Path;

use signet_crypto::etm::SealingKey;
use zeroize::Zeroizing;

use crate::secret_file::{SecretFileError, read_or_create_secret};

/// File name of the storage key in the data directory.
pub const FILE_NAME: &str = "storage.key";

/// What a sealed blob holds; part of its associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobKind {
    /// A user's sealed key record.
    KeyRecord,
    /// A sealed record wrapped under a consent phrase.
    ConsentWrap,
    /// A queued consent letter (it carries the phrase until printed).
    Letter,
}

impl BlobKind {
    fn label(self) -> &'static str {
        match self {
            BlobKind::KeyRecord => "key-record",
            BlobKind::ConsentWrap => "consent-wrap",
            BlobKind::Letter => "letter",
        }
    }
}

/// The loaded storage key. No `Debug`.
pub struct StorageKey {
    master: Zeroizing<[u8; 32]>,
    sealing: SealingKey,
}

/// A blob did not open: the database was edited, or rows were swapped.
#[derive(Debug, thiserror::Error)]
#[error("stored data for {owner} failed its integrity check")]
pub struct TamperedBlob {
    /// Whose blob it was.
    pub owner: String,
}

impl StorageKey {
    /// Loads the key from `data_dir`, creating it on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<StorageKey, SecretFileError> {
        let bytes = Zeroizing::new(read_or_create_secret(&data_dir.join(FILE_NAME), || {
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).map_err(|e| SecretFileError::Io {
                path: FILE_NAME.into(),
                source: std::io::Error::other(e.to_string()),
            })?;
            Ok(key)
        })?);
        let master: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SecretFileError::Io {
            path: data_dir.join(FILE_NAME).display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "a storage key is exactly 32 bytes"),
        })?;
        let master = Zeroizing::new(master);
        let sealing = SealingKey::derive(&master, "storage");
        Ok(StorageKey { master, sealing })
    }

    /// A 32-byte key for `purpose` (keyed hashes of verifiers, decoy salts),
    /// derived with HKDF-SHA256 (RFC 5869) and independent of the sealing keys.
    pub fn derived_key(&self, purpose: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut okm = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's output limit: cannot fail.
        let _ = hkdf::Hkdf::<sha2::Sha256>::new(None, self.master.as_ref())
            .expand_multi_info(&[b"signet/v1/storage-derived/", purpose], okm.as_mut());
        okm
    }

    fn aad(kind: BlobKind, owner: &str) -> Vec<u8> {
        [kind.label().as_bytes(), b"\0", owner.as_bytes()].concat()
    }

    /// Encrypts `plaintext` of `kind` belonging to `owner` (a user or application id).
    /// Fails only if the OS random number generator does.
    pub fn seal(&self, kind: BlobKind, owner: &str, plaintext: &[u8]) -> Result<Vec<u8>, signet_crypto::Error> {
        self.sealing.seal(&Self::aad(kind, owner), plaintext)
    }

    /// Decrypts a blob sealed by [`StorageKey::seal`] for the same kind and owner.
    pub fn open(&self, kind: BlobKind, owner: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, TamperedBlob> {
        self.sealing
            .open(&Self::aad(kind, owner), blob)
            .map_err(|_| TamperedBlob {
                owner: owner.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_bound_to_kind_and_owner_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = StorageKey::load_or_create(dir.path()).expect("create");
        let blob = key.seal(BlobKind::KeyRecord, "alice", b"record").expect("seal");
        let reloaded = StorageKey::load_or_create(dir.path()).expect("load");
        assert_eq!(
            reloaded
                .open(BlobKind::KeyRecord, "alice", &blob)
                .expect("open")
                .as_slice(),
            b"record"
        );
        assert!(reloaded.open(BlobKind::KeyRecord, "bob", &blob).is_err());
        assert!(reloaded.open(BlobKind::ConsentWrap, "alice", &blob).is_err());
        let other = StorageKey::load_or_create(tempfile::tempdir().expect("tempdir").path()).expect("other");
        assert!(other.open(BlobKind::KeyRecord, "alice", &blob).is_err());
    }
}
