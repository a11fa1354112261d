//! RSA private keys, in two types that say whose they are:
//!
//! * [`UserKey`] — a user's key. It exists in clear only inside the signing
//!   core (the `signet-signer` process), which generates it, seals it under
//!   the pass phrase and signs with it; the key server only ever holds it
//!   sealed. Tests make throwaway ones to play the client.
//! * [`ServerKey`] — one of the key tier's own keys (the CA key, the
//!   integrity key that signs bootstrap documents and audit events, the
//!   confidentiality key that opens channel session keys). Made and kept by
//!   the key server in its data directory; never a user's.
//!
//! Both sign through [`crate::sign::sign`] (the [`SigningKey`] trait, sealed
//! to these two types); only a [`ServerKey`] can make an RSA-OAEP
//! decryption key.

use rand::rngs::SysRng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use sha2::{Digest, Sha256};
use signet_schema::KeySize;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// A user's RSA private key: held in clear only by the signing core. No
/// `Debug`, no `Clone`; the rsa crate zeroizes its limbs on drop.
pub struct UserKey {
    inner: RsaPrivateKey,
}

/// A key tier's own RSA private key (CA, integrity or confidentiality),
/// loaded from the key server's data directory. No `Debug`, no `Clone`; the
/// rsa crate zeroizes its limbs on drop.
pub struct ServerKey {
    inner: RsaPrivateKey,
}

/// A private key that [`crate::sign::sign`] may sign with. Sealed: only
/// [`UserKey`] and [`ServerKey`] implement it.
pub trait SigningKey: sealed::Sealed {
    /// The public half.
    fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.rsa().to_public_key(),
        }
    }
}

mod sealed {
    /// Gives the signing modules of this crate the rsa crate's key.
    pub trait Sealed {
        fn rsa(&self) -> &rsa::PrivateKey;
    }
}

pub(crate) use sealed::Sealed;

/// A fresh RSA key with public exponent 65537 from the OS RNG (FIPS 186-5
/// §A.1.3 style probable primes, as the rsa crate does).
fn generate(size: KeySize) -> Result<RsaPrivateKey> {
    RsaPrivateKey::new(&mut SysRng, size.bits()).map_err(|e| Error::Rsa(e.to_string()))
}

/// Parses an unencrypted PKCS#8 `PrivateKeyInfo` (RFC 5208) and checks the
/// key's consistency and size; the error says which check failed.
fn parse_pkcs8(der: &[u8]) -> Result<RsaPrivateKey, &'static str> {
    let inner = RsaPrivateKey::from_pkcs8_der(der).map_err(|_| "the private key does not parse")?;
    inner.validate().map_err(|_| "the private key is inconsistent")?;
    if KeySize::try_from(inner.n().bit_width_vartime()).is_err() {
        return Err("the private key has an unsupported size");
    }
    Ok(inner)
}

/// The unencrypted PKCS#8 DER of `key`, wiped when dropped.
fn pkcs8_der(key: &RsaPrivateKey) -> Result<Zeroizing<Vec<u8>>> {
    let doc = key.to_pkcs8_der().map_err(|e| Error::Encoding(e.to_string()))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

impl UserKey {
    /// Generates a key pair (public exponent 65537, OS RNG).
    pub fn generate(size: KeySize) -> Result<Self> {
        Ok(UserKey { inner: generate(size)? })
    }

    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` and checks the key: a
    /// key that fails is an invalid record.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner = parse_pkcs8(der).map_err(Error::RecordInvalid)?;
        Ok(UserKey { inner })
    }

    /// The unencrypted PKCS#8 DER, wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        pkcs8_der(&self.inner)
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        SigningKey::public_key(self)
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.inner.n().bit_width_vartime()
    }
}

impl ServerKey {
    /// Generates a key (public exponent 65537, OS RNG).
    pub fn generate(size: KeySize) -> Result<Self> {
        Ok(ServerKey { inner: generate(size)? })
    }

    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` and checks the key: a
    /// key file that fails is an encoding error.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner = parse_pkcs8(der).map_err(|why| Error::Encoding(why.to_owned()))?;
        Ok(ServerKey { inner })
    }

    /// The unencrypted PKCS#8 DER, wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        pkcs8_der(&self.inner)
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        SigningKey::public_key(self)
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.inner.n().bit_width_vartime()
    }

    /// Modulus size in bytes (the length of every signature and OAEP block).
    pub fn modulus_len(&self) -> usize {
        self.inner.size()
    }

    /// An RSAES-OAEP decryption key (RFC 8017 §7.1, SHA-256 and MGF1-SHA-256)
    /// with `label`, owning a copy of this key.
    pub fn oaep_decrypting_key(&self, label: &[u8]) -> rsa::oaep::DecryptingKey<Sha256> {
        rsa::oaep::DecryptingKey::new_with_label(self.inner.clone(), label)
    }
}

