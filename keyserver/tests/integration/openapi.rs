//! The OpenAPI document against the route table and against itself: the
//! same routes in both, a success and a client error on every operation,
//! every reference resolving, and the body schemas matching what the types
//! serialise to.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use signet_keyserver::keys::openapi::{DOCUMENT_PATH, document, document_text};
use signet_keyserver::route_table::ROUTES;
use signet_schema::api::{ActionDone, ApiError, ApiErrorCode, Policy, ReregisterResponse, signed_headers};
use signet_schema::{KdfParams, KeySize, RegistrationData, SignatureScheme};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every (METHOD, path) operation of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: `{method}` is not an operation"
            );
            out.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    out
}

/// Every operation with its method and path.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_ascii_uppercase(), path.clone(), op));
        }
    }
    out
}

/// Follows a local `$ref` once.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("local reference");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} does not resolve"))
        }
        None => value,
    }
}

#[test]
fn the_document_lists_exactly_the_routes_of_the_route_table() {
    let doc = document();
    let mut routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(routes.len(), ROUTES.len(), "the route table lists a route twice");
    // The route serving this document joins the route table with its handler;
    // until then it is the one route the document may have in addition.
    routes.insert(("GET".to_owned(), DOCUMENT_PATH.to_owned()));
    let described = documented(&doc);
    let undocumented: Vec<_> = routes.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented operations that are not routes: {unrouted:?}"
    );
}

#[test]
fn every_operation_has_a_success_and_a_client_error_with_the_api_error_body() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}: no responses"));
        let statuses: Vec<u16> = responses.keys().map(|s| s.parse().expect("numeric status")).collect();
        assert!(
            statuses.iter().any(|s| (200..300).contains(s)),
            "{method} {path}: no 2xx answer"
        );
        assert!(
            statuses.iter().any(|s| (400..500).contains(s)),
            "{method} {path}: no 4xx answer"
        );
        for (status, response) in responses {
            let response = resolve(&doc, response);
            assert!(
                response["description"].is_string(),
                "{method} {path} {status}: no description"
            );
            let content = response["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} {status}: no content"));
            if !status.starts_with('2') {
                let schema = &content["application/json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/ApiError",
                    "{method} {path} {status}: not ApiError"
                );
            }
        }
        assert!(op["summary"].is_string(), "{method} {path}: no summary");
        assert!(op["operationId"].is_string(), "{method} {path}: no operationId");
    }
}

#[test]
fn error_statuses_are_those_of_their_codes() {
    let doc = document();
    let code_names: Vec<(String, ApiErrorCode)> = [
        ApiErrorCode::BadRequest,
        ApiErrorCode::PayloadTooLarge,
        ApiErrorCode::NotFound,
        ApiErrorCode::IdentityTaken,
        ApiErrorCode::NonceReused,
        ApiErrorCode::StaleRequest,
        ApiErrorCode::BadSignature,
        ApiErrorCode::SigninFailed,
        ApiErrorCode::PhraseTypo,
        ApiErrorCode::WrongPhrase,
        ApiErrorCode::Locked,
        ApiErrorCode::LetterExpired,
        ApiErrorCode::WrongState,
        ApiErrorCode::Revoked,
        ApiErrorCode::Forbidden,
        ApiErrorCode::RateLimited,
        ApiErrorCode::Unavailable,
        ApiErrorCode::Internal,
    ]
    .into_iter()
    .map(|c| {
        (
            serde_json::to_value(c)
                .expect("code")
                .as_str()
                .expect("string")
                .to_owned(),
            c,
        )
    })
    .collect();
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            let text = response["description"].as_str().expect("description");
            for (name, code) in &code_names {
                if text.contains(&format!("`{name}`")) {
                    let expected = signet_keyserver::error::status_of(*code).as_u16().to_string();
                    assert_eq!(status, &expected, "{method} {path}: `{name}` listed under {status}");
                }
            }
        }
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(doc: &Value, value: &Value, at: &str, count: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref") {
                    let reference = reference
                        .as_str()
                        .unwrap_or_else(|| panic!("{at}: $ref is not a string"));
                    let pointer = reference
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("{at}: {reference} is not local"));
                    assert!(doc.pointer(pointer).is_some(), "{at}: {reference} does not resolve");
                    *count += 1;
                }
                for (key, inner) in map {
                    walk(doc, inner, &format!("{at}/{key}"), count);
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    walk(doc, inner, &format!("{at}/{i}"), count);
                }
            }
            _ => {}
        }
    }
    let doc = document();
    let mut count = 0;
    walk(&doc, &doc, "", &mut count);
    assert!(count > 20, "suspiciously few references: {count}");
}

