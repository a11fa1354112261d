//! How strong a new pass phrase is, for the strength meter of the app and
//! the prompts of the command line.
//!
//! A pass phrase protects a key that signs payments, and the server keeps a
//! record sealed under it, so it must resist offline guessing: at least
//! [`MIN_CHARS`] characters, and zxcvbn (common passwords, dictionary words,
//! keyboard patterns, dates, the person's own name and id) must rate it at
//! least [`MIN_SCORE`] of 4.

use serde::Serialize;

/// Fewest characters accepted.
pub const MIN_CHARS: usize = 15;
/// Lowest zxcvbn score accepted (0–4).
pub const MIN_SCORE: u8 = 3;

/// The meter's reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very unlikely to be guessed).
    pub score: u8,
    /// Whether it may be used.
    pub acceptable: bool,
    /// What rules it out, for a person.
    pub problems: Vec<String>,
    /// How to do better.
    pub suggestions: Vec<String>,
}

/// Rates `passphrase`; `personal` holds the person's id, name and e-mail,
/// which must not make up the pass phrase.
pub fn assess(passphrase: &str, personal: &[&str]) -> Strength {
    let chars = passphrase.chars().count();
    let mut problems = Vec::new();
    if chars < MIN_CHARS {
        problems.push(format!("use at least {MIN_CHARS} characters ({chars} so far)"));
    }
    let inputs: Vec<&str> = personal.iter().copied().filter(|s| !s.is_empty()).collect();
    let entropy = zxcvbn::zxcvbn(passphrase, &inputs);
    let score = u8::from(entropy.score());
    let mut suggestions = Vec::new();
    if let Some(feedback) = entropy.feedback() {
        if let Some(warning) = feedback.warning() {
            problems.push(warning.to_string());
        }
        suggestions.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    let lower = passphrase.to_lowercase();
    let personal_token = personal
        .iter()
        .flat_map(|text| text.split(|c: char| c.is_whitespace() || c == '@'))
        .map(str::to_lowercase)
        .filter(|token| token.chars().count() >= 4)
        .any(|token| lower.contains(&token));
    if personal_token {
        problems.push("do not use your user id, name or e-mail address in it".to_string());
    }
    if score < MIN_SCORE && problems.is_empty() {
        problems.push("too easy to guess".to_string());
    }
    Strength {
        score,
        acceptable: chars >= MIN_CHARS && score >= MIN_SCORE && !personal_token,
        problems,
        suggestions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_personal_pass_phrases_are_refused() {
        assert!(!assess("", &[]).acceptable);
        assert!(!assess("Tr0ub4dor&3", &[]).acceptable, "too short");
        assert!(!assess("passwordpassword123", &[]).acceptable, "common");
        assert!(!assess("qwertyuiopasdfghjkl", &[]).acceptable, "keyboard walk");
        assert!(
            !assess("dana.example.dana.example", &["dana.example", "Dana Example"]).acceptable,
            "personal"
        );
        let short = assess("abc", &[]);
        assert!(short.problems.iter().any(|p| p.contains("15 characters")));
    }

    #[test]
    fn long_unusual_pass_phrases_are_accepted() {
        let good = assess(
            "marble kettle orbit seventeen lanterns",
            &["dana", "Dana Example", "dana@example.com"],
        );
        assert!(good.acceptable, "{good:?}");
        assert_eq!(good.score, 4);
    }
}
