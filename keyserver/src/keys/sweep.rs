//! The key tier's sweep of its database, once a minute: applications whose
//! letter ran out (awaiting consent or locked) expire, their wrap and letter
//! erased; a person who never held a certificate is then given up and their
//! id freed for anyone to apply for (a reset person who applied again goes
//! back to `reset`); guess counters quiet for a day, and not locked, are
//! forgotten. Each round works off at most [`BATCH`] applications in one
//! transaction, so a backlog never holds the write lock for long.

use signet_schema::vocabulary::AuditEventKind;

use super::KeyTier;
use super::db::AnyConnection;
use super::db::models::{self, ApplicationState, CertificateFilter, GuessPurpose, LetterState, UserState};
use super::flows::{TxError, event};
use crate::error::Failure;

/// Applications expired in one round at most.
pub const BATCH: i64 = 200;
/// Seconds a guess counter is kept after its last change, once no lock holds.
pub const GUESSES_KEPT_SECONDS: i64 = 86_400;

/// What one round of the sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Applications expired.
    pub expired: usize,
    /// Ids freed.
    pub freed: usize,
    /// Guess counters forgotten.
    pub forgotten: usize,
}

impl KeyTier {
    /// One round of the sweep (see the module documentation).
    pub fn sweep(&self) -> Result<Swept, Failure> {
        let now = self.now();
        Ok(self.db.write(|c| -> Result<Swept, TxError> {
            let mut swept = Swept::default();
            for app in models::applications::ran_out(c, now, BATCH)? {
                models::applications::set_state(c, &app.application_id, ApplicationState::Expired)?;
                models::applications::erase_wrap(c, &app.application_id)?;
                models::applications::set_letter_state(c, &app.application_id, LetterState::Dispatched)?;
                self.audit(
                    c,
                    event(
                        "system",
                        AuditEventKind::ApplicationExpired,
                        &app.user_id,
                        serde_json::json!({ "application_id": app.application_id }),
                    ),
                )?;
                swept.expired += 1;
                let pending = models::users::find(c, &app.user_id)?.is_some_and(|u| u.state == UserState::Pending);
                if pending && self.give_up_pending(c, "system", &app.user_id, now)? {
                    swept.freed += 1;
                }
            }
            swept.forgotten = models::guesses::forget(c, now - GUESSES_KEPT_SECONDS, now)?;
            Ok(swept)
        })?)
    }

    /// Gives up a pending person's application (inside the caller's
    /// transaction): what is open is withdrawn; then one who never held a
    /// certificate is deleted with their applications and guess counters,
    /// which frees the id, and one who did (a reset person who applied
    /// again) goes back to `reset`. Answers whether the id was freed.
    pub(crate) fn give_up_pending(
        &self,
        c: &mut AnyConnection,
        actor: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, TxError> {
        self.withdraw_open_applications(c, user_id)?;
        let certified = models::certificates::count(
            c,
            &CertificateFilter {
                user_id: Some(user_id.to_owned()),
                ..CertificateFilter::default()
            },
        )? > 0;
        if certified {
            models::users::set_state(c, user_id, UserState::Reset, now)?;
            return Ok(false);
        }
        models::applications::delete_for_user(c, user_id)?;
        models::guesses::clear(c, GuessPurpose::Signin, user_id)?;
        models::guesses::clear(c, GuessPurpose::Consent, user_id)?;
        models::erased_keys::delete(c, user_id)?;
        models::users::delete(c, user_id)?;
        self.audit(
            c,
            event(actor, AuditEventKind::UserFreed, user_id, serde_json::json!({})),
        )?;
        Ok(true)
    }
}
