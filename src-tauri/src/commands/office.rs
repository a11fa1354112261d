//! Office users: apply, consent, sign in and out, sign, change pass phrase,
//! new key, revoke. Pass phrases arrive from the input field and go straight
//! into the signer request; the page clears its field as it sends.

use std::io::Write;

use base64::Engine as _;

use serde::{Deserialize, Serialize};
use signet_client::passphrase::{self, Strength};
use signet_schema::RegistrationData;
use signet_schema::SignatureScheme;
use signet_schema::api::RevocationReason;
use signet_schema::protocol::{Passphrase, SignatureFormat};
use tauri::{AppHandle, Manager};
use zeroize::Zeroizing;

use super::{blocking, output_dir, progress};
use crate::certificates::{CertificateView, view};
use crate::documents::{self, DocumentSummary, PaymentOrderForm, unused_path, write_file};
use crate::error::{CommandError, CommandResult};

fn secret(text: String) -> Passphrase {
    Passphrase::new(text)
}

/// The meter's reading for a new pass phrase.
#[tauri::command]
pub fn passphrase_strength(passphrase: String, personal: Vec<String>) -> Strength {
    let passphrase = Zeroizing::new(passphrase);
    passphrase::assess(&passphrase, &personal.iter().map(String::as_str).collect::<Vec<_>>())
}

fn checked_new(passphrase: String, again: String, registration: &RegistrationData) -> CommandResult<Passphrase> {
    let (passphrase, again) = (Zeroizing::new(passphrase), Zeroizing::new(again));
    if *passphrase != *again {
        return Err(CommandError::input("pass phrase", "the two entries differ"));
    }
    let strength = passphrase::assess(
        &passphrase,
        &[&registration.user_id, &registration.common_name, &registration.email],
    );
    if !strength.acceptable {
        return Err(CommandError::input(
            "pass phrase",
            format!("not strong enough: {}", strength.problems.join("; ")),
        ));
    }
    Ok(secret(passphrase.to_string()))
}

/// The application's outcome.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// Application id, for the help desk.
    pub application_id: String,
    /// When the letter stops being valid (Unix seconds).
    pub expires_at: i64,
}

/// Applies for a key: made and sealed in the signer, the application sent sealed.
#[tauri::command]
pub async fn apply(
    app: AppHandle,
    registration: RegistrationData,
    passphrase: String,
    passphrase_again: String,
) -> CommandResult<Applied> {
    blocking(app, move |app, state| {
        let mut registration = registration;
        registration.country = registration.country.to_uppercase();
        registration
            .validate()
            .map_err(|e| CommandError::input("registration", e.to_string()))?;
        let passphrase = checked_new(passphrase, passphrase_again, &registration)?;
        let mut connection = state.connection()?;
        let applied = connection.apply(&registration, passphrase, &mut progress(app))?;
        state.set_connection(Some(connection));
        Ok(Applied {
            application_id: applied.application_id,
            expires_at: applied.expires_at,
        })
    })
    .await
}

/// Consent done.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Consented {
    /// The new certificate.
    pub certificate: Option<CertificateView>,
}

/// Activates the key with the phrase from the letter.
#[tauri::command]
pub async fn consent(app: AppHandle, user_id: String, phrase: String) -> CommandResult<Consented> {
    blocking(app, move |app, state| {
        let phrase = Zeroizing::new(phrase);
        let mut connection = state.connection()?;
        let consented = connection.consent(user_id.trim(), &phrase, &mut progress(app))?;
        Ok(Consented {
            certificate: view(&consented.certificate.0),
        })
    })
    .await
}

/// Who is signed in.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// User id.
    pub user_id: String,
    /// Full name.
    pub name: String,
    /// E-mail address (the pass-phrase meter keeps it out of new pass phrases).
    pub email: String,
    /// Which screens they see.
    pub role: signet_schema::vocabulary::Role,
    /// Modulus size of the key.
    pub key_bits: u32,
    /// The active certificate.
    pub certificate: Option<CertificateView>,
    /// The signing process's id (it holds the key).
    pub signer_pid: u32,
}

