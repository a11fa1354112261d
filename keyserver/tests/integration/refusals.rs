//! Every route of the route table called as an outsider would — no
//! credentials, a malformed body, the wrong method — straight through the
//! key tier's warp filters (`warp::test`, no process and no socket). Each
//! answer must be a typed JSON error with a 4xx status: never a success,
//! never a 500. The list of routes comes from the route table, so a new
//! route is covered the day it is declared.

use std::sync::Arc;

use signet_keyserver::keys::routes::routes;
use signet_keyserver::keys::{KeyTier, Policy, system_clock};
use signet_keyserver::route_table::{Caller, ROUTES, Route};
use signet_schema::api::{ApiError, ApiErrorCode};

/// A key tier on a fresh SQLite database in a temporary directory.
fn key_tier() -> (tempfile::TempDir, Arc<KeyTier>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tier = KeyTier::open(&dir.path().join("data"), None, Policy::default(), system_clock()).expect("key tier");
    (dir, Arc::new(tier))
}

/// The route's path with a plausible value in each `{name}` segment.
fn concrete(route: &Route) -> String {
    route
        .path
        .split('/')
        .map(|segment| match segment {
            "{serial}" => "0A1B2C3D",
            "{application}" => "app-0001",
            "{user}" => "nobody",
            "{sha256}" => "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Sends `body` to `route` with `headers` as the app would: sealed on a
/// route that takes only sealed bodies (in a session opened through the
/// same filter), as JSON on another. Answers the response, its body
/// opened when it came sealed.
async fn send<F>(
    filter: &F,
    route: &Route,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> http::Response<bytes::Bytes>
where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply + Send,
{
    use signet_crypto::channel::{ChannelClient, first_use_integrity_key};
    use signet_schema::channel::{SEALED_CONTENT_TYPE, SealedMessage};
    use signet_schema::protocol::Bytes;
    let path = concrete(route);
    let mut request = warp::test::request().method(route.method).path(&path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let Some(body) = body else {
        return request.reply(filter).await;
    };
    if !route.sealed {
        return request
            .header("content-type", "application/json")
            .body(body)
            .reply(filter)
            .await;
    }
    let bootstrap = warp::test::request().path("/v1/bootstrap").reply(filter).await;
    let bootstrap = serde_json::from_slice(bootstrap.body()).expect("bootstrap");
    let now = crate::common::now();
    let pinned = first_use_integrity_key(&bootstrap, now).expect("fresh bootstrap");
    let (mut channel, open) = ChannelClient::open(&bootstrap, &pinned, now).expect("open");
    let opened = warp::test::request()
        .method("POST")
        .path("/v1/channel/open")
        .header("content-type", "application/json")
        .json(&open)
        .reply(filter)
        .await;
    assert_eq!(opened.status(), 200, "{}", String::from_utf8_lossy(opened.body()));
    let (counter, sealed) = channel
        .seal_request(route.method, &path, body.as_bytes())
        .expect("seal");
    let message = SealedMessage {
        session_id: Bytes(channel.session_id().to_vec()),
        counter,
        body: Bytes(sealed),
    };
    let response = request
        .header("content-type", SEALED_CONTENT_TYPE)
        .body(serde_json::to_vec(&message).expect("json"))
        .reply(filter)
        .await;
    // The channel itself accepts the message: whatever the route refuses, it
    // refuses after reading it, and answers sealed.
    let message: SealedMessage = serde_json::from_slice(response.body()).unwrap_or_else(|_| {
        panic!(
            "{} {}: answered unsealed, {}: {}",
            route.method,
            route.path,
            response.status(),
            String::from_utf8_lossy(response.body())
        )
    });
    let plain = channel
        .open_response(message.counter, route.method, &path, &message.body.0)
        .expect("open the answer");
    let (parts, _) = response.into_parts();
    http::Response::from_parts(parts, bytes::Bytes::from(plain.to_vec()))
}

/// The typed error of a refusal, checked to be a 4xx.
fn refusal(route: &Route, what: &str, response: &http::Response<bytes::Bytes>) -> ApiError {
    let status = response.status();
    assert!(
        status.is_client_error(),
        "{} {} {what}: answered {status}, not a refusal: {}",
        route.method,
        route.path,
        String::from_utf8_lossy(response.body())
    );
    serde_json::from_slice(response.body()).unwrap_or_else(|e| {
        panic!(
            "{} {} {what}: the {status} answer is not a typed error ({e}): {}",
            route.method,
            route.path,
            String::from_utf8_lossy(response.body())
        )
    })
}

#[tokio::test]
async fn every_route_refuses_a_caller_without_credentials() {
    let (_dir, tier) = key_tier();
    let filter = routes(tier);
    for route in ROUTES.iter().filter(|r| r.caller != Caller::Anyone) {
        let body = (route.method == "POST").then_some("{}");
        let response = send(&filter, route, &[], body).await;
        let error = refusal(route, "without credentials", &response);
        if is_signed(route) {
            assert_eq!(
                error.code,
                ApiErrorCode::Forbidden,
                "{} {}: an unsigned request",
                route.method,
                route.path
            );
        }
    }
}

fn is_signed(route: &Route) -> bool {
    matches!(
        route.caller,
        Caller::SignedByUser | Caller::SignedByHelpDesk | Caller::SignedByAuditor
    )
}

#[tokio::test]
async fn every_signed_route_refuses_a_forged_signature() {
    use signet_schema::api::signed_headers;
    let (_dir, tier) = key_tier();
    let filter = routes(tier);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();
    for route in ROUTES.iter().filter(|r| is_signed(r)) {
        for (signer, timestamp) in [
            ("nobody", now.clone()),
            ("helpdesk1", now.clone()),
            ("nobody", i64::MIN.to_string()),
            ("nobody", i64::MAX.to_string()),
        ] {
            let headers = [
                (signed_headers::SIGNER, signer),
                (signed_headers::TIMESTAMP, timestamp.as_str()),
                (signed_headers::NONCE, "0123456789abcdef0123456789abcdef"),
                (signed_headers::SIGNATURE, "AAAA"),
            ];
            let body = (route.method == "POST").then_some("{}");
            let response = send(&filter, route, &headers, body).await;
            let error = refusal(
                route,
                &format!("signed as {signer} at {timestamp} by nobody"),
                &response,
            );
            // Routes with a body read it before the signature, so the empty
            // body may be refused first there: a refusal all the same, and
            // nothing is counted or changed.
            let body_first = route.method == "POST" && error.code == ApiErrorCode::BadRequest;
            assert!(
                body_first
                    || matches!(
                        error.code,
                        ApiErrorCode::Forbidden | ApiErrorCode::BadSignature | ApiErrorCode::StaleRequest
                    ),
                "{} {}: a forged signature got {:?}",
                route.method,
                route.path,
                error.code
            );
        }
    }
}

#[tokio::test]
async fn every_post_route_refuses_a_malformed_body() {
    let (_dir, tier) = key_tier();
    let filter = routes(tier);
    for route in ROUTES.iter().filter(|r| r.method == "POST") {
        for (what, body) in [
            ("with broken JSON", "{\"user_id\": "),
            ("with a JSON array", "[1, 2, 3]"),
            ("with the wrong types", "{\"user_id\": 7, \"verifier\": false}"),
        ] {
            let response = send(&filter, route, &[], Some(body)).await;
            refusal(route, what, &response);
        }
    }
}

#[tokio::test]
async fn every_route_refuses_the_other_method() {
    let (_dir, tier) = key_tier();
    let filter = routes(tier);
    for route in ROUTES {
        let other = if route.method == "GET" { "POST" } else { "GET" };
        if ROUTES.iter().any(|r| r.method == other && r.path == route.path) {
            continue;
        }
        let response = warp::test::request()
            .method(other)
            .path(&concrete(route))
            .reply(&filter)
            .await;
        let error = refusal(route, &format!("called with {other}"), &response);
        assert_eq!(
            error.code,
            ApiErrorCode::MethodNotAllowed,
            "{other} {}: {:?}",
            route.path,
            error.code
        );
        assert_eq!(response.status(), 405, "{other} {}", route.path);
    }
}
