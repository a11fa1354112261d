//! The allow-list: the web tier forwards a request only when its method and
//! path match one of the key server's routes ([`crate::route_table::ROUTES`]).
//!
//! Paths are matched as [`crate::route_table::find`] matches them: as sent,
//! without decoding or normalisation.

use crate::route_table;

/// One allowed route: a method and a path pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The pattern, e.g. `/v1/certificates/{serial}`.
    pub pattern: &'static str,
    /// Whether its body may be sealed (then also of the sealed media type).
    pub sealed: bool,
}

/// The routes the web tier forwards.
#[derive(Clone, Debug)]
pub struct AllowList {
    routes: Vec<Route>,
}

impl AllowList {
    /// The key tier's own routes.
    pub fn key_tier() -> Self {
        AllowList {
            routes: route_table::ROUTES
                .iter()
                .map(|r| Route {
                    method: r.method,
                    pattern: r.path,
                    sealed: r.sealed,
                })
                .collect(),
        }
    }

    /// The route that `method` and `path` match, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<Route> {
        self.routes
            .iter()
            .find(|route| route.method == method && route_table::parameters(route.pattern, path).is_some())
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_table::MAX_PARAMETER_LEN;

    #[test]
    fn only_listed_routes_match() {
        let allow = AllowList::key_tier();
        assert!(allow.find("GET", "/v1/policy").is_some());
        assert!(allow.find("POST", "/v1/apply").is_some());
        assert_eq!(
            allow.find("GET", "/v1/certificates/0A1B2C").map(|r| r.pattern),
            Some("/v1/certificates/{serial}")
        );
        for (method, path) in [
            ("POST", "/v1/policy"),
            ("GET", "/v1/apply"),
            ("GET", "/v1/policy/"),
            ("GET", "/v1//policy"),
            ("GET", "/v1/../v1/policy"),
            ("GET", "/v1/./policy"),
            ("GET", "/v1/%70olicy"),
            ("GET", "/v1/certificates/"),
            ("GET", "/v1/certificates/.."),
            ("GET", "/v1/certificates/."),
            ("GET", "/v1/certificates/.hidden"),
            ("GET", "/v1/certificates/a%2Fb"),
            ("GET", "/v1/certificates/a/b"),
            ("POST", "/v1/admin"),
            ("GET", "/"),
            ("GET", ""),
            ("HEAD", "/v1/policy"),
        ] {
            assert!(allow.find(method, path).is_none(), "{method} {path}");
        }
        assert!(allow.find("GET", "/v1/certificates/alice.smith-2").is_some());
        let long = format!("/v1/certificates/{}", "A".repeat(MAX_PARAMETER_LEN + 1));
        assert!(allow.find("GET", &long).is_none());
    }
}
