//! What each command does, over the client library.

use std::path::{Path, PathBuf};

use signet_client::error::exit;
use signet_client::server::probe_fingerprint;
use signet_client::signing::write_durably;
use signet_client::staff::{CertificateFilter, LetterMark, PageRequest};
use signet_client::verify::{Receipt, SignatureReport, check_signature_received};
use signet_client::{ClientError, Connection, Fingerprint, Result, Session, SettingsStore, Step};
use signet_schema::RegistrationData;
use signet_schema::api::{CertificateStatus, RevocationReason};
use signet_schema::time::{date, parse_date};

use crate::output::{certificate_pem, certificate_summary, table, when};
use crate::{Audit, Check, Command, Helpdesk, Letter, PageArgs, Reason, Register, SignIn, Status, input};

/// Progress of long work, on standard error.
fn progress(step: Step) {
    let text = match step {
        Step::FetchingSigner => "fetching and checking the signing core the key server delivers",
        Step::StartingSigner => "starting the signing process",
        Step::OpeningChannel => "opening a sealed channel to the key server",
        Step::GeneratingKey => "generating your key pair and sealing it under your pass phrase",
        Step::DerivingKeys => "deriving keys from your pass phrase",
        Step::Contacting => "talking to the key server",
        Step::OpeningRecord => "opening your key",
        Step::Done => return,
    };
    eprintln!("… {text}");
}

pub(crate) fn connection() -> Result<Connection> {
    Connection::open(&SettingsStore::default())
}

pub(crate) fn sign_in(connection: &mut Connection, who: &SignIn) -> Result<Session> {
    let user_id = who
        .user_id
        .clone()
        .or_else(|| connection.settings().user_id.clone())
        .ok_or_else(|| ClientError::input("--user-id", "give your user id (none is remembered on this computer)"))?;
    let passphrase = input::passphrase(who.passphrase_file.as_deref(), &format!("Pass phrase for {user_id}"))?;
    let mut session = connection.sign_in(&user_id, passphrase, &mut progress)?;
    eprintln!("… {}", session.signer().identity());
    match session.resealed() {
        None => {}
        Some(Ok(())) => {
            eprintln!("… your key record is sealed again under the key server's current key-derivation policy")
        }
        Some(Err(why)) => eprintln!(
            "warning: your key record could not be sealed again under the key server's current key-derivation \
             policy ({why}); the next sign-in tries again"
        ),
    }
    Ok(session)
}

fn reason(reason: Reason) -> RevocationReason {
    match reason {
        Reason::Unspecified => RevocationReason::Unspecified,
        Reason::KeyCompromise => RevocationReason::KeyCompromise,
        Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
        Reason::Superseded => RevocationReason::Superseded,
        Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
    }
}

