//! Registration data: who a key belongs to, as typed when applying.
//!
//! The sealed record's inner hash is SHA-256(PKCS#8 ‖ [`RegistrationData::canonical_bytes`]),
//! so the encoding below is fixed forever for format version 1:
//!
//! ```text
//! "SGRD" 0x01
//! for each field in this order: user_id, common_name, organization,
//!   organizational_unit, email, country
//!     u16 big-endian byte length ‖ UTF-8 bytes
//! ```
//!
//! Values are validated before they are encoded, so two equal-looking
//! registrations cannot encode differently through stray whitespace, a
//! different Unicode normalisation, or invisible format characters (a
//! right-to-left override that makes a name read otherwise than it is).
//! Clients bring typed text to NFC first ([`RegistrationData::normalised`]).

use crate::error::{FormatError, Problem};
use crate::record::validate_user_id;

/// Magic and version at the start of the canonical encoding.
const CANONICAL_PREFIX: &[u8; 5] = b"SGRD\x01";
/// Longest free-text field, in characters: RFC 5280 upper bounds for CN, O and OU (ub-common-name etc., Appendix A.1).
pub const MAX_TEXT_CHARS: usize = 64;

/// The data a user registers with; it becomes the certificate subject.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct RegistrationData {
    /// Login identity; see [`validate_user_id`].
    pub user_id: String,
    /// Full name (subject CN).
    pub common_name: String,
    /// Organisation (subject O).
    pub organization: String,
    /// Department (subject OU); may be empty.
    #[serde(default)]
    pub organizational_unit: String,
    /// E-mail address, for the letter and the help desk.
    pub email: String,
    /// ISO 3166-1 alpha-2 country code (subject C).
    pub country: String,
}

impl RegistrationData {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), FormatError> {
        validate_user_id(&self.user_id)?;
        text("common_name", &self.common_name, false)?;
        text("organization", &self.organization, false)?;
        text("organizational_unit", &self.organizational_unit, true)?;
        email(&self.email)?;
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FormatError::new("country", Problem::Malformed));
        }
        Ok(())
    }

    /// The same data with its free-text fields in Unicode Normalization Form
    /// C, as [`RegistrationData::validate`] requires: what a keyboard or a
    /// paste may have decomposed (an `e` and a combining acute) is composed.
    #[must_use]
    pub fn normalised(mut self) -> RegistrationData {
        use unicode_normalization::UnicodeNormalization as _;
        for field in [
            &mut self.common_name,
            &mut self.organization,
            &mut self.organizational_unit,
        ] {
            *field = field.nfc().collect();
        }
        self
    }

    /// The canonical encoding (see the module documentation).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, FormatError> {
        self.validate()?;
        let fields = [
            &self.user_id,
            &self.common_name,
            &self.organization,
            &self.organizational_unit,
            &self.email,
            &self.country,
        ];
        let mut out = CANONICAL_PREFIX.to_vec();
        for field in fields {
            // validate() bounds every field far below u16::MAX bytes.
            out.extend_from_slice(&(field.len() as u16).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        Ok(out)
    }
}

fn text(field: &'static str, value: &str, may_be_empty: bool) -> Result<(), FormatError> {
    let chars = value.chars().count();
    if (!may_be_empty && chars == 0) || chars > MAX_TEXT_CHARS {
        return Err(FormatError::new(field, Problem::BadLength));
    }
    if value.chars().any(invisible) || value.trim() != value || value.contains("  ") {
        return Err(FormatError::new(field, Problem::Malformed));
    }
    if !unicode_normalization::is_nfc(value) {
        return Err(FormatError::new(field, Problem::Malformed));
    }
    Ok(())
}

/// Whether `c` is shown as nothing, or changes how the text around it is
/// shown, rather than being shown itself: controls, format characters
/// (bidirectional overrides and isolates, zero-width joiners and spaces, the
/// byte-order mark, tags), line and paragraph separators.
fn invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