impl SigningKey for UserKey {}

impl Sealed for UserKey {
    fn rsa(&self) -> &RsaPrivateKey {
        &self.inner
    }
}

impl SigningKey for ServerKey {}

impl Sealed for ServerKey {
    fn rsa(&self) -> &RsaPrivateKey {
        &self.inner
    }
}

/// An RSA public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    inner: RsaPublicKey,
}

impl PublicKey {
    /// The SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7, rsaEncryption).
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let doc = self
            .inner
            .to_public_key_der()
            .map_err(|e| Error::Encoding(e.to_string()))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Parses a SubjectPublicKeyInfo DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        use rsa::pkcs8::DecodePublicKey;
        let inner = RsaPublicKey::from_public_key_der(der).map_err(|e| Error::Encoding(e.to_string()))?;
        Ok(PublicKey { inner })
    }

    /// The subject public key a certificate certifies (RFC 5280 §4.1.2.7).
    pub fn from_certificate(certificate: &x509_cert::Certificate) -> Result<Self> {
        use der::Encode;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::Encoding(e.to_string()))?;
        Self::from_spki_der(&spki)
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.inner.n().bit_width_vartime()
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER: the fingerprint in the record header.
    pub fn fingerprint(&self) -> Result<[u8; 32]> {
        Ok(Sha256::digest(self.to_spki_der()?).into())
    }

    /// The rsa crate's key, for the verifying modules of this crate.
    pub(crate) fn rsa(&self) -> &RsaPublicKey {
        &self.inner
    }
}

impl From<RsaPublicKey> for PublicKey {
    fn from(inner: RsaPublicKey) -> Self {
        PublicKey { inner }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// One 2048-bit key per test binary: generation costs 0.1–1 s.
    pub(crate) fn test_key() -> &'static UserKey {
        static KEY: OnceLock<UserKey> = OnceLock::new();
        KEY.get_or_init(|| UserKey::generate(KeySize::Rsa2048).expect("keygen"))
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        let key = test_key();
        assert_eq!(key.bits(), 2048);
        let der = key.to_pkcs8_der().expect("encode");
        let back = UserKey::from_pkcs8_der(&der).expect("decode");
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(
            back.public_key().fingerprint().expect("fp"),
            key.public_key().fingerprint().expect("fp")
        );
    }

    #[test]
    fn a_server_key_round_trips_and_decrypts_what_its_public_half_encrypts() {
        use rsa::traits::{Decryptor, RandomizedEncryptor};
        let user_der = test_key().to_pkcs8_der().expect("encode");
        let key = ServerKey::from_pkcs8_der(&user_der).expect("decode");
        assert_eq!(key.public_key(), test_key().public_key());
        assert_eq!((key.bits(), key.modulus_len()), (2048, 256));
        let back = ServerKey::from_pkcs8_der(&key.to_pkcs8_der().expect("encode")).expect("decode");
        assert_eq!(back.public_key(), key.public_key());
        let encrypting =
            rsa::oaep::EncryptingKey::<Sha256>::new_with_label(key.public_key().rsa().clone(), &b"label"[..]);
        let ciphertext = encrypting.encrypt_with_rng(&mut SysRng, b"secret").expect("encrypt");
        let decrypting = key.oaep_decrypting_key(b"label");
        assert_eq!(decrypting.decrypt(&ciphertext).expect("decrypt"), b"secret");
        assert!(key.oaep_decrypting_key(b"other label").decrypt(&ciphertext).is_err());
        assert!(matches!(
            ServerKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00"),
            Err(Error::Encoding(_))
        ));
    }

    #[test]
    fn garbage_pkcs8_is_refused() {
        assert!(matches!(
            UserKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00"),
            Err(Error::RecordInvalid(_))
        ));
    }
}