/// Runs `command`; the exit code when it finished without an error.
pub fn run(command: Command) -> Result<u8> {
    match command {
        Command::Connect { url, fingerprint } => connect(&url, fingerprint.as_deref()),
        Command::Orders(command) => crate::orders::run(command),
        Command::Status => {
            let store = SettingsStore::default();
            match store.load()? {
                Some(settings) => {
                    println!("server:       {}", settings.server_url);
                    println!("certificate:  {}", settings.fingerprint);
                    println!(
                        "integrity:    {}",
                        if settings.integrity_key.is_some() {
                            "pinned"
                        } else {
                            "pinned at the first sign-in"
                        }
                    );
                    println!("user:         {}", settings.user_id.as_deref().unwrap_or("-"));
                    Ok(exit::OK)
                }
                None => Err(ClientError::NotConfigured),
            }
        }
        Command::Signer => {
            let image = connection()?.signer_image()?;
            println!("{}", image.identity);
            Ok(exit::OK)
        }
        Command::Forget => {
            SettingsStore::default().forget()?;
            eprintln!("the key server is forgotten; `signet connect` sets one up again");
            Ok(exit::OK)
        }
        Command::Register(register) => apply(register),
        Command::Consent { user_id, phrase_file } => {
            let mut connection = connection()?;
            let user_id = user_id
                .or_else(|| connection.settings().user_id.clone())
                .ok_or_else(|| ClientError::input("--user-id", "give your user id"))?;
            let phrase = input::consent_phrase(phrase_file.as_deref())?;
            let consented = connection.consent(&user_id, &phrase, &mut progress)?;
            eprintln!("your key is active; certificate {} issued", consented.serial);
            println!("{}", certificate_summary(&consented.certificate.0));
            Ok(exit::OK)
        }
        Command::Login(who) => {
            let mut connection = connection()?;
            let session = sign_in(&mut connection, &who)?;
            eprintln!("signed in as {} ({}-bit key)", session.user_id(), session.key_bits());
            println!("{}", certificate_summary(session.certificate()));
            session.end();
            Ok(exit::OK)
        }
        Command::Sign(what) => crate::orders::sign(&what),
        Command::Verify(check) => verify(&check),
        Command::Passphrase {
            sign_in: who,
            new_passphrase_file,
        } => {
            let mut connection = connection()?;
            let mut session = sign_in(&mut connection, &who)?;
            let current = input::passphrase(who.passphrase_file.as_deref(), "Current pass phrase (again)")?;
            let personal = personal(session.registration());
            let new = input::new_passphrase(
                new_passphrase_file.as_deref(),
                &personal.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            session.change_passphrase(current, new, &mut progress)?;
            session.end();
            eprintln!("your pass phrase is changed; use the new one from now on");
            Ok(exit::OK)
        }
        Command::Rekey {
            sign_in: who,
            new_passphrase_file,
        } => {
            let mut connection = connection()?;
            let mut session = sign_in(&mut connection, &who)?;
            let current = input::passphrase(who.passphrase_file.as_deref(), "Current pass phrase (again)")?;
            let personal = personal(session.registration());
            let new = match new_passphrase_file {
                Some(file) => Some(input::new_passphrase(
                    Some(&file),
                    &personal.iter().map(String::as_str).collect::<Vec<_>>(),
                )?),
                None => None,
            };
            let done = session.new_key(current, new, &mut progress)?;
            eprintln!(
                "new key in use: certificate {} (the old one, {}, is superseded)",
                done.serial.as_deref().unwrap_or("?"),
                done.superseded.as_deref().unwrap_or("?")
            );
            println!("{}", certificate_summary(session.certificate()));
            session.end();
            Ok(exit::OK)
        }
        Command::Revoke {
            sign_in: who,
            reason: why,
            yes,
        } => {
            if !yes && !input::confirm("Revoke your key for good? Nothing signed with it from now on will be valid.") {
                return Err(ClientError::input("--yes", "not confirmed: nothing was revoked"));
            }
            let mut connection = connection()?;
            let mut session = sign_in(&mut connection, &who)?;
            let passphrase = input::passphrase(who.passphrase_file.as_deref(), "Pass phrase (again, to confirm)")?;
            let revoked = session.revoke(passphrase, reason(why), &mut progress)?;
            session.end();
            eprintln!(
                "certificate {} revoked and your key erased on the server; CRL number {}",
                revoked.serial, revoked.crl_number
            );
            Ok(exit::OK)
        }
        Command::Certs { sign_in: who, pem } => {
            let mut connection = connection()?;
            let session = sign_in(&mut connection, &who)?;
            let ca = connection.ca_pem()?;
            if pem {
                print!("{}", certificate_pem(session.certificate()));
                print!("{}", String::from_utf8_lossy(&ca));
            } else {
                println!("Your certificate\n{}\n", certificate_summary(session.certificate()));
                let ca_der = der::Document::from_pem(&String::from_utf8_lossy(&ca))
                    .map(|(_, doc)| doc.to_vec())
                    .unwrap_or_default();
                println!("Issued by\n{}", certificate_summary(&ca_der));
            }
            session.end();
            Ok(exit::OK)
        }
        Command::Helpdesk { sign_in: who, command } => helpdesk(&who, command),
        Command::Audit { sign_in: who, command } => audit(&who, command),
    }
}

fn personal(registration: &RegistrationData) -> Vec<String> {
    vec![
        registration.user_id.clone(),
        registration.common_name.clone(),
        registration.email.clone(),
    ]
}

fn connect(url: &str, given: Option<&str>) -> Result<u8> {
    let presented = probe_fingerprint(url)?;
    match given {
        Some(given) => {
            let given: Fingerprint = given.parse().map_err(|e| ClientError::input("--fingerprint", e))?;
            if given != presented {
                return Err(ClientError::IdentityChanged {
                    pinned: given,
                    presented,
                });
            }
        }
        None => {
            eprintln!("The key server at {url} shows this certificate fingerprint (SHA-256):\n\n  {presented}\n");
            eprintln!("Compare it with the one your help desk gave you.");
            if !input::confirm("Is it the same?") {
                return Err(ClientError::input(
                    "fingerprint",
                    "not confirmed: nothing was saved (scripts give --fingerprint)",
                ));
            }
        }
    }
    let connection = Connection::connect(&SettingsStore::default(), url, presented)?;
    eprintln!(
        "connected to {}; its certificate is pinned",
        connection.settings().server_url
    );
    Ok(exit::OK)
}

fn apply(register: Register) -> Result<u8> {
    let registration = RegistrationData {
        user_id: register.user_id,
        common_name: register.name,
        organization: register.organization,
        organizational_unit: register.unit,
        email: register.email,
        country: register.country.to_uppercase(),
    };
    registration
        .validate()
        .map_err(|e| ClientError::input("registration", e.to_string()))?;
    let personal = personal(&registration);
    let passphrase = input::new_passphrase(
        register.passphrase_file.as_deref(),
        &personal.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let mut connection = connection()?;
    let applied = connection.apply(&registration, passphrase, &mut progress)?;
    eprintln!(
        "application {} received. Your consent letter will come by post; it is valid until {}. Then run `signet consent`.",
        applied.application_id,
        date(applied.expires_at)
    );
    println!("{}", applied.application_id);
    Ok(exit::OK)
}

/// The files to sign under `paths`: files as given, folders' regular files
/// (not recursively), never signature files.
pub(crate) fn files_to_sign(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| ClientError::file(path, e))?;
        if meta.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| ClientError::file(path, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && !is_signature(p))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(ClientError::input("paths", "there is nothing to sign there"));
    }
    Ok(files)
}

