//! The key server's route table: every route either tier serves, declared
//! once, with who may call it, whether its body must travel sealed and
//! whether it counts against the named user's rate.
//!
//! Both tiers read it and neither owns it: the web tier builds its
//! allow-list and picks the per-user-limited routes from it
//! ([`crate`]), the key tier decides from it which routes count sealed
//! requests per user (`signet_keyserver::keys::routes`), and the API description
//! describes exactly these routes (`tests/openapi.rs` compares them with what
//! is served).

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Anyone: public documents (policy, CA certificate, CRL, certificates).
    Anyone,
    /// Anyone who proves knowledge: a PKCS#10 signed by the new key
    /// (apply), the letter's phrase (consent), the pass phrase's verifier
    /// (pre-login answers alike for everyone; sign-in, revoke).
    ProvingKnowledge,
    /// A user's request signed with their own certified key.
    SignedByUser,
    /// A help-desk member's signed request.
    SignedByHelpDesk,
    /// An auditor's signed request.
    SignedByAuditor,
}

impl Caller {
    /// Whether the request carries the `signet-*` signature headers.
    pub fn signs(self) -> bool {
        matches!(
            self,
            Caller::SignedByUser | Caller::SignedByHelpDesk | Caller::SignedByAuditor
        )
    }
}

/// What a request carries or a route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Nothing.
    Empty,
    /// A JSON document of the API type with this schema name
    /// (`utoipa::ToSchema::name`).
    Json(&'static str),
    /// A JSON array of the API type with this schema name.
    JsonList(&'static str),
    /// Bytes of this media type.
    Raw(&'static str),
}

/// Names every route, so that the key tier's handlers and the API
/// description are exhaustive matches over the table: a route added here
/// does not compile until it has both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteId {
    Policy,
    Bootstrap,
    ChannelOpen,
    OpenApi,
    Apply,
    Consent,
    Prelogin,
    Signin,
    Revoke,
    CaPem,
    CaCertificate,
    Crl,
    Certificate,
    SignerRelease,
    SignerBinary,
    Hosts,
    Reregister,
    Letters,
    LetterPdf,
    LetterPrinted,
    LetterDispatched,
    Users,
    UserReset,
    UserUnlock,
    UserRevoke,
    AuditCertificates,
    AuditCertificatesCsv,
    AuditEvents,
    AuditVerify,
}

/// One route of the key server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Which route this is.
    pub id: RouteId,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path pattern; `{name}` is one path segment (see [`PathMatch`]).
    pub path: &'static str,
    /// Who may call it.
    pub caller: Caller,
    /// Whether its body and answer travel only inside the sealed channel
    /// (a plain body is refused, `sealing-required`).
    pub sealed: bool,
    /// Whether a request counts against the rate of the user it names.
    pub per_user_limit: bool,
    /// The request body.
    pub request: Payload,
    /// The answer on success.
    pub answer: Payload,
}

const fn get(id: RouteId, path: &'static str, caller: Caller, answer: Payload) -> Route {
    Route {
        id,
        method: "GET",
        path,
        caller,
        sealed: false,
        per_user_limit: false,
        request: Payload::Empty,
        answer,
    }
}

const fn post(id: RouteId, path: &'static str, caller: Caller, request: Payload, answer: Payload) -> Route {
    Route {
        method: "POST",
        request,
        ..get(id, path, caller, answer)
    }
}

/// A route proving knowledge, sealed, limited per user, with a JSON request and answer.
const fn sealed_per_user(id: RouteId, path: &'static str, request: &'static str, answer: &'static str) -> Route {
    Route {
        sealed: true,
        per_user_limit: true,
        ..post(
            id,
            path,
            Caller::ProvingKnowledge,
            Payload::Json(request),
            Payload::Json(answer),
        )
    }
}

use Caller::{Anyone, SignedByAuditor as Auditor, SignedByHelpDesk as HelpDesk};
use Payload::{Empty, Json, JsonList, Raw};

