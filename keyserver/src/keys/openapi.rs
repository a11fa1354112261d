//! The key server's HTTP API as an OpenAPI 3.1 document
//! (<https://spec.openapis.org/oas/v3.1.0>), served on [`DOCUMENT_PATH`].
//!
//! The operations are the route table's ([`crate::route_table::ROUTES`]):
//! method, path, path parameters, who must sign (the four `signet-*`
//! headers of [`signed_headers`]), the request body and the answer with its
//! media type all come from each route's entry; [`doc`], one exhaustive
//! match over [`RouteId`], adds what only a reader needs (summary,
//! description, query parameters, the errors particular to the route).
//!
//! Body schemas come from the API types themselves (`utoipa::ToSchema`,
//! derived in `signet_schema` under its `openapi` feature), so the document
//! follows the types. Error answers are grouped by the status that
//! [`status_of`] gives each [`ApiErrorCode`], and every one carries the
//! [`ApiError`] body. `tests/openapi.rs` checks the document against the
//! route table and the types.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use signet_schema::api::{
    ActionDone, ApiError, ApiErrorCode, ApplyRequest, ApplyResponse, AuditVerification, CertificateInfo,
    CertificateStatus, ConsentRequest, ConsentResponse, EventInfo, LetterInfo, LetterPage, Policy, PreloginRequest,
    PreloginResponse, ReregisterRequest, ReregisterResponse, RevokeRequest, RevokeResponse, SigninRequest,
    SigninResponse, StaffRevokeRequest, UserInfo, UserPage, signed_headers,
};
use signet_schema::protocol::Bytes;
use utoipa::ToSchema;

use crate::error::status_of;
use crate::json::MAX_BODY;
use crate::route_table::{Caller, Payload, ROUTES, Route, RouteId};
use signet_schema::channel::SEALED_CONTENT_TYPE;

/// Where the key server serves this document.
pub const DOCUMENT_PATH: &str = "/v1/openapi.json";

/// The OpenAPI version the document is written in.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// The whole OpenAPI document, as JSON.
pub fn document() -> Value {
    let mut paths: BTreeMap<&'static str, Map<String, Value>> = BTreeMap::new();
    let mut schemas: BTreeMap<String, Value> = BTreeMap::new();
    let mut add_schemas = |payload: &Body| {
        for (name, schema) in &payload.components {
            schemas.entry(name.clone()).or_insert_with(|| schema.clone());
        }
    };
    let error = named::<ApiError>();
    add_schemas(&error);
    for op in ROUTES.iter().map(Operation::new) {
        if let Some(body) = &op.body {
            add_schemas(body);
        }
        if let Answer::Json(answer) = &op.answer {
            add_schemas(answer);
        }
        for payload in &op.doc.parameter_schemas {
            add_schemas(payload);
        }
        let method = op.route.method.to_ascii_lowercase();
        paths
            .entry(op.route.path)
            .or_default()
            .insert(method, op.to_json(&error.schema));
    }
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Signet key server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": description(),
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "tags": tags(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": signed_header_parameters(),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before retrying (RFC 9110 §10.2.3).",
                    "schema": { "type": "integer", "minimum": 0 },
                },
            },
        },
    })
}

/// `GET /v1/openapi.json`: the document as pretty-printed JSON text, as served.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_else(|_| String::from("{}"));
    text.push('\n');
    text
}

fn description() -> String {
    format!(
        "The Signet key server keeps sealed key records it cannot open, registers users with consent \
         letters, issues certificates and archives them for auditors. This is version 1 of its HTTP API.\n\n\
         Bodies are JSON (`application/json`) of at most {MAX_BODY} \
         bytes, sent with a `Content-Length` header; binary values in them are standard base64. Times are \
         Unix seconds.\n\n\
         Every failure is answered with an `ApiError` body whose `code` is stable and whose HTTP status \
         follows from the code.\n\n\
         Routes of the help desk, of auditors and re-registration take a request signed with the person's \
         own key: the headers `{signer}`, `{timestamp}`, `{nonce}` and `{signature}` carry who signs, when \
         (within five minutes of the server's clock), a nonce used once and the RSASSA-PSS-SHA256 signature \
         (RFC 8017 §8.1) made with the key of the signer's active certificate over the bytes\n\n\
         ```\n\"signet/v2/signed-request\" LF server LF signer LF method LF path-and-query LF timestamp LF \
         nonce LF hex(SHA-256(body))\n```\n\n\
         where the server is the lower-case hex SHA-256 of this key tier's integrity key (the one the \
         bootstrap document carries), the signer is as the signer header names it, the path and query are \
         exactly as sent and the body hash is lower-case hex (of the empty string when there is no body; of \
         the body as unsealed on a sealed route).",
        signer = signed_headers::SIGNER,
        timestamp = signed_headers::TIMESTAMP,
        nonce = signed_headers::NONCE,
        signature = signed_headers::SIGNATURE,
    )
}

