//! RSA signatures over content (RFC 8017 §8), in the two schemes Signet offers.
//!
//! * [`SignatureScheme::RsaPssSha256`] — RSASSA-PSS (§8.1) with EMSA-PSS
//!   (§9.1): hash SHA-256, mask generation MGF1 (§B.2.1) with SHA-256, a
//!   32-byte random salt (`sLen = hLen`) and trailer field `0xbc`. Its
//!   AlgorithmIdentifier is `id-RSASSA-PSS` with explicit `RSASSA-PSS-params`
//!   (RFC 4055 §3.1) naming those choices, because a verifier must not guess
//!   them.
//! * [`SignatureScheme::RsaPkcs1v15Sha256`] — RSASSA-PKCS1-v1_5 (§8.2) with
//!   EMSA-PKCS1-v1_5 (§9.2): the DER `DigestInfo` of the SHA-256 hash.
//!   Deterministic: one key and one message give one signature, which the
//!   byte-for-byte test vectors rely on. AlgorithmIdentifier
//!   `sha256WithRSAEncryption` with NULL parameters (RFC 4055 §5).
//!
//! Every private-key operation (RSASP1, §5.2.1) is blinded with a fresh random
//! factor from the operating system ([`SysRng`]), so its timing does not
//! follow the key; blinding never changes the signature value.
//!
//! [`verify`] pins the same parameters: a PSS signature with another salt
//! length, hash or mask function is refused, as is any signature whose length
//! is not the modulus length `k` (§8.1.2 step 1, §8.2.2 step 1).

use der::asn1::BitString;
use rand::rngs::SysRng;
use rsa::PublicKey as RsaPublicKey;
use sha2::{Digest, Sha256};
use signature::{Keypair, Signer};
use signet_schema::SignatureScheme;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding};

use crate::keys::{PublicKey, SigningKey};
use crate::{Error, Result};

/// Length of the PSS salt in bytes: the SHA-256 output length (RFC 8017 §9.1,
/// RFC 4055 §3.1 recommend `sLen = hLen`).
pub const PSS_SALT_LEN: usize = 32;

// `algorithm_identifier` announces the digest length as the salt length.
const _: () = assert!(
    PSS_SALT_LEN == 32,
    "RSASSA-PSS-params would announce another salt length"
);

/// Signs `content` with `key` in `scheme`; returns the signature octet string
/// `S` of exactly `k` bytes (the modulus length).
///
/// The content is hashed with SHA-256 here; callers pass the message itself,
/// never a hash of it.
pub fn sign<K: SigningKey + ?Sized>(key: &K, scheme: SignatureScheme, content: &[u8]) -> Result<Vec<u8>> {
    sign_digest(key, scheme, &Sha256::digest(content).into())
}

/// Signs the content whose SHA-256 is `digest`: the same signature
/// [`sign`] makes over the content itself (both schemes sign the hash,
/// RFC 8017 §9.1.1 step 2 and §9.2 step 1), for a caller that hashed a large
/// document and hands over only its digest.
pub fn sign_digest<K: SigningKey + ?Sized>(key: &K, scheme: SignatureScheme, digest: &[u8; 32]) -> Result<Vec<u8>> {
    let digest = digest.as_slice();
    let rsa = key.rsa();
    let signature = match scheme {
        // §8.1.1 with a PSS_SALT_LEN-byte salt drawn from SysRng; SysRng
        // also blinds RSASP1.
        SignatureScheme::RsaPssSha256 => rsa.sign_with_rng(&mut SysRng, pss(), digest),
        // §8.2.1; SysRng only blinds RSASP1, the result is deterministic.
        SignatureScheme::RsaPkcs1v15Sha256 => rsa.pkcs1v15_sign_prehash_with_rng::<Sha256, _>(&mut SysRng, digest),
    };
    signature.map_err(|e| Error::Rsa(e.to_string()))
}

/// Verifies `signature` over `content` with `key` in `scheme`.
///
/// Returns [`Error::SignatureInvalid`] for every kind of mismatch — wrong
/// length, representative out of range (§5.2.2), bad padding, other hash or
/// salt length — without saying which, so a caller cannot be used as an
/// oracle.
pub fn verify(key: &PublicKey, scheme: SignatureScheme, content: &[u8], signature: &[u8]) -> Result<()> {
    verify_digest(key, scheme, &Sha256::digest(content).into(), signature)
}

