//! Consent phrases: the secret printed on the consent letter that activates
//! a user's key (the patent's "consent phrase", E_CP(E_PP(SK))).
//!
//! # Format
//!
//! ```text
//!   K7QM-3XR0-VD9A-2NHT-E5WC-PJ4F
//!   └──────── 20 data symbols ───┘ └ 4 check symbols
//! ```
//!
//! * **Data** — 20 symbols of Crockford's base32 alphabet
//!   (`0123456789ABCDEFGHJKMNPQRSTVWXYZ`: no I, L, O or U), i.e. 100 bits
//!   from the operating system's random number generator (`getrandom`).
//! * **Check** — 4 more symbols: the first 20 bits of
//!   SHA-256(`"signet/v1/consent-phrase-check"` ‖ 0x00 ‖ the 20 data symbols
//!   as upper-case ASCII).
//! * **Display** — six groups of four separated by `-`.
//! * **Typing** — [`ConsentPhrase::parse`] ignores case, spaces and dashes
//!   and reads O as 0 and I or L as 1, as Crockford's base32 specifies; U and
//!   every other character are refused.
//!
//! A mistyped phrase (any change to the 24 symbols, whatever the kind of
//! typo) passes the check only if the 20-bit check value happens to match:
//! probability 2⁻²⁰ ≈ 1 in a million per mistyped attempt. A typo is thus
//! reported as [`PhraseError::Checksum`] — "check the letter" — and is not
//! counted as a wrong consent attempt; only well-formed phrases that fail to
//! unwrap the record count.
//!
//! The check value is public information derived from the data; it lowers
//! the phrase's secrecy by nothing (it is a function of the 100 data bits).

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Crockford's base32 alphabet (symbol values 0–31).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Number of random data symbols (5 bits each: 100 bits).
pub const DATA_SYMBOLS: usize = 20;
/// Number of check symbols (20 bits).
pub const CHECK_SYMBOLS: usize = 4;
/// Symbols per printed group.
const GROUP: usize = 4;
/// Domain separation of the check value.
const CHECK_LABEL: &[u8] = b"signet/v1/consent-phrase-check";
/// HKDF info prefix of the wrapping key.
const WRAP_LABEL: &[u8] = b"signet/v1/consent-wrap";
/// Length of the wrapping key: the master key of [`signet_crypto::etm::SealingKey`],
/// which derives the AES-256 and HMAC-SHA256 keys from it.
pub const WRAP_KEY_LEN: usize = 32;

/// Why a typed phrase was not accepted. Neither is a wrong attempt: both
/// mean "typo, check the letter".
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhraseError {
    /// A character outside the alphabet (such as U), or not 24 symbols.
    #[error("the consent phrase has a character that is not on the letter, or the wrong length")]
    Malformed,
    /// Well-formed, but the check group does not match: a typo.
    #[error("the consent phrase has a typo; check it against the letter")]
    Checksum,
}

/// A consent phrase: 100 random bits. No `Clone`; `Debug` does not show
/// it; wiped when dropped.
pub struct ConsentPhrase {
    /// The data symbols as upper-case ASCII.
    data: Zeroizing<[u8; DATA_SYMBOLS]>,
}

impl fmt::Debug for ConsentPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsentPhrase(..)")
    }
}

