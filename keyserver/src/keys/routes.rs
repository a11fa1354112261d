//! The key tier's routes, built from the route table
//! ([`crate::route_table::ROUTES`]): each route's method and path come from
//! its entry, its handler from one exhaustive match over [`RouteId`], so a
//! route added to the table does not compile until it has a handler here and
//! a description in [`super::openapi`]. Handlers hand their work to the
//! blocking pool; the web tier in front forwards only these paths.

use std::convert::Infallible;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use signet_schema::api::{ApiErrorCode, SigninRequest};
use signet_schema::channel::{OpenRequest, OpenResponse};
use signet_schema::protocol::Bytes;

use super::KeyTier;
use super::flows::Admitted;
use super::sealed::{self, Sealing};
use super::staff::{SignedParts, SignedRequest, signed_parts, signed_request};
use crate::error::Failure;
use crate::json::{MAX_BODY, Rejected, blocking, blocking_bytes, json_body, recover};
use crate::keys::db::models::LetterState;
use crate::route_table::{self, PathMatch, Payload, ROUTES, Route, RouteId};
use crate::web::link::ClientAddress;

/// A route's `{name}` path segments, in order.
type Parameters = Vec<String>;

/// Every route of the key tier, with the one `recover()`.
pub fn routes(tier: Arc<KeyTier>) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    // Each route is boxed before they are joined: warp's nested filter types
    // otherwise grow with every `or` and compile times explode.
    let mut joined = warp::any()
        .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
        .boxed();
    for route in in_trial_order().into_iter().rev() {
        joined = handler(route, &tier).or(joined).unify().boxed();
    }
    known_route().and(joined).recover(recover).unify()
}

/// The routes in the order the filters try them: the sign-in path first
/// (sign-in, pre-login, bootstrap, channel opening), since it carries most of
/// the traffic and every route tried before the right one costs a rejection;
/// then the rest in the table's order.
fn in_trial_order() -> Vec<&'static Route> {
    const HOT: [RouteId; 4] = [
        RouteId::Signin,
        RouteId::Prelogin,
        RouteId::Bootstrap,
        RouteId::ChannelOpen,
    ];
    let mut routes: Vec<&'static Route> = HOT.iter().map(|id| route_table::route(*id)).collect();
    routes.extend(ROUTES.iter().filter(|r| !HOT.contains(&r.id)));
    routes
}

/// Passes a request whose method and path are a route's; answers `404` for
/// a path no route has and `405` for another method on a route's path.
fn known_route() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and_then(|method: Method, path: FullPath| {
            let found = match route_table::find(method.as_str(), path.as_str()) {
                PathMatch::Route(..) => Ok(()),
                PathMatch::OtherMethod => Err(warp::reject::custom(Rejected(Failure::new(
                    ApiErrorCode::MethodNotAllowed,
                    "this method is not allowed on this route",
                )))),
                PathMatch::NoRoute => Err(warp::reject::not_found()),
            };
            async move { found }
        })
        .untuple_one()
}