/// Every route, in the order the API description lists them.
pub const ROUTES: &[Route] = &[
    get(RouteId::Policy, "/v1/policy", Anyone, Json("Policy")),
    get(RouteId::Bootstrap, "/v1/bootstrap", Anyone, Json("SignedBootstrap")),
    post(
        RouteId::ChannelOpen,
        "/v1/channel/open",
        Anyone,
        Json("OpenRequest"),
        Json("OpenResponse"),
    ),
    get(RouteId::OpenApi, "/v1/openapi.json", Anyone, Raw("application/json")),
    Route {
        sealed: true,
        ..post(
            RouteId::Apply,
            "/v1/apply",
            Caller::ProvingKnowledge,
            Json("ApplyRequest"),
            Json("ApplyResponse"),
        )
    },
    sealed_per_user(RouteId::Consent, "/v1/consent", "ConsentRequest", "ConsentResponse"),
    sealed_per_user(RouteId::Prelogin, "/v1/prelogin", "PreloginRequest", "PreloginResponse"),
    sealed_per_user(RouteId::Signin, "/v1/signin", "SigninRequest", "SigninResponse"),
    sealed_per_user(RouteId::Revoke, "/v1/revoke", "RevokeRequest", "RevokeResponse"),
    get(RouteId::CaPem, "/v1/ca.pem", Anyone, Raw("application/x-pem-file")),
    get(
        RouteId::CaCertificate,
        "/v1/ca.cer",
        Anyone,
        Raw("application/pkix-cert"),
    ),
    get(RouteId::Crl, "/v1/crl", Anyone, Raw("application/pkix-crl")),
    get(
        RouteId::Certificate,
        "/v1/certificates/{serial}",
        Anyone,
        Json("CertificateInfo"),
    ),
    get(
        RouteId::SignerRelease,
        "/v1/signer/release",
        Anyone,
        Json("ReleaseManifest"),
    ),
    get(
        RouteId::SignerBinary,
        "/v1/signer/binaries/{sha256}",
        Anyone,
        Raw("application/octet-stream"),
    ),
    get(RouteId::Hosts, "/v1/hosts", Anyone, JsonList("HostInfo")),
    Route {
        // It carries a sealed record and verifiers: sealed, though signed.
        sealed: true,
        // It checks a verifier too: guesses count against the user it names.
        per_user_limit: true,
        ..post(
            RouteId::Reregister,
            "/v1/reregister",
            Caller::SignedByUser,
            Json("ReregisterRequest"),
            Json("ReregisterResponse"),
        )
    },
    get(RouteId::Letters, "/v1/helpdesk/letters", HelpDesk, Json("LetterPage")),
    get(
        RouteId::LetterPdf,
        "/v1/helpdesk/letters/{application}/pdf",
        HelpDesk,
        Raw("application/pdf"),
    ),
    post(
        RouteId::LetterPrinted,
        "/v1/helpdesk/letters/{application}/printed",
        HelpDesk,
        Empty,
        Json("ActionDone"),
    ),
    post(
        RouteId::LetterDispatched,
        "/v1/helpdesk/letters/{application}/dispatched",
        HelpDesk,
        Empty,
        Json("ActionDone"),
    ),
    get(RouteId::Users, "/v1/helpdesk/users", HelpDesk, Json("UserPage")),
    post(
        RouteId::UserReset,
        "/v1/helpdesk/users/{user}/reset",
        HelpDesk,
        Empty,
        Json("ActionDone"),
    ),
    post(
        RouteId::UserUnlock,
        "/v1/helpdesk/users/{user}/unlock",
        HelpDesk,
        Empty,
        Json("ActionDone"),
    ),
    post(
        RouteId::UserRevoke,
        "/v1/helpdesk/users/{user}/revoke",
        HelpDesk,
        Json("StaffRevokeRequest"),
        Json("ActionDone"),
    ),
    get(
        RouteId::AuditCertificates,
        "/v1/audit/certificates",
        Auditor,
        JsonList("CertificateInfo"),
    ),
    get(
        RouteId::AuditCertificatesCsv,
        "/v1/audit/certificates.csv",
        Auditor,
        Raw("text/csv; charset=utf-8"),
    ),
    get(RouteId::AuditEvents, "/v1/audit/events", Auditor, JsonList("EventInfo")),
    get(
        RouteId::AuditVerify,
        "/v1/audit/verify",
        Auditor,
        Json("AuditVerification"),
    ),
];

/// The route named `id`.
pub fn route(id: RouteId) -> &'static Route {
    // Every id has its entry: `each_id_has_exactly_one_route` checks it.
    ROUTES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| unreachable!("{id:?} is not in the route table"))
}

/// Whether the route `path` (a pattern) makes an application, counted against the application rates.
pub fn counts_as_application(path: &str) -> bool {
    ROUTES.iter().any(|r| r.path == path && r.id == RouteId::Apply)
}

/// Whether the route `path` (a pattern) opens a sealed session, counted against the opening rate.
pub fn counts_as_opening(path: &str) -> bool {
    ROUTES.iter().any(|r| r.path == path && r.id == RouteId::ChannelOpen)
}

