//! The sealed key record: a user's RSA private key, sealed under keys derived
//! from the user's pass phrase, as stored by the key server.
//!
//! # Encoding, format version 1
//!
//! All integers are big-endian. The record is one byte string:
//!
//! | offset | size | field | meaning |
//! | --- | --- | --- | --- |
//! | 0 | 4 | `magic` | ASCII `SGKR` |
//! | 4 | 1 | `version` | format version, `1` |
//! | 5 | 2 | `user_id_len` | 1 ..= 64 |
//! | 7 | n | `user_id` | UTF-8, the user id the record belongs to |
//! | | 1 | `kdf_id` | `1` = Argon2id (RFC 9106, version 0x13) |
//! | | 4 | `kdf_m_kib` | memory cost in KiB |
//! | | 4 | `kdf_t` | iterations |
//! | | 4 | `kdf_p` | lanes |
//! | | 1 | `salt_len` | 16 ..= 64 |
//! | | n | `salt` | KDF salt, from the OS RNG |
//! | | 1 | `cipher_id` | `1` = AES-256-CBC, PKCS#7 padding, HMAC-SHA256 tag |
//! | | 16 | `iv` | CBC initialisation vector, from the OS RNG |
//! | | 32 | `public_key_fingerprint` | SHA-256 of the public key's SubjectPublicKeyInfo DER |
//! | | 4 | `ciphertext_len` | a multiple of 16, 16 ..= 65 536 |
//! | | n | `ciphertext` | AES-256-CBC of (PKCS#8 DER ‖ SHA-256(PKCS#8 DER ‖ registration data)) |
//! | | 32 | `tag` | HMAC-SHA256 over every byte before it |
//!
//! The tag covers the whole header, so editing the user id, a KDF parameter,
//! the salt, the IV or the fingerprint invalidates the record, and a record
//! moved from one user to another fails to open (encrypt-then-MAC: the tag is
//! checked, in constant time, before anything is decrypted).

use crate::error::{FormatError, Problem};

/// Magic bytes at the start of every sealed key record.
pub const MAGIC: &[u8; 4] = b"SGKR";
/// The format version this crate writes.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the CBC IV.
pub const IV_LEN: usize = 16;
/// Length of the HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;
/// Length of a SHA-256 fingerprint.
pub const FINGERPRINT_LEN: usize = 32;
/// Shortest and longest salt accepted.
pub const SALT_LEN: std::ops::RangeInclusive<usize> = 16..=64;
/// Longest user id accepted, in bytes.
pub const MAX_USER_ID_LEN: usize = 64;
/// Longest ciphertext accepted (a 4096-bit PKCS#8 key is about 2.4 KB).
pub const MAX_CIPHERTEXT_LEN: usize = 65_536;

/// Key-derivation function of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KdfId {
    /// Argon2id, RFC 9106, version 0x13.
    Argon2id,
}

impl KdfId {
    fn code(self) -> u8 {
        match self {
            KdfId::Argon2id => 1,
        }
    }
    fn from_code(code: u8) -> Result<Self, FormatError> {
        match code {
            1 => Ok(KdfId::Argon2id),
            _ => Err(FormatError::new("kdf_id", Problem::Unsupported)),
        }
    }
}

/// Cipher suite of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherId {
    /// AES-256-CBC with PKCS#7 padding, then HMAC-SHA256 over header and ciphertext.
    Aes256CbcHmacSha256,
}

impl CipherId {
    fn code(self) -> u8 {
        match self {
            CipherId::Aes256CbcHmacSha256 => 1,
        }
    }
    fn from_code(code: u8) -> Result<Self, FormatError> {
        match code {
            1 => Ok(CipherId::Aes256CbcHmacSha256),
            _ => Err(FormatError::new("cipher_id", Problem::Unsupported)),
        }
    }
}