fn is_signature(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("p7s" | "sig"))
}

fn verify(check: &Check) -> Result<u8> {
    let connection = connection()?;
    let content = std::fs::read(&check.file).map_err(|e| ClientError::file(&check.file, e))?;
    let signature_file = check.signature.clone().unwrap_or_else(|| {
        let mut name = check.file.as_os_str().to_os_string();
        name.push(".p7s");
        PathBuf::from(name)
    });
    let signature = std::fs::read(&signature_file).map_err(|e| ClientError::file(&signature_file, e))?;
    // The host's signed receipts, given, or kept beside the file by `signet orders submit`
    // (the first answer, then any later ones).
    // Beside the order's signature, wherever it is (`--signature`).
    let receipt_files = match &check.receipt {
        Some(report) => {
            let mut signature = report.as_os_str().to_os_string();
            signature.push(".p7s");
            vec![(report.clone(), PathBuf::from(signature))]
        }
        None => signet_client::host::receipts_beside(&signature_file),
    };
    let mut receipts = Vec::with_capacity(receipt_files.len());
    for (report, report_signature) in &receipt_files {
        receipts.push((
            std::fs::read(report).map_err(|e| ClientError::file(report, e))?,
            std::fs::read(report_signature).map_err(|e| ClientError::file(report_signature, e))?,
        ));
    }
    let receipts: Vec<Receipt<'_>> = receipts
        .iter()
        .map(|(report, signature)| Receipt { report, signature })
        .collect();
    let report = check_signature_received(&connection, &content, &signature, &receipts)?;
    print_report(&report, check.json);
    Ok(if report.valid { exit::OK } else { exit::NOT_VALID })
}

fn print_report(report: &SignatureReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
        return;
    }
    println!("{}", if report.valid { "VALID" } else { "NOT VALID" });
    for problem in &report.problems {
        println!("  - {problem}");
    }
    println!("signer:       {} ({})", report.signer, report.user_id);
    println!("certificate:  {} ({})", report.serial, report.status.as_str());
    println!("signed at:    {} (the signer's clock)", when(report.signing_time));
    if let (Some(at), Some(host)) = (report.received_at, &report.received_by) {
        println!(
            "received at:  {} by {host} (its signed receipt: the time checked)",
            when(Some(at))
        );
    }
    if let Some(revoked) = report.revoked_at {
        println!("ended at:     {}", when(Some(revoked)));
    }
    println!("SHA-256:      {}", report.certificate_sha256);
}

fn helpdesk(who: &SignIn, command: Helpdesk) -> Result<u8> {
    let mut connection = connection()?;
    let mut session = sign_in(&mut connection, who)?;
    let outcome = helpdesk_with(&mut session, command);
    session.end();
    outcome
}

/// Below a page of a list: how to ask for the next one, if there is one.
fn more_after(next: Option<&str>) {
    if let Some(next) = next {
        eprintln!("more follow: run again with --after {next}");
    }
}

impl From<PageArgs> for PageRequest {
    fn from(args: PageArgs) -> PageRequest {
        PageRequest {
            after: args.after,
            limit: args.limit,
        }
    }
}

