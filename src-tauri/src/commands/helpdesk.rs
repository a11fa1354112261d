//! Help desk: consent letters, user search, re-registration for a lost pass
//! phrase, unlock, revoke. Every request is signed with the staff member's
//! own key in the signer; the server checks the role.

use signet_client::staff::{LetterMark, PageRequest};
use signet_schema::api::{ActionDone, LetterPage, RevocationReason, UserPage};
use tauri::AppHandle;

use super::{blocking, output_dir};
use crate::error::{CommandError, CommandResult};
use signet_client::signing::{unused_path, write_durably as write_file};

/// A page of the letters waiting to be printed or posted, oldest first: the
/// first, or the one after `after` (a previous page's `next`).
#[tauri::command]
pub async fn helpdesk_letters(app: AppHandle, after: Option<String>) -> CommandResult<LetterPage> {
    let page = PageRequest { after, limit: None };
    blocking(app, move |_, state| state.with_session(|s| Ok(s.letters(&page)?))).await
}

/// Saves a letter's PDF under ~/Signet/letters; returns where.
#[tauri::command]
pub async fn helpdesk_save_letter(app: AppHandle, application_id: String) -> CommandResult<String> {
    blocking(app, move |app, state| {
        let pdf = state.with_session(|s| Ok(s.letter_pdf(&application_id)?))?;
        let path = unused_path(&output_dir(app, "letters")?, &format!("letter-{application_id}.pdf"));
        write_file(&path, &pdf)?;
        Ok(path.display().to_string())
    })
    .await
}

/// Marks a letter `printed` (its PDF, and with it the phrase, is then deleted) or `dispatched`.
#[tauri::command]
pub async fn helpdesk_mark_letter(app: AppHandle, application_id: String, mark: String) -> CommandResult<ActionDone> {
    let mark = match mark.as_str() {
        "printed" => LetterMark::Printed,
        "dispatched" => LetterMark::Dispatched,
        _ => return Err(CommandError::input("mark", "printed or dispatched")),
    };
    blocking(app, move |_, state| {
        state.with_session(|s| Ok(s.mark_letter(&application_id, mark)?))
    })
    .await
}

/// A page of the users with a term (id, e-mail address or its domain, a word
/// of the name) beginning with each word of `search`: the first, or the one
/// after `after` (a previous page's `next`).
#[tauri::command]
pub async fn helpdesk_users(
    app: AppHandle,
    search: String,
    state_filter: Option<String>,
    after: Option<String>,
) -> CommandResult<UserPage> {
    let page = PageRequest { after, limit: None };
    blocking(app, move |_, state| {
        state.with_session(|s| Ok(s.users(Some(search.trim()), state_filter.as_deref(), &page)?))
    })
    .await
}

/// Re-registration for a lost pass phrase.
#[tauri::command]
pub async fn helpdesk_reset(app: AppHandle, user_id: String) -> CommandResult<ActionDone> {
    blocking(app, move |_, state| state.with_session(|s| Ok(s.reset_user(&user_id)?))).await
}

/// Unlocks an account locked after failed sign-ins.
#[tauri::command]
pub async fn helpdesk_unlock(app: AppHandle, user_id: String) -> CommandResult<ActionDone> {
    blocking(app, move |_, state| {
        state.with_session(|s| Ok(s.unlock_user(&user_id)?))
    })
    .await
}

/// Revokes a user's key for good.
#[tauri::command]
pub async fn helpdesk_revoke(app: AppHandle, user_id: String, reason: RevocationReason) -> CommandResult<ActionDone> {
    blocking(app, move |_, state| {
        state.with_session(|s| Ok(s.revoke_user(&user_id, reason)?))
    })
    .await
}