/// Argon2id cost parameters (RFC 9106 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KdfParams {
    /// Memory cost in KiB (`m`).
    pub m_kib: u32,
    /// Number of passes (`t`).
    pub t: u32,
    /// Degree of parallelism (`p`).
    pub p: u32,
}

impl KdfParams {
    /// The floor below which the signing core refuses to derive keys: OWASP's
    /// minimum for Argon2id (m = 19 MiB, t = 2, p = 1). A server that asks for
    /// less is treated as hostile.
    pub const FLOOR: KdfParams = KdfParams {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// The default policy: 64 MiB, 3 passes, 4 lanes (about 0.2–0.5 s here).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 4,
    };

    /// The ceiling: beyond it a request is a mistake or an attempt to make
    /// the client spend minutes and gigabytes (4 GiB, 64 passes, 16 lanes).
    pub const CEILING: KdfParams = KdfParams {
        m_kib: 4 * 1024 * 1024,
        t: 64,
        p: 16,
    };

    /// Whether these parameters are at least as costly as [`KdfParams::FLOOR`]
    /// in memory, passes and lanes.
    pub fn meets_floor(&self) -> bool {
        self.m_kib >= Self::FLOOR.m_kib && self.t >= Self::FLOOR.t && self.p >= Self::FLOOR.p
    }

    /// Whether no parameter exceeds [`KdfParams::CEILING`].
    pub fn within_ceiling(&self) -> bool {
        self.m_kib <= Self::CEILING.m_kib && self.t <= Self::CEILING.t && self.p <= Self::CEILING.p
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Everything in a sealed record before the ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// The user the record belongs to.
    pub user_id: String,
    /// Key-derivation function.
    pub kdf: KdfId,
    /// Its cost parameters.
    pub kdf_params: KdfParams,
    /// Its salt.
    pub salt: Vec<u8>,
    /// Cipher suite.
    pub cipher: CipherId,
    /// CBC IV.
    pub iv: [u8; IV_LEN],
    /// SHA-256 of the public key's SubjectPublicKeyInfo DER.
    pub public_key_fingerprint: [u8; FINGERPRINT_LEN],
}

/// A sealed key record: header, ciphertext and tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedKeyRecord {
    /// Header, authenticated by the tag.
    pub header: RecordHeader,
    /// AES-256-CBC ciphertext.
    pub ciphertext: Vec<u8>,
    /// HMAC-SHA256 over [`SealedKeyRecord::authenticated_bytes`].
    pub tag: [u8; TAG_LEN],
}

impl RecordHeader {
    /// Checks the field ranges that [`SealedKeyRecord::parse`] enforces.
    pub fn validate(&self) -> Result<(), FormatError> {
        validate_user_id(&self.user_id)?;
        if !SALT_LEN.contains(&self.salt.len()) {
            return Err(FormatError::new("salt_len", Problem::BadLength));
        }
        Ok(())
    }
}

/// A user id: 1 to 64 bytes of lower-case ASCII letters, digits, `.`, `_`, `-`,
/// starting with a letter or digit.
pub fn validate_user_id(user_id: &str) -> Result<(), FormatError> {
    if user_id.is_empty() || user_id.len() > MAX_USER_ID_LEN {
        return Err(FormatError::new("user_id", Problem::BadLength));
    }
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    let first_ok = user_id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !first_ok || !user_id.chars().all(ok_char) {
        return Err(FormatError::new("user_id", Problem::Malformed));
    }
    Ok(())
}

