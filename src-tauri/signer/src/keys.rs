//! RSA key pairs held by the signing core.

use rand::rngs::SysRng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use sha2::{Digest, Sha256};
use signet_schema::KeySize;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// A user's RSA private key. No `Debug`, no `Clone`; the rsa crate zeroizes
/// its limbs on drop.
pub struct PrivateKey {
    inner: RsaPrivateKey,
}

impl PrivateKey {
    /// Generates a key pair with public exponent 65537 from the OS RNG
    /// (FIPS 186-5 §A.1.3 style probable primes, as the rsa crate does).
    pub fn generate(size: KeySize) -> Result<Self> {
        let inner = RsaPrivateKey::new(&mut SysRng, size.bits()).map_err(|e| Error::Rsa(e.to_string()))?;
        Ok(PrivateKey { inner })
    }

    /// Parses an unencrypted PKCS#8 `PrivateKeyInfo` (RFC 5208) and checks the key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner =
            RsaPrivateKey::from_pkcs8_der(der).map_err(|_| Error::RecordInvalid("the private key does not parse"))?;
        inner
            .validate()
            .map_err(|_| Error::RecordInvalid("the private key is inconsistent"))?;
        let bits = inner.n().bit_width_vartime();
        if KeySize::try_from(bits).is_err() {
            return Err(Error::RecordInvalid("the private key has an unsupported size"));
        }
        Ok(PrivateKey { inner })
    }

    /// The unencrypted PKCS#8 DER, wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self.inner.to_pkcs8_der().map_err(|e| Error::Encoding(e.to_string()))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.to_public_key(),
        }
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.inner.n().bit_width_vartime()
    }

    /// The rsa crate's key, for the signing modules of this crate.
    pub(crate) fn rsa(&self) -> &RsaPrivateKey {
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
    pub(crate) fn test_key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| PrivateKey::generate(KeySize::Rsa2048).expect("keygen"))
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        let key = test_key();
        assert_eq!(key.bits(), 2048);
        let der = key.to_pkcs8_der().expect("encode");
        let back = PrivateKey::from_pkcs8_der(&der).expect("decode");
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(
            back.public_key().fingerprint().expect("fp"),
            key.public_key().fingerprint().expect("fp")
        );
    }

    #[test]
    fn garbage_pkcs8_is_refused() {
        assert!(matches!(
            PrivateKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00"),
            Err(Error::RecordInvalid(_))
        ));
    }
}