impl ConsentPhrase {
    /// A new phrase from the OS random number generator.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut random = Zeroizing::new([0u8; DATA_SYMBOLS]);
        getrandom::fill(random.as_mut())?;
        let mut data = Zeroizing::new([0u8; DATA_SYMBOLS]);
        for (symbol, byte) in data.iter_mut().zip(random.iter()) {
            // 256 is a multiple of 32: the low five bits are uniform.
            *symbol = ALPHABET[usize::from(byte & 0x1f)];
        }
        Ok(ConsentPhrase { data })
    }

    /// The printed form: `XXXX-XXXX-XXXX-XXXX-XXXX-CCCC`.
    pub fn display(&self) -> Zeroizing<String> {
        let check = check_symbols(&self.data);
        let symbols: Vec<u8> = self.data.iter().chain(check.iter()).copied().collect();
        let mut text = Zeroizing::new(String::with_capacity(30));
        for (index, group) in symbols.chunks(GROUP).enumerate() {
            if index > 0 {
                text.push('-');
            }
            text.extend(group.iter().map(|&b| char::from(b)));
        }
        let mut symbols = symbols;
        symbols.zeroize();
        text
    }

    /// Reads a typed phrase (see the module documentation for what is
    /// forgiven).
    pub fn parse(typed: &str) -> Result<Self, PhraseError> {
        let mut symbols = Zeroizing::new([0u8; DATA_SYMBOLS + CHECK_SYMBOLS]);
        let mut count = 0;
        for c in typed.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let symbol = canonical(c).ok_or(PhraseError::Malformed)?;
            *symbols.get_mut(count).ok_or(PhraseError::Malformed)? = symbol;
            count += 1;
        }
        if count != symbols.len() {
            return Err(PhraseError::Malformed);
        }
        let mut data = Zeroizing::new([0u8; DATA_SYMBOLS]);
        data.copy_from_slice(&symbols[..DATA_SYMBOLS]);
        if check_symbols(&data)[..] != symbols[DATA_SYMBOLS..] {
            return Err(PhraseError::Checksum);
        }
        Ok(ConsentPhrase { data })
    }

    /// The key material that wraps the user's sealed record for
    /// `application_id`:
    ///
    /// ```text
    /// HKDF-SHA256(salt = none, IKM = the 20 data symbols (ASCII),
    ///             info = "signet/v1/consent-wrap" 0x00 application_id, L = 64)   RFC 5869
    /// ```
    ///
    /// The first 32 bytes are meant for the cipher, the last 32 for the MAC.
    ///
    /// No slow KDF (Argon2id) is needed: the phrase carries 100 random bits,
    /// so guessing it offline costs 2¹⁰⁰ HKDF runs whatever their speed, and
    /// online guesses are counted and locked out by the key tier. HKDF's job
    /// here is only to turn the uniform phrase into independent keys bound
    /// to one application (RFC 5869 §3.3: extract-then-expand with no salt
    /// is fine for an input that is already uniformly random).
    pub fn wrap_key(&self, application_id: &str) -> Zeroizing<[u8; WRAP_KEY_LEN]> {
        let mut okm = Zeroizing::new([0u8; WRAP_KEY_LEN]);
        // 32 bytes is far below HKDF-SHA256's output limit: cannot fail.
        let _ = hkdf::Hkdf::<Sha256>::new(None, &self.data[..])
            .expand_multi_info(&[WRAP_LABEL, b"\0", application_id.as_bytes()], okm.as_mut());
        okm
    }
}

/// The symbol value of a typed character in canonical upper-case form.
fn canonical(c: char) -> Option<u8> {
    let upper = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let byte = u8::try_from(upper).ok()?;
    ALPHABET.contains(&byte).then_some(byte)
}