impl SealedKeyRecord {
    /// The bytes the tag authenticates: header, IV and ciphertext, exactly as
    /// encoded. Fails only if the header is out of range.
    pub fn authenticated_bytes(header: &RecordHeader, ciphertext: &[u8]) -> Result<Vec<u8>, FormatError> {
        header.validate()?;
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) || ciphertext.len() > MAX_CIPHERTEXT_LEN {
            return Err(FormatError::new("ciphertext_len", Problem::BadLength));
        }
        let mut out = Vec::with_capacity(128 + header.user_id.len() + ciphertext.len());
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        // validate() bounds user_id to 64 bytes and the salt to 64: both fit their length fields.
        out.extend_from_slice(&(header.user_id.len() as u16).to_be_bytes());
        out.extend_from_slice(header.user_id.as_bytes());
        out.push(header.kdf.code());
        out.extend_from_slice(&header.kdf_params.m_kib.to_be_bytes());
        out.extend_from_slice(&header.kdf_params.t.to_be_bytes());
        out.extend_from_slice(&header.kdf_params.p.to_be_bytes());
        out.push(header.salt.len() as u8);
        out.extend_from_slice(&header.salt);
        out.push(header.cipher.code());
        out.extend_from_slice(&header.iv);
        out.extend_from_slice(&header.public_key_fingerprint);
        out.extend_from_slice(&(ciphertext.len() as u32).to_be_bytes());
        out.extend_from_slice(ciphertext);
        Ok(out)
    }

    /// The record's encoding.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let mut out = Self::authenticated_bytes(&self.header, &self.ciphertext)?;
        out.extend_from_slice(&self.tag);
        Ok(out)
    }

    /// Parses a record, checking every field's range. The tag is not checked
    /// here: that needs the pass phrase.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader { rest: bytes };
        if r.take("magic", 4)? != MAGIC {
            return Err(FormatError::new("magic", Problem::Malformed));
        }
        if r.u8("version")? != FORMAT_VERSION {
            return Err(FormatError::new("version", Problem::Unsupported));
        }
        let user_id_len = usize::from(r.u16("user_id_len")?);
        if user_id_len == 0 || user_id_len > MAX_USER_ID_LEN {
            return Err(FormatError::new("user_id_len", Problem::BadLength));
        }
        let user_id = std::str::from_utf8(r.take("user_id", user_id_len)?)
            .map_err(|_| FormatError::new("user_id", Problem::Malformed))?
            .to_owned();
        validate_user_id(&user_id)?;
        let kdf = KdfId::from_code(r.u8("kdf_id")?)?;
        let kdf_params = KdfParams {
            m_kib: r.u32("kdf_m_kib")?,
            t: r.u32("kdf_t")?,
            p: r.u32("kdf_p")?,
        };
        let salt_len = usize::from(r.u8("salt_len")?);
        if !SALT_LEN.contains(&salt_len) {
            return Err(FormatError::new("salt_len", Problem::BadLength));
        }
        let salt = r.take("salt", salt_len)?.to_vec();
        let cipher = CipherId::from_code(r.u8("cipher_id")?)?;
        let iv = r.array::<IV_LEN>("iv")?;
        let public_key_fingerprint = r.array::<FINGERPRINT_LEN>("public_key_fingerprint")?;
        let ciphertext_len = r.u32("ciphertext_len")? as usize;
        if ciphertext_len == 0 || !ciphertext_len.is_multiple_of(16) || ciphertext_len > MAX_CIPHERTEXT_LEN {
            return Err(FormatError::new("ciphertext_len", Problem::BadLength));
        }
        let ciphertext = r.take("ciphertext", ciphertext_len)?.to_vec();
        let tag = r.array::<TAG_LEN>("tag")?;
        if !r.rest.is_empty() {
            return Err(FormatError::new("tag", Problem::TrailingBytes));
        }
        Ok(SealedKeyRecord {
            header: RecordHeader {
                user_id,
                kdf,
                kdf_params,
                salt,
                cipher,
                iv,
                public_key_fingerprint,
            },
            ciphertext,
            tag,
        })
    }
}

