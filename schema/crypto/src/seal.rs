//! Sealing and opening the key record (format in [`signet_schema::record`]).
//!
//! ```text
//! inner      = PKCS#8 DER ‖ SHA-256(PKCS#8 DER ‖ canonical registration data)
//! ciphertext = AES-256-CBC(enc_key, iv, PKCS#7-pad(inner))          NIST SP 800-38A
//! tag        = HMAC-SHA256(mac_key, header ‖ iv ‖ ciphertext)        RFC 2104
//! ```
//!
//! Opening checks, in this order: the record is for the user signing in and
//! was sealed with the unlocked salt and parameters; the tag (constant time,
//! before any decryption — so a wrong pass phrase or an altered byte is one
//! error and never a padding oracle); the padding; the inner hash against the
//! registration data (the patent's authentication step, constant time); the
//! key parses; its public key matches the header's fingerprint.

use aes::Aes256;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use signet_schema::record::{IV_LEN, TAG_LEN};
use signet_schema::{CipherId, KdfId, RecordHeader, RegistrationData, SealedKeyRecord};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::kdf::PassphraseKeys;
use crate::keys::UserKey;
use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Length of the inner hash that ends the plaintext.
const INNER_HASH_LEN: usize = 32;

/// SHA-256(PKCS#8 DER ‖ canonical registration data).
fn inner_hash(pkcs8: &[u8], registration: &[u8]) -> [u8; INNER_HASH_LEN] {
    let mut h = Sha256::new();
    h.update(pkcs8);
    h.update(registration);
    h.finalize().into()
}

fn mac(keys: &PassphraseKeys, authenticated: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: new_from_slice cannot fail for 32 bytes.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(keys.mac.as_ref()).unwrap_or_else(|_| unreachable!());
    mac.update(authenticated);
    mac
}

/// Seals `key` for the user in `registration` under `keys` (derived for that
/// user), with a fresh IV from the OS.
pub fn seal(key: &UserKey, registration: &RegistrationData, keys: &PassphraseKeys) -> Result<SealedKeyRecord> {
    let mut iv = [0u8; IV_LEN];
    getrandom::fill(&mut iv).map_err(|e| Error::System(format!("OS random number generator: {e}")))?;
    seal_with_iv(key, registration, keys, iv)
}

/// [`seal`] with a given IV: for fixed test vectors only; a reused IV leaks
/// whether two records share a prefix.
#[doc(hidden)]
pub fn seal_with_iv(
    key: &UserKey,
    registration: &RegistrationData,
    keys: &PassphraseKeys,
    iv: [u8; IV_LEN],
) -> Result<SealedKeyRecord> {
    let canonical = registration.canonical_bytes()?;
    if registration.user_id != keys.user_id() {
        return Err(Error::RecordUserMismatch);
    }
    let pkcs8 = key.to_pkcs8_der()?;
    let mut inner = Zeroizing::new(Vec::with_capacity(pkcs8.len() + INNER_HASH_LEN));
    inner.extend_from_slice(&pkcs8);
    inner.extend_from_slice(&inner_hash(&pkcs8, &canonical));
    let ciphertext =
        cbc::Encryptor::<Aes256>::new(&(*keys.encryption).into(), &iv.into()).encrypt_padded_vec::<Pkcs7>(&inner);
    let header = RecordHeader {
        user_id: registration.user_id.clone(),
        kdf: KdfId::Argon2id,
        kdf_params: keys.params(),
        salt: keys.salt().to_vec(),
        cipher: CipherId::Aes256CbcHmacSha256,
        iv,
        public_key_fingerprint: key.public_key().fingerprint()?,
    };
    let authenticated = SealedKeyRecord::authenticated_bytes(&header, &ciphertext)?;
    let tag: [u8; TAG_LEN] = mac(keys, &authenticated).finalize().into_bytes().into();
    Ok(SealedKeyRecord {
        header,
        ciphertext,
        tag,
    })
}

/// Opens a record with keys already derived (sign-in: the keys come from
/// the pre-login salt and parameters).
pub fn open(record: &SealedKeyRecord, registration: &RegistrationData, keys: &PassphraseKeys) -> Result<UserKey> {
    let header = &record.header;
    if header.user_id != keys.user_id() || header.user_id != registration.user_id {
        return Err(Error::RecordUserMismatch);
    }
    if header.kdf_params != keys.params() || header.salt != keys.salt() {
        return Err(Error::RecordInvalid(
            "the record was sealed with other key-derivation parameters than those unlocked",
        ));
    }
    let authenticated = SealedKeyRecord::authenticated_bytes(header, &record.ciphertext)?;
    // verify_slice compares in constant time (subtle) and fails before any decryption.
    mac(keys, &authenticated)
        .verify_slice(&record.tag)
        .map_err(|_| Error::WrongPassphrase)?;

    let inner = Zeroizing::new(
        cbc::Decryptor::<Aes256>::new(&(*keys.encryption).into(), &header.iv.into())
            .decrypt_padded_vec::<Pkcs7>(&record.ciphertext)
            // Only reachable with the right MAC key: the sealer itself wrote bad padding.
            .map_err(|_| Error::RecordInvalid("bad padding under a valid tag"))?,
    );
    if inner.len() <= INNER_HASH_LEN {
        return Err(Error::RecordInvalid("the plaintext is too short"));
    }
    let (pkcs8, stored_hash) = inner.split_at(inner.len() - INNER_HASH_LEN);
    let expected = inner_hash(pkcs8, &registration.canonical_bytes()?);
    if !bool::from(expected.ct_eq(stored_hash)) {
        return Err(Error::RecordInvalid("the registration data does not match the record"));
    }
    let key = UserKey::from_pkcs8_der(pkcs8)?;
    if key.public_key().fingerprint()? != header.public_key_fingerprint {
        return Err(Error::RecordInvalid("the key does not match the header's fingerprint"));
    }
    Ok(key)
}

