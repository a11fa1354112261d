//! `signet orders check | sign | new`, and with the bank's host application
//! `submit | pending | list | show | cosign | cancel`.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use signet_client::error::exit;
use signet_client::orders::{self, CheckedOrder, OrderError, Summary};
use signet_client::signing::{Document, History, Placement, sign_and_save_each, write_durably};
use signet_client::{ClientError, Result, Session};

use crate::commands::{connection, files_to_sign, sign_in};
use signet_client::host::{Host, keep_report, signatures_not_made_here};
use signet_orders::status_report::StatusReport;
use signet_schema::host::{OrderInfo, OrderScope, OrderStatus};

use crate::{HostArgs, Orders, SignOrders, SubmitOrders};

pub fn run(command: Orders) -> Result<u8> {
    match command {
        Orders::Check { paths, all, json } => check(&paths, all, json),
        Orders::Sign(what) => sign(&what),
        Orders::Submit(what) => submit(&what),
        Orders::Send { host, files } => send(&host, &files),
        Orders::Pending(at) => list(&at, OrderScope::AwaitingMe),
        Orders::List(at) => list(&at, OrderScope::Mine),
        Orders::Show { host, order_id, out } => show(&host, &order_id, out.as_deref()),
        Orders::Cosign {
            host,
            order_id,
            sha256,
            out,
        } => at_host(&host, |host, session| {
            let dir = match out {
                Some(dir) => dir,
                None => signed_folder()?,
            };
            let cosigned = host.cosign(session, &order_id, &sha256, &dir, &History::default_location()?)?;
            println!(
                "signed {} -> {} (SHA-256 {})",
                cosigned.signed.document_path, cosigned.signed.signature_path, cosigned.signed.sha256
            );
            print_status(&cosigned.status, &cosigned.report);
            println!("  report kept in {}", cosigned.report_path.display());
            Ok(())
        }),
        Orders::Cancel { host, order_id } => at_host(&host, |host, session| {
            let (status, report) = host.cancel(session, &order_id)?;
            print_status(&status, &report);
            Ok(())
        }),
        Orders::New {
            from,
            out,
            initiating_party,
            force,
        } => new(&from, &out, initiating_party.as_deref(), force),
    }
}

/// One file, read and checked.
struct Checked {
    path: PathBuf,
    /// Its file name, as the history records it.
    name: String,
    bytes: Vec<u8>,
    outcome: std::result::Result<CheckedOrder, OrderError>,
}