/// The handler of `route`. The channel's own two routes are served by the
/// shared channel end (`signet_channel`):
/// `GET /v1/bootstrap`: the key tier's bootstrap document, signed by its integrity key.
fn handler(route: &'static Route, tier: &Arc<KeyTier>) -> BoxedFilter<(Response,)> {
    use RouteId as R;
    match route.id {
        R::Policy => read(route, tier, |t, _| Ok(t.policy_document())),
        R::Bootstrap => read(route, tier, |t, _| {
            t.channel
                .bootstrap_document((&t.policy).into())
                .map_err(Failure::internal)
        }),
        R::ChannelOpen => channel_open(route, tier),
        R::OpenApi => at(route)
            .map(move |_: Parameters| {
                warp::reply::with_header(super::openapi::document_text(), "content-type", media_type(route))
                    .into_response()
            })
            .boxed(),
        R::Apply => sealable_post(route, tier, |t, r, _| t.apply(r), Guess::No),
        R::Consent => sealable_post(route, tier, |t, r, _| t.consent(r), Guess::Phrase),
        R::Prelogin => sealable_post(route, tier, |t, r, _| t.prelogin(r), Guess::No),
        R::Signin => signin(route, tier),
        R::Revoke => sealable_post(route, tier, KeyTier::revoke_from, Guess::Verifier(|r| &r.user_id)),
        R::CaPem => read_bytes(route, tier, |t, _| t.ca_pem()),
        R::CaCertificate => read_bytes(route, tier, |t, _| t.ca_der()),
        R::Crl => read_bytes(route, tier, |t, _| t.current_crl()),
        R::Certificate => read(route, tier, |t, p| t.certificate(p)),
        R::SignerRelease => with_cache_control(read(route, tier, |t, _| t.signer_manifest()), "no-cache"),
        R::Hosts => read(route, tier, |t, _| t.hosts()),
        R::SignerBinary => with_cache_control(
            read_bytes(route, tier, |t, p| t.signer_binary(p)),
            // Named by its hash: the bytes behind this URL never change.
            "public, max-age=31536000, immutable",
        ),
        R::Reregister => signed_sealed(route, tier, KeyTier::reregister),
        R::Letters => signed(route, tier, |t, req, _| t.letters(req)),
        R::LetterPdf => signed_bytes(route, tier, |t, req, p| t.letter_pdf(req, p)),
        R::LetterPrinted => signed(route, tier, |t, req, p| t.mark_letter(req, p, LetterState::Printed)),
        R::LetterDispatched => signed(route, tier, |t, req, p| t.mark_letter(req, p, LetterState::Dispatched)),
        R::Users => signed(route, tier, |t, req, _| t.users(req)),
        R::UserReset => signed(route, tier, |t, req, p| t.reset_user(req, p)),
        R::UserUnlock => signed(route, tier, |t, req, p| t.unlock_user(req, p)),
        R::UserRevoke => signed(route, tier, |t, req, p| t.staff_revoke(req, p)),
        R::AuditCertificates => signed(route, tier, |t, req, _| t.audit_certificates(req)),
        R::AuditCertificatesCsv => signed_bytes(route, tier, |t, req, _| t.audit_certificates_csv(req)),
        R::AuditEvents => signed(route, tier, |t, req, _| t.audit_events(req)),
        R::AuditVerify => signed(route, tier, |t, req, _| t.audit_verify(req)),
    }
}

/// Passes requests to exactly `route`'s method and path, with the path's
/// parameters.
fn at(route: &'static Route) -> impl Filter<Extract = (Parameters,), Error = Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and_then(move |method: Method, path: FullPath| {
            let found = (method.as_str() == route.method)
                .then(|| route_table::parameters(route.path, path.as_str()))
                .flatten()
                .map(|p| p.into_iter().map(str::to_owned).collect::<Parameters>());
            async move { found.ok_or_else(warp::reject::not_found) }
        })
}

/// The route's one path parameter (empty on a route without one).
fn parameter(parameters: &Parameters) -> &str {
    parameters.first().map_or("", String::as_str)
}

fn with_tier(tier: &Arc<KeyTier>) -> impl Filter<Extract = (Arc<KeyTier>,), Error = Infallible> + Clone + use<> {
    let tier = tier.clone();
    warp::any().map(move || tier.clone())
}

/// The media type of a route that answers with bytes.
fn media_type(route: &Route) -> &'static str {
    match route.answer {
        Payload::Raw(media_type) => media_type,
        Payload::Json(_) | Payload::JsonList(_) | Payload::Empty => "application/json",
    }
}

/// A public `GET` answered with JSON.
fn read<R>(
    route: &'static Route,
    tier: &Arc<KeyTier>,
    work: fn(&KeyTier, &str) -> Result<R, Failure>,
) -> BoxedFilter<(Response,)>
where
    R: serde::Serialize + Send + 'static,
{
    declared::<R>(route, route.answer);
    at(route)
        .and(with_tier(tier))
        .and_then(move |p: Parameters, t: Arc<KeyTier>| blocking(move || work(&t, parameter(&p))))
        .boxed()
}

/// A public `GET` answered with bytes of the route's media type.
fn read_bytes(
    route: &'static Route,
    tier: &Arc<KeyTier>,
    work: fn(&KeyTier, &str) -> Result<Vec<u8>, Failure>,
) -> BoxedFilter<(Response,)> {
    at(route)
        .and(with_tier(tier))
        .and_then(move |p: Parameters, t: Arc<KeyTier>| {
            blocking_bytes(media_type(route), move || work(&t, parameter(&p)))
        })
        .boxed()
}