/// The four check symbols of `data`.
fn check_symbols(data: &[u8; DATA_SYMBOLS]) -> [u8; CHECK_SYMBOLS] {
    let digest = Sha256::new()
        .chain_update(CHECK_LABEL)
        .chain_update([0u8])
        .chain_update(data)
        .finalize();
    // The first 20 bits, most significant first, five at a time.
    let bits = (u32::from(digest[0]) << 12) | (u32::from(digest[1]) << 4) | (u32::from(digest[2]) >> 4);
    let mut check = [0u8; CHECK_SYMBOLS];
    for (index, symbol) in check.iter_mut().enumerate() {
        let shift = 5 * (CHECK_SYMBOLS - 1 - index);
        *symbol = ALPHABET[((bits >> shift) & 0x1f) as usize];
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_phrases_have_the_printed_shape_and_parse_back() {
        for _ in 0..200 {
            let phrase = ConsentPhrase::generate().expect("rng");
            let shown = phrase.display();
            assert_eq!(shown.len(), 29);
            let groups: Vec<&str> = shown.split('-').collect();
            assert_eq!(groups.len(), 6);
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(shown.bytes().all(|b| b == b'-' || ALPHABET.contains(&b)));
            let back = ConsentPhrase::parse(&shown).expect("parses");
            assert_eq!(*back.data, *phrase.data);
            assert_eq!(back.wrap_key("app-1"), phrase.wrap_key("app-1"));
        }
    }

    #[test]
    fn phrases_differ() {
        let a = ConsentPhrase::generate().expect("rng");
        let b = ConsentPhrase::generate().expect("rng");
        assert_ne!(*a.data, *b.data);
    }

    #[test]
    fn typing_is_forgiving_about_case_spaces_dashes_and_look_alikes() {
        let phrase = ConsentPhrase::generate().expect("rng");
        let shown = phrase.display().to_string();
        let relaxed: String = shown.to_lowercase().replace('-', " ");
        assert_eq!(*ConsentPhrase::parse(&relaxed).expect("lower case").data, *phrase.data);
        let squashed: String = shown.replace('-', "");
        assert_eq!(*ConsentPhrase::parse(&squashed).expect("no dashes").data, *phrase.data);
        let padded = format!("  {}\n", shown.replace('-', " - "));
        assert_eq!(*ConsentPhrase::parse(&padded).expect("padded").data, *phrase.data);
        // O for 0 and I / L for 1.
        let mistaken: String = shown
            .chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => 'l',
                other => other,
            })
            .collect();
        assert_eq!(
            *ConsentPhrase::parse(&mistaken).expect("look-alikes").data,
            *phrase.data
        );
        let mistaken: String = shown.chars().map(|c| if c == '1' { 'I' } else { c }).collect();
        assert_eq!(
            *ConsentPhrase::parse(&mistaken).expect("look-alikes").data,
            *phrase.data
        );
    }

    #[test]
    fn wrong_characters_and_lengths_are_malformed() {
        let phrase = ConsentPhrase::generate().expect("rng");
        let shown = phrase.display().to_string();
        let mut with_u = shown.clone();
        with_u.replace_range(0..1, "U");
        assert_eq!(ConsentPhrase::parse(&with_u).err(), Some(PhraseError::Malformed));
        for bad in [
            "",
            "----",
            &shown[..shown.len() - 1],
            &format!("{shown}A"),
            &shown.replace('-', "_"),
        ] {
            assert_eq!(ConsentPhrase::parse(bad).err(), Some(PhraseError::Malformed), "{bad:?}");
        }
        assert_eq!(
            ConsentPhrase::parse(&shown.replacen(|c: char| c.is_ascii_alphanumeric(), "é", 1)).err(),
            Some(PhraseError::Malformed)
        );
    }

    /// Every single-symbol substitution and every swap of two neighbouring
    /// different symbols of one phrase: the check catches all but a fraction
    /// close to 2⁻²⁰ (here: expected 0.0007 misses of 31 × 24 + 23 tries).
    #[test]
    fn typos_are_caught_by_the_check_group() {
        let phrase = ConsentPhrase::generate().expect("rng");
        let shown: Vec<u8> = phrase.display().bytes().filter(|&b| b != b'-').collect();
        let mut caught = 0;
        let mut passed = 0;
        for at in 0..shown.len() {
            for &other in ALPHABET.iter().filter(|&&c| c != shown[at]) {
                let mut typo = shown.clone();
                typo[at] = other;
                match ConsentPhrase::parse(std::str::from_utf8(&typo).expect("ascii")) {
                    Err(PhraseError::Checksum) => caught += 1,
                    Ok(_) => passed += 1,
                    Err(PhraseError::Malformed) => panic!("alphabet symbol refused"),
                }
            }
        }
        for at in 0..shown.len() - 1 {
            if shown[at] != shown[at + 1] {
                let mut typo = shown.clone();
                typo.swap(at, at + 1);
                match ConsentPhrase::parse(std::str::from_utf8(&typo).expect("ascii")) {
                    Err(PhraseError::Checksum) => caught += 1,
                    _ => passed += 1,
                }
            }
        }
        assert!(caught >= 31 * 24);
        assert!(passed <= 1, "{passed} typos passed");
    }

    #[test]
    fn wrap_keys_depend_on_phrase_and_application() {
        let a = ConsentPhrase::generate().expect("rng");
        let b = ConsentPhrase::generate().expect("rng");
        assert_ne!(a.wrap_key("app-1"), a.wrap_key("app-2"));
        assert_ne!(a.wrap_key("app-1"), b.wrap_key("app-1"));
    }

    #[test]
    fn wrap_key_is_hkdf_with_the_documented_inputs() {
        let phrase = ConsentPhrase::parse(&fixed_phrase()).expect("fixed phrase");
        let mut expected = [0u8; WRAP_KEY_LEN];
        hkdf::Hkdf::<Sha256>::new(None, b"0123456789ABCDEFGHJK")
            .expand(b"signet/v1/consent-wrap\0app-7", &mut expected)
            .expect("length");
        assert_eq!(*phrase.wrap_key("app-7"), expected);
    }

    fn fixed_phrase() -> String {
        let data: [u8; DATA_SYMBOLS] = *b"0123456789ABCDEFGHJK";
        let check = check_symbols(&data);
        format!(
            "{}{}",
            std::str::from_utf8(&data).expect("ascii"),
            std::str::from_utf8(&check).expect("ascii")
        )
    }

    #[test]
    fn debug_does_not_show_the_phrase() {
        let phrase = ConsentPhrase::generate().expect("rng");
        let debug = format!("{phrase:?}");
        assert_eq!(debug, "ConsentPhrase(..)");
        assert!(!debug.contains(&phrase.display()[..4]));
    }
}