fn tags() -> Value {
    json!([
        { "name": "public", "description": "Published material: policy, CA certificate, CRL, certificates, this document." },
        { "name": "channel", "description": "Opening the sealed channel to the key tier." },
        { "name": "signer delivery", "description": "Signed releases of the signing core, which clients fetch, check and run from memory." },
        { "name": "registration", "description": "Applying, consenting with the letter's phrase, re-registering." },
        { "name": "sign-in", "description": "Releasing the sealed key record to the user who proves the pass phrase." },
        { "name": "revocation", "description": "Revoking one's own key." },
        { "name": "help desk", "description": "Consent letters and user accounts; signed by a help-desk account." },
        { "name": "audit", "description": "The certificate archive and the audit log; signed by an auditor account." },
    ])
}

/// Names of the reusable header parameters of signed requests, with the header each one is.
const SIGNED_HEADER_PARAMETERS: [(&str, &str); 4] = [
    ("SignerId", signed_headers::SIGNER),
    ("SignedTimestamp", signed_headers::TIMESTAMP),
    ("SignedNonce", signed_headers::NONCE),
    ("Signature", signed_headers::SIGNATURE),
];

fn signed_header_parameters() -> Value {
    let described = |header: &str| -> (&'static str, Value) {
        match header {
            signed_headers::SIGNER => ("The signer's user id.", json!({ "type": "string" })),
            signed_headers::TIMESTAMP => (
                "When the request was signed, Unix seconds; within five minutes of the server's clock.",
                json!({ "type": "integer", "format": "int64" }),
            ),
            signed_headers::NONCE => (
                "16 to 64 characters of base64 or hex, never used twice.",
                json!({ "type": "string", "minLength": 16, "maxLength": 64, "pattern": "^[A-Za-z0-9+/=_-]{16,64}$" }),
            ),
            _ => (
                "RSASSA-PSS-SHA256 signature over the signed-request bytes, standard base64.",
                json!({ "type": "string", "format": "byte", "contentEncoding": "base64" }),
            ),
        }
    };
    let mut out = Map::new();
    for (name, header) in SIGNED_HEADER_PARAMETERS {
        let (description, schema) = described(header);
        out.insert(
            name.to_owned(),
            json!({ "name": header, "in": "header", "required": true, "description": description, "schema": schema }),
        );
    }
    Value::Object(out)
}

/// A JSON body or answer: the schema to put in place and the named schemas it refers to.
struct Body {
    schema: Value,
    components: Vec<(String, Value)>,
}

/// A `$ref` to `T`'s schema, with `T`'s schema and those it refers to.
fn named<T: ToSchema>() -> Body {
    let mut found = Vec::new();
    T::schemas(&mut found);
    found.push((T::name().into_owned(), T::schema()));
    let components = found
        .into_iter()
        .map(|(name, schema)| {
            let schema = serde_json::to_value(schema).unwrap_or_else(|e| json!({ "description": e.to_string() }));
            (name, schema)
        })
        .collect();
    Body {
        schema: json!({ "$ref": format!("#/components/schemas/{}", T::name()) }),
        components,
    }
}

