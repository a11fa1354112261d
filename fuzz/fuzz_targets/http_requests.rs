//! Whole HTTP requests to the key server's router, as `serve` runs it: the web
//! tier (allow-list, size, type and rate checks) in front of the key tier's
//! routes, on a SQLite database in a temporary directory. The input is read as
//! a request: a method line, a path line, header lines up to an empty line,
//! and the body. Nothing may panic, and no request may be answered 500: every
//! refusal is a typed 4xx (or 503 when the server is busy).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use signet_keyserver::keys::routes::routes;
use signet_keyserver::keys::{KeyTier, Policy, system_clock};
use signet_keyserver::rate_limit::{Rate, RateLimitConfig, RateLimits};
use signet_keyserver::web::forward::KeyTierService;
use signet_keyserver::web::link::LinkSecret;
use signet_keyserver::web::tls::PeerAddress;
use signet_keyserver::web::{self, WebTier};

struct Server {
    web: Arc<WebTier>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let tier = Arc::new(
            KeyTier::open(&dir.path().join("data"), None, Policy::default(), system_clock()).expect("key tier"),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let secret = LinkSecret::generate().expect("link secret");
        // Rates so high that the fuzzer reaches the handlers, not the 429.
        let rate = Rate::new(u32::MAX, u32::MAX);
        let limits = RateLimits::new(RateLimitConfig {
            per_address: rate,
            per_user: rate,
            applications_per_address: rate,
            applications: rate,
            openings_per_address: rate,
            openings_at_once: u32::MAX,
        });
        let web = runtime.block_on(async {
            let key_tier = KeyTierService::new(Arc::new(secret.clone()), warp::service(routes(tier)));
            Arc::new(WebTier::in_process(key_tier, secret, limits, Duration::from_secs(5)))
        });
        Server {
            web,
            runtime,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let method = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let path = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    // What hyper would refuse before the router sees it is out of scope.
    if http::Method::from_bytes(method.as_bytes()).is_err() || !path.starts_with('/') || path.parse::<http::Uri>().is_err() {
        return;
    }
    let mut request = warp::test::request()
        .method(&method)
        .path(&path)
        .extension(PeerAddress("192.0.2.1:4000".parse().expect("address")))
        .body(body.to_vec());
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            request = request.header(name, value);
        }
    }
    let answer = server
        .runtime
        .block_on(request.reply(&web::routes(server.web.clone())));
    assert!(
        answer.status() != http::StatusCode::INTERNAL_SERVER_ERROR,
        "{method} {path} answered 500: {}",
        String::from_utf8_lossy(answer.body())
    );
});
