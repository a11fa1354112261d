//! Office users: apply, consent, sign in and out, sign, change pass phrase,
//! new key, revoke. Pass phrases arrive from the input field and go straight
//! into the signer request; the page clears its field as it sends.

use base64::Engine as _;

use serde::{Deserialize, Serialize};
use signet_client::passphrase::{self, Strength};
use signet_schema::RegistrationData;
use signet_schema::api::RevocationReason;
use signet_schema::protocol::Passphrase;
use tauri::AppHandle;
use zeroize::Zeroizing;

use super::{blocking, output_dir, progress};
use crate::certificates::{CertificateView, view};
use crate::error::{CommandError, CommandResult};
use crate::orders::{self, OrderReview};
use signet_client::orders::NewOrder;
use signet_client::signing::{Document, History, Placement, SignedDocument, sign_and_save};

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
    /// Which signing core runs: its release, where it came from, its hash.
    pub signer: signet_client::delivery::SignerIdentity,
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
        signer: session.signer().identity().clone(),
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

/// Writes the order composed in the form as pain.001.001.09, checks it,
/// and keeps it for confirmation; the page gets its summary.
#[tauri::command]
pub async fn prepare_order(app: AppHandle, order: NewOrder) -> CommandResult<OrderReview> {
    blocking(app, move |_, state| {
        state.with_session(|_| Ok(()))?;
        let prepared = orders::compose(&order)?;
        let review = prepared.review();
        state.keep_document(prepared);
        Ok(review)
    })
    .await
}

/// A payment-order file the person chose, checked as it is (never
/// rewritten) and kept for confirmation.
#[tauri::command]
pub async fn prepare_file(app: AppHandle, name: String, content: String) -> CommandResult<OrderReview> {
    blocking(app, move |_, state| {
        state.with_session(|_| Ok(()))?;
        let content = base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|_| CommandError::input("file", "the file could not be read"))?;
        let prepared = orders::import(&name, content)?;
        let review = prepared.review();
        state.keep_document(prepared);
        Ok(review)
    })
    .await
}

/// A file the page read, base64.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageFile {
    /// Its name.
    pub name: String,
    /// Its bytes, base64.
    pub content: String,
}

/// One file of a batch, checked: its review, or why it is refused.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BatchEntry {
    /// The file's name.
    pub name: String,
    /// Its summary, kept for signing, when it passed.
    pub review: Option<OrderReview>,
    /// Why it may not be signed, one problem a line.
    pub problems: Vec<String>,
}

/// The most files one batch takes.
pub const MAX_BATCH_FILES: usize = 2000;

/// Several payment-order files (or a folder's), each checked as it is;
/// those that pass are kept for signing, the others say why not.
#[tauri::command]
pub async fn prepare_files(app: AppHandle, files: Vec<PageFile>) -> CommandResult<Vec<BatchEntry>> {
    blocking(app, move |app, state| {
        state.with_session(|_| Ok(()))?;
        if files.len() > MAX_BATCH_FILES {
            return Err(CommandError::input(
                "files",
                format!("at most {MAX_BATCH_FILES} files at once"),
            ));
        }
        let total = files.len();
        let mut entries = Vec::with_capacity(total);
        for (n, file) in files.into_iter().enumerate() {
            crate::commands::report(app, format!("Checking {} of {total}: {}", n + 1, file.name));
            let bytes = base64::engine::general_purpose::STANDARD.decode(file.content.trim());
            let entry = match bytes {
                Err(_) => BatchEntry {
                    name: file.name,
                    review: None,
                    problems: vec!["the file could not be read".into()],
                },
                Ok(bytes) if bytes.len() > orders::MAX_FILE_BYTES => BatchEntry {
                    name: file.name,
                    review: None,
                    problems: vec![format!("larger than {} bytes", orders::MAX_FILE_BYTES)],
                },
                Ok(bytes) => match orders::import_checked(&file.name, bytes) {
                    Ok(prepared) => {
                        let review = prepared.review();
                        state.keep_document(prepared);
                        BatchEntry {
                            name: file.name,
                            review: Some(review),
                            problems: Vec::new(),
                        }
                    }
                    Err(e) => BatchEntry {
                        name: file.name,
                        review: None,
                        problems: e.lines(),
                    },
                },
            };
            entries.push(entry);
        }
        Ok(entries)
    })
    .await
}