fn read_and_check(paths: &[PathBuf]) -> Result<Vec<Checked>> {
    // A path that cannot be read is bad input (exit 2), not a refused order.
    let unreadable = |e: ClientError| match e {
        ClientError::File { path, source } => ClientError::input(path, format!("cannot be read: {source}")),
        other => other,
    };
    let files = files_to_sign(paths).map_err(unreadable)?;
    let today = orders::today();
    let bar = progress_bar(files.len(), "checking");
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        bar.set_message(path.display().to_string());
        let bytes = std::fs::read(&path).map_err(|e| unreadable(ClientError::file(&path, e)))?;
        let outcome = orders::check(&bytes, today);
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        out.push(Checked {
            path,
            name,
            bytes,
            outcome,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// One line about one file: above the progress bar when it is drawn, on
/// standard output otherwise (one file, or no terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

fn progress_bar(len: usize, what: &str) -> ProgressBar {
    let bar = if len > 1 {
        ProgressBar::new(len as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} {{msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn print_outcome(file: &Checked, all: bool) {
    match &file.outcome {
        Ok(CheckedOrder { summary, .. }) => {
            println!("OK {}", file.path.display());
            for line in summary.lines() {
                println!("  {line}");
            }
            if all {
                for row in &summary.rows {
                    println!(
                        "  #{} {} {} {} to {} ({}) on {}: {}",
                        row.number,
                        row.end_to_end_id,
                        row.amount,
                        row.currency,
                        row.creditor,
                        row.creditor_account,
                        row.execution_date,
                        row.remittance
                    );
                }
            }
        }
        Err(error) => {
            println!("REFUSED {}", file.path.display());
            for line in error.lines() {
                println!("  {line}");
            }
        }
    }
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    file: String,
    valid: bool,
    summary: Option<&'a Summary>,
    problems: Vec<String>,
}

fn check(paths: &[PathBuf], all: bool, json: bool) -> Result<u8> {
    let files = read_and_check(paths)?;
    if json {
        let outcomes: Vec<JsonOutcome<'_>> = files
            .iter()
            .map(|f| JsonOutcome {
                file: f.path.display().to_string(),
                valid: f.outcome.is_ok(),
                summary: f.outcome.as_ref().ok().map(|c| &c.summary),
                problems: f.outcome.as_ref().err().map(OrderError::lines).unwrap_or_default(),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&outcomes).map_err(|e| ClientError::input("json", e.to_string()))?
        );
    } else {
        for file in &files {
            print_outcome(file, all);
        }
    }
    Ok(if files.iter().all(|f| f.outcome.is_ok()) {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// Checks the files and signs in. With the pass phrase in a file, signing
/// in (starting the signing core, deriving keys, the key server) runs while
/// the files are checked; a prompt waits until the checks are done and shown.
fn check_and_sign_in(what: &SignOrders) -> (Result<Vec<Checked>>, Option<Result<Session>>) {
    if what.sign_in.passphrase_file.is_none() {
        return (read_and_check(&what.paths), None);
    }
    std::thread::scope(|scope| {
        let signing_in = scope.spawn(|| {
            let mut connection = connection()?;
            sign_in(&mut connection, &what.sign_in)
        });
        let files = read_and_check(&what.paths);
        let session = signing_in
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (files, Some(session))
    })
}

/// `signet sign` and `signet orders sign`.
pub fn sign(what: &SignOrders) -> Result<u8> {
    let (files, session) = check_and_sign_in(what);
    let files = files?;
    let signing = sign_checked(what, &files, session)?;
    if let Some(session) = signing.session {
        session.end();
    }
    Ok(signing.code)
}

/// What signing a set of checked files came to.
struct Signing<'f> {
    /// The exit code.
    code: u8,
    /// The session, unless nothing was signed.
    session: Option<Session>,
    /// The files signed, with where their signatures are.
    signed: Vec<(&'f Checked, PathBuf)>,
}

/// Signs the files that passed their checks.
fn sign_checked<'f>(
    what: &'f SignOrders,
    files: &'f [Checked],
    session: Option<Result<Session>>,
) -> Result<Signing<'f>> {
    let (who, out, force) = (&what.sign_in, what.out.as_deref(), what.force);
    let mut refused = 0usize;
    for file in files {
        print_outcome(file, false);
        if file.outcome.is_err() {
            refused += 1;
        }
    }
    let to_sign: Vec<(&Checked, &CheckedOrder)> = files
        .iter()
        .filter_map(|f| f.outcome.as_ref().ok().map(|c| (f, c)))
        .collect();
    if to_sign.is_empty() {
        println!("nothing signed: every file was refused");
        return Ok(Signing {
            code: exit::FAILED,
            session: None,
            signed: Vec::new(),
        });
    }
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|e| ClientError::file(dir, e))?;
    }
    // Two files of the same name would put their signatures in one place.
    let mut targets = std::collections::HashSet::new();
    for (file, _) in &to_sign {
        if !targets.insert(signature_of(&file.path, out)) {
            return Err(ClientError::input(
                file.path.display().to_string(),
                "another file of this name would put its signature in the same place: sign them apart",
            ));
        }
    }
    if !force {
        for (file, _) in &to_sign {
            let target = signature_of(&file.path, out);
            if target.exists() {
                return Err(ClientError::input(
                    target.display().to_string(),
                    "a signature is already there: give --force to replace it",
                ));
            }
        }
    }
    let history = History::default_location()?;
    let mut session = match session {
        Some(session) => session?,
        None => sign_in(&mut connection()?, who)?,
    };
    let bar = progress_bar(to_sign.len(), "signing");
    let mut failed = 0usize;
    let mut signed_files = Vec::new();
    let signing = sign_and_save_each(
        &mut session,
        &to_sign,
        |(file, checked)| {
            still_signable(file, checked)?;
            Ok(Document {
                name: &file.name,
                bytes: &file.bytes,
                placement: Placement::Beside {
                    document: &file.path,
                    out,
                },
            })
        },
        &history,
        |(file, _), outcome| {
            match outcome {
                Ok(signed) => {
                    signed_files.push((*file, PathBuf::from(&signed.signature_path)));
                    say(
                        &bar,
                        format!(
                            "signed {} -> {} (SHA-256 {})",
                            file.path.display(),
                            signed.signature_path,
                            signed.sha256
                        ),
                    )
                }
                Err(e @ ClientError::NotRecorded { .. }) => {
                    failed += 1;
                    say(&bar, format!("{}: {e}", file.path.display()));
                }
                Err(e) => {
                    failed += 1;
                    say(&bar, format!("NOT signed {}: {e}", file.path.display()));
                }
            }
            bar.inc(1);
        },
    );
    if let Err(e) = signing {
        bar.abandon();
        session.end();
        return Err(e);
    }
    bar.finish_and_clear();
    let total = files.len();
    println!(
        "{} of {total} order(s) signed; {refused} refused; {failed} failed",
        total - refused - failed
    );
    let code = if refused == 0 && failed == 0 {
        exit::OK
    } else {
        exit::FAILED
    };
    Ok(Signing {
        code,
        session: Some(session),
        signed: signed_files,
    })
}

fn signature_of(file: &Path, out: Option<&Path>) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".p7s");
    match out {
        Some(dir) => dir.join(name),
        None => file.with_file_name(name),
    }
}

/// What was checked is what is on disk (the file did not change since),
/// and its execution dates have not passed meanwhile.
fn still_signable(file: &Checked, checked: &CheckedOrder) -> Result<()> {
    let now = std::fs::read(&file.path).map_err(|e| ClientError::file(&file.path, e))?;
    if now != file.bytes {
        return Err(ClientError::input(
            file.path.display().to_string(),
            "the file changed after it was checked; check it again",
        ));
    }
    Ok(checked.still_signable(orders::today())?)
}

fn new(from: &Path, out: &Path, initiating_party: Option<&str>, force: bool) -> Result<u8> {
    if out.exists() && !force {
        return Err(ClientError::input(
            out.display().to_string(),
            "the file exists: give --force to replace it",
        ));
    }
    let input = std::fs::read(from).map_err(|e| ClientError::file(from, e))?;
    let mut order = if from.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        orders::input::from_json(&input)?
    } else {
        orders::input::from_csv(&input, "")?
    };
    if let Some(party) = initiating_party {
        order.initiating_party = party.to_owned();
    }
    let (bytes, checked) = orders::write::write(&order, time::OffsetDateTime::now_utc())?;
    write_durably(out, &bytes)?;
    println!("wrote {}", out.display());
    for line in checked.summary.lines() {
        println!("  {line}");
    }
    Ok(exit::OK)
}

/// One line about an order at the host, and its reasons.
fn print_order(order: &OrderInfo) {
    println!(
        "{} {} {} ({} payment(s), {}) from {}: {}",
        order.order_id,
        order.message_id,
        order.debtor_accounts.join(", "),
        order.payments,
        order.totals.join(", "),
        order.submitted_by,
        order.state.as_str()
    );
    println!("  sha256 {}", order.sha256);
    if let (Some(code), Some(reason)) = (&order.reason_code, &order.reason) {
        println!("  {code}: {reason}");
    }
    for signature in &order.signatures {
        println!(
            "  signed by {} (class {}, certificate {}) at {}",
            signature.user_id,
            signature.class.as_str(),
            signature.certificate_serial,
            signature.received_at
        );
    }
}

/// The order, and what the host's signed report says.
fn print_status(status: &OrderStatus, report: &StatusReport) {
    print_order(&status.order);
    println!(
        "  status report {} signed by the host: {}{}",
        report.message_id,
        report.status.code(),
        report
            .received_at
            .map_or_else(String::new, |t| format!(", received at {t}"))
    );
    for reason in &report.reasons {
        println!("  {}: {}", reason.code, reason.text);
    }
}

/// Signs in, finds the host, runs `work`, signs out.
fn at_host(at: &HostArgs, work: impl FnOnce(&Host, &mut Session) -> Result<()>) -> Result<u8> {
    let mut session = sign_in(&mut connection()?, &at.sign_in)?;
    let outcome = Host::find(&session, at.host.as_deref()).and_then(|host| work(&host, &mut session));
    session.end();
    outcome.map(|()| exit::OK)
}

/// `signet orders pending` and `signet orders list`.
fn list(at: &HostArgs, scope: OrderScope) -> Result<u8> {
    at_host(at, |host, session| {
        let orders = host.list(session, scope)?;
        if orders.is_empty() {
            println!("no orders");
        }
        for order in &orders {
            print_order(order);
        }
        if scope == OrderScope::Mine {
            let user_id = session.user_id().to_string();
            let made_here = History::default_location()?.of_user(&user_id)?;
            for unknown in signatures_not_made_here(&orders, &user_id, &made_here) {
                eprintln!(
                    "WARNING: the host holds a signature of yours on order {} ({}, SHA-256 {}, certificate {}, \
                     received at {}) that this computer did not make. If you did not sign it on another \
                     computer, revoke your key (signet revoke --reason key-compromise) and call your help desk.",
                    unknown.order_id,
                    unknown.message_id,
                    unknown.sha256,
                    unknown.certificate_serial,
                    unknown.received_at
                );
            }
        }
        Ok(())
    })
}

/// `signet orders show`.
fn show(at: &HostArgs, order_id: &str, out: Option<&Path>) -> Result<u8> {
    at_host(at, |host, session| {
        let (detail, report) = host.show(session, order_id)?;
        print_status(&detail.status, &report);
        match orders::read_order(&detail.order.0) {
            Ok(order) => {
                let summary = Summary::of(&order, &detail.order.0);
                for line in summary.lines() {
                    println!("  {line}");
                }
            }
            Err(e) => println!("  the order does not read as pain.001: {e}"),
        }
        if let Some(out) = out {
            write_durably(out, &detail.order.0)?;
            println!("saved the order's exact bytes to {}", out.display());
        }
        Ok(())
    })
}

/// `~/Signet/signed`, where the app keeps what it signs: co-signed orders go there too.
fn signed_folder() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join("Signet").join("signed"))
        .ok_or_else(|| ClientError::input("--out", "HOME is not set: say where to keep the signature"))
}

/// Sends one signed order, keeps the host's report beside its signature and
/// says what became of it; whether the host took it (not rejected).
fn send_one(
    host: &Host,
    session: &mut Session,
    file: &Path,
    order: &[u8],
    signature: &[u8],
    signature_path: &Path,
) -> Result<bool> {
    let (status, report) = host.submit(session, order, signature)?;
    let xml = keep_report(signature_path, &status)?;
    println!("sent {} to {}:", file.display(), host.name);
    print_status(&status, &report);
    println!("  report kept in {}", xml.display());
    Ok(status.order.state != signet_schema::host::OrderState::Rejected)
}

/// `signet orders send`: orders signed earlier, sent with their signatures
/// as they are. Exit 1 when the host rejected any.
fn send(at: &HostArgs, files: &[PathBuf]) -> Result<u8> {
    let mut signed = Vec::with_capacity(files.len());
    for file in files {
        let order = std::fs::read(file).map_err(|e| ClientError::file(file, e))?;
        let signature_path = signature_of(file, None);
        let signature = std::fs::read(&signature_path).map_err(|e| {
            ClientError::input(
                signature_path.display().to_string(),
                format!("no signature beside the order ({e}): sign it first"),
            )
        })?;
        signed.push((file, order, signature, signature_path));
    }
    let mut rejected = 0usize;
    at_host(at, |host, session| {
        for (file, order, signature, signature_path) in &signed {
            if !send_one(host, session, file, order, signature, signature_path)? {
                rejected += 1;
            }
        }
        Ok(())
    })
    .map(|code| if rejected == 0 { code } else { exit::FAILED })
}

/// `signet orders submit`: signs as `signet orders sign` does, then sends
/// each signed order to the host and keeps its signed status report.
fn submit(what: &SubmitOrders) -> Result<u8> {
    let (files, session) = check_and_sign_in(&what.sign);
    let files = files?;
    let Signing { code, session, signed } = sign_checked(&what.sign, &files, session)?;
    let Some(mut session) = session else {
        return Ok(code);
    };
    let outcome = (|| -> Result<u8> {
        let host = Host::find(&session, what.host.as_deref())?;
        let mut rejected = 0usize;
        for (file, signature_path) in &signed {
            let signature = std::fs::read(signature_path).map_err(|e| ClientError::file(signature_path, e))?;
            if !send_one(&host, &mut session, &file.path, &file.bytes, &signature, signature_path)? {
                rejected += 1;
            }
        }
        Ok(if rejected == 0 { code } else { exit::FAILED })
    })();
    session.end();
    outcome
}
