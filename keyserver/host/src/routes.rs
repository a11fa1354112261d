//! The host's HTTP API. Two plain routes open the sealed channel; every
//! other takes only a sealed [`SignedHostRequest`] (a plain body is refused
//! unread, `sealing-required`) and answers sealed.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/bootstrap` | the host's bootstrap document, signed by its certified integrity key |
//! | `POST /v1/channel/open` | a session, for an opening under that document |
//! | `POST /v1/orders` | submit: `OrderStatus` with the signed report |
//! | `POST /v1/orders/list` | `OrderInfo`s: the signer's, or those awaiting their signature |
//! | `POST /v1/orders/show` | `OrderDetail`: an order with its exact bytes |
//! | `POST /v1/orders/cosign` | `OrderStatus` |
//! | `POST /v1/orders/cancel` | `OrderStatus` |

use std::convert::Infallible;
use std::sync::Arc;

use signet_channel::sealed;
use signet_keyserver_web::error::Failure;
use signet_keyserver_web::json;
use signet_keyserver_web::tls::PeerAddress;
use signet_schema::channel::{OpenRequest, OpenResponse};
use signet_schema::host::SignedHostRequest;
use signet_schema::protocol::Bytes;
use warp::Filter;
use warp::reply::Response;

use crate::Host;

/// Largest sealed request: an order of about 1 MiB (the signing core seals
/// frames of at most 1 MiB) with its signature, base64 twice.
pub const MAX_SEALED_BODY: u64 = 4 * 1024 * 1024;

fn with_host(host: &Arc<Host>) -> impl Filter<Extract = (Arc<Host>,), Error = Infallible> + Clone + use<> {
    let host = host.clone();
    warp::any().map(move || host.clone())
}

/// A sealed route at `path` whose handler takes the signed request.
fn sealed_route<T>(
    host: &Arc<Host>,
    path: &'static str,
    handler: fn(&Host, &SignedHostRequest) -> Result<T, Failure>,
) -> warp::filters::BoxedFilter<(Response,)>
where
    T: serde::Serialize + Send + 'static,
{
    let segments: Vec<&'static str> = path.trim_start_matches('/').split('/').collect();
    let matched = segments.iter().fold(warp::any().boxed(), |filter, segment| {
        filter.and(warp::path(*segment)).boxed()
    });
    matched
        .and(warp::path::end())
        .and(warp::post())
        .and(sealed::sealed_body::<SignedHostRequest, Host>(
            host.clone(),
            MAX_SEALED_BODY,
        ))
        .and(with_host(host))
        .and_then(
            move |(request, sealing): (SignedHostRequest, sealed::Sealing), host: Arc<Host>| {
                let worker = host.clone();
                sealed::reply(host, sealing, move || handler(&worker, &request))
            },
        )
        .boxed()
}

/// Every route of the host, with the shared failure handling.
pub fn routes(host: Arc<Host>) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let bootstrap = warp::path!("v1" / "bootstrap")
        .and(warp::get())
        .and(with_host(&host))
        .and_then(|host: Arc<Host>| {
            json::blocking(move || host.bootstrap().map_err(|e| Failure::new(e.api_code(), e.to_string())))
        });
    let open = warp::path!("v1" / "channel" / "open")
        .and(warp::post())
        .and(json::json_body::<OpenRequest>())
        .and(warp::ext::optional::<PeerAddress>())
        .and(with_host(&host))
        .and_then(|request: OpenRequest, peer: Option<PeerAddress>, host: Arc<Host>| {
            json::blocking(move || {
                use signet_channel::SealedEnd as _;
                host.channel()
                    .open_session(&request, peer.map(|p| p.0.ip()))
                    .map(|id| OpenResponse {
                        session_id: Bytes(id.to_vec()),
                    })
                    .map_err(|e| Failure::new(e.api_code(), e.to_string()))
            })
        });
    let sealed_routes = sealed_route(&host, signet_schema::host::SUBMIT_PATH, Host::submit)
        .or(sealed_route(&host, signet_schema::host::LIST_PATH, Host::list))
        .unify()
        .or(sealed_route(&host, signet_schema::host::SHOW_PATH, Host::show))
        .unify()
        .or(sealed_route(&host, signet_schema::host::COSIGN_PATH, Host::cosign))
        .unify()
        .or(sealed_route(&host, signet_schema::host::CANCEL_PATH, Host::cancel))
        .unify();
    bootstrap
        .or(open)
        .unify()
        .or(sealed_routes)
        .unify()
        .recover(json::recover)
        .unify()
}