fn email(value: &str) -> Result<(), FormatError> {
    const FIELD: &str = "email";
    if value.is_empty() || value.len() > 254 {
        return Err(FormatError::new(FIELD, Problem::BadLength));
    }
    let well_formed = value.is_ascii()
        && !value.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        && matches!(value.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.contains('@')
                && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
    if !well_formed {
        return Err(FormatError::new(FIELD, Problem::Malformed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_unnormalised_names_are_refused_and_normalised_ones_pass() {
        for name in [
            "Alice \u{202E}elpmaxE",
            "Alice\u{200B}Example",
            "Alice \u{2066}Example\u{2069}",
            "Alice\u{FEFF}",
            "Alice\u{2028}Example",
            "Alice\u{E0041}",
        ] {
            let reg = RegistrationData {
                common_name: name.into(),
                ..alice()
            };
            assert_eq!(reg.validate().expect_err("refused").field, "common_name", "{name:?}");
        }
        // Decomposed text is refused as sent, and passes once normalised.
        let decomposed = RegistrationData {
            common_name: "Ame\u{0301}lie Example".into(),
            organization: "Sko\u{0308}vde Bank".into(),
            ..alice()
        };
        assert_eq!(decomposed.validate().expect_err("refused").field, "common_name");
        let composed = decomposed.normalised();
        composed.validate().expect("NFC");
        assert_eq!(composed.common_name, "Am\u{00E9}lie Example");
        assert_eq!(composed.organization, "Sk\u{00F6}vde Bank");
        // Letters of any script stay welcome.
        for name in ["Åsa Öberg", "Zoë Ñúñez", "Ελένη Παπαδοπούλου", "محمد علي", "山田 太郎"]
        {
            RegistrationData {
                common_name: name.into(),
                ..alice()
            }
            .validate()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    pub(crate) fn alice() -> RegistrationData {
        RegistrationData {
            user_id: "alice".into(),
            common_name: "Alice Example".into(),
            organization: "Example Bank".into(),
            organizational_unit: "Payments".into(),
            email: "alice@example.com".into(),
            country: "GB".into(),
        }
    }

    #[test]
    fn canonical_encoding_is_fixed() {
        let bytes = alice().canonical_bytes().expect("valid");
        let expected = b"SGRD\x01\x00\x05alice\x00\x0dAlice Example\x00\x0cExample Bank\x00\x08Payments\x00\x11alice@example.com\x00\x02GB";
        assert_eq!(bytes, expected.to_vec());
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(RegistrationData, &str)> = vec![
            (
                RegistrationData {
                    user_id: "Alice".into(),
                    ..alice()
                },
                "user_id",
            ),
            (
                RegistrationData {
                    common_name: "".into(),
                    ..alice()
                },
                "common_name",
            ),
            (
                RegistrationData {
                    common_name: " Alice".into(),
                    ..alice()
                },
                "common_name",
            ),
            (
                RegistrationData {
                    organization: "a\u{7}b".into(),
                    ..alice()
                },
                "organization",
            ),
            (
                RegistrationData {
                    organizational_unit: "x".repeat(65),
                    ..alice()
                },
                "organizational_unit",
            ),
            (
                RegistrationData {
                    email: "alice.example.com".into(),
                    ..alice()
                },
                "email",
            ),
            (
                RegistrationData {
                    email: "a@b".into(),
                    ..alice()
                },
                "email",
            ),
            (
                RegistrationData {
                    country: "gb".into(),
                    ..alice()
                },
                "country",
            ),
        ];
        for (data, field) in cases {
            assert_eq!(data.validate().expect_err(field).field, field);
        }
        assert!(
            RegistrationData {
                organizational_unit: String::new(),
                ..alice()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn unknown_json_fields_refused() {
        let json =
            r#"{"user_id":"a","common_name":"A","organization":"O","email":"a@b.c","country":"GB","admin":true}"#;
        assert!(serde_json::from_str::<RegistrationData>(json).is_err());
    }
}
