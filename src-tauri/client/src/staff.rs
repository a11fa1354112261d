//! Help-desk and auditor requests, each signed with the staff member's own
//! key over a fresh nonce (the server checks it against their active
//! certificate and their role).

use serde::Serialize;
use signet_schema::api::{
    ActionDone, AuditVerification, CertificateInfo, CertificateStatus, EventInfo, LetterPage, RevocationReason,
    StaffRevokeRequest, UserPage,
};

use crate::error::{ClientError, Result};
use crate::session::Session;

/// `path?name=value&…` with the values form-encoded, empty values left out.
pub fn with_query(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let mut url = reqwest::Url::parse("https://signet.invalid/").unwrap_or_else(|_| unreachable!("a constant URL"));
    url.set_path(path);
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
    }
    match url.query().filter(|q| !q.is_empty()) {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

/// One path segment, checked (ids are plain ASCII).
fn segment(name: &str, value: &str) -> Result<String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b)) {
        return Err(ClientError::input(name, format!("`{value}` is not a valid {name}")));
    }
    Ok(value.to_string())
}

/// What a consent letter is marked as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LetterMark {
    /// Printed (the PDF, and with it the phrase, is deleted).
    Printed,
    /// Put in the post.
    Dispatched,
}

/// Filters of the certificate archive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CertificateFilter {
    /// Whose certificates.
    pub user: Option<String>,
    /// One serial (hex).
    pub serial: Option<String>,
    /// Active, superseded or revoked.
    pub status: Option<CertificateStatus>,
    /// Issued at or after (Unix seconds).
    pub from: Option<i64>,
    /// Issued at or before (Unix seconds).
    pub to: Option<i64>,
    /// At most this many (server caps at 1000).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

impl CertificateFilter {
    fn query(&self, path: &str) -> String {
        let status = self.status.map(|s| s.as_str().to_owned());
        with_query(
            path,
            &[
                ("user", self.user.clone()),
                ("serial", self.serial.clone()),
                ("status", status),
                ("from", self.from.map(|v| v.to_string())),
                ("to", self.to.map(|v| v.to_string())),
                ("limit", self.limit.map(|v| v.to_string())),
                ("offset", self.offset.map(|v| v.to_string())),
            ],
        )
    }
}

/// Which page of a help-desk list: the first, or the one after a previous
/// page's `next`; of the server's default size unless `limit` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// A previous page's `next`.
    pub after: Option<String>,
    /// Entries on the page.
    pub limit: Option<usize>,
}

impl PageRequest {
    fn query(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("after", self.after.clone()),
            ("limit", self.limit.map(|n| n.to_string())),
        ]
    }
}

impl Session {
    /// A page of the consent letters waiting to be printed or posted, oldest
    /// first: the first, or the one after `page.after`.
    pub fn letters(&mut self, page: &PageRequest) -> Result<LetterPage> {
        self.signed_get(&with_query("/v1/helpdesk/letters", &page.query()))
    }

    /// A letter's PDF (available until it is marked printed).
    pub fn letter_pdf(&mut self, application_id: &str) -> Result<Vec<u8>> {
        let path = format!("/v1/helpdesk/letters/{}/pdf", segment("application", application_id)?);
        Ok(self.signed_request("GET", &path, None)?.body)
    }

    /// Marks a letter printed or dispatched.
    pub fn mark_letter(&mut self, application_id: &str, mark: LetterMark) -> Result<ActionDone> {
        let state = match mark {
            LetterMark::Printed => "printed",
            LetterMark::Dispatched => "dispatched",
        };
        let path = format!(
            "/v1/helpdesk/letters/{}/{state}",
            segment("application", application_id)?
        );
        self.signed_post(&path, &serde_json::json!({}))
    }

    /// A page of the users with a term (id, e-mail address or its domain, a
    /// word of the name) beginning with each word of `search`, optionally in
    /// one state: in id order without words, else in the order of the term
    /// the longest word matched.
    pub fn users(&mut self, search: Option<&str>, state: Option<&str>, page: &PageRequest) -> Result<UserPage> {
        let mut query = vec![("q", search.map(str::to_string)), ("state", state.map(str::to_string))];
        query.extend(page.query());
        self.signed_get(&with_query("/v1/helpdesk/users", &query))
    }

    /// Re-registration for a lost pass phrase: the key is erased, its
    /// certificate revoked, and a new application with a new letter opened.
    pub fn reset_user(&mut self, user_id: &str) -> Result<ActionDone> {
        let path = format!("/v1/helpdesk/users/{}/reset", segment("user id", user_id)?);
        self.signed_post(&path, &serde_json::json!({}))
    }

    /// Unlocks an account locked after failed sign-ins.
    pub fn unlock_user(&mut self, user_id: &str) -> Result<ActionDone> {
        let path = format!("/v1/helpdesk/users/{}/unlock", segment("user id", user_id)?);
        self.signed_post(&path, &serde_json::json!({}))
    }

    /// Revokes a user's key for good.
    pub fn revoke_user(&mut self, user_id: &str, reason: RevocationReason) -> Result<ActionDone> {
        let path = format!("/v1/helpdesk/users/{}/revoke", segment("user id", user_id)?);
        self.signed_post(&path, &StaffRevokeRequest { reason })
    }

    /// Certificates in the archive.
    pub fn audit_certificates(&mut self, filter: &CertificateFilter) -> Result<Vec<CertificateInfo>> {
        self.signed_get(&filter.query("/v1/audit/certificates"))
    }

    /// The same, as CSV.
    pub fn audit_certificates_csv(&mut self, filter: &CertificateFilter) -> Result<Vec<u8>> {
        Ok(self
            .signed_request("GET", &filter.query("/v1/audit/certificates.csv"), None)?
            .body)
    }

    /// Audit events, optionally about one user, from a position in the chain.
    pub fn audit_events(
        &mut self,
        subject: Option<&str>,
        from_seq: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<EventInfo>> {
        let path = with_query(
            "/v1/audit/events",
            &[
                ("subject", subject.map(str::to_string)),
                ("from_seq", from_seq.map(|v| v.to_string())),
                ("limit", limit.map(|v| v.to_string())),
            ],
        );
        self.signed_get(&path)
    }

    /// Checks the whole audit chain on the server.
    pub fn audit_verify(&mut self) -> Result<AuditVerification> {
        self.signed_get("/v1/audit/verify")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_and_empty_values_left_out() {
        assert_eq!(with_query("/v1/helpdesk/users", &[("q", None)]), "/v1/helpdesk/users");
        assert_eq!(
            with_query(
                "/v1/helpdesk/users",
                &[("q", Some("a b&c".into())), ("state", Some(String::new()))]
            ),
            "/v1/helpdesk/users?q=a+b%26c"
        );
    }

    #[test]
    fn path_segments_refuse_separators() {
        assert!(segment("user id", "alice").is_ok());
        for bad in ["", "a/b", "..%2f", "a b", "a?b"] {
            assert!(segment("user id", bad).is_err(), "{bad}");
        }
    }
}