/// [`verify`] for the content whose SHA-256 is `digest`.
pub fn verify_digest(key: &PublicKey, scheme: SignatureScheme, digest: &[u8; 32], signature: &[u8]) -> Result<()> {
    let digest = digest.as_slice();
    let rsa = key.rsa();
    let verdict = match scheme {
        // EMSA-PSS-VERIFY (§9.1.2) with sLen fixed at PSS_SALT_LEN.
        SignatureScheme::RsaPssSha256 => rsa.verify(pss(), digest, signature),
        // §8.2.2: re-encode the DigestInfo and compare the whole encoded message.
        SignatureScheme::RsaPkcs1v15Sha256 => rsa.pkcs1v15_verify_prehash::<Sha256>(digest, signature),
    };
    verdict.map_err(|_| Error::SignatureInvalid)
}

/// The scheme a signature `algorithm` identifier names, if it is one of
/// ours: sha256WithRSAEncryption with NULL (or, a common slip that changes
/// nothing, absent) parameters (RFC 4055 §5), or id-RSASSA-PSS with exactly
/// SHA-256, MGF1-SHA-256 and a [`PSS_SALT_LEN`]-byte salt (RFC 4055 §3.1).
/// Anything else is `None`: other hashes and salt lengths are not accepted.
pub fn scheme_of(algorithm: &AlgorithmIdentifierOwned) -> Option<SignatureScheme> {
    use const_oid::db::rfc5912::{ID_MGF_1, ID_RSASSA_PSS, ID_SHA_256, SHA_256_WITH_RSA_ENCRYPTION};
    use rsa::pkcs1::RsaPssParamsOwned;

    if algorithm.oid == SHA_256_WITH_RSA_ENCRYPTION {
        return match &algorithm.parameters {
            None => Some(SignatureScheme::RsaPkcs1v15Sha256),
            Some(p) if p.is_null() => Some(SignatureScheme::RsaPkcs1v15Sha256),
            Some(_) => None,
        };
    }
    if algorithm.oid == ID_RSASSA_PSS {
        let params: RsaPssParamsOwned = algorithm.parameters.as_ref()?.decode_as().ok()?;
        let mgf_hash = params.mask_gen.parameters.as_ref().map(|hash| hash.oid);
        let fits = params.hash.oid == ID_SHA_256
            && params.hash.parameters.as_ref().is_none_or(der::Any::is_null)
            && params.mask_gen.oid == ID_MGF_1
            && mgf_hash == Some(ID_SHA_256)
            && usize::from(params.salt_len) == PSS_SALT_LEN;
        return fits.then_some(SignatureScheme::RsaPssSha256);
    }
    None
}

/// RSASSA-PSS with SHA-256 for the hash and for MGF1, salt [`PSS_SALT_LEN`],
/// blinded.
fn pss() -> rsa::pss::Pss<Sha256> {
    rsa::pss::Pss::new_blinded_with_salt(PSS_SALT_LEN)
}

/// The signature AlgorithmIdentifier for `scheme` (RFC 4055 §3.1 and §5), as
/// it appears in certificates, requests and CMS `SignerInfo`s.
pub(crate) fn algorithm_identifier(scheme: SignatureScheme) -> spki::Result<AlgorithmIdentifierOwned> {
    match scheme {
        // id-RSASSA-PSS { hashAlgorithm sha256, maskGenAlgorithm mgf1SHA256,
        // saltLength 32 (the digest length, = PSS_SALT_LEN), trailerField 1 }.
        SignatureScheme::RsaPssSha256 => rsa::pss::get_default_pss_signature_algo_id::<Sha256>(),
        SignatureScheme::RsaPkcs1v15Sha256 => Ok(AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            parameters: Some(der::Any::null()),
        }),
    }
}

/// A borrowed private key and a scheme, in the shape the x509-cert and cms
/// builders expect a signer to have ([`Keypair`],
/// [`DynSignatureAlgorithmIdentifier`], [`Signer`]).
///
/// It signs through [`sign`], so the builders get blinded signatures from
/// [`SysRng`] without a copy of the key and without an infallible RNG (the
/// builders' `*_with_rng` entry points require one; `SysRng` can fail and
/// here that failure is an error, not a panic). No `Debug`: it reaches a
/// private key.
pub(crate) struct SchemeSigner<'k, K: SigningKey> {
    key: &'k K,
    scheme: SignatureScheme,
}

impl<'k, K: SigningKey> SchemeSigner<'k, K> {
    /// Pairs `key` with `scheme`.
    pub(crate) fn new(key: &'k K, scheme: SignatureScheme) -> Self {
        SchemeSigner { key, scheme }
    }
}

impl<K: SigningKey> Keypair for SchemeSigner<'_, K> {
    type VerifyingKey = RsaPublicKey;

    fn verifying_key(&self) -> RsaPublicKey {
        self.key.rsa().to_public_key()
    }
}

impl<K: SigningKey> DynSignatureAlgorithmIdentifier for SchemeSigner<'_, K> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        algorithm_identifier(self.scheme)
    }
}

