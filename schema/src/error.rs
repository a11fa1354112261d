//! The one error type of the format layer.

use std::fmt;

/// What is wrong with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The input ended before the field was complete.
    Truncated,
    /// The field has a value this version does not know or allow.
    Unsupported,
    /// The field's length is outside its allowed range.
    BadLength,
    /// The field's content is not of the required form.
    Malformed,
    /// Bytes remain after the last field.
    TrailingBytes,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Truncated => "is truncated",
            Problem::Unsupported => "has an unsupported value",
            Problem::BadLength => "has a length out of range",
            Problem::Malformed => "is malformed",
            Problem::TrailingBytes => "is followed by unexpected bytes",
        })
    }
}

/// A value failed to parse or validate; `field` names the culprit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` {problem}")]
pub struct FormatError {
    /// The field at fault, as named in the format's documentation.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

impl FormatError {
    /// A new error about `field`.
    pub const fn new(field: &'static str, problem: Problem) -> Self {
        FormatError { field, problem }
    }
}