fn session_info_of(session: &mut signet_client::Session) -> SessionInfo {
    SessionInfo {
        user_id: session.user_id().to_string(),
        name: session.registration().common_name.clone(),
        email: session.registration().email.clone(),
        role: session.role(),
        key_bits: session.key_bits(),
        certificate: view(session.certificate()),
        signer_pid: session.signer().pid(),
    }
}

/// Signs in: the key is opened in a new signing process.
#[tauri::command]
pub async fn sign_in(app: AppHandle, user_id: String, passphrase: String) -> CommandResult<SessionInfo> {
    blocking(app, move |app, state| {
        let passphrase = secret(passphrase);
        let user_id = user_id.trim().to_string();
        if user_id.is_empty() {
            return Err(CommandError::input("user id", "required"));
        }
        state.end_session();
        let mut connection = state.connection()?;
        let mut session = connection.sign_in(&user_id, passphrase, &mut progress(app))?;
        let info = session_info_of(&mut session);
        state.set_connection(Some(connection));
        state.set_session(session);
        Ok(info)
    })
    .await
}

/// The signed-in person, if any.
#[tauri::command]
pub async fn session_info(app: AppHandle) -> CommandResult<Option<SessionInfo>> {
    blocking(app, |_, state| match state.with_session(|s| Ok(session_info_of(s))) {
        Ok(info) => Ok(Some(info)),
        Err(e) if e.code == "not-signed-in" => Ok(None),
        Err(e) => Err(e),
    })
    .await
}

/// Signs out: the signer wipes the key and exits.
#[tauri::command]
pub async fn sign_out(app: AppHandle) -> CommandResult<()> {
    blocking(app, |_, state| {
        state.end_session();
        Ok(())
    })
    .await
}

/// Turns the payment-order form into the document to sign, and its summary.
#[tauri::command]
pub async fn prepare_order(app: AppHandle, order: PaymentOrderForm) -> CommandResult<DocumentSummary> {
    blocking(app, move |_, state| {
        state.with_session(|_| Ok(()))?;
        let now = signet_client::session::unix_now();
        let id = format!(
            "SGN-{}-{}",
            signet_schema::time::date(now).replace('-', ""),
            &signet_client::session::random_nonce()?[..8]
        );
        let document = documents::payment_order(&order, &id.to_uppercase(), now)?;
        let summary = document.summary.clone();
        state.keep_document(document);
        Ok(summary)
    })
    .await
}

/// A file the person chose in the page, to sign as it is.
#[tauri::command]
pub async fn prepare_file(app: AppHandle, name: String, content: String) -> CommandResult<DocumentSummary> {
    blocking(app, move |_, state| {
        state.with_session(|_| Ok(()))?;
        let content = base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|_| CommandError::input("file", "the file could not be read"))?;
        let document = documents::file(&name, content)?;
        let summary = document.summary.clone();
        state.keep_document(document);
        Ok(summary)
    })
    .await
}

/// A signature made.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignedDocument {
    /// Who signed.
    pub user_id: String,
    /// The document's name.
    pub name: String,
    /// SHA-256 of what was signed.
    pub sha256: String,
    /// Unix seconds.
    pub signed_at: i64,
    /// The certificate's serial.
    pub serial: String,
    /// Where the document was saved.
    pub document_path: String,
    /// Where its detached signature (.p7s) was saved.
    pub signature_path: String,
    /// Size of the signature.
    pub signature_size: usize,
}