/// Parses and opens a record with a pass phrase, deriving keys from the
/// header's own salt and parameters (after the floor check).
pub fn open_with_passphrase(record: &[u8], registration: &RegistrationData, passphrase: &[u8]) -> Result<UserKey> {
    let record = SealedKeyRecord::parse(record)?;
    let h = &record.header;
    let keys = crate::kdf::derive(passphrase, &h.user_id, h.kdf_params, &h.salt)?;
    open(&record, registration, &keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::derive;
    use crate::keys::tests::test_key;
    use signet_schema::KdfParams;
    use std::sync::OnceLock;

    pub(crate) fn alice() -> RegistrationData {
        RegistrationData {
            user_id: "alice".into(),
            common_name: "Alice Example".into(),
            organization: "Example Bank".into(),
            organizational_unit: "Payments".into(),
            email: "alice@example.com".into(),
            country: "GB".into(),
        }
    }

    const PASS: &[u8] = b"correct horse battery staple";

    fn keys() -> &'static PassphraseKeys {
        static KEYS: OnceLock<PassphraseKeys> = OnceLock::new();
        KEYS.get_or_init(|| derive(PASS, "alice", KdfParams::FLOOR, &[5; 16]).expect("derive"))
    }

    fn sealed() -> &'static Vec<u8> {
        static REC: OnceLock<Vec<u8>> = OnceLock::new();
        REC.get_or_init(|| {
            seal(test_key(), &alice(), keys())
                .expect("seal")
                .encode()
                .expect("encode")
        })
    }

    #[test]
    fn round_trip() {
        let record = SealedKeyRecord::parse(sealed()).expect("parse");
        let key = open(&record, &alice(), keys()).expect("open");
        assert_eq!(key.public_key(), test_key().public_key());
        let key = open_with_passphrase(sealed(), &alice(), PASS).expect("open with pass phrase");
        assert_eq!(key.public_key(), test_key().public_key());
    }

    #[test]
    fn wrong_passphrase_is_a_clear_error() {
        let wrong = derive(b"correct horse battery stapler", "alice", KdfParams::FLOOR, &[5; 16]).expect("derive");
        let record = SealedKeyRecord::parse(sealed()).expect("parse");
        assert!(matches!(open(&record, &alice(), &wrong), Err(Error::WrongPassphrase)));
    }

    /// Every single-bit flip anywhere in the record is refused: by the parser,
    /// by the user/parameter binding, or by the tag.
    #[test]
    fn every_bit_flip_is_rejected() {
        let bytes = sealed();
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            let outcome = SealedKeyRecord::parse(&b)
                .map_err(Error::from)
                .and_then(|r| open(&r, &alice(), keys()));
            assert!(outcome.is_err(), "flip of bit {bit} was accepted");
        }
    }

    #[test]
    fn record_is_bound_to_its_user() {
        let bob_reg = RegistrationData {
            user_id: "bob".into(),
            ..alice()
        };
        let bob_keys = derive(PASS, "bob", KdfParams::FLOOR, &[5; 16]).expect("derive");
        let record = SealedKeyRecord::parse(sealed()).expect("parse");
        assert!(matches!(
            open(&record, &bob_reg, &bob_keys),
            Err(Error::RecordUserMismatch)
        ));
        // Rewriting the header's user id to bob's (re-encoding) breaks the tag.
        let mut swapped = record.clone();
        swapped.header.user_id = "bob".into();
        assert!(matches!(
            open(&swapped, &bob_reg, &bob_keys),
            Err(Error::WrongPassphrase)
        ));
    }

    #[test]
    fn edited_kdf_parameters_fail() {
        let mut record = SealedKeyRecord::parse(sealed()).expect("parse");
        record.header.kdf_params.t += 1;
        let keys = derive(PASS, "alice", record.header.kdf_params, &[5; 16]).expect("derive");
        assert!(matches!(open(&record, &alice(), &keys), Err(Error::WrongPassphrase)));
    }

    #[test]
    fn downgraded_record_is_refused_before_work() {
        let mut record = SealedKeyRecord::parse(sealed()).expect("parse");
        record.header.kdf_params = KdfParams {
            m_kib: 1024,
            t: 1,
            p: 1,
        };
        let bytes = record.encode().expect("encode");
        assert!(matches!(
            open_with_passphrase(&bytes, &alice(), PASS),
            Err(Error::KdfTooWeak { .. })
        ));
    }

    #[test]
    fn other_registration_data_fails_the_inner_hash() {
        let record = SealedKeyRecord::parse(sealed()).expect("parse");
        let edited = RegistrationData {
            organization: "Other Bank".into(),
            ..alice()
        };
        assert!(matches!(open(&record, &edited, keys()), Err(Error::RecordInvalid(_))));
    }

    #[test]
    fn fresh_iv_each_time() {
        let a = seal(test_key(), &alice(), keys()).expect("seal");
        let b = seal(test_key(), &alice(), keys()).expect("seal");
        assert_ne!(a.header.iv, b.header.iv);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
