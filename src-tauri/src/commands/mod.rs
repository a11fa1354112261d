//! The commands the webview may call (each listed in `build.rs` and granted
//! in `capabilities/main.json`). They are thin: arguments in, a call into
//! `signet-client` on the blocking pool, a serialisable answer out.

pub mod audit;
pub mod connection;
pub mod helpdesk;
pub mod host;
pub mod office;

use serde::Serialize;
use signet_client::Step;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

/// Runs `work` on the blocking pool with the app's state.
pub(crate) async fn blocking<T: Send + 'static>(
    app: AppHandle,
    work: impl FnOnce(&AppHandle, &AppState) -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        work(&app, &state)
    })
    .await
    .map_err(|e| CommandError::new("internal", format!("the command stopped unexpectedly: {e}")))?
}

/// A progress report for the page.
#[derive(Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(crate) struct Progress {
    /// The step of signing in or applying, when it is one.
    step: Option<Step>,
    /// What is happening, for a person.
    text: String,
}

/// Sends `text` to the page as a `progress` event (batch work).
pub(crate) fn report(app: &AppHandle, text: String) {
    let _ = app.emit("progress", Progress { step: None, text });
}

/// Sends each step of long work to the page as a `progress` event.
pub(crate) fn progress(app: &AppHandle) -> impl FnMut(Step) + '_ {
    move |step| {
        let text = match step {
            Step::FetchingSigner => "Fetching and checking the signing core from the key server…",
            Step::StartingSigner => "Starting the signing process…",
            Step::OpeningChannel => "Opening a sealed channel to the key server…",
            Step::GeneratingKey => "Generating your key pair and sealing it under your pass phrase…",
            Step::DerivingKeys => "Deriving keys from your pass phrase…",
            Step::Contacting => "Talking to the key server…",
            Step::OpeningRecord => "Opening your key…",
            Step::Done => "Done.",
        };
        let _ = app.emit(
            "progress",
            Progress {
                step: Some(step),
                text: text.to_owned(),
            },
        );
    }
}

/// `~/Signet/<sub>`: where the app writes what the person asked for.
pub(crate) fn output_dir(app: &AppHandle, sub: &str) -> CommandResult<std::path::PathBuf> {
    let home = app
        .path()
        .home_dir()
        .map_err(|e| CommandError::new("file", format!("no home directory: {e}")))?;
    Ok(home.join("Signet").join(sub))
}
