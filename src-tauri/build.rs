//! Every command the webview may call is listed here, and only these get
//! permissions (`capabilities/main.json` grants them to the main window).

const COMMANDS: &[&str] = &[
    "app_info",
    "probe_server",
    "connect_server",
    "forget_server",
    "passphrase_strength",
    "apply",
    "consent",
    "sign_in",
    "sign_out",
    "session_info",
    "prepare_order",
    "prepare_file",
    "prepare_files",
    "check_order_field",
    "sign_documents",
    "sign_document",
    "my_signatures",
    "change_passphrase",
    "new_key",
    "revoke_own_key",
    "helpdesk_letters",
    "helpdesk_save_letter",
    "helpdesk_mark_letter",
    "helpdesk_users",
    "helpdesk_reset",
    "helpdesk_unlock",
    "helpdesk_revoke",
    "audit_certificates",
    "audit_certificate",
    "audit_save_certificate",
    "audit_export_csv",
    "audit_events",
    "audit_verify_log",
    "check_signed_file",
    "host_submit",
    "host_orders",
    "host_order",
    "host_cosign",
    "host_cancel",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("the Tauri build step failed");
}
