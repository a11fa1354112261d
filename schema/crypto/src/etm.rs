//! Encrypt-then-MAC sealing of opaque blobs with associated data: the key
//! server's storage-key encryption at rest and its consent wraps, and the
//! sealed channel's message bodies.
//!
//! ```text
//! enc_key, mac_key = HKDF-SHA256(master, info = "signet/v1/etm/" purpose 0x00 {"enc" | "mac"})   RFC 5869
//! blob = "SGEB" ‖ 0x01 ‖ IV (16, OS RNG) ‖ AES-256-CBC(enc_key, IV, PKCS#7(plaintext)) ‖ tag (32)
//! tag  = HMAC-SHA256(mac_key, u32be(len(aad)) ‖ aad ‖ "SGEB" ‖ 0x01 ‖ IV ‖ ciphertext)                  RFC 2104
//! ```
//!
//! The associated data binds a blob to its place (a user id, a message
//! counter): a blob moved elsewhere fails its tag. The tag is checked in
//! constant time before anything is decrypted, so there is no padding oracle.

use aes::Aes256;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, Result};

const MAGIC: &[u8; 5] = b"SGEB\x01";
const IV_LEN: usize = 16;
const TAG_LEN: usize = 32;
/// Bytes a sealed blob adds to its plaintext, at most (header, IV, a full padding block, tag).
pub const OVERHEAD: usize = MAGIC.len() + IV_LEN + 16 + TAG_LEN;

/// A pair of keys for one purpose. No `Debug`; wiped on drop.
pub struct SealingKey {
    encryption: Zeroizing<[u8; 32]>,
    mac: Zeroizing<[u8; 32]>,
}

impl SealingKey {
    /// Derives the pair for `purpose` (e.g. `"storage"`, `"consent"`) from a
    /// 32-byte master key.
    pub fn derive(master: &[u8; 32], purpose: &str) -> SealingKey {
        let hkdf = Hkdf::<Sha256>::new(None, master);
        let expand = |label: &[u8]| {
            let mut okm = Zeroizing::new([0u8; 32]);
            // 32 bytes is far below HKDF-SHA256's 8160-byte limit: cannot fail.
            let _ = hkdf.expand_multi_info(&[b"signet/v1/etm/", purpose.as_bytes(), b"\0", label], okm.as_mut());
            okm
        };
        SealingKey {
            encryption: expand(b"enc"),
            mac: expand(b"mac"),
        }
    }

    fn tag(&self, aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length: cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.mac.as_ref()).unwrap_or_else(|_| unreachable!());
        mac.update(&(aad.len() as u32).to_be_bytes());
        mac.update(aad);
        mac.update(MAGIC);
        mac.update(iv);
        mac.update(ciphertext);
        mac
    }

    /// Seals `plaintext`, bound to `aad`, with a fresh IV from the OS.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|e| Error::System(format!("OS random number generator: {e}")))?;
        let ciphertext = cbc::Encryptor::<Aes256>::new(&(*self.encryption).into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(plaintext);
        let tag = self.tag(aad, &iv, &ciphertext).finalize().into_bytes();
        let mut out = Vec::with_capacity(MAGIC.len() + IV_LEN + ciphertext.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens a blob sealed for `aad`; any alteration, another `aad` or
    /// another key is [`Error::SealedBlobInvalid`].
    pub fn open(&self, aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let body = blob.strip_prefix(MAGIC.as_slice()).ok_or(Error::SealedBlobInvalid)?;
        if body.len() < IV_LEN + 16 + TAG_LEN || !(body.len() - IV_LEN - TAG_LEN).is_multiple_of(16) {
            return Err(Error::SealedBlobInvalid);
        }
        let (iv, rest) = body.split_at(IV_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        self.tag(aad, iv, ciphertext)
            .verify_slice(tag)
            .map_err(|_| Error::SealedBlobInvalid)?;
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| Error::SealedBlobInvalid)?;
        cbc::Decryptor::<Aes256>::new(&(*self.encryption).into(), &iv.into())
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| Error::SealedBlobInvalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(purpose: &str) -> SealingKey {
        SealingKey::derive(&[42; 32], purpose)
    }

    #[test]
    fn round_trip_and_binding() {
        let k = key("storage");
        let blob = k.seal(b"user:alice", b"sealed record bytes").expect("seal");
        assert_eq!(
            k.open(b"user:alice", &blob).expect("open").as_slice(),
            b"sealed record bytes"
        );
        assert!(matches!(k.open(b"user:bob", &blob), Err(Error::SealedBlobInvalid)));
        assert!(matches!(
            key("consent").open(b"user:alice", &blob),
            Err(Error::SealedBlobInvalid)
        ));
        assert!(blob.len() <= b"sealed record bytes".len() + OVERHEAD);
    }

    #[test]
    fn every_bit_flip_and_truncation_is_rejected() {
        let k = key("storage");
        let blob = k.seal(b"aad", &[7; 40]).expect("seal");
        for bit in 0..blob.len() * 8 {
            let mut b = blob.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(k.open(b"aad", &b).is_err(), "bit {bit}");
        }
        for cut in 0..blob.len() {
            assert!(k.open(b"aad", &blob[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn empty_plaintext_is_fine() {
        let k = key("channel");
        let blob = k.seal(b"", b"").expect("seal");
        assert!(k.open(b"", &blob).expect("open").is_empty());
    }
}