/// A named schema written here, for a type of `signet_schema::channel`; its
/// fields are all required and no others are allowed, as the type's
/// `deny_unknown_fields` says. `tests/openapi.rs` checks it against the type.
fn written<const N: usize>(name: &str, description: &str, fields: [(&str, &str, Value); N]) -> Body {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (field, text, mut schema) in fields {
        if let Some(object) = schema.as_object_mut() {
            object.insert("description".to_owned(), Value::from(text));
        }
        properties.insert(field.to_owned(), schema);
        required.push(Value::from(field));
    }
    let mut components = named::<Bytes>().components;
    components.push((
        name.to_owned(),
        json!({
            "type": "object",
            "description": description,
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }),
    ));
    Body {
        schema: json!({ "$ref": format!("#/components/schemas/{name}") }),
        components,
    }
}

/// What a route answers with on success (always `200 OK`).
enum Answer {
    /// A JSON document.
    Json(Body),
    /// Raw bytes of a media type.
    Raw {
        media_type: &'static str,
        schema: Value,
        description: &'static str,
    },
}

/// What the API description says of a route beyond the route table.
struct Doc {
    operation_id: &'static str,
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    /// For a route answering with bytes: their schema and what they are.
    raw: Option<(Value, &'static str)>,
    query: Vec<Value>,
    /// Schemas referred to by query parameters.
    parameter_schemas: Vec<Body>,
    /// The errors particular to this route; those every route of its kind has are added.
    errors: &'static [ApiErrorCode],
}

/// One operation of the API: a route of the table with its description.
struct Operation {
    route: &'static Route,
    doc: Doc,
    body: Option<Body>,
    answer: Answer,
}

/// A route table's payload as a JSON body, if it is one.
fn json_payload(payload: Payload) -> Option<Body> {
    match payload {
        Payload::Json(name) => Some(schema_named(name).unwrap_or_else(|| unknown_schema(name))),
        Payload::JsonList(name) => {
            let item = schema_named(name).unwrap_or_else(|| unknown_schema(name));
            Some(Body {
                schema: json!({ "type": "array", "items": item.schema }),
                components: item.components,
            })
        }
        Payload::Raw(_) | Payload::Empty => None,
    }
}

/// A schema name the route table uses that [`schema_named`] lacks (the
/// tests refuse it).
fn unknown_schema(name: &str) -> Body {
    Body {
        schema: json!({ "description": format!("unknown schema {name}") }),
        components: Vec::new(),
    }
}

impl Operation {
    fn new(route: &'static Route) -> Self {
        let doc = doc(route.id);
        let answer = match route.answer {
            Payload::Raw(media_type) => {
                let (schema, description) = doc.raw.clone().unwrap_or((binary(), ""));
                Answer::Raw {
                    media_type,
                    schema,
                    description,
                }
            }
            other => Answer::Json(json_payload(other).unwrap_or_else(|| unknown_schema("of nothing"))),
        };
        Operation {
            route,
            body: json_payload(route.request),
            answer,
            doc,
        }
    }

    /// Who must have signed, for a signed route.
    fn signer(&self) -> Option<&'static str> {
        match self.route.caller {
            Caller::Anyone | Caller::ProvingKnowledge => None,
            Caller::SignedByUser => Some("user, help-desk or auditor"),
            Caller::SignedByHelpDesk => Some("help-desk"),
            Caller::SignedByAuditor => Some("auditor"),
        }
    }

    fn to_json(&self, error_schema: &Value) -> Value {
        let mut parameters: Vec<Value> = path_parameters(self.route.path);
        parameters.extend(self.doc.query.iter().cloned());
        if self.route.caller.signs() {
            for (name, _) in SIGNED_HEADER_PARAMETERS {
                parameters.push(json!({ "$ref": format!("#/components/parameters/{name}") }));
            }
        }
        let mut responses = Map::new();
        responses.insert("200".to_owned(), self.success());
        for (status, codes) in self.error_statuses() {
            let mut text = status_reason(status).to_owned();
            for code in &codes {
                text.push_str(&format!("\n- `{}`: {}", code_name(*code), code_text(*code)));
            }
            let mut response = json!({
                "description": text,
                "content": { "application/json": { "schema": error_schema } },
            });
            if status == 429 {
                response["headers"] = json!({ "Retry-After": { "$ref": "#/components/headers/Retry-After" } });
            }
            responses.insert(status.to_string(), response);
        }
        let mut description = self.doc.description.to_owned();
        if let Some(who) = self.signer() {
            description.push_str(&format!(
                "\n\nSigned request: the signer must be an active {who} account."
            ));
        }
        let mut op = json!({
            "tags": [self.doc.tag],
            "operationId": self.doc.operation_id,
            "summary": self.doc.summary,
            "description": description,
            "responses": responses,
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = &self.body {
            op["requestBody"] = if self.route.sealed {
                json!({
                    "required": true,
                    "description": format!(
                        "Sealed end to end: a `SealedMessage` of an open channel session whose body, once unsealed \
                         for this method, path and counter, is the JSON shown here. The answer (success or typed error, \
                         with its status) comes back sealed alike. A plain body is refused unread (415 \
                         `sealing-required`)."
                    ),
                    "content": { SEALED_CONTENT_TYPE: { "schema": body.schema } },
                })
            } else {
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": body.schema } },
                })
            };
        }
        op
    }

