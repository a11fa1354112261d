//! Pass phrase → keys.
//!
//! ```text
//! master   = Argon2id(pass phrase, salt, m, t, p; 32 bytes)        RFC 9106, v0x13
//! enc_key  = HKDF-SHA256(master, info = "signet/v1/record-encryption" 0x00 user_id)   RFC 5869
//! mac_key  = HKDF-SHA256(master, info = "signet/v1/record-mac"        0x00 user_id)
//! verifier = HKDF-SHA256(master, info = "signet/v1/sign-in-verifier"  0x00 user_id)
//! ```
//!
//! One Argon2id run gives three independent 32-byte keys; knowing the
//! verifier (which the key server stores, hashed) tells nothing about the
//! other two beyond a pass-phrase guess. The user id in `info` binds every key
//! to one user, so the same pass phrase and salt give unrelated keys for two
//! users.
//!
//! Parameters come from the key server's policy and are checked against
//! [`KdfParams::FLOOR`] *before* any work: a hostile server cannot downgrade
//! the cost to speed up its own guessing.

use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use sha2::Sha256;
use signet_schema::record::{SALT_LEN, validate_user_id};
use signet_schema::{FormatError, KdfParams, Problem};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Length of every derived key.
pub const KEY_LEN: usize = 32;
/// Salt length the signing core chooses for new records.
pub const NEW_SALT_LEN: usize = 16;

/// The keys derived from a pass phrase for one user, salt and parameter set.
/// No `Debug`; wiped on drop.
pub struct PassphraseKeys {
    pub(crate) encryption: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) mac: Zeroizing<[u8; KEY_LEN]>,
    verifier: Zeroizing<[u8; KEY_LEN]>,
    user_id: String,
    params: KdfParams,
    salt: Vec<u8>,
}

impl PassphraseKeys {
    /// The sign-in verifier: proves knowledge of the pass phrase to the key server.
    pub fn verifier(&self) -> &[u8; KEY_LEN] {
        &self.verifier
    }
    /// The user the keys were derived for.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
    /// The parameters they were derived with.
    pub fn params(&self) -> KdfParams {
        self.params
    }
    /// The salt they were derived with.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }
}

/// Refuses parameters below the floor or above the ceiling; does no work.
pub fn check_floor(params: KdfParams) -> Result<()> {
    let KdfParams { m_kib, t, p } = params;
    if !params.meets_floor() {
        Err(Error::KdfTooWeak { m_kib, t, p })
    } else if !params.within_ceiling() {
        Err(Error::KdfTooCostly { m_kib, t, p })
    } else {
        Ok(())
    }
}

/// A fresh random salt from the OS.
pub fn new_salt() -> Result<[u8; NEW_SALT_LEN]> {
    let mut salt = [0u8; NEW_SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| Error::System(format!("OS random number generator: {e}")))?;
    Ok(salt)
}

/// Derives the three keys. Checks, in order and before any hashing: the
/// parameters against the floor, the user id, the salt length and that the
/// pass phrase is not empty.
pub fn derive(passphrase: &[u8], user_id: &str, params: KdfParams, salt: &[u8]) -> Result<PassphraseKeys> {
    check_floor(params)?;
    validate_user_id(user_id)?;
    if !SALT_LEN.contains(&salt.len()) {
        return Err(FormatError::new("salt", Problem::BadLength).into());
    }
    if passphrase.is_empty() {
        return Err(FormatError::new("passphrase", Problem::BadLength).into());
    }
    let argon_params = Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN)).map_err(|_| Error::KdfTooWeak {
        m_kib: params.m_kib,
        t: params.t,
        p: params.p,
    })?;
    let mut master = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(passphrase, salt, master.as_mut())
        .map_err(|e| Error::System(format!("Argon2id: {e}")))?;
    let hkdf = Hkdf::<Sha256>::new(None, master.as_ref());
    let expand = |label: &[u8]| -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let mut okm = Zeroizing::new([0u8; KEY_LEN]);
        hkdf.expand_multi_info(&[label, b"\0", user_id.as_bytes()], okm.as_mut())
            .map_err(|_| Error::System("HKDF output length".into()))?;
        Ok(okm)
    };
    Ok(PassphraseKeys {
        encryption: expand(b"signet/v1/record-encryption")?,
        mac: expand(b"signet/v1/record-mac")?,
        verifier: expand(b"signet/v1/sign-in-verifier")?,
        user_id: user_id.to_owned(),
        params,
        salt: salt.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 16] = [9; 16];

    #[test]
    fn keys_are_distinct_deterministic_and_bound_to_the_user() {
        let a = derive(b"correct horse battery staple", "alice", KdfParams::FLOOR, &SALT).expect("derive");
        let again = derive(b"correct horse battery staple", "alice", KdfParams::FLOOR, &SALT).expect("derive");
        let bob = derive(b"correct horse battery staple", "bob", KdfParams::FLOOR, &SALT).expect("derive");
        assert_eq!(a.verifier(), again.verifier());
        assert_ne!(*a.encryption, *a.mac);
        assert_ne!(*a.encryption, *a.verifier);
        assert_ne!(a.verifier(), bob.verifier());
        assert_ne!(*a.encryption, *bob.encryption);
    }

    #[test]
    fn floor_is_enforced_before_any_work() {
        for weak in [
            KdfParams {
                m_kib: 19 * 1024 - 1,
                t: 2,
                p: 1,
            },
            KdfParams {
                m_kib: 64 * 1024,
                t: 1,
                p: 1,
            },
            KdfParams { m_kib: 8, t: 1, p: 1 },
            KdfParams {
                m_kib: 64 * 1024,
                t: 3,
                p: 0,
            },
        ] {
            let started = std::time::Instant::now();
            assert!(
                matches!(derive(b"pw", "alice", weak, &SALT), Err(Error::KdfTooWeak { .. })),
                "{weak:?}"
            );
            // Structural, not a timing assertion: refused before Argon2 would allocate.
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
    }

    #[test]
    fn ceiling_is_enforced_before_any_work() {
        let costly = KdfParams {
            m_kib: u32::MAX,
            t: 2,
            p: 1,
        };
        assert!(matches!(
            derive(b"pw", "alice", costly, &SALT),
            Err(Error::KdfTooCostly { .. })
        ));
    }

    #[test]
    fn bad_inputs_are_named() {
        let field = |r: Result<PassphraseKeys>| match r {
            Err(Error::Format(e)) => e.field,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(field(derive(b"pw", "Alice", KdfParams::FLOOR, &SALT)), "user_id");
        assert_eq!(field(derive(b"pw", "alice", KdfParams::FLOOR, &[0; 8])), "salt");
        assert_eq!(field(derive(b"", "alice", KdfParams::FLOOR, &SALT)), "passphrase");
    }

    #[test]
    fn salts_differ() {
        assert_ne!(new_salt().expect("rng"), new_salt().expect("rng"));
    }
}
