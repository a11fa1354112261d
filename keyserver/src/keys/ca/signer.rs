//! The CA key in the shape the x509-cert builders expect of a signer.
//!
//! The certification authority signs with RSASSA-PKCS1-v1_5 and SHA-256
//! (RFC 8017 §8.2; AlgorithmIdentifier `sha256WithRSAEncryption` with NULL
//! parameters, RFC 4055 §5). Every signature goes through the signing core's
//! [`signet_crypto::sign::sign`], which blinds the private-key operation with
//! the OS random number generator.

use der::asn1::BitString;
use signature::{Keypair, Signer};
use signet_crypto::keys::ServerKey;
use signet_schema::SignatureScheme;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding};

/// The scheme of every certificate and CRL the CA signs.
pub(crate) const CA_SCHEME: SignatureScheme = SignatureScheme::RsaPkcs1v15Sha256;

/// A borrowed CA key with its public half, for `Builder::build`. No `Debug`:
/// it reaches a private key.
pub(crate) struct CaSigner<'k> {
    key: &'k ServerKey,
    public: rsa::PublicKey,
}

impl<'k> CaSigner<'k> {
    /// Pairs `key` with its public half, decoded from the SubjectPublicKeyInfo
    /// the signing core gives.
    pub(crate) fn new(key: &'k ServerKey) -> Result<Self, super::CaError> {
        use rsa::pkcs8::DecodePublicKey;
        let spki = key.public_key().to_spki_der().map_err(super::encoding)?;
        let public = rsa::PublicKey::from_public_key_der(&spki).map_err(super::encoding)?;
        Ok(CaSigner { key, public })
    }
}

impl Keypair for CaSigner<'_> {
    type VerifyingKey = rsa::PublicKey;

    fn verifying_key(&self) -> rsa::PublicKey {
        self.public.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for CaSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            parameters: Some(der::Any::null()),
        })
    }
}

impl Signer<CaSignature> for CaSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> signature::Result<CaSignature> {
        signet_crypto::sign::sign(self.key, CA_SCHEME, msg)
            .map(CaSignature)
            .map_err(signature::Error::from_source)
    }
}

/// A signature octet string of modulus length.
pub(crate) struct CaSignature(Vec<u8>);

impl SignatureBitStringEncoding for CaSignature {
    /// An RSA signature is a BIT STRING with no unused bits (RFC 5280 §4.1.1.3).
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}