    fn success(&self) -> Value {
        match &self.answer {
            Answer::Json(payload) => json!({
                "description": "Done.",
                "content": { "application/json": { "schema": payload.schema } },
            }),
            Answer::Raw {
                media_type,
                schema,
                description,
            } => {
                let mut content = Map::new();
                content.insert((*media_type).to_owned(), json!({ "schema": schema }));
                json!({ "description": description, "content": content })
            }
        }
    }

    /// Every error code the route may answer with, grouped by HTTP status.
    fn error_statuses(&self) -> BTreeMap<u16, Vec<ApiErrorCode>> {
        use ApiErrorCode as C;
        let mut codes: Vec<ApiErrorCode> = Vec::new();
        let mut add = |more: &[ApiErrorCode]| {
            for code in more {
                if !codes.contains(code) {
                    codes.push(*code);
                }
            }
        };
        add(self.doc.errors);
        if self.body.is_some() {
            add(&[C::BadRequest, C::PayloadTooLarge]);
        }
        if self.route.path.contains('{') {
            add(&[C::NotFound]);
        }
        if self.route.caller.signs() {
            add(&[
                C::BadRequest,
                C::StaleRequest,
                C::BadSignature,
                C::Forbidden,
                C::NonceReused,
                C::PayloadTooLarge,
            ]);
        }
        add(&[C::RateLimited, C::Unavailable, C::Internal]);
        let mut by_status: BTreeMap<u16, Vec<ApiErrorCode>> = BTreeMap::new();
        for code in codes {
            by_status.entry(status_of(code).as_u16()).or_default().push(code);
        }
        by_status
    }
}

/// The `{name}` segments of a path pattern, as path parameters.
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let description = match name {
                "serial" => "Certificate serial number, hex (upper case as issued; lower case is accepted).",
                "application" => "The application's reference, as listed by the help desk's letters.",
                "user" => "User id.",
                _ => "",
            };
            json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
        })
        .collect()
}

/// `after`: where a page of a help-desk list begins.
fn page_after(what: &str) -> Value {
    query(
        "after",
        &format!("Start after this entry: {what}."),
        json!({ "type": "string" }),
    )
}

/// `limit`: how many entries one page of a help-desk list holds.
fn page_limit() -> Value {
    query(
        "limit",
        &format!(
            "Entries on the page, {} unless given.",
            signet_schema::api::DEFAULT_PAGE
        ),
        json!({ "type": "integer", "minimum": 1, "maximum": signet_schema::api::MAX_PAGE }),
    )
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn code_name(code: ApiErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(Value::String(name)) => name,
        _ => format!("{code:?}"),
    }
}

