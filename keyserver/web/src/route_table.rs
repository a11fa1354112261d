//! The key server's route table: every route either tier serves, declared
//! once, with who may call it, whether its body may travel sealed and
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

/// One route of the key server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path pattern; `{name}` is one path segment.
    pub path: &'static str,
    /// Who may call it.
    pub caller: Caller,
    /// Whether its body and answer may travel inside the sealed channel.
    pub sealed: bool,
    /// Whether a request counts against the rate of the user it names.
    pub per_user_limit: bool,
}

const fn route(method: &'static str, path: &'static str, caller: Caller) -> Route {
    Route {
        method,
        path,
        caller,
        sealed: false,
        per_user_limit: false,
    }
}

/// A route proving knowledge, sealed, limited per user.
const fn sealed_per_user(path: &'static str) -> Route {
    Route {
        method: "POST",
        path,
        caller: Caller::ProvingKnowledge,
        sealed: true,
        per_user_limit: true,
    }
}

/// Every route, in the order the API description lists them.
pub const ROUTES: &[Route] = &[
    route("GET", "/v1/policy", Caller::Anyone),
    route("GET", "/v1/bootstrap", Caller::Anyone),
    route("POST", "/v1/channel/open", Caller::Anyone),
    route("GET", "/v1/openapi.json", Caller::Anyone),
    Route {
        sealed: true,
        ..route("POST", "/v1/apply", Caller::ProvingKnowledge)
    },
    sealed_per_user("/v1/consent"),
    sealed_per_user("/v1/prelogin"),
    sealed_per_user("/v1/signin"),
    sealed_per_user("/v1/revoke"),
    route("GET", "/v1/ca.pem", Caller::Anyone),
    route("GET", "/v1/crl", Caller::Anyone),
    route("GET", "/v1/certificates/{serial}", Caller::Anyone),
    route("POST", "/v1/reregister", Caller::SignedByUser),
    route("GET", "/v1/helpdesk/letters", Caller::SignedByHelpDesk),
    route(
        "GET",
        "/v1/helpdesk/letters/{application}/pdf",
        Caller::SignedByHelpDesk,
    ),
    route(
        "POST",
        "/v1/helpdesk/letters/{application}/printed",
        Caller::SignedByHelpDesk,
    ),
    route(
        "POST",
        "/v1/helpdesk/letters/{application}/dispatched",
        Caller::SignedByHelpDesk,
    ),
    route("GET", "/v1/helpdesk/users", Caller::SignedByHelpDesk),
    route("POST", "/v1/helpdesk/users/{user}/reset", Caller::SignedByHelpDesk),
    route("POST", "/v1/helpdesk/users/{user}/unlock", Caller::SignedByHelpDesk),
    route("POST", "/v1/helpdesk/users/{user}/revoke", Caller::SignedByHelpDesk),
    route("GET", "/v1/audit/certificates", Caller::SignedByAuditor),
    route("GET", "/v1/audit/certificates.csv", Caller::SignedByAuditor),
    route("GET", "/v1/audit/events", Caller::SignedByAuditor),
    route("GET", "/v1/audit/verify", Caller::SignedByAuditor),
];

/// Whether requests to the route with path pattern `path` count against the
/// rate of the user they name.
pub fn counts_per_user(path: &str) -> bool {
    ROUTES.iter().any(|r| r.path == path && r.per_user_limit)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(limited, ["/v1/consent", "/v1/prelogin", "/v1/signin", "/v1/revoke"]);
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
