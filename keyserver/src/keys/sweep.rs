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
use super::db::models::{self, ApplicationState, CertificateFilter, GuessPurpose, Guesses, LetterState, UserState};
use super::flows::{TxError, event};
use crate::error::Failure;

/// Applications expired in one round at most.
pub const BATCH: i64 = 50;
/// Guess counters forgotten in one round at most.
pub const FORGET_BATCH: i64 = 1000;
/// Seconds a guess counter is kept after its last change, once no wait holds.
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
    /// Applications that could not be expired this round (logged; tried again next round).
    pub failed: usize,
}

impl KeyTier {
    /// One round of the sweep (see the module documentation). Each
    /// application is expired in a transaction of its own, so one that
    /// fails holds up no other.
    pub fn sweep(&self) -> Result<Swept, Failure> {
        let now = self.now();
        let due = self.db.read(|c| models::applications::ran_out(c, now, BATCH))?;
        let mut swept = Swept::default();
        for app in due {
            match self.db.write(|c| self.expire(c, &app.application_id, now)) {
                Ok(Some(freed)) => {
                    swept.expired += 1;
                    swept.freed += usize::from(freed);
                }
                Ok(None) => {}
                Err(e) => {
                    let e = Failure::from(e);
                    tracing::warn!(application = %app.application_id, error = %e.body.message, "an application could not be expired");
                    swept.failed += 1;
                }
            }
        }
        swept.forgotten = self.db.write(|c| -> Result<usize, TxError> {
            Ok(models::guesses::forget(
                c,
                now - GUESSES_KEPT_SECONDS,
                now,
                FORGET_BATCH,
            )?)
        })?;
        Ok(swept)
    }

    /// Expires one application (inside the caller's transaction), if it is
    /// still due: its wrap and letter erased, audited; then its person is
    /// given up. Answers whether the id was freed, or `None` when nothing
    /// was due any more.
    fn expire(&self, c: &mut AnyConnection, application_id: &str, now: i64) -> Result<Option<bool>, TxError> {
        // Gone since the round read it (withdrawn and freed meanwhile): nothing to do.
        let app = match models::applications::get(c, application_id) {
            Ok(app) => app,
            Err(crate::keys::db::DbError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let pending = models::users::find(c, &app.user_id)?.is_some_and(|u| u.state == UserState::Pending);
        let open = matches!(
            app.state,
            ApplicationState::AwaitingConsent | ApplicationState::Locked | ApplicationState::Expired
        );
        if !pending || !open || app.expires_at >= now {
            return Ok(None);
        }
        if app.state != ApplicationState::Expired {
            models::applications::set_state(c, application_id, ApplicationState::Expired)?;
            models::applications::erase_wrap(c, application_id)?;
            models::applications::set_letter_state(c, application_id, LetterState::Dispatched)?;
            self.audit(
                c,
                event(
                    "system",
                    AuditEventKind::ApplicationExpired,
                    &app.user_id,
                    serde_json::json!({ "application_id": application_id }),
                ),
            )?;
        }
        Ok(Some(self.give_up_pending(c, "system", &app.user_id, now)?))
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
        // The id's count of failed sign-ins stays with the id (a wait that
        // vanished would tell a guesser that the id was freed).
        if let Some(user) = models::users::find(c, user_id)?
            && (user.failed_logins > 0 || user.locked_until.is_some())
        {
            let guesses = Guesses {
                failures: user.failed_logins,
                locked_until: user.locked_until,
                changed_at: user.updated_at,
            };
            models::guesses::put(c, GuessPurpose::Signin, user_id, &guesses, now)?;
        }
        models::applications::delete_for_user(c, user_id)?;
        models::erased_keys::delete(c, user_id)?;
        models::users::delete(c, user_id)?;
        self.audit(
            c,
            event(actor, AuditEventKind::UserFreed, user_id, serde_json::json!({})),
        )?;
        Ok(true)
    }
}