/// A request signed with its sender's own key (see [`super::staff`]),
/// handed to `work` on the blocking pool and answered with JSON.
fn signed<R>(
    route: &'static Route,
    tier: &Arc<KeyTier>,
    work: fn(&KeyTier, SignedRequest, &str) -> Result<R, Failure>,
) -> BoxedFilter<(Response,)>
where
    R: serde::Serialize + Send + 'static,
{
    declared::<R>(route, route.answer);
    at(route)
        .and(with_tier(tier))
        .and(signed_request())
        .and_then(move |p: Parameters, t: Arc<KeyTier>, req: SignedRequest| {
            blocking(move || work(&t, req, parameter(&p)))
        })
        .boxed()
}

/// A request signed with its sender's own key whose body travels sealed
/// (re-registration: it carries a sealed record and verifiers). The
/// signature covers the body as unsealed; the answer is sealed.
fn signed_sealed<R>(
    route: &'static Route,
    tier: &Arc<KeyTier>,
    work: fn(&KeyTier, SignedRequest) -> Result<R, Failure>,
) -> BoxedFilter<(Response,)>
where
    R: serde::Serialize + Send + 'static,
{
    declared::<R>(route, route.answer);
    at(route)
        .and(with_tier(tier))
        .and(signed_parts())
        .and(sealed::plaintext(tier.clone(), route.per_user_limit, MAX_BODY))
        .and_then(
            move |_: Parameters, t: Arc<KeyTier>, parts: SignedParts, (body, sealing): sealed::Unsealed| {
                let tier = t.clone();
                sealed::reply(tier, sealing, move || {
                    let body = bytes::Bytes::from(body?.to_vec());
                    work(&t, SignedRequest::from_signed_parts(parts, body)?)
                })
            },
        )
        .boxed()
}

/// `route` with a `Cache-Control` header on its successful answers.
fn with_cache_control(route: BoxedFilter<(Response,)>, value: &'static str) -> BoxedFilter<(Response,)> {
    route
        .map(move |mut response: Response| {
            if response.status().is_success() {
                response.headers_mut().insert(
                    warp::http::header::CACHE_CONTROL,
                    warp::http::HeaderValue::from_static(value),
                );
            }
            response
        })
        .boxed()
}

/// A signed request answered with bytes of the route's media type.
fn signed_bytes(
    route: &'static Route,
    tier: &Arc<KeyTier>,
    work: fn(&KeyTier, SignedRequest, &str) -> Result<Vec<u8>, Failure>,
) -> BoxedFilter<(Response,)> {
    at(route)
        .and(with_tier(tier))
        .and(signed_request())
        .and_then(move |p: Parameters, t: Arc<KeyTier>, req: SignedRequest| {
            blocking_bytes(media_type(route), move || work(&t, req, parameter(&p)))
        })
        .boxed()
}

/// `POST /v1/channel/open`: a session key under RSA-OAEP-SHA256.
fn channel_open(route: &'static Route, tier: &Arc<KeyTier>) -> BoxedFilter<(Response,)> {
    declared::<OpenRequest>(route, route.request);
    declared::<OpenResponse>(route, route.answer);
    at(route)
        .and(with_tier(tier))
        .and(json_body())
        .and(warp::ext::optional::<ClientAddress>())
        .and_then(
            |_: Parameters, t: Arc<KeyTier>, req: OpenRequest, client: Option<ClientAddress>| {
                blocking(move || {
                    let session_id = t
                        .channel
                        .open_session(&req, client.map(|c| c.0))
                        .map_err(|e| Failure::new(e.api_code(), format!("the session was not opened: {e}")))?;
                    Ok(OpenResponse {
                        session_id: Bytes(session_id.to_vec()),
                    })
                })
            },
        )
        .boxed()
}

/// Whether a route's requests are guesses at a secret, counted by where
/// they come from (see [`super::guess_sources`]).
enum Guess<T> {
    No,
    /// A consent phrase: always tried; a wrong one counted per address.
    Phrase,
    /// A verifier for the user id the request names: counted per address
    /// and per account and address.
    Verifier(fn(&T) -> &str),
}

impl<T> Clone for Guess<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Guess<T> {}

/// The client's address, as the web tier saw it (none in front of a bare key tier).
fn client_address() -> impl Filter<Extract = (Option<std::net::IpAddr>,), Error = Infallible> + Clone {
    warp::ext::optional::<ClientAddress>().map(|client: Option<ClientAddress>| client.map(|c| c.0))
}