fn status_reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// What each error code means, for the person reading the document.
fn code_text(code: ApiErrorCode) -> &'static str {
    use ApiErrorCode as C;
    match code {
        C::BadRequest => "the request is malformed (body, header, query or field; `field` may say which)",
        C::PayloadTooLarge => "the body is larger than the route allows",
        C::NotFound => "no such route or object",
        C::MethodNotAllowed => "the method is not allowed on this route",
        C::IdentityTaken => "the user id is taken",
        C::NonceReused => "the nonce was used before or is unknown",
        C::StaleRequest => "the time stamp is too far from the server's clock, or the session is no longer valid",
        C::BadSignature => "the PKCS#10 request or the request's signature does not verify",
        C::SigninFailed => "wrong user id or pass phrase (indistinguishable by design)",
        C::PhraseTypo => "the consent phrase has a typo (its check group does not match)",
        C::WrongPhrase => "the consent phrase is wrong",
        C::Locked => "too many failures: wait the time the message gives, or until the help desk unlocks",
        C::LetterExpired => "the letter expired; the help desk must issue a new one",
        C::WrongState => "the request does not fit the account's or the object's state",
        C::Revoked => "the key was revoked",
        C::Forbidden => "not signed, or not by an active account allowed on this route",
        C::RateLimited => "too many requests; retry after the time in `Retry-After`",
        C::SealingRequired => "the route takes only bodies sealed end to end; the plain body was not read",
        C::UnsupportedMediaType => {
            "the body's Content-Type is neither `application/json` nor the sealed type the route takes"
        }
        C::RequestTimeout => "the request did not arrive whole in time; the connection was closed",
        C::Unavailable => {
            "the server cannot serve the request now (database or key tier unreachable, tables full); retry later"
        }
        C::Internal => "the server failed; the log has the detail",
    }
}

/// The schema of raw bytes.
fn binary() -> Value {
    json!({ "type": "string", "format": "binary" })
}

