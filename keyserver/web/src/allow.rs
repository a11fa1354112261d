//! The allow-list: the web tier forwards a request only when its method and
//! path match one of the key server's routes ([`crate::route_table::ROUTES`]).
//!
//! Paths are matched as the client sent them, segment by segment, without
//! any decoding or normalisation: `/v1/../admin`, `/v1//policy`,
//! `/v1/%70olicy` and a trailing slash match nothing. A `{name}` segment
//! matches 1 to [`MAX_PARAMETER_LEN`] characters of `A–Z a–z 0–9 . - _`
//! starting with a letter or digit (user ids, serials, application ids), so
//! never `.` or `..`.

/// Longest path parameter accepted (a certificate serial is 32 hex digits).
pub const MAX_PARAMETER_LEN: usize = 64;

/// One allowed route: a method and a path pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The pattern, e.g. `/v1/certificates/{serial}`.
    pub pattern: &'static str,
}

/// The routes the web tier forwards.
#[derive(Clone, Debug)]
pub struct AllowList {
    routes: Vec<Route>,
}

impl AllowList {
    /// The allow-list of `(method, pattern)` pairs.
    pub fn new(routes: &[(&'static str, &'static str)]) -> Self {
        AllowList {
            routes: routes
                .iter()
                .map(|&(method, pattern)| Route { method, pattern })
                .collect(),
        }
    }

    /// The key tier's own routes.
    pub fn key_tier() -> Self {
        AllowList {
            routes: crate::route_table::ROUTES
                .iter()
                .map(|r| Route {
                    method: r.method,
                    pattern: r.path,
                })
                .collect(),
        }
    }

    /// The route that `method` and `path` match, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<Route> {
        self.routes
            .iter()
            .find(|route| route.method == method && path_matches(route.pattern, path))
            .copied()
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if !is_parameter(g) {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
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
