//! Connect screen: the server's address and its certificate fingerprint,
//! confirmed on first use and kept in the OS keyring.

use serde::Serialize;
use signet_client::Connection;
use signet_client::server::probe_fingerprint;
use tauri::AppHandle;

use super::blocking;
use crate::error::{CommandError, CommandResult};

/// What the app knows at start.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The server set up, if any.
    pub server_url: Option<String>,
    /// Its pinned fingerprint, `AB:CD:…`.
    pub fingerprint: Option<String>,
    /// The user id last signed in.
    pub remembered_user: Option<String>,
    /// Why the keyring cannot be used, when it cannot.
    pub keyring_problem: Option<String>,
    /// Whether someone is signed in.
    pub signed_in: bool,
    /// A server address to offer on the Connect screen (`SIGNET_SERVER`,
    /// set by `make run`); it is never trusted without the person's confirmation.
    pub suggested_server: Option<String>,
}

/// What the app knows at start: the server set up, the keyring's health.
#[tauri::command]
pub async fn app_info(app: AppHandle) -> CommandResult<AppInfo> {
    blocking(app, |app, state| {
        let version = app.package_info().version.to_string();
        let signed_in = state.with_session(|_| Ok(())).is_ok();
        let suggested_server = std::env::var("SIGNET_SERVER").ok().filter(|s| !s.is_empty());
        Ok(match state.store.load() {
            Ok(settings) => AppInfo {
                version,
                server_url: settings.as_ref().map(|s| s.server_url.clone()),
                fingerprint: settings.as_ref().map(|s| s.fingerprint.to_string()),
                remembered_user: settings.and_then(|s| s.user_id),
                keyring_problem: None,
                signed_in,
                suggested_server,
            },
            Err(e) => AppInfo {
                version,
                server_url: None,
                fingerprint: None,
                remembered_user: None,
                keyring_problem: Some(e.to_string()),
                signed_in,
                suggested_server,
            },
        })
    })
    .await
}

/// The fingerprint the server at `url` shows, to compare before trusting it.
#[tauri::command]
pub async fn probe_server(app: AppHandle, url: String) -> CommandResult<String> {
    blocking(app, move |_, _| Ok(probe_fingerprint(&url)?.to_string())).await
}

/// Trusts the server at `url` with the fingerprint the person confirmed.
#[tauri::command]
pub async fn connect_server(app: AppHandle, url: String, fingerprint: String) -> CommandResult<AppInfo> {
    blocking(app.clone(), move |_, state| {
        let fingerprint = fingerprint
            .parse()
            .map_err(|e: String| CommandError::input("fingerprint", e))?;
        // The server must still show what the person confirmed.
        let presented = probe_fingerprint(&url)?;
        if presented != fingerprint {
            return Err(CommandError::new(
                "identity-changed",
                "The server now shows another certificate than the one you confirmed. Do not continue; ask your help desk.",
            ));
        }
        state.end_session();
        let connection = Connection::connect(&state.store, &url, fingerprint)?;
        state.set_connection(Some(connection));
        Ok(())
    })
    .await?;
    app_info(app).await
}

/// Forgets the server: a new one must be confirmed again.
#[tauri::command]
pub async fn forget_server(app: AppHandle) -> CommandResult<AppInfo> {
    blocking(app.clone(), |_, state| {
        state.end_session();
        state.set_connection(None);
        state.store.forget()?;
        Ok(())
    })
    .await?;
    app_info(app).await
}