/// What the API description says of the route `id`, beyond the route table.
fn doc(id: RouteId) -> Doc {
    use ApiErrorCode as C;
    use RouteId as R;
    let text = |operation_id, tag, summary, description| Doc {
        operation_id,
        tag,
        summary,
        description,
        raw: None,
        query: Vec::new(),
        parameter_schemas: Vec::new(),
        errors: &[],
    };
    let number =
        |description: &'static str| json!({ "type": "integer", "format": "int64", "description": description });
    let certificate_status = named::<CertificateStatus>();
    let certificate_queries = vec![
        query("user", "Only this user's certificates.", json!({ "type": "string" })),
        query(
            "serial",
            "Only the certificate with this serial (any case).",
            json!({ "type": "string" }),
        ),
        query(
            "status",
            "Only certificates with this status.",
            certificate_status.schema.clone(),
        ),
        query("from", "Issued at or after, Unix seconds.", number("Unix seconds")),
        query("to", "Issued at or before, Unix seconds.", number("Unix seconds")),
        query(
            "limit",
            "At most this many (1 to 1000; default 100).",
            json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }),
        ),
        query("offset", "Skip this many.", json!({ "type": "integer", "minimum": 0 })),
    ];
    match id {
        R::Policy => Doc {
            ..text(
                "getPolicy",
                "public",
                "What the server asks of clients",
                "Argon2id cost, RSA key size and signature scheme for new keys, the server's clock and how long \
                 consent letters stay valid.",
            )
        },
        R::Apply => Doc {
            errors: &[C::StaleRequest, C::NonceReused, C::BadSignature, C::IdentityTaken],
            ..text(
                "apply",
                "registration",
                "Apply to register a new key",
                "Stores the sealed key record (which the server cannot open), the PKCS#10 request (RFC 2986) and \
                 the sign-in verifier, and queues a consent letter with a one-time phrase for the help desk to \
                 print and post.",
            )
        },
        R::Consent => Doc {
            errors: &[
                C::PhraseTypo,
                C::WrongPhrase,
                C::WrongState,
                C::Locked,
                C::LetterExpired,
            ],
            ..text(
                "consent",
                "registration",
                "Consent with the phrase from the letter",
                "Checks the phrase typed from the consent letter; on success the account becomes active and its \
                 certificate is issued. Every user id is answered alike; after a few wrong phrases each further \
                 one makes the next wait, but the letter's phrase is always tried.",
            )
        },
        R::Prelogin => Doc {
            ..text(
                "prelogin",
                "sign-in",
                "First step of signing in",
                "The KDF salt and Argon2id parameters the signing core needs to derive the verifier. Users \
                 without a key get deterministic decoys, so the answer does not tell whether a user exists.",
            )
        },
        R::Signin => Doc {
            errors: &[C::SigninFailed, C::Locked, C::Revoked],
            ..text(
                "signin",
                "sign-in",
                "Prove the pass phrase and receive the sealed key record",
                "Releases the sealed record, its registration data and the active certificate once the verifier \
                 matches. Failed attempts are counted per user id, per id and client address and per address: \
                 waits, then a lock for the address that keeps guessing (see the `locked` answer's message).",
            )
        },
        R::Revoke => Doc {
            errors: &[C::SigninFailed, C::Locked, C::Revoked],
            ..text(
                "revoke",
                "revocation",
                "Revoke one's own key",
                "Proves the pass phrase, erases the sealed record for good, revokes the certificate (RFC 5280 \
                 §5.3.1 reason) and publishes a new CRL.",
            )
        },
        R::CaPem => Doc {
            raw: Some((json!({ "type": "string" }), "The CA certificate, PEM (RFC 7468 §5).")),
            ..text(
                "getCaCertificate",
                "public",
                "The CA certificate",
                "The certificate of the CA that issues users' certificates.",
            )
        },
        R::CaCertificate => Doc {
            raw: Some((binary(), "The CA certificate, DER (RFC 5280 §4.2.2.1).")),
            ..text(
                "getCaCertificateDer",
                "public",
                "The CA certificate, DER",
                "The CA certificate as the authority information access of users' certificates names it.",
            )
        },
        R::Crl => Doc {
            raw: Some((binary(), "The current CRL, DER (RFC 5280 §5).")),
            ..text(
                "getCrl",
                "public",
                "The current certificate revocation list",
                "The latest CRL; a new one is published whenever a certificate is revoked or superseded, and \
                 when the current one nears its next update.",
            )
        },
        R::Certificate => Doc {
            ..text(
                "getCertificate",
                "public",
                "One certificate by serial number",
                "A certificate as published, with its status and, when revoked, when and why.",
            )
        },
        R::SignerRelease => Doc {
            errors: &[C::NotFound],
            ..text(
                "getSignerRelease",
                "signer delivery",
                "The current release of the signing core",
                "The newest published release as the offline release key signed it (version, signer protocol, \
                 each target's binary by SHA-256 and size), with the key tier's freshness statement over it, \
                 signed by its integrity key and valid for seven days, which also carries the policy on \
                 installed signers. Clients run a signer only from a release that passes every check; 404 \
                 while none is published.",
            )
        },
        R::Hosts => Doc {
            ..text(
                "listHosts",
                "public",
                "The host applications orders go to",
                "Every bank host application the CA certified: its name, its HTTPS address and its current \
                 certificate (extended key usage \"Signet host\", 1.3.6.1.4.1.61126.1.1) \
                 with that certificate's status. Clients check the certificate against the CA and the CRL, pin \
                 it, and open the sealed channel to the host with its key.",
            )
        },
        R::SignerBinary => Doc {
            raw: Some((binary(), "The signer binary whose SHA-256 the path names.")),
            errors: &[C::NotFound],
            ..text(
                "getSignerBinary",
                "signer delivery",
                "A signer binary, by SHA-256",
                "A binary named by a published release. The bytes behind a hash never change, so the answer \
                 may be cached for good; clients check the hash and size against the signed release.",
            )
        },
        R::Reregister => Doc {
            errors: &[C::SigninFailed, C::Locked, C::Revoked],
            ..text(
                "reregister",
                "registration",
                "Re-register: new pass phrase, or new key pair",
                "Replaces the sealed record (new pass phrase) and, with a PKCS#10 request, the key pair: a new \
                 certificate is issued and the old one superseded. Signed with the current key by the user \
                 themself, and proving the current pass phrase.",
            )
        },
        R::Letters => Doc {
            query: vec![page_after("the `next` of the previous page"), page_limit()],
            ..text(
                "listLetters",
                "help desk",
                "Consent letters waiting to be printed or posted",
                "Queued and printed letters, oldest first, a page at a time.",
            )
        },
        R::LetterPdf => Doc {
            raw: Some((binary(), "The printable one-page letter.")),
            errors: &[C::WrongState],
            ..text(
                "getLetterPdf",
                "help desk",
                "Download a consent letter",
                "The letter with the consent phrase. It is kept only until it is marked printed; afterwards the \
                 answer is `wrong-state`.",
            )
        },
        R::LetterPrinted => Doc {
            ..text(
                "markLetterPrinted",
                "help desk",
                "Mark a letter printed",
                "The letter's PDF, and with it the phrase, is deleted from the server.",
            )
        },
        R::LetterDispatched => Doc {
            ..text(
                "markLetterDispatched",
                "help desk",
                "Mark a letter posted",
                "The letter has left; its PDF, if still kept, is deleted.",
            )
        },
        R::Users => Doc {
            query: vec![
                query(
                    "state",
                    "Only users in this state.",
                    json!({ "type": "string", "enum": signet_schema::vocabulary::UserState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() }),
                ),
                query(
                    "q",
                    "Only users with, for each word of this text, a term beginning with it (any case): their id, \
                     e-mail address, its domain or a word of their name. At most 4 words of 64 characters. \
                     Without words users come in id order; with words, in the order of the term the longest \
                     word matched.",
                    json!({ "type": "string" }),
                ),
                page_after("the `next` of the previous page"),
                page_limit(),
            ],
            ..text(
                "listUsers",
                "help desk",
                "Search users",
                "Users with their registration data, role, state and sign-in lock.",
            )
        },
        R::UserReset => Doc {
            errors: &[C::WrongState],
            ..text(
                "resetUser",
                "help desk",
                "Reset a user who lost the pass phrase",
                "Erases the key, revokes its certificate (publishing a new CRL), withdraws a pending application \
                 and lets the user apply again for a new letter.",
            )
        },
        R::UserUnlock => Doc {
            ..text(
                "unlockUser",
                "help desk",
                "Lift a sign-in lock",
                "Clears the user's failed sign-ins and lock.",
            )
        },
        R::UserRevoke => Doc {
            errors: &[C::WrongState],
            ..text(
                "revokeUser",
                "help desk",
                "Revoke a user",
                "Erases the user's key for good, revokes their certificates and publishes a new CRL.",
            )
        },
        R::AuditCertificates => Doc {
            query: certificate_queries.clone(),
            parameter_schemas: vec![named::<CertificateStatus>()],
            ..text(
                "searchCertificates",
                "audit",
                "Search the archive of every certificate issued",
                "Certificates with their DER, filtered and paged.",
            )
        },
        R::AuditCertificatesCsv => Doc {
            raw: Some((
                json!({ "type": "string" }),
                "RFC 4180 CSV, one certificate a row: serial, user_id, subject, status, \
                              not_before, not_after, revoked_at, revocation_reason, sha256_fingerprint.",
            )),
            query: certificate_queries,
            parameter_schemas: vec![certificate_status],
            ..text(
                "exportCertificates",
                "audit",
                "Export the certificate archive as CSV",
                "The same search as /v1/audit/certificates, as a CSV file for spreadsheets.",
            )
        },
        R::AuditEvents => Doc {
            query: vec![
                query(
                    "subject",
                    "Only events concerning this user (the latest ones).",
                    json!({ "type": "string" }),
                ),
                query(
                    "from_seq",
                    "Events from this position in the chain on (default 1).",
                    number("Position"),
                ),
                query(
                    "limit",
                    "At most this many (1 to 1000; default 200).",
                    json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 200 }),
                ),
            ],
            ..text(
                "listEvents",
                "audit",
                "Read the audit log",
                "Events of the hash-chained, signed audit log in order.",
            )
        },
        R::AuditVerify => Doc {
            ..text(
                "verifyAuditLog",
                "audit",
                "Check the audit log",
                "Verifies every event's hash link and signature and reports the first broken one.",
            )
        },
        R::Bootstrap => Doc {
            errors: &[C::Unavailable],
            ..text(
                "getBootstrap",
                "channel",
                "A signed bootstrap document for opening a sealed channel",
                "Each document carries a fresh nonce and serves one opening; verify the signature over the exact \
                 `document` bytes before parsing them.",
            )
        },
        R::ChannelOpen => Doc {
            errors: &[C::NonceReused, C::Unavailable],
            ..text(
                "openChannel",
                "channel",
                "Open a sealed channel session",
                "Consumes the bootstrap document's nonce whatever the outcome. Every failure to decrypt the session \
                 key is the one `bad-request`, by design.",
            )
        },
        R::OpenApi => Doc {
            raw: Some((
                json!({ "type": "object", "description": "An OpenAPI 3.1 document." }),
                "This document.",
            )),
            ..text(
                "getOpenApiDocument",
                "public",
                "This API description",
                "The OpenAPI 3.1 description of the key server's HTTP API.",
            )
        },
    }
}

