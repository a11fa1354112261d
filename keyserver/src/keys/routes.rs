//! The key tier's routes. Each handler hands its work to the blocking pool;
//! the web tier in front of it forwards only these paths.

use std::sync::Arc;

use signet_schema::api::{ApplyRequest, ConsentRequest, PreloginRequest, RevokeRequest, SigninRequest};
use warp::{Filter, Reply};

use super::KeyTier;
use crate::http::{blocking, blocking_bytes, json_body, recover};

/// Every route of the key tier, with the one `recover()`.
pub fn routes(tier: Arc<KeyTier>) -> impl Filter<Extract = (impl Reply,), Error = std::convert::Infallible> + Clone {
    let with = move || {
        let tier = tier.clone();
        warp::any().map(move || tier.clone())
    };
    let v1 = warp::path("v1");

    // GET /v1/policy
    let policy = v1
        .and(warp::path("policy"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|t: Arc<KeyTier>| blocking(move || Ok(t.policy_document())));
    // POST /v1/apply
    let apply = v1
        .and(warp::path("apply"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(json_body())
        .and_then(|t: Arc<KeyTier>, req: ApplyRequest| blocking(move || t.apply(req)));
    // POST /v1/consent
    let consent = v1
        .and(warp::path("consent"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(json_body())
        .and_then(|t: Arc<KeyTier>, req: ConsentRequest| blocking(move || t.consent(req)));
    // POST /v1/prelogin
    let prelogin = v1
        .and(warp::path("prelogin"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(json_body())
        .and_then(|t: Arc<KeyTier>, req: PreloginRequest| blocking(move || t.prelogin(req)));
    // POST /v1/signin
    let signin = v1
        .and(warp::path("signin"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(json_body())
        .and_then(|t: Arc<KeyTier>, req: SigninRequest| blocking(move || t.signin(req)));
    // POST /v1/revoke
    let revoke = v1
        .and(warp::path("revoke"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(json_body())
        .and_then(|t: Arc<KeyTier>, req: RevokeRequest| blocking(move || t.revoke(req)));
    // GET /v1/ca.pem
    let ca_pem = v1
        .and(warp::path("ca.pem"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|t: Arc<KeyTier>| blocking_bytes("application/x-pem-file", move || t.ca_pem()));
    // GET /v1/crl
    let crl = v1
        .and(warp::path("crl"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|t: Arc<KeyTier>| blocking_bytes("application/pkix-crl", move || t.current_crl()));
    // GET /v1/certificates/{serial}
    let certificate = v1
        .and(warp::path("certificates"))
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|serial: String, t: Arc<KeyTier>| blocking(move || t.certificate(&serial)));

    policy
        .or(apply)
        .unify()
        .or(consent)
        .unify()
        .or(prelogin)
        .unify()
        .or(signin)
        .unify()
        .or(revoke)
        .unify()
        .or(ca_pem)
        .unify()
        .or(crl)
        .unify()
        .or(certificate)
        .unify()
        .recover(recover)
        .unify()
}

/// The route table, for the web tier's allow-list and the API description.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/policy"),
    ("POST", "/v1/apply"),
    ("POST", "/v1/consent"),
    ("POST", "/v1/prelogin"),
    ("POST", "/v1/signin"),
    ("POST", "/v1/revoke"),
    ("GET", "/v1/ca.pem"),
    ("GET", "/v1/crl"),
    ("GET", "/v1/certificates/{serial}"),
];
