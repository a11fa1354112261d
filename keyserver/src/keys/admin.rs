//! Operator actions run on the key tier's own machine (`signet-keyserver
//! admin …`), not over the network: making the first help-desk account and
//! granting roles.

use signet_schema::vocabulary::AuditEventKind;
use std::path::Path;

use signet_schema::api::ApiErrorCode;

use super::KeyTier;
use super::flows::{Outcome, TxError, event, settle};
use crate::error::Failure;
use crate::keys::db::models::{self, ApplicationState, LetterState, UserRole, UserState};

impl KeyTier {
    /// On a fresh install (no help-desk account yet), makes the pending
    /// applicant `user_id` the first help-desk account and writes their
    /// consent letter to `letter_path` (mode 0600): nobody else could print
    /// it. The letter then leaves the database, as after printing.
    pub fn bootstrap_helpdesk(&self, user_id: &str, letter_path: &Path) -> Result<(), Failure> {
        // The letter is written (atomically) before anything is committed, so
        // a failed write or a crash never loses the only copy of the phrase.
        let (application_id, pdf) = settle(self.db.read(|c| self.bootstrap_candidate(c, user_id)))?;
        crate::secret_file::write_secret(letter_path, &pdf).map_err(Failure::internal)?;
        settle(self.db.write(|c| -> Result<Outcome<()>, TxError> {
            let (current, _) = match self.bootstrap_candidate(c, user_id)? {
                Outcome::Done(found) => found,
                Outcome::Refused(f) => return Ok(Outcome::Refused(f)),
            };
            if current != application_id {
                return Ok(Outcome::Refused(Failure::new(
                    ApiErrorCode::WrongState,
                    "the application changed meanwhile",
                )));
            }
            let now = self.now();
            models::users::set_role(c, user_id, UserRole::Helpdesk, now)?;
            models::applications::set_letter_state(c, &application_id, LetterState::Printed)?;
            self.audit(
                c,
                event(
                    "operator",
                    AuditEventKind::HelpdeskBootstrapped,
                    user_id,
                    serde_json::json!({ "application_id": application_id }),
                ),
            )?;
            Ok(Outcome::Done(()))
        }))
    }

    /// The pending applicant `user_id` on an install without help desk:
    /// their application id and letter.
    fn bootstrap_candidate(
        &self,
        c: &mut crate::keys::db::AnyConnection,
        user_id: &str,
    ) -> Result<Outcome<(String, Vec<u8>)>, TxError> {
        let staff = models::users::any_with_role(c, UserRole::Helpdesk, &[UserState::Active, UserState::Pending])?;
        if staff {
            return Ok(Outcome::Refused(Failure::new(
                ApiErrorCode::WrongState,
                "a help-desk account exists already: grant roles with `admin set-role` instead",
            )));
        }
        let Some(user) = models::users::find(c, user_id)? else {
            return Ok(Outcome::Refused(Failure::new(
                ApiErrorCode::NotFound,
                "no such applicant: apply for a key with this user id in the Signet app first",
            )));
        };
        let app = models::applications::open_for_user(c, user_id)?;
        let Some(app) =
            app.filter(|a| user.state == UserState::Pending && a.state == ApplicationState::AwaitingConsent)
        else {
            return Ok(Outcome::Refused(Failure::new(
                ApiErrorCode::WrongState,
                "this user has no application awaiting consent",
            )));
        };
        let Some(sealed) = app.letter_pdf else {
            return Ok(Outcome::Refused(Failure::new(
                ApiErrorCode::WrongState,
                "this applicant's letter was printed already",
            )));
        };
        let pdf = self.open_letter(&app.application_id, &sealed)?;
        Ok(Outcome::Done((app.application_id, pdf)))
    }

    /// Grants `role` to `user_id`.
    pub fn set_role(&self, user_id: &str, role: UserRole) -> Result<(), Failure> {
        settle(self.db.write(|c| -> Result<Outcome<()>, TxError> {
            if models::users::find(c, user_id)?.is_none() {
                return Ok(Outcome::Refused(Failure::new(ApiErrorCode::NotFound, "no such user")));
            }
            models::users::set_role(c, user_id, role, self.now())?;
            self.audit(
                c,
                event(
                    "operator",
                    AuditEventKind::RoleGranted,
                    user_id,
                    serde_json::json!({ "role": role.as_str() }),
                ),
            )?;
            Ok(Outcome::Done(()))
        }))
    }
}