#[test]
fn path_parameters_are_declared_and_signed_routes_take_the_signing_headers() {
    let doc = document();
    let signed =
        |path: &str| path.starts_with("/v1/helpdesk/") || path.starts_with("/v1/audit/") || path == "/v1/reregister";
    for (method, path, op) in operations(&doc) {
        let parameters: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|list| list.iter().map(|p| resolve(&doc, p)).collect())
            .unwrap_or_default();
        let declared = |place: &str| -> BTreeSet<String> {
            parameters
                .iter()
                .filter(|p| p["in"] == place)
                .map(|p| p["name"].as_str().expect("name").to_owned())
                .collect()
        };
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared("path"), in_path, "{method} {path}: path parameters");
        for p in parameters.iter().filter(|p| p["in"] == "path") {
            assert_eq!(p["required"], true, "{method} {path}: path parameters are required");
        }
        let headers = declared("header");
        let signing: BTreeSet<String> = [
            signed_headers::SIGNER,
            signed_headers::TIMESTAMP,
            signed_headers::NONCE,
            signed_headers::SIGNATURE,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        if signed(&path) {
            assert_eq!(headers, signing, "{method} {path}: signing headers");
        } else {
            assert!(
                headers.is_empty(),
                "{method} {path}: a public route takes no signing headers"
            );
        }
    }
}

#[test]
fn raw_answers_have_their_media_types() {
    let doc = document();
    for (path, media_type) in [
        ("/v1/ca.pem", "application/x-pem-file"),
        ("/v1/crl", "application/pkix-crl"),
        ("/v1/helpdesk/letters/{application}/pdf", "application/pdf"),
    ] {
        let content = &doc["paths"][path]["get"]["responses"]["200"]["content"];
        assert!(content.get(media_type).is_some(), "{path}: {content}");
    }
}

#[test]
fn operation_ids_are_unique() {
    let doc = document();
    let ids: Vec<&str> = operations(&doc)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().expect("id"))
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

#[test]
fn the_document_is_an_openapi_3_1_document_without_stray_fields() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    // utoipa's model of OpenAPI keeps only the fields the specification
    // defines: a misspelt or misplaced field is lost on the way through.
    let model: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).expect("an OpenAPI document");
    let again = serde_json::to_value(&model).expect("serialise");
    assert_eq!(again, doc, "fields lost when read as OpenAPI");
    let text = document_text();
    assert_eq!(serde_json::from_str::<Value>(&text).expect("JSON text"), doc);
}

/// `value`'s fields are properties of `schema`, and every required property is present.
fn conforms(doc: &Value, name: &str, value: &Value) {
    let schema = &doc["components"]["schemas"][name];
    let properties = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: no properties"));
    let object = value.as_object().expect("an object");
    for key in object.keys() {
        assert!(properties.contains_key(key), "{name}: `{key}` is not in the schema");
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().expect("name");
        assert!(
            object.contains_key(required),
            "{name}: required `{required}` not serialised"
        );
    }
}