impl<K: SigningKey> Signer<SignatureValue> for SchemeSigner<'_, K> {
    fn try_sign(&self, msg: &[u8]) -> signature::Result<SignatureValue> {
        sign(self.key, self.scheme, msg)
            .map(SignatureValue)
            .map_err(signature::Error::from_source)
    }
}

/// A signature octet string `S` as produced by [`sign`], for the builders.
pub(crate) struct SignatureValue(Vec<u8>);

impl SignatureBitStringEncoding for SignatureValue {
    /// An RSA signature is carried in a BIT STRING with no unused bits
    /// (RFC 5280 §4.1.1.3, RFC 2986 §4.2).
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::test_key;
    use crate::keys::{Sealed, UserKey};
    use der::{Decode, Encode};

    const SCHEMES: [SignatureScheme; 2] = [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256];
    const ORDER: &[u8] = b"pain.001: pay 100.00 EUR to GB33BUKB20201555555555";

    #[test]
    fn signing_the_digest_is_signing_the_content() {
        let key = test_key();
        let digest: [u8; 32] = Sha256::digest(ORDER).into();
        for scheme in SCHEMES {
            let signature = sign_digest(key, scheme, &digest).expect("sign");
            verify(&key.public_key(), scheme, ORDER, &signature).expect("verifies over the content");
        }
        // PKCS#1 v1.5 is deterministic: the very same bytes.
        assert_eq!(
            sign_digest(key, SignatureScheme::RsaPkcs1v15Sha256, &digest).expect("sign"),
            sign(key, SignatureScheme::RsaPkcs1v15Sha256, ORDER).expect("sign")
        );
    }

    #[test]
    fn signatures_verify_and_have_modulus_length() {
        let key = test_key();
        for scheme in SCHEMES {
            let signature = sign(key, scheme, ORDER).expect("sign");
            assert_eq!(signature.len(), 256, "{scheme:?}");
            verify(&key.public_key(), scheme, ORDER, &signature).expect("verify");
        }
    }

    #[test]
    fn changed_content_or_signature_is_refused() {
        let key = test_key();
        for scheme in SCHEMES {
            let signature = sign(key, scheme, ORDER).expect("sign");
            let mut other = ORDER.to_vec();
            other[0] ^= 1;
            assert!(matches!(
                verify(&key.public_key(), scheme, &other, &signature),
                Err(Error::SignatureInvalid)
            ));
            for at in [0, 100, 255] {
                let mut bad = signature.clone();
                bad[at] ^= 0x80;
                assert!(matches!(
                    verify(&key.public_key(), scheme, ORDER, &bad),
                    Err(Error::SignatureInvalid)
                ));
            }
            assert!(matches!(
                verify(&key.public_key(), scheme, ORDER, &signature[1..]),
                Err(Error::SignatureInvalid)
            ));
            assert!(matches!(
                verify(&key.public_key(), scheme, ORDER, &[]),
                Err(Error::SignatureInvalid)
            ));
        }
    }

    #[test]
    fn schemes_are_not_interchangeable() {
        let key = test_key();
        let pss = sign(key, SignatureScheme::RsaPssSha256, ORDER).expect("sign");
        let pkcs1 = sign(key, SignatureScheme::RsaPkcs1v15Sha256, ORDER).expect("sign");
        assert!(verify(&key.public_key(), SignatureScheme::RsaPkcs1v15Sha256, ORDER, &pss).is_err());
        assert!(verify(&key.public_key(), SignatureScheme::RsaPssSha256, ORDER, &pkcs1).is_err());
    }

    #[test]
    fn pss_is_randomised_and_pkcs1_is_deterministic() {
        let key = test_key();
        let pss = |_| sign(key, SignatureScheme::RsaPssSha256, ORDER).expect("sign");
        assert_ne!(pss(0), pss(1));
        let pkcs1 = |_| sign(key, SignatureScheme::RsaPkcs1v15Sha256, ORDER).expect("sign");
        assert_eq!(pkcs1(0), pkcs1(1));
    }

    #[test]
    fn pss_with_another_salt_length_is_refused() {
        let key = test_key();
        let digest = Sha256::digest(ORDER);
        let signing = rsa::pss::Pss::<Sha256>::new_with_salt(20);
        let signature = key.rsa().sign_with_rng(&mut SysRng, signing, &digest).expect("sign");
        // The rsa crate itself accepts it when told the salt length…
        let checking = rsa::pss::Pss::<Sha256>::new_with_salt(20);
        key.rsa()
            .to_public_key()
            .verify(checking, &digest, &signature)
            .expect("salt 20 verifies");
        // …but ours pins 32.
        assert!(matches!(
            verify(&key.public_key(), SignatureScheme::RsaPssSha256, ORDER, &signature),
            Err(Error::SignatureInvalid)
        ));
    }