/// Signs the prepared document exactly as summarised, saves it with its
/// signature under ~/Signet/signed, and records it in the history.
#[tauri::command]
pub async fn sign_document(app: AppHandle, id: String) -> CommandResult<SignedDocument> {
    blocking(app, move |app, state| {
        let document = state.take_document(&id)?;
        let signed = state.with_session(|session| {
            let signature = session.sign(&document.bytes, SignatureFormat::Cms, SignatureScheme::RsaPssSha256)?;
            Ok((signature, session.user_id().to_string(), session.certificate().to_vec()))
        });
        let (signature, user_id, certificate) = match signed {
            Ok(signed) => signed,
            Err(e) => {
                // Nothing was signed: the person may confirm the same document again.
                state.keep_document(document);
                return Err(e);
            }
        };
        // `Session::sign` verified the signature over these bytes with this
        // session's certificate before returning it: nothing unchecked is saved.
        let dir = output_dir(app, "signed")?;
        let document_path = unused_path(&dir, &document.name);
        let mut signature_name = document_path.file_name().unwrap_or_default().to_os_string();
        signature_name.push(".p7s");
        let signature_path = dir.join(signature_name);
        write_file(&document_path, &document.bytes)?;
        write_file(&signature_path, &signature)?;
        let signed = SignedDocument {
            user_id,
            name: document.name.clone(),
            sha256: document.summary.sha256.clone(),
            signed_at: signet_client::session::unix_now(),
            serial: view(&certificate).map(|c| c.serial).unwrap_or_default(),
            document_path: document_path.display().to_string(),
            signature_path: signature_path.display().to_string(),
            signature_size: signature.len(),
        };
        record(app, &signed)?;
        Ok(signed)
    })
    .await
}

fn history_file(app: &AppHandle) -> CommandResult<std::path::PathBuf> {
    let dir = app
        .path()
        .app_data_dir()
        .map_err(|e| CommandError::new("file", format!("no data directory: {e}")))?;
    Ok(dir.join("signatures.jsonl"))
}

/// Appends to the history of signatures (what was signed, never a key).
fn record(app: &AppHandle, signed: &SignedDocument) -> CommandResult<()> {
    let path = history_file(app)?;
    let fail = |e: std::io::Error| CommandError::new("file", format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut line = serde_json::to_vec(signed).map_err(|e| CommandError::new("internal", e.to_string()))?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(fail)?;
    file.write_all(&line).map_err(fail)?;
    file.sync_data().map_err(fail)
}

/// The signed-in person's signatures made on this computer, newest first.
#[tauri::command]
pub async fn my_signatures(app: AppHandle) -> CommandResult<Vec<SignedDocument>> {
    blocking(app, |app, state| {
        let user_id = state.with_session(|s| Ok(s.user_id().to_string()))?;
        let path = history_file(app)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CommandError::new("file", format!("{}: {e}", path.display()))),
        };
        let mut mine: Vec<SignedDocument> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<SignedDocument>(line).ok())
            .filter(|s| s.user_id == user_id)
            .collect();
        mine.reverse();
        Ok(mine)
    })
    .await
}

/// Changes the pass phrase; the key stays.
#[tauri::command]
pub async fn change_passphrase(
    app: AppHandle,
    current: String,
    passphrase: String,
    passphrase_again: String,
) -> CommandResult<()> {
    blocking(app, move |app, state| {
        let current = secret(current);
        state.with_session(|session| {
            let new = checked_new(passphrase, passphrase_again, session.registration())?;
            Ok(session.change_passphrase(current, new, &mut progress(app))?)
        })
    })
    .await
}

/// Replaces the key pair; the old certificate is superseded.
#[tauri::command]
pub async fn new_key(app: AppHandle, current: String) -> CommandResult<SessionInfo> {
    blocking(app, move |app, state| {
        let current = secret(current);
        state.with_session(|session| {
            session.new_key(current, None, &mut progress(app))?;
            Ok(session_info_of(session))
        })
    })
    .await
}

/// The revocation's outcome.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Revoked {
    /// The revoked certificate.
    pub serial: String,
    /// The CRL that lists it.
    pub crl_number: u64,
}

/// Revokes the signed-in person's key for good and ends the session.
#[tauri::command]
pub async fn revoke_own_key(app: AppHandle, passphrase: String, reason: RevocationReason) -> CommandResult<Revoked> {
    blocking(app, move |app, state| {
        let passphrase = secret(passphrase);
        let revoked = state.with_session(|session| Ok(session.revoke(passphrase, reason, &mut progress(app))?))?;
        state.end_session();
        Ok(Revoked {
            serial: revoked.serial,
            crl_number: revoked.crl_number,
        })
    })
    .await
}
