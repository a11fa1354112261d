//! The Signet desktop shell: commands for the webview (`commands/`), the
//! session and its signer (`state`), documents to sign (`documents`), the
//! webview engine's environment defaults (`webview_env`).
//!
//! The signer is ended on sign-out, after [`state::IDLE_TIMEOUT`] without
//! use, when the window is closed and when the app exits; if the app is
//! killed, the signer ends by itself (it watches its parent).

mod bindings;
mod certificates;
mod commands;
mod error;
mod orders;
mod state;
mod webview_env;

use std::time::Duration;

use tauri::{Emitter, Manager, RunEvent, WindowEvent};

use crate::state::{AppState, IDLE_TIMEOUT};

/// Idle time before the session ends; `SIGNET_IDLE_TIMEOUT` (seconds) overrides it.
fn idle_timeout() -> Duration {
    std::env::var("SIGNET_IDLE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .unwrap_or(IDLE_TIMEOUT)
}

/// Starts the app: the webview engine's defaults first, while the process
/// has one thread, then logging and the window.
pub fn run() {
    webview_env::apply_defaults();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let app = tauri::Builder::default()
        .manage(AppState::default())
        .setup(|app| {
            let handle = app.handle().clone();
            let limit = idle_timeout();
            std::thread::Builder::new().name("idle-watch".into()).spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(1).min(limit));
                    if handle.state::<AppState>().end_if_idle(limit) {
                        let _ = handle.emit("signed-out", "idle");
                    }
                }
            })?;
            Ok(())
        })
        .on_window_event(|window, event| {
            if matches!(event, WindowEvent::CloseRequested { .. } | WindowEvent::Destroyed) {
                window.state::<AppState>().end_session();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::connection::app_info,
            commands::connection::probe_server,
            commands::connection::connect_server,
            commands::connection::forget_server,
            commands::office::passphrase_strength,
            commands::office::apply,
            commands::office::consent,
            commands::office::sign_in,
            commands::office::sign_out,
            commands::office::session_info,
            commands::office::prepare_order,
            commands::office::check_order_field,
            commands::office::prepare_files,
            commands::office::sign_documents,
            commands::office::prepare_file,
            commands::office::sign_document,
            commands::office::my_signatures,
            commands::office::change_passphrase,
            commands::office::new_key,
            commands::office::revoke_own_key,
            commands::helpdesk::helpdesk_letters,
            commands::helpdesk::helpdesk_save_letter,
            commands::helpdesk::helpdesk_mark_letter,
            commands::helpdesk::helpdesk_users,
            commands::helpdesk::helpdesk_reset,
            commands::helpdesk::helpdesk_unlock,
            commands::helpdesk::helpdesk_revoke,
            commands::audit::audit_certificates,
            commands::audit::audit_certificate,
            commands::audit::audit_save_certificate,
            commands::audit::audit_export_csv,
            commands::audit::audit_events,
            commands::audit::audit_verify_log,
            commands::audit::check_signed_file,
            commands::host::host_submit,
            commands::host::host_orders,
            commands::host::host_order,
            commands::host::host_cosign,
            commands::host::host_cancel,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| panic!("the app could not start: {e}"));
    app.run(|handle, event| {
        if matches!(event, RunEvent::ExitRequested { .. } | RunEvent::Exit) {
            handle.state::<AppState>().end_session();
        }
    });
}
