//! The private key as a pass-phrase-protected PKCS#8 file, for the user to
//! keep or move to another tool.
//!
//! ```text
//! -----BEGIN ENCRYPTED PRIVATE KEY-----                       RFC 7468 §11
//! EncryptedPrivateKeyInfo {                                   RFC 5958 §3 (PKCS#8)
//!   encryptionAlgorithm id-PBES2 {                            RFC 8018 §6.2, A.4
//!     keyDerivationFunc id-PBKDF2 {                           §5.2, A.2
//!       salt 16 random bytes, iterationCount 600000,
//!       prf hmacWithSHA256 },                                 §B.1.2
//!     encryptionScheme aes256-CBC-PAD { iv 16 random bytes } } §B.2.5
//!   encryptedData AES-256-CBC(PKCS#8 PrivateKeyInfo, PKCS#5 padding) }
//! ```
//!
//! PBKDF2 and AES-CBC are chosen over scrypt or AES-GCM because they are
//! what PKCS#8 readers support most widely (OpenSSL 1.1 and 3 among them);
//! 600,000 iterations is OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
//! Salt and IV come from the operating system RNG for every export, so two
//! exports of one key under one pass phrase differ.

use pkcs8::PrivateKeyInfoRef;
use pkcs8::der::pem::LineEnding;
use pkcs8::pkcs5::pbes2;
use rand::rngs::SysRng;
use rand_core::TryRng;
use zeroize::Zeroizing;

use crate::keys::UserKey;
use crate::{Error, Result};

/// PBKDF2 iteration count (RFC 8018 §4.2).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// PBKDF2 salt length in bytes (RFC 8018 §4.1 asks for at least 8).
pub const PBKDF2_SALT_LEN: usize = 16;
/// PEM label for an `EncryptedPrivateKeyInfo` (RFC 7468 §11).
pub const PEM_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Encrypts `key` under `passphrase` as PKCS#8 PBES2 (PBKDF2-HMAC-SHA256,
/// AES-256-CBC) and returns the PEM text, wiped when dropped.
///
/// The pass phrase is used as given (its bytes are the PBKDF2 password,
/// RFC 8018 §4.1); callers decide on normalisation and strength. The clear
/// PKCS#8 encoding lives only in wiped buffers.
pub fn encrypted_pkcs8_pem(key: &UserKey, passphrase: &[u8]) -> Result<Zeroizing<String>> {
    let mut salt = [0u8; PBKDF2_SALT_LEN];
    let mut iv = [0u8; 16];
    SysRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| Error::System(e.to_string()))?;
    SysRng
        .try_fill_bytes(&mut iv)
        .map_err(|e| Error::System(e.to_string()))?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv).map_err(encoding)?;

    let clear = key.to_pkcs8_der()?;
    let info = PrivateKeyInfoRef::try_from(clear.as_slice()).map_err(encoding)?;
    // `encrypt_with_params` wipes its own copy of the clear encoding.
    let encrypted = info.encrypt_with_params(params, passphrase).map_err(encoding)?;
    encrypted.to_pem(PEM_LABEL, LineEnding::LF).map_err(encoding)
}

fn encoding(error: impl std::fmt::Display) -> Error {
    Error::Encoding(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::test_key;
    use pkcs8::der::{Decode, SecretDocument};
    use pkcs8::{EncryptedPrivateKeyInfoRef, ObjectIdentifier};

    fn export(passphrase: &[u8]) -> Zeroizing<String> {
        encrypted_pkcs8_pem(test_key(), passphrase).expect("export")
    }

    fn der_of(pem: &str) -> SecretDocument {
        let (label, doc) = SecretDocument::from_pem(pem).expect("pem");
        assert_eq!(label, PEM_LABEL);
        doc
    }

    #[test]
    fn export_opens_with_the_pass_phrase_to_the_same_key() {
        let pem = export(b"correct horse battery staple");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert!(pem.trim_end().ends_with("-----END ENCRYPTED PRIVATE KEY-----"));
        let doc = der_of(&pem);
        let encrypted = EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes()).expect("epki");
        let clear = encrypted.decrypt(b"correct horse battery staple").expect("decrypts");
        let back = UserKey::from_pkcs8_der(clear.as_bytes()).expect("key");
        assert_eq!(back.public_key(), test_key().public_key());
        assert_eq!(clear.as_bytes(), test_key().to_pkcs8_der().expect("der").as_slice());
    }

    #[test]
    fn wrong_pass_phrase_does_not_open() {
        let pem = export(b"right");
        let doc = der_of(&pem);
        let encrypted = EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes()).expect("epki");
        // CBC padding can by chance look valid; the result must then fail to
        // parse as the key. Either way no key comes out.
        match encrypted.decrypt(b"wrong") {
            Err(_) => {}
            Ok(clear) => assert!(UserKey::from_pkcs8_der(clear.as_bytes()).is_err()),
        }
    }

    #[test]
    fn parameters_are_pbkdf2_sha256_600k_and_aes_256_cbc() {
        let pem = export(b"pass");
        let doc = der_of(&pem);
        let encrypted = EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes()).expect("epki");
        let params = encrypted.encryption_algorithm.pbes2().expect("pbes2");
        let pbkdf2 = params.kdf.pbkdf2().expect("pbkdf2");
        assert_eq!(pbkdf2.iteration_count, PBKDF2_ITERATIONS);
        assert_eq!(pbkdf2.prf.oid(), ObjectIdentifier::new_unwrap("1.2.840.113549.2.9"));
        assert_eq!(pbkdf2.salt.as_bytes().len(), PBKDF2_SALT_LEN);
        assert_eq!(params.encryption.oid(), pbes2::AES_256_CBC_OID);
        assert_eq!(params.encryption.key_size(), 32);
    }

    #[test]
    fn salt_and_iv_are_fresh_for_every_export() {
        let first = der_of(&export(b"pass"));
        let second = der_of(&export(b"pass"));
        assert_ne!(first.as_bytes(), second.as_bytes());
        let params = |doc: &SecretDocument| {
            let encrypted = EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes()).expect("epki");
            let pbes2 = encrypted.encryption_algorithm.pbes2().expect("pbes2").clone();
            let salt = pbes2.kdf.pbkdf2().expect("pbkdf2").salt.as_bytes().to_vec();
            let iv = match pbes2.encryption {
                pbes2::EncryptionScheme::Aes256Cbc { iv } => iv,
                _ => panic!("not AES-256-CBC"),
            };
            (salt, iv)
        };
        let (salt1, iv1) = params(&first);
        let (salt2, iv2) = params(&second);
        assert_ne!(salt1, salt2);
        assert_ne!(iv1, iv2);
    }
}