/// One order of a batch after signing.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BatchSigned {
    /// The order's handle.
    pub id: String,
    /// The signature made, when it was.
    pub signed: Option<SignedDocument>,
    /// Why not, when it was not.
    pub problem: Option<String>,
}

/// Signs prepared orders one after the other with the open session (one
/// pass-phrase entry for all), each as [`sign_document`] does, reporting
/// progress; a failure of one does not stop the others, but a failure of the
/// signing process stops the batch.
#[tauri::command]
pub async fn sign_documents(app: AppHandle, ids: Vec<String>) -> CommandResult<Vec<BatchSigned>> {
    blocking(app, move |app, state| {
        let dir = output_dir(app, "signed")?;
        let history = History::default_location()?;
        let total = ids.len();
        let mut results = Vec::with_capacity(total);
        let mut stopped: Option<String> = None;
        for (n, id) in ids.into_iter().enumerate() {
            if let Some(why) = &stopped {
                results.push(BatchSigned {
                    id,
                    signed: None,
                    problem: Some(format!("not signed: {why}")),
                });
                continue;
            }
            let outcome = state.take_document(&id).and_then(|document| {
                crate::commands::report(app, format!("Signing {} of {total}: {}", n + 1, document.name));
                sign_prepared(state, &document, &dir, &history)
            });
            match outcome {
                Ok(signed) => results.push(BatchSigned {
                    id,
                    signed: Some(signed),
                    problem: None,
                }),
                Err(e) => {
                    if e.code == "signer-failed" || e.code == "signer-unavailable" || e.code == "not-signed-in" {
                        stopped = Some(e.message.clone());
                    }
                    results.push(BatchSigned {
                        id,
                        signed: None,
                        problem: Some(e.message),
                    });
                }
            }
        }
        Ok(results)
    })
    .await
}

/// One field of the order form, checked as the bank will (`iban`, `bic`,
/// `amount`, `date`, `id`, `name`, `text`): the problem, or nothing.
#[tauri::command]
pub fn check_order_field(kind: String, value: String) -> Option<String> {
    signet_client::orders::write::field_problem(&kind, &value, signet_client::orders::today())
}

/// Signs the prepared order exactly as summarised: the signature is
/// verified over those bytes, both are saved under ~/Signet/signed, and the
/// signature is recorded in the history.
#[tauri::command]
pub async fn sign_document(app: AppHandle, id: String) -> CommandResult<SignedDocument> {
    blocking(app, move |app, state| {
        let document = state.take_document(&id)?;
        let dir = output_dir(app, "signed")?;
        let history = History::default_location()?;
        let signed = sign_prepared(state, &document, &dir, &history);
        if signed.as_ref().is_err_and(|e| e.code != "not-recorded") {
            // Nothing was signed: the person may confirm the same order again.
            state.keep_document(document);
        }
        signed
    })
    .await
}

/// Checks a prepared order again (an execution date may have passed since
/// the review), then signs it with the open session, saves it and its
/// signature in `dir` and records it: the one path of [`sign_document`] and
/// [`sign_documents`].
fn sign_prepared(
    state: &crate::state::AppState,
    document: &orders::PreparedOrder,
    dir: &std::path::Path,
    history: &History,
) -> CommandResult<SignedDocument> {
    document
        .checked
        .still_signable(signet_client::orders::today())
        .map_err(signet_client::ClientError::from)?;
    state.with_session(|session| {
        Ok(sign_and_save(
            session,
            Document {
                name: &document.name,
                bytes: &document.bytes,
                placement: Placement::Into { dir },
            },
            history,
        )?)
    })
}

/// The signed-in person's signatures made on this computer, latest first.
#[tauri::command]
pub async fn my_signatures(app: AppHandle) -> CommandResult<Vec<SignedDocument>> {
    blocking(app, |_, state| {
        let user_id = state.with_session(|s| Ok(s.user_id().to_string()))?;
        Ok(History::default_location()?.of_user(&user_id)?)
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