/// `POST /v1/signin`: from the sign-in cache when it holds a current answer.
fn signin(route: &'static Route, tier: &Arc<KeyTier>) -> BoxedFilter<(Response,)> {
    declared::<SigninRequest>(route, route.request);
    at(route)
        .and(with_tier(tier))
        .and(sealed::body(tier.clone(), route.per_user_limit))
        .and(client_address())
        .and_then(
            |_: Parameters,
             t: Arc<KeyTier>,
             (req, sealing): (Result<SigninRequest, Failure>, Sealing),
             source: Option<std::net::IpAddr>| async move {
                // A request refused before it is read (malformed, over the
                // per-user rate) is no guess: only one that was read is counted.
                let outcome = match req {
                    Ok(req) => {
                        let user_id = req.user_id.clone();
                        let (outcome, admitted) = match t.guess_allowed(source, &user_id) {
                            Ok(admitted) => (t.clone().signin_answer(req, admitted.recognised).await, admitted),
                            Err(refused) => (Err(refused), Admitted::default()),
                        };
                        t.guess_answered(source, Some(&user_id), admitted, &outcome);
                        outcome
                    }
                    Err(refused) => Err(refused),
                };
                Ok::<_, Infallible>(sealed::answer(t.as_ref(), sealing, outcome))
            },
        )
        .boxed()
}

/// A JSON body, sealed (see [`sealed`]), handed to `work` on the blocking
/// pool and answered sealed.
fn sealable_post<T, R>(
    route: &'static Route,
    tier: &Arc<KeyTier>,
    work: fn(&KeyTier, T, Admitted) -> Result<R, Failure>,
    guess: Guess<T>,
) -> BoxedFilter<(Response,)>
where
    T: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
{
    declared::<T>(route, route.request);
    declared::<R>(route, route.answer);
    at(route)
        .and(with_tier(tier))
        .and(sealed::body(tier.clone(), route.per_user_limit))
        .and(client_address())
        .and_then(
            move |_: Parameters,
                  t: Arc<KeyTier>,
                  (req, sealing): (Result<T, Failure>, Sealing),
                  source: Option<std::net::IpAddr>| {
                let tier = t.clone();
                sealed::reply(tier, sealing, move || {
                    let req = req?;
                    match guess {
                        Guess::No => work(&t, req, Admitted::default()),
                        Guess::Phrase => {
                            let outcome = work(&t, req, Admitted::default());
                            t.guess_answered(source, None, Admitted::default(), &outcome);
                            outcome
                        }
                        Guess::Verifier(user_of) => {
                            let user_id = user_of(&req).to_owned();
                            let (outcome, admitted) = match t.guess_allowed(source, &user_id) {
                                Ok(admitted) => (work(&t, req, admitted), admitted),
                                Err(refused) => (Err(refused), Admitted::default()),
                            };
                            t.guess_answered(source, Some(&user_id), admitted, &outcome);
                            outcome
                        }
                    }
                })
            },
        )
        .boxed()
}

/// Checks, when the routes are built, that the handler's type `T` is the one
/// the route table declares (and so the API description shows).
fn declared<T>(route: &Route, payload: Payload) {
    let actual = short_type_name(std::any::type_name::<T>());
    let expected = match payload {
        Payload::Json(name) => name.to_owned(),
        Payload::JsonList(name) => format!("Vec<{name}>"),
        Payload::Raw(_) | Payload::Empty => String::from("bytes or nothing"),
    };
    assert_eq!(
        actual, expected,
        "{} {}: the handler's type differs from the route table",
        route.method, route.path
    );
}

/// `alloc::vec::Vec<signet_schema::api::LetterInfo>` → `Vec<LetterInfo>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in full.chars().chain(std::iter::once('\0')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        out.push_str(word.rsplit("::").next().unwrap_or_default());
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_tried_once() {
        let order = in_trial_order();
        assert_eq!(order.len(), ROUTES.len());
        for route in ROUTES {
            assert_eq!(order.iter().filter(|r| r.id == route.id).count(), 1, "{:?}", route.id);
        }
        assert_eq!(order[0].id, RouteId::Signin);
    }

    #[test]
    fn type_names_lose_their_modules() {
        assert_eq!(
            short_type_name("alloc::vec::Vec<signet_schema::api::LetterInfo>"),
            "Vec<LetterInfo>"
        );
        assert_eq!(short_type_name("signet_schema::api::Policy"), "Policy");
    }
}