    #[test]
    fn other_key_is_refused() {
        let key = test_key();
        let other = UserKey::generate(signet_schema::KeySize::Rsa2048).expect("keygen");
        for scheme in SCHEMES {
            let signature = sign(key, scheme, ORDER).expect("sign");
            assert!(verify(&other.public_key(), scheme, ORDER, &signature).is_err());
        }
    }

    /// The PSS parameters encode exactly as RFC 4055 §3.1 lists them for
    /// SHA-256 and a 32-byte salt, and the PKCS#1 v1.5 identifier carries NULL.
    #[test]
    fn algorithm_identifiers_are_the_rfc_4055_encodings() {
        let pss = algorithm_identifier(SignatureScheme::RsaPssSha256)
            .expect("pss id")
            .to_der()
            .expect("der");
        let expected_pss = hex::decode(
            concat!(
                "3041",
                "06092a864886f70d01010a", // id-RSASSA-PSS
                "3034",
                "a00f300d0609608648016503040201 0500", // [0] sha256
                "a11c301a06092a864886f70d010108 300d06096086480165030402010500", // [1] mgf1SHA256
                "a203020120",                          // [2] saltLength 32
            )
            .replace(' ', ""),
        )
        .expect("hex");
        assert_eq!(pss, expected_pss);
        let pkcs1 = algorithm_identifier(SignatureScheme::RsaPkcs1v15Sha256)
            .expect("id")
            .to_der()
            .expect("der");
        assert_eq!(hex::encode(&pkcs1), "300d06092a864886f70d01010b0500");
        AlgorithmIdentifierOwned::from_der(&pkcs1).expect("round trip");
    }

    /// Fixed vectors made by OpenSSL (see tests/vectors/sign/README.md).
    mod vectors {
        use super::*;

        const KEY: &[u8] = include_bytes!("../tests/vectors/sign/key.pk8.der");
        const MESSAGE: &[u8] = include_bytes!("../tests/vectors/sign/message.xml");
        const PKCS1: &[u8] = include_bytes!("../tests/vectors/sign/message.xml.pkcs1v15-sha256.sig");
        const PSS: &[u8] = include_bytes!("../tests/vectors/sign/message.xml.pss-sha256.sig");
        const PUBLIC_PEM: &str = include_str!("../tests/vectors/sign/pub.pem");

        fn key() -> UserKey {
            UserKey::from_pkcs8_der(KEY).expect("vector key")
        }

        #[test]
        fn pkcs1v15_signature_is_reproduced_byte_for_byte() {
            let signature = sign(&key(), SignatureScheme::RsaPkcs1v15Sha256, MESSAGE).expect("sign");
            assert_eq!(hex::encode(&signature), hex::encode(PKCS1));
            verify(&key().public_key(), SignatureScheme::RsaPkcs1v15Sha256, MESSAGE, PKCS1).expect("verify");
        }

        #[test]
        fn openssl_pss_signature_verifies() {
            let public = key().public_key();
            verify(&public, SignatureScheme::RsaPssSha256, MESSAGE, PSS).expect("verify");
            assert!(verify(&public, SignatureScheme::RsaPkcs1v15Sha256, MESSAGE, PSS).is_err());
            let mut changed = MESSAGE.to_vec();
            let last = changed.len() - 1;
            changed[last] ^= 1;
            assert!(verify(&public, SignatureScheme::RsaPssSha256, &changed, PSS).is_err());
            assert!(verify(&public, SignatureScheme::RsaPkcs1v15Sha256, &changed, PKCS1).is_err());
        }

        #[test]
        fn vector_public_key_matches_the_pem() {
            let (label, der) = der::Document::from_pem(PUBLIC_PEM).expect("pem");
            assert_eq!(label, "PUBLIC KEY");
            assert_eq!(key().public_key().to_spki_der().expect("spki"), der.as_bytes());
            assert_eq!(key().bits(), 2048);
        }
    }

    #[test]
    fn builder_signer_matches_sign() {
        let key = test_key();
        let signer = SchemeSigner::new(key, SignatureScheme::RsaPkcs1v15Sha256);
        let value = signer.try_sign(ORDER).expect("sign");
        assert_eq!(
            value.0,
            sign(key, SignatureScheme::RsaPkcs1v15Sha256, ORDER).expect("sign")
        );
        assert_eq!(value.to_bitstring().expect("bits").raw_bytes(), value.0.as_slice());
        assert_eq!(PublicKey::from(signer.verifying_key()), key.public_key());
    }
}