/// Longest path parameter accepted (a certificate serial is 32 hex digits).
pub const MAX_PARAMETER_LEN: usize = 64;

/// How a request's method and path meet the route table.
///
/// Paths are matched as the client sent them, segment by segment, without
/// any decoding or normalisation: `/v1/../admin`, `/v1//policy`,
/// `/v1/%70olicy` and a trailing slash match nothing. A `{name}` segment
/// matches 1 to [`MAX_PARAMETER_LEN`] characters of `A–Z a–z 0–9 . - _`
/// starting with a letter or digit (user ids, serials, application ids), so
/// never `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathMatch<'a> {
    /// This route, with the path's `{name}` segments in order.
    Route(&'static Route, Vec<&'a str>),
    /// A route has this path but not this method.
    OtherMethod,
    /// No route has this path.
    NoRoute,
}

/// Finds the route for `method` and `path`.
pub fn find<'a>(method: &str, path: &'a str) -> PathMatch<'a> {
    let mut other_method = false;
    for route in ROUTES {
        if let Some(parameters) = parameters(route.path, path) {
            if route.method == method {
                return PathMatch::Route(route, parameters);
            }
            other_method = true;
        }
    }
    if other_method {
        PathMatch::OtherMethod
    } else {
        PathMatch::NoRoute
    }
}

/// The `{name}` segments of `path` when it matches `pattern`.
pub fn parameters<'a>(pattern: &str, path: &'a str) -> Option<Vec<&'a str>> {
    // Most routes have no parameter: one comparison, no splitting.
    if !pattern.contains('{') {
        return (pattern == path).then(Vec::new);
    }
    let mut found = Vec::new();
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(found),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if !is_parameter(g) {
                    return None;
                }
                found.push(g);
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

fn is_parameter(segment: &str) -> bool {
    (1..=MAX_PARAMETER_LEN).contains(&segment.len())
        && segment.starts_with(|c: char| c.is_ascii_alphanumeric())
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_has_exactly_one_route() {
        for r in ROUTES {
            assert_eq!(ROUTES.iter().filter(|o| o.id == r.id).count(), 1, "{:?}", r.id);
            assert_eq!(route(r.id), r);
        }
    }

    #[test]
    fn paths_find_their_route_and_parameters() {
        match find("POST", "/v1/helpdesk/users/alice/unlock") {
            PathMatch::Route(r, parameters) => {
                assert_eq!(r.id, RouteId::UserUnlock);
                assert_eq!(parameters, ["alice"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(find("GET", "/v1/apply"), PathMatch::OtherMethod);
        assert_eq!(find("GET", "/v1/helpdesk/users/alice/delete"), PathMatch::NoRoute);
        assert_eq!(find("GET", "/v1/certificates/.."), PathMatch::NoRoute);
    }

    #[test]
    fn bodies_go_with_posts_and_every_body_with_a_secret_is_sealed() {
        for r in ROUTES {
            if r.method == "GET" {
                assert_eq!(r.request, Payload::Empty, "{}", r.path);
            }
            let carries_secrets = r.caller == Caller::ProvingKnowledge || r.id == RouteId::Reregister;
            assert_eq!(r.sealed, carries_secrets, "{}", r.path);
        }
    }

    #[test]
    fn each_route_is_declared_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    (a.method, a.path) != (b.method, b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn per_user_limits_are_on_the_routes_that_name_a_user_in_the_body() {
        let limited: Vec<&str> = ROUTES.iter().filter(|r| r.per_user_limit).map(|r| r.path).collect();
        assert_eq!(
            limited,
            [
                "/v1/consent",
                "/v1/prelogin",
                "/v1/signin",
                "/v1/revoke",
                "/v1/reregister"
            ]
        );
        // Sealed, so the key tier counts them: the web tier cannot read the user id.
        assert!(ROUTES.iter().filter(|r| r.per_user_limit).all(|r| r.sealed));
    }

    #[test]
    fn staff_routes_are_signed_and_public_ones_are_reads_or_the_channel() {
        for r in ROUTES {
            if r.path.starts_with("/v1/helpdesk/") {
                assert_eq!(r.caller, Caller::SignedByHelpDesk, "{}", r.path);
            }
            if r.path.starts_with("/v1/audit/") {
                assert_eq!(r.caller, Caller::SignedByAuditor, "{}", r.path);
            }
            if r.caller == Caller::Anyone && r.method == "POST" {
                assert_eq!(r.path, "/v1/channel/open");
            }
        }
    }
}