/// A cursor over input that names the field it was reading when it ran out.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], FormatError> {
        if self.rest.len() < n {
            return Err(FormatError::new(field, Problem::Truncated));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, FormatError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, FormatError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SealedKeyRecord {
        SealedKeyRecord {
            header: RecordHeader {
                user_id: "alice".into(),
                kdf: KdfId::Argon2id,
                kdf_params: KdfParams::DEFAULT,
                salt: vec![7; 16],
                cipher: CipherId::Aes256CbcHmacSha256,
                iv: [1; IV_LEN],
                public_key_fingerprint: [2; FINGERPRINT_LEN],
            },
            ciphertext: vec![3; 48],
            tag: [4; TAG_LEN],
        }
    }

    #[test]
    fn round_trip() {
        let rec = sample();
        let bytes = rec.encode().expect("valid sample");
        assert_eq!(SealedKeyRecord::parse(&bytes), Ok(rec));
    }

    #[test]
    fn every_truncation_names_a_field() {
        let bytes = sample().encode().expect("valid sample");
        for cut in 0..bytes.len() {
            let err = SealedKeyRecord::parse(&bytes[..cut]).expect_err("truncated record parsed");
            assert_eq!(err.problem, Problem::Truncated, "cut at {cut}: {err}");
        }
    }

    #[test]
    fn trailing_bytes_rejected() {
        let mut bytes = sample().encode().expect("valid sample");
        bytes.push(0);
        assert_eq!(
            SealedKeyRecord::parse(&bytes),
            Err(FormatError::new("tag", Problem::TrailingBytes))
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let bytes = sample().encode().expect("valid sample");
        let cases: &[(usize, u8, &str)] = &[
            (0, b'X', "magic"),
            (4, 2, "version"),
            (12, 9, "kdf_id"),
            (25, 8, "salt_len"),
        ];
        for &(offset, value, field) in cases {
            let mut b = bytes.clone();
            b[offset] = value;
            assert_eq!(SealedKeyRecord::parse(&b).expect_err(field).field, field);
        }
    }

    #[test]
    fn user_ids() {
        for ok in ["alice", "a", "bob.smith-2", "0day_x"] {
            assert!(validate_user_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Alice", ".x", "a b", "é", &"a".repeat(65)] {
            assert!(validate_user_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn floor() {
        assert!(KdfParams::FLOOR.meets_floor());
        assert!(KdfParams::DEFAULT.meets_floor());
        assert!(
            !KdfParams {
                m_kib: 19 * 1024 - 1,
                ..KdfParams::FLOOR
            }
            .meets_floor()
        );
        assert!(
            !KdfParams {
                t: 1,
                ..KdfParams::FLOOR
            }
            .meets_floor()
        );
        assert!(
            !KdfParams {
                p: 0,
                ..KdfParams::FLOOR
            }
            .meets_floor()
        );
        assert!(KdfParams::DEFAULT.within_ceiling() && KdfParams::CEILING.within_ceiling());
        assert!(
            !KdfParams {
                p: 17,
                ..KdfParams::FLOOR
            }
            .within_ceiling()
        );
        assert!(
            !KdfParams {
                t: 65,
                ..KdfParams::FLOOR
            }
            .within_ceiling()
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SealedKeyRecord::parse(&bytes);
        }

        #[test]
        fn encode_parse_round_trip(
            user in "[a-z0-9][a-z0-9._-]{0,63}",
            m in any::<u32>(), t in any::<u32>(), p in any::<u32>(),
            salt in proptest::collection::vec(any::<u8>(), 16..=64),
            iv in any::<[u8; 16]>(),
            fp in any::<[u8; 32]>(),
            blocks in 1usize..64,
            tag in any::<[u8; 32]>(),
        ) {
            let rec = SealedKeyRecord {
                header: RecordHeader {
                    user_id: user, kdf: KdfId::Argon2id, kdf_params: KdfParams { m_kib: m, t, p },
                    salt, cipher: CipherId::Aes256CbcHmacSha256, iv, public_key_fingerprint: fp,
                },
                ciphertext: vec![0xA5; blocks * 16],
                tag,
            };
            let bytes = rec.encode().expect("generated within range");
            prop_assert_eq!(SealedKeyRecord::parse(&bytes), Ok(rec));
        }
    }
}
