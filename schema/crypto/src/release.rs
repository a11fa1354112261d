//! The signatures of a signed release of the signing core (formats in
//! `signet_schema::release`), checked the same way by the key tier, which
//! publishes releases, and by the client, which runs them.
//!
//! A release carries every signature but one: the release key signs the
//! content, and each endorsed key is signed by the one before it
//! ([`check_release`]). The first endorsement, or the signing key itself when
//! there is none, must come from a key the checker trusts
//! ([`trusted_root`]): the client's built-in keys; the key tier has none.

use signet_schema::SignatureScheme;
use signet_schema::release::{SignedRelease, endorsement_bytes};

use crate::keys::PublicKey;

fn verifies(spki: &[u8], content: &[u8], signature: &[u8]) -> bool {
    PublicKey::from_spki_der(spki)
        .is_ok_and(|key| crate::sign::verify(&key, SignatureScheme::RsaPssSha256, content, signature).is_ok())
}

/// Checks the signatures `release` carries: each endorsement after the
/// first by the key endorsed before it, the last endorsed key is the
/// signing key, and the signing key signed the content.
pub fn check_release(release: &SignedRelease) -> Result<(), &'static str> {
    if let Some(last) = release.endorsements.last()
        && last.key != release.signing_key
    {
        return Err("the release's key chain does not end at the key that signed it");
    }
    for pair in release.endorsements.windows(2) {
        if !verifies(&pair[0].key.0, &endorsement_bytes(&pair[1].key.0), &pair[1].signature.0) {
            return Err("an endorsement in the release key's chain does not verify");
        }
    }
    if !verifies(&release.signing_key.0, &release.content.0, &release.signature.0) {
        return Err("the release signature does not verify with the release key");
    }
    Ok(())
}

/// The key of `trusted` (SubjectPublicKeyInfo DER) that `release` rests on:
/// the one that signed its first endorsement, or its signing key itself
/// when it carries none.
pub fn trusted_root<'a>(release: &SignedRelease, trusted: &'a [Vec<u8>]) -> Option<&'a [u8]> {
    let found = match release.endorsements.first() {
        None => trusted.iter().find(|key| **key == release.signing_key.0),
        Some(first) => trusted
            .iter()
            .find(|key| verifies(key, &endorsement_bytes(&first.key.0), &first.signature.0)),
    };
    found.map(Vec::as_slice)
}