fn helpdesk_with(session: &mut Session, command: Helpdesk) -> Result<u8> {
    match command {
        Helpdesk::Letters { page } => {
            let page = session.letters(&page.into())?;
            let rows: Vec<Vec<String>> = page
                .letters
                .into_iter()
                .map(|l| {
                    vec![
                        l.application_id,
                        l.user_id,
                        l.full_name,
                        l.letter_state.to_string(),
                        date(l.created_at),
                        date(l.expires_at),
                        if l.pdf_available { "yes" } else { "no" }.into(),
                    ]
                })
                .collect();
            table(
                &["APPLICATION", "USER", "NAME", "STATE", "APPLIED", "EXPIRES", "PDF"],
                &rows,
                false,
            );
            more_after(page.next.as_deref());
        }
        Helpdesk::Letter {
            command: Letter::Print { application, out },
        } => {
            let pdf = session.letter_pdf(&application)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("letter-{application}.pdf")));
            // Durably: once marked printed, the server no longer keeps it.
            write_durably(&out, &pdf)?;
            session.mark_letter(&application, LetterMark::Printed)?;
            eprintln!(
                "letter saved to {} and marked printed (the server no longer keeps it)",
                out.display()
            );
        }
        Helpdesk::Letter {
            command: Letter::Dispatched { application },
        } => eprintln!("{}", session.mark_letter(&application, LetterMark::Dispatched)?.message),
        Helpdesk::Users { search, state, page } => {
            let page = session.users(search.as_deref(), state.as_deref(), &page.into())?;
            let rows: Vec<Vec<String>> = page
                .users
                .into_iter()
                .map(|u| {
                    vec![
                        u.user_id,
                        u.registration.common_name,
                        u.registration.email,
                        u.role.to_string(),
                        u.state.to_string(),
                        u.failed_logins.to_string(),
                        when(u.locked_until),
                    ]
                })
                .collect();
            table(
                &["USER", "NAME", "E-MAIL", "ROLE", "STATE", "FAILED", "LOCKED UNTIL"],
                &rows,
                false,
            );
            more_after(page.next.as_deref());
        }
        Helpdesk::Reset { user } => eprintln!("{}", session.reset_user(&user)?.message),
        Helpdesk::Unlock { user } => eprintln!("{}", session.unlock_user(&user)?.message),
        Helpdesk::Revoke { user, reason: why } => eprintln!("{}", session.revoke_user(&user, reason(why))?.message),
    }
    Ok(exit::OK)
}

fn day(flag: &str, text: Option<String>, end_of_day: bool) -> Result<Option<i64>> {
    text.map(|t| {
        parse_date(&t)
            .map(|start| if end_of_day { start + 86_399 } else { start })
            .ok_or_else(|| ClientError::input(flag, format!("`{t}` is not a date (YYYY-MM-DD)")))
    })
    .transpose()
}

fn audit(who: &SignIn, command: Audit) -> Result<u8> {
    if let Audit::Check(check) = &command {
        return verify(check);
    }
    let mut connection = connection()?;
    let mut session = sign_in(&mut connection, who)?;
    let outcome = audit_with(&mut session, command);
    session.end();
    outcome
}

fn audit_with(session: &mut Session, command: Audit) -> Result<u8> {
    match command {
        Audit::Certs {
            user,
            serial,
            status,
            from,
            to,
            limit,
            csv,
        } => {
            let filter = CertificateFilter {
                user,
                serial,
                status: status.map(|s| match s {
                    Status::Active => CertificateStatus::Active,
                    Status::Superseded => CertificateStatus::Superseded,
                    Status::Revoked => CertificateStatus::Revoked,
                }),
                from: day("--from", from, false)?,
                to: day("--to", to, true)?,
                limit,
                offset: None,
            };
            if csv {
                let body = session.audit_certificates_csv(&filter)?;
                print!("{}", String::from_utf8_lossy(&body));
                return Ok(exit::OK);
            }
            let rows: Vec<Vec<String>> = session
                .audit_certificates(&filter)?
                .into_iter()
                .map(|c| {
                    vec![
                        c.serial,
                        c.user_id,
                        c.status.as_str().into(),
                        date(c.not_before),
                        date(c.not_after),
                        when(c.revoked_at),
                        c.subject,
                    ]
                })
                .collect();
            table(
                &["SERIAL", "USER", "STATUS", "FROM", "TO", "ENDED", "SUBJECT"],
                &rows,
                false,
            );
        }
        Audit::Events {
            subject,
            from_seq,
            limit,
            csv,
        } => {
            let rows: Vec<Vec<String>> = session
                .audit_events(subject.as_deref(), from_seq, limit)?
                .into_iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        when(Some(e.at)),
                        e.actor,
                        e.kind.to_string(),
                        e.subject.unwrap_or_default(),
                        e.detail.to_string(),
                    ]
                })
                .collect();
            table(&["SEQ", "AT", "ACTOR", "EVENT", "SUBJECT", "DETAIL"], &rows, csv);
        }
        Audit::VerifyLog => {
            let verdict = session.audit_verify()?;
            if verdict.intact {
                println!("the audit log is intact: {} events verified", verdict.verified);
            } else {
                println!(
                    "the audit log is BROKEN at event {}: {} ({} events verified before it)",
                    verdict.broken_seq.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                    verdict.problem.unwrap_or_default(),
                    verdict.verified
                );
                return Ok(exit::NOT_VALID);
            }
        }
        Audit::Check(check) => return verify(&check),
    }
    Ok(exit::OK)
}
