//! XML Schema 1.0 validation against the official ISO 20022 schemas
//! (`schema/iso20022/`, embedded here), by libxml2: the validator behind
//! `xmllint --schema`.
//!
//! The bytes are parsed once, strictly (no recovery, no network, no DTD:
//! a document type declaration is refused before parsing, so no entity is
//! ever expanded), and the same parsed document is validated and then read
//! by [`super::read`]. libxml2's messages come back with their line.

use std::cell::RefCell;

use libxml::parser::{Parser, ParserOptions, XmlParseFailure};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
use libxml::tree::Document;

use super::{OrderError, SchemaProblem, Version};

const PAIN_001_001_03: &str = include_str!("../../iso20022/pain.001.001.03.xsd");
const PAIN_001_001_09: &str = include_str!("../../iso20022/pain.001.001.09.xsd");
const PAIN_002_001_10: &str = include_str!("../../iso20022/pain.002.001.10.xsd");

/// The largest file read as an order (a 10,000-payment file is about 5 MB).
pub const MAX_ORDER_BYTES: usize = 64 * 1024 * 1024;

thread_local! {
    /// Compiled schemas, one per version, kept per thread (libxml2's
    /// validation contexts are not shared between threads); orders are
    /// checked on one thread ([`super::check`]), so they are compiled once.
    static VALIDATORS: RefCell<[Option<SchemaValidationContext>; 2]> = const { RefCell::new([None, None]) };
    /// The compiled pain.002.001.10 schema, likewise.
    static REPORT_VALIDATOR: RefCell<Option<SchemaValidationContext>> = const { RefCell::new(None) };
}

fn schema_text(version: Version) -> &'static str {
    match version {
        Version::V03 => PAIN_001_001_03,
        Version::V09 => PAIN_001_001_09,
    }
}

fn problems(errors: Vec<libxml::error::StructuredError>) -> Vec<SchemaProblem> {
    errors
        .into_iter()
        .map(|e| SchemaProblem {
            line: e.line.and_then(|l| u32::try_from(l).ok()),
            message: e.message.unwrap_or_default().trim().to_owned(),
        })
        .collect()
}

/// Parses `bytes` as XML: well-formed, UTF-8 or declared encoding, no
/// document type declaration.
pub fn parse(bytes: &[u8]) -> Result<Document, OrderError> {
    if bytes.len() > MAX_ORDER_BYTES {
        return Err(OrderError::TooLarge { limit: MAX_ORDER_BYTES });
    }
    let refuse = |message: &str| {
        Err(OrderError::NotXml(vec![SchemaProblem {
            line: None,
            message: message.into(),
        }]))
    };
    // Anywhere, not only before the root: a comment cannot hide one from this.
    if declares_markup(bytes) {
        return refuse("a document type declaration is not allowed in a payment order");
    }
    // ISO 20022 messages are UTF-8; another encoding would make this check and
    // the bank's parser see different characters.
    if std::str::from_utf8(bytes).is_err() {
        return refuse("a payment order must be UTF-8");
    }
    if let Some(declared) = declared_encoding(bytes)
        && !declared.eq_ignore_ascii_case("UTF-8")
    {
        return refuse("a payment order must be UTF-8 (its XML declaration names another encoding)");
    }
    let options = ParserOptions {
        recover: false,
        no_def_dtd: true,
        no_error: false,
        no_warning: true,
        no_net: true,
        // Whitespace between elements is not kept as text nodes (element-only
        // content ignores it), and small texts are stored compactly: fewer
        // nodes to build, validate, read and free.
        no_blanks: true,
        compact: true,
        ..ParserOptions::default()
    };
    match Parser::default().parse_string_with_diagnostics(bytes, options) {
        Ok((document, diagnostics)) => {
            let errors: Vec<_> = diagnostics
                .into_iter()
                .filter(|d| !matches!(d.level, libxml::error::XmlErrorLevel::Warning))
                .collect();
            if errors.is_empty() {
                Ok(document)
            } else {
                Err(OrderError::NotXml(problems(errors)))
            }
        }
        Err(XmlParseFailure::ParseFailed(diagnostics)) => Err(OrderError::NotXml(problems(diagnostics))),
        Err(other) => Err(OrderError::NotXml(vec![SchemaProblem {
            line: None,
            message: format!("{other:?}"),
        }])),
    }
}

/// The `encoding` of the XML declaration, if the file starts with one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let declaration = text.strip_prefix("<?xml")?;
    let declaration = &declaration[..declaration.find("?>")?];
    let at = declaration.find("encoding")?;
    let rest = declaration[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next()?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_owned())
}

/// Whether `<!DOCTYPE` or `<!ENTITY` stands anywhere in the bytes (one pass).
fn declares_markup(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == b'<') {
        let after = &rest[at + 1..];
        if after.starts_with(b"!DOCTYPE") || after.starts_with(b"!ENTITY") {
            return true;
        }
        rest = after;
    }
    false
}

/// Validates `document` against the schema of `version`.
pub fn validate(document: &Document, version: Version) -> Result<(), OrderError> {
    VALIDATORS.with(|cell| {
        let mut validators = cell.borrow_mut();
        let slot = &mut validators[version as usize];
        let context = match slot {
            Some(context) => context,
            None => {
                let mut parser = SchemaParserContext::from_buffer(schema_text(version));
                let compiled = SchemaValidationContext::from_parser(&mut parser).map_err(|e| OrderError::Schema {
                    version,
                    problems: problems(e),
                })?;
                slot.insert(compiled)
            }
        };
        context.validate_document(document).map_err(|e| OrderError::Schema {
            version,
            problems: problems(e),
        })
    })
}

/// Validates `document` against the pain.002.001.10 schema.
pub fn validate_status_report(document: &Document) -> Result<(), OrderError> {
    REPORT_VALIDATOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let context = match &mut *slot {
            Some(context) => context,
            None => {
                let mut parser = SchemaParserContext::from_buffer(PAIN_002_001_10);
                let compiled = SchemaValidationContext::from_parser(&mut parser)
                    .map_err(|e| OrderError::ReportSchema(problems(e)))?;
                slot.insert(compiled)
            }
        };
        context
            .validate_document(document)
            .map_err(|e| OrderError::ReportSchema(problems(e)))
    })
}
