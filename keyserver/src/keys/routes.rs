//! The key tier's routes. Each handler hands its work to the blocking pool;
//! the web tier in front of it forwards only these paths.

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Reply};

use signet_schema::api::{ApiErrorCode, SigninRequest};

use signet_schema::channel::{OpenRequest, OpenResponse};
use signet_schema::protocol::Bytes;

use super::KeyTier;
use super::sealed::{self, Sealing};
use super::staff::{SignedRequest, signed_request};
use crate::error::Failure;
use crate::json::{blocking, blocking_bytes, json_body, recover};
use crate::keys::db::models::LetterState;

/// Every route of the key tier, with the one `recover()`.
pub fn routes(tier: Arc<KeyTier>) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let tier_for_bodies = tier.clone();
    let with = move || {
        let tier = tier.clone();
        warp::any().map(move || tier.clone())
    };
    let v1 = warp::path("v1");

    // GET /v1/bootstrap: the signed bootstrap document of the sealed channel.
    let bootstrap = v1
        .and(warp::path("bootstrap"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|t: Arc<KeyTier>| {
            blocking(move || {
                t.channel
                    .bootstrap_document((&t.policy).into())
                    .map_err(Failure::internal)
            })
        });
    // POST /v1/channel/open: a session key under RSA-OAEP-SHA256.
    let channel_open = v1
        .and(warp::path("channel"))
        .and(warp::path("open"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(json_body())
        .and_then(|t: Arc<KeyTier>, req: OpenRequest| {
            blocking(move || {
                let session_id = t
                    .channel
                    .open_session(&req)
                    .map_err(|e| Failure::new(e.api_code(), format!("the session was not opened: {e}")))?;
                Ok(OpenResponse {
                    session_id: Bytes(session_id.to_vec()),
                })
            })
        });
    // GET /v1/policy
    let policy = v1
        .and(warp::path("policy"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|t: Arc<KeyTier>| blocking(move || Ok(t.policy_document())));
    // POST /v1/apply
    let apply = sealable_post(&tier_for_bodies, "apply", KeyTier::apply);
    // POST /v1/consent
    let consent = sealable_post(&tier_for_bodies, "consent", KeyTier::consent);
    // POST /v1/prelogin
    let prelogin = sealable_post(&tier_for_bodies, "prelogin", KeyTier::prelogin);
    // POST /v1/signin: from the release cache when it holds a current answer.
    let signin = v1
        .and(warp::path("signin"))
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(sealed::body(tier_for_bodies.clone(), true))
        .and_then(
            |t: Arc<KeyTier>, (req, sealing): (Result<SigninRequest, Failure>, Option<Sealing>)| async move {
                let outcome = match req {
                    Ok(req) => t.clone().signin_answer(req).await,
                    Err(refused) => Err(refused),
                };
                Ok::<_, std::convert::Infallible>(sealed::answer(&t, sealing, outcome))
            },
        );
    // POST /v1/revoke
    let revoke = sealable_post(&tier_for_bodies, "revoke", KeyTier::revoke);
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
    // GET /v1/openapi.json
    let openapi = v1
        .and(warp::path("openapi.json"))
        .and(warp::path::end())
        .and(warp::get())
        .map(|| {
            warp::reply::with_header(
                crate::keys::openapi::document_text(),
                "content-type",
                "application/json",
            )
            .into_response()
        });
    // GET /v1/certificates/{serial}
    let certificate = v1
        .and(warp::path("certificates"))
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|serial: String, t: Arc<KeyTier>| blocking(move || t.certificate(&serial)));

    // POST /v1/reregister (signed with the current key)
    let reregister = signed_route(&tier_for_bodies, Method::POST, "/v1/reregister", KeyTier::reregister);
    let helpdesk = v1.and(warp::path("helpdesk"));
    // GET /v1/helpdesk/letters
    let letters = signed_route(&tier_for_bodies, Method::GET, "/v1/helpdesk/letters", KeyTier::letters);
    // GET /v1/helpdesk/letters/{application}/pdf
    let letter_pdf = helpdesk
        .and(warp::path("letters"))
        .and(warp::path::param::<String>())
        .and(warp::path("pdf"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and(signed_request())
        .and_then(|id: String, t: Arc<KeyTier>, req: SignedRequest| {
            blocking_bytes("application/pdf", move || t.letter_pdf(req, &id))
        });
    // POST /v1/helpdesk/letters/{application}/printed | /dispatched
    let letter_state = helpdesk
        .and(warp::path("letters"))
        .and(warp::path::param::<String>())
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(signed_request())
        .and_then(|id: String, action: String, t: Arc<KeyTier>, req: SignedRequest| {
            blocking(move || {
                let state = match action.as_str() {
                    "printed" => LetterState::Printed,
                    "dispatched" => LetterState::Dispatched,
                    _ => return Err(Failure::new(ApiErrorCode::NotFound, "no such route")),
                };
                t.mark_letter(req, &id, state)
            })
        });
    // GET /v1/helpdesk/users
    let users = signed_route(&tier_for_bodies, Method::GET, "/v1/helpdesk/users", KeyTier::users);
    // POST /v1/helpdesk/users/{user}/reset | /unlock | /revoke
    let user_action = helpdesk
        .and(warp::path("users"))
        .and(warp::path::param::<String>())
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::post())
        .and(with())
        .and(signed_request())
        .and_then(|user: String, action: String, t: Arc<KeyTier>, req: SignedRequest| {
            blocking(move || match action.as_str() {
                "reset" => t.reset_user(req, &user),
                "unlock" => t.unlock_user(req, &user),
                "revoke" => t.staff_revoke(req, &user),
                _ => Err(Failure::new(ApiErrorCode::NotFound, "no such route")),
            })
        });
    let audit = v1.and(warp::path("audit"));
    // GET /v1/audit/certificates
    let audit_certificates = signed_route(
        &tier_for_bodies,
        Method::GET,
        "/v1/audit/certificates",
        KeyTier::audit_certificates,
    );
    // GET /v1/audit/certificates.csv
    let audit_certificates_csv = audit
        .and(warp::path("certificates.csv"))
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and(signed_request())
        .and_then(|t: Arc<KeyTier>, req: SignedRequest| {
            blocking_bytes("text/csv; charset=utf-8", move || t.audit_certificates_csv(req))
        });
    // GET /v1/audit/events
    let audit_events = signed_route(&tier_for_bodies, Method::GET, "/v1/audit/events", KeyTier::audit_events);
    // GET /v1/audit/verify
    let audit_verify = signed_route(&tier_for_bodies, Method::GET, "/v1/audit/verify", KeyTier::audit_verify);

    // Each route is boxed before they are joined: warp's nested filter types
    // otherwise grow with every `or` and compile times explode.
    // Tried in this order: the sign-in path (bootstrap, opening, pre-login,
    // sign-in) first, since it carries most of the traffic.
    let all: Vec<BoxedFilter<(Response,)>> = vec![
        signin.boxed(),
        prelogin.boxed(),
        bootstrap.boxed(),
        channel_open.boxed(),
        policy.boxed(),
        openapi.boxed(),
        apply.boxed(),
        consent.boxed(),
        revoke.boxed(),
        ca_pem.boxed(),
        crl.boxed(),
        certificate.boxed(),
        reregister.boxed(),
        letters.boxed(),
        letter_pdf.boxed(),
        letter_state.boxed(),
        users.boxed(),
        user_action.boxed(),
        audit_certificates.boxed(),
        audit_certificates_csv.boxed(),
        audit_events.boxed(),
        audit_verify.boxed(),
    ];
    let mut joined = warp::any()
        .and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
        .boxed();
    for route in all.into_iter().rev() {
        joined = route.or(joined).unify().boxed();
    }
    joined.recover(recover).unify()
}

/// A request signed with its sender's own key (see [`super::staff`]) to
/// exactly `method` `path`, handed to `work` on the blocking pool.
fn signed_route<R>(
    tier: &Arc<KeyTier>,
    method: Method,
    path: &'static str,
    work: fn(&KeyTier, SignedRequest) -> Result<R, Failure>,
) -> BoxedFilter<(Response,)>
where
    R: serde::Serialize + Send + 'static,
{
    let tier = tier.clone();
    warp::method()
        .and(warp::path::full())
        .and_then(move |m: Method, p: warp::path::FullPath| {
            let matches = m == method && p.as_str() == path;
            async move {
                if matches {
                    Ok(())
                } else {
                    Err(warp::reject::not_found())
                }
            }
        })
        .untuple_one()
        .and(signed_request())
        .and_then(move |req: SignedRequest| {
            let tier = tier.clone();
            blocking(move || work(&tier, req))
        })
        .boxed()
}

/// `POST /v1/{name}`: a JSON body, plain or sealed (see [`sealed`]), handed
/// to `work` on the blocking pool and answered the same way it came.
fn sealable_post<T, R>(
    tier: &Arc<KeyTier>,
    name: &'static str,
    work: fn(&KeyTier, T) -> Result<R, Failure>,
) -> BoxedFilter<(Response,)>
where
    T: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
{
    let with = {
        let tier = tier.clone();
        warp::any().map(move || tier.clone())
    };
    warp::path("v1")
        .and(warp::path(name))
        .and(warp::path::end())
        .and(warp::post())
        .and(with)
        .and(sealed::body(
            tier.clone(),
            crate::route_table::counts_per_user(&format!("/v1/{name}")),
        ))
        .and_then(
            move |t: Arc<KeyTier>, (req, sealing): (Result<T, Failure>, Option<Sealing>)| {
                let tier = t.clone();
                sealed::reply(tier, sealing, move || work(&t, req?))
            },
        )
        .boxed()
}