/// The named schema of a route table's [`Payload::Json`] or
/// [`Payload::JsonList`], with those it refers to.
fn schema_named(name: &str) -> Option<Body> {
    let bytes = json!({ "$ref": "#/components/schemas/Bytes" });
    Some(match name {
        "Policy" => named::<Policy>(),
        "ApplyRequest" => named::<ApplyRequest>(),
        "ApplyResponse" => named::<ApplyResponse>(),
        "ConsentRequest" => named::<ConsentRequest>(),
        "ConsentResponse" => named::<ConsentResponse>(),
        "PreloginRequest" => named::<PreloginRequest>(),
        "PreloginResponse" => named::<PreloginResponse>(),
        "SigninRequest" => named::<SigninRequest>(),
        "SigninResponse" => named::<SigninResponse>(),
        "RevokeRequest" => named::<RevokeRequest>(),
        "RevokeResponse" => named::<RevokeResponse>(),
        "CertificateInfo" => named::<CertificateInfo>(),
        "ReregisterRequest" => named::<ReregisterRequest>(),
        "ReregisterResponse" => named::<ReregisterResponse>(),
        "LetterInfo" => named::<LetterInfo>(),
        "UserInfo" => named::<UserInfo>(),
        "LetterPage" => named::<LetterPage>(),
        "UserPage" => named::<UserPage>(),
        "ActionDone" => named::<ActionDone>(),
        "StaffRevokeRequest" => named::<StaffRevokeRequest>(),
        "EventInfo" => named::<EventInfo>(),
        "AuditVerification" => named::<AuditVerification>(),
        "ReleaseManifest" => named::<signet_schema::release::ReleaseManifest>(),
        "HostInfo" => named::<signet_schema::host::HostInfo>(),
        "SignedBootstrap" => written(
            "SignedBootstrap",
            "A bootstrap document as served: its exact JSON bytes and the integrity key's signature over them. \
             The document carries the key tier's confidentiality and integrity keys (SubjectPublicKeyInfo DER), \
             a fresh nonce, the time it was issued and the policy.",
            [
                ("document", "The bootstrap document's UTF-8 JSON bytes.", bytes.clone()),
                (
                    "signature",
                    "RSASSA-PSS-SHA256 (RFC 8017 §8.1) by the integrity key over `document`.",
                    bytes.clone(),
                ),
            ],
        ),
        "OpenRequest" => written(
            "OpenRequest",
            "Opens a session: the session master key under the confidentiality key.",
            [
                (
                    "bootstrap_nonce",
                    "The `nonce` of the bootstrap document the client checked (16 bytes).",
                    bytes.clone(),
                ),
                (
                    "encrypted_key",
                    "RSAES-OAEP (RFC 8017 §7.1; SHA-256, MGF1-SHA-256, label `signet/v1/channel`) of the 32-byte \
                     session master key; exactly the modulus length.",
                    bytes.clone(),
                ),
                ("client_nonce", "16 random bytes from the client.", bytes.clone()),
            ],
        ),
        "OpenResponse" => written(
            "OpenResponse",
            "The session id both ends derived.",
            [("session_id", "16 bytes.", bytes.clone())],
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_the_route_table_names_is_known() {
        for route in ROUTES {
            for payload in [route.request, route.answer] {
                if let Payload::Json(name) | Payload::JsonList(name) = payload {
                    assert!(schema_named(name).is_some(), "{} {}: {name}", route.method, route.path);
                }
            }
        }
    }

    #[test]
    fn routes_answering_with_bytes_say_what_the_bytes_are() {
        for route in ROUTES {
            if let Payload::Raw(_) = route.answer {
                assert!(doc(route.id).raw.is_some(), "{} {}", route.method, route.path);
            }
        }
    }
}