#[test]
fn schemas_match_what_the_types_serialise_to() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let policy = Policy {
        kdf: KdfParams::DEFAULT,
        key_bits: KeySize::Rsa3072,
        signature_scheme: SignatureScheme::RsaPssSha256,
        server_time: 1_767_225_600,
        letter_validity_days: 30,
    };
    let policy = serde_json::to_value(&policy).expect("policy");
    conforms(&doc, "Policy", &policy);
    conforms(&doc, "KdfParams", &policy["kdf"]);
    assert!(
        schemas["KeySize"]["enum"]
            .as_array()
            .expect("enum")
            .contains(&policy["key_bits"])
    );
    assert!(
        schemas["SignatureScheme"]["enum"]
            .as_array()
            .expect("enum")
            .contains(&policy["signature_scheme"])
    );
    let error = ApiError {
        code: ApiErrorCode::PhraseTypo,
        message: "check the letter".into(),
        field: Some("phrase".into()),
    };
    let error = serde_json::to_value(&error).expect("error");
    conforms(&doc, "ApiError", &error);
    assert!(
        schemas["ApiErrorCode"]["enum"]
            .as_array()
            .expect("enum")
            .contains(&error["code"])
    );
    conforms(
        &doc,
        "ActionDone",
        &serde_json::to_value(ActionDone {
            message: "done".into(),
            crl_number: None,
        })
        .expect("json"),
    );
    let reregistered = ReregisterResponse {
        certificate: None,
        serial: None,
        superseded: None,
    };
    conforms(
        &doc,
        "ReregisterResponse",
        &serde_json::to_value(&reregistered).expect("json"),
    );
    let registration = RegistrationData {
        user_id: "ada".into(),
        common_name: "Ada Lovelace".into(),
        organization: "Analytical Engines".into(),
        organizational_unit: String::new(),
        email: "ada@example.org".into(),
        country: "GB".into(),
    };
    conforms(
        &doc,
        "RegistrationData",
        &serde_json::to_value(&registration).expect("json"),
    );
    assert_eq!(schemas["Bytes"]["type"], "string");
    assert_eq!(schemas["Bytes"]["format"], "byte");
    assert_eq!(schemas["RegistrationData"]["additionalProperties"], json!(false));
}

#[test]
fn written_channel_schemas_match_the_channel_types() {
    use signet_schema::channel::{OpenRequest, OpenResponse, SignedBootstrap};
    use signet_schema::protocol::Bytes;
    let doc = document();
    let samples = [
        (
            "SignedBootstrap",
            serde_json::to_value(SignedBootstrap {
                document: Bytes(vec![1]),
                signature: Bytes(vec![2]),
            }),
        ),
        (
            "OpenRequest",
            serde_json::to_value(OpenRequest {
                bootstrap_nonce: Bytes(vec![3; 16]),
                encrypted_key: Bytes(vec![4; 384]),
                client_nonce: Bytes(vec![5; 16]),
            }),
        ),
        (
            "OpenResponse",
            serde_json::to_value(OpenResponse {
                session_id: Bytes(vec![6; 16]),
            }),
        ),
    ];
    for (name, sample) in samples {
        let sample = sample.expect("json");
        // Described only once the route table has the channel's routes.
        if doc["components"]["schemas"].get(name).is_some() {
            conforms(&doc, name, &sample);
            let fields: BTreeSet<&String> = sample.as_object().expect("object").keys().collect();
            let described: BTreeSet<&String> = doc["components"]["schemas"][name]["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .collect();
            assert_eq!(fields, described, "{name}");
        }
    }
}

/// `{serial}`, `{id}`, … all read as `{}`.
fn without_parameter_names(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_route_has_its_method_and_path_doc_line_on_a_handler() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/keys");
    let mut documented = String::new();
    for entry in std::fs::read_dir(&dir).expect("src/keys") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            for line in std::fs::read_to_string(&path).expect("source").lines() {
                if line.trim_start().starts_with("///") {
                    documented.push_str(&without_parameter_names(line));
                    documented.push('\n');
                }
            }
        }
    }
    let missing: Vec<String> = ROUTES
        .iter()
        .map(|r| format!("`{} {}", r.method, without_parameter_names(r.path)))
        .filter(|line| !documented.contains(line.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a `/// METHOD /path` doc line: {missing:?}"
    );
}
