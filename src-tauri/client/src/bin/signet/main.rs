//! `signet`: Signet from the command line, for scripts and batch work.
//!
//! Settings (the key server's address and pinned identity) come from the OS
//! keyring, set once by `signet connect`. Pass phrases come from a hidden
//! prompt or `--passphrase-file`, never from the command line. Results go to
//! standard output, progress and messages to standard error; the exit codes
//! are listed under `signet --help` and stable.

#![allow(
    clippy::print_stdout,
    reason = "a command line prints its results on standard output"
)]

mod commands;
mod input;
mod orders;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "signet",
    version,
    about = "Sign payment orders with a key kept sealed on the Signet key server",
    after_help = "Exit codes: 0 done; 1 refused or failed; 2 bad command line or input; 3 wrong user id, pass phrase \
                  or phrase, account locked or revoked; 4 key server unreachable; 5 no server set up or its identity \
                  changed; 6 no OS keyring; 7 a signature, certificate or log did not verify; 8 the signing process \
                  failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Who signs in, and where the pass phrase comes from.
#[derive(Args, Clone, Debug)]
struct SignIn {
    /// Your user id (default: the one last used on this computer).
    #[arg(long, short = 'u', env = "SIGNET_USER")]
    user_id: Option<String>,
    /// Read the pass phrase from the first line of this file instead of asking.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Set up the key server, confirming its certificate fingerprint.
    Connect {
        /// The server's address, e.g. https://keys.example.com:8443.
        url: String,
        /// The fingerprint you were given (checked instead of asking you).
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// Show the key server set up on this computer.
    Status,
    /// Fetch and check the signing core the key server delivers, and show which one would run.
    Signer,
    /// Forget the key server (you will have to confirm it again).
    Forget,
    /// Apply for a key: it is made and sealed on this computer, then stored on the server.
    Register(Register),
    /// Activate your key with the consent phrase from your letter.
    Consent {
        /// Your user id.
        #[arg(long, short = 'u', env = "SIGNET_USER")]
        user_id: Option<String>,
        /// Read the phrase from this file instead of asking.
        #[arg(long, value_name = "FILE")]
        phrase_file: Option<PathBuf>,
    },
    /// Check that you can sign in.
    Login(SignIn),
    /// Sign payment orders, or every file in a folder: the same as `signet orders sign`.
    /// Each file is checked and summarised first; a file that is not a valid order is never signed.
    Sign(SignOrders),
    /// Check a signed file against the key server's CA and archive.
    Verify(Check),
    /// Payment orders (ISO 20022 pain.001): check, sign, write.
    #[command(subcommand)]
    Orders(Orders),
    /// Change your pass phrase (the key stays the same).
    Passphrase {
        #[command(flatten)]
        sign_in: SignIn,
        /// Read the new pass phrase from this file instead of asking.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Replace your key pair with a new one (your old certificate is superseded).
    Rekey {
        #[command(flatten)]
        sign_in: SignIn,
        /// Seal the new key under a new pass phrase read from this file (default: keep the pass phrase).
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Revoke your key for good.
    Revoke {
        #[command(flatten)]
        sign_in: SignIn,
        /// Why.
        #[arg(long, value_enum, default_value_t = Reason::Unspecified)]
        reason: Reason,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Show your certificate and the CA's.
    Certs {
        #[command(flatten)]
        sign_in: SignIn,
        /// Print the certificates as PEM.
        #[arg(long)]
        pem: bool,
    },
    /// Help-desk work (signed with your own key).
    Helpdesk {
        #[command(flatten)]
        sign_in: SignIn,
        #[command(subcommand)]
        command: Helpdesk,
    },
    /// Auditors' read-only view of the archive (signed with your own key).
    Audit {
        #[command(flatten)]
        sign_in: SignIn,
        #[command(subcommand)]
        command: Audit,
    },
}

#[derive(Subcommand)]
enum Orders {
    /// Validate payment orders against the official schema and the banks' checks, and summarise them.
    Check {
        /// pain.001.001.09 or .03 files, or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// List every payment, not only the largest.
        #[arg(long)]
        all: bool,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign payment orders as detached CMS signatures (FILE.p7s), after one pass-phrase entry.
    /// Each file is checked and summarised first; a refused one is never signed.
    Sign(SignOrders),
    /// Sign payment orders and send them to the bank's host application; its signed status report
    /// (pain.002) is kept beside each order.
    Submit(SubmitOrders),
    /// Send orders signed earlier (FILE with its signature FILE.p7s beside it) to the bank's host
    /// application as they are; its signed status report is kept beside each.
    Send {
        #[command(flatten)]
        host: HostArgs,
        /// The signed orders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Orders waiting at the host for your signature.
    Pending(HostArgs),
    /// Every order the host holds under your account, with its status.
    List(HostArgs),
    /// One order at the host: what it pays, its signatures and status; --out saves its exact bytes.
    Show {
        #[command(flatten)]
        host: HostArgs,
        /// The host's order id.
        order_id: String,
        /// Save the order's exact bytes to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Add your signature to an order waiting at the host: the one you reviewed with `show`, named by
    /// its SHA-256 (its exact bytes are fetched, compared and checked before anything is signed).
    Cosign {
        #[command(flatten)]
        host: HostArgs,
        /// The host's order id.
        order_id: String,
        /// The SHA-256 of the order you reviewed, as `show` and `pending` print it.
        #[arg(long)]
        sha256: String,
        /// Where to keep the order, your signature and the host's report
        /// (default ~/Signet/signed, as the app does).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Cancel an order waiting at the host.
    Cancel {
        #[command(flatten)]
        host: HostArgs,
        /// The host's order id.
        order_id: String,
    },
    /// Write a pain.001.001.09 order from a CSV or JSON file of transactions.
    New {
        /// The transactions: `.json` in the shape of an order, otherwise CSV (see the README).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Where to write the order.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: PathBuf,
        /// Who initiates the payments (default: the first debtor).
        #[arg(long)]
        initiating_party: Option<String>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// What `signet sign` and `signet orders sign` sign, and where the signatures go.
#[derive(Args, Debug)]
struct SignOrders {
    #[command(flatten)]
    sign_in: SignIn,
    /// Files or folders of orders (pain.001.001.09 or .03).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write signatures into this folder (default: next to each file).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace signatures that already exist.
    #[arg(long)]
    force: bool,
}

/// `signet orders submit`.
#[derive(Args, Debug)]
struct SubmitOrders {
    #[command(flatten)]
    sign: SignOrders,
    /// The host application (default: the only one the key server publishes).
    #[arg(long)]
    host: Option<String>,
}

/// Who signs in, and which host application.
#[derive(Args, Debug)]
struct HostArgs {
    #[command(flatten)]
    sign_in: SignIn,
    /// The host application (default: the only one the key server publishes).
    #[arg(long)]
    host: Option<String>,
}

#[derive(Args)]
struct Register {
    /// Your user id (letters, digits, `.`, `-`, `_`).
    #[arg(long, short = 'u')]
    user_id: String,
    /// Your full name.
    #[arg(long)]
    name: String,
    /// Organisation.
    #[arg(long)]
    organization: String,
    /// Department.
    #[arg(long, default_value = "")]
    unit: String,
    /// E-mail address.
    #[arg(long)]
    email: String,
    /// Two-letter country code.
    #[arg(long)]
    country: String,
    /// Read the new pass phrase from this file instead of asking twice.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

#[derive(Args)]
struct Check {
    /// The signed file.
    file: PathBuf,
    /// Its signature (default: FILE.p7s).
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// The host application's signed receipt, a pain.002 with REPORT.p7s beside it (default: the
    /// first of FILE.pain002.xml, FILE.pain002-2.xml, … that names this signature): the time it
    /// states the host received this signature is the time checked.
    #[arg(long, value_name = "REPORT")]
    receipt: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Helpdesk {
    /// Consent letters waiting to be printed or posted, oldest first, a page at a time.
    Letters {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Work on one letter.
    Letter {
        #[command(subcommand)]
        command: Letter,
    },
    /// Find users, a page at a time (in id order without --search).
    Users {
        /// Words that begin the user id, e-mail address (or its domain) or
        /// words of the name, any case; every word must match.
        #[arg(long)]
        search: Option<String>,
        /// pending, active, revoked or reset.
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Lost pass phrase: erase the key, revoke its certificate, start a new application with a new letter.
    Reset {
        /// The user.
        user: String,
    },
    /// Unlock an account locked after failed sign-ins.
    Unlock {
        /// The user.
        user: String,
    },
    /// Revoke a user's key for good.
    Revoke {
        /// The user.
        user: String,
        /// Why.
        #[arg(long, value_enum, default_value_t = Reason::Unspecified)]
        reason: Reason,
    },
}

/// Which page of a help-desk list.
#[derive(Args)]
struct PageArgs {
    /// Start after this entry: the `--after` printed below the previous page.
    #[arg(long)]
    after: Option<String>,
    /// Entries on the page (1 to 200; 50 unless given).
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Subcommand)]
enum Letter {
    /// Save the letter's PDF and mark it printed (the server then deletes it).
    Print {
        /// The application id.
        application: String,
        /// Where to write the PDF (default: letter-APPLICATION.pdf).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Mark the letter as posted.
    Dispatched {
        /// The application id.
        application: String,
    },
}

#[derive(Subcommand)]
enum Audit {
    /// Certificates ever issued, with their status.
    Certs {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        /// Only this serial.
        #[arg(long)]
        serial: Option<String>,
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<Status>,
        /// Issued on or after this date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Issued on or before this date (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// The event history.
    Events {
        /// Only events about this user.
        #[arg(long)]
        subject: Option<String>,
        /// From this position in the chain.
        #[arg(long)]
        from_seq: Option<i64>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u32>,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Check the audit log's chain on the server.
    VerifyLog,
    /// Check a signed order against the certificate valid when it was signed.
    Check(Check),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Reason {
    Unspecified,
    KeyCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Status {
    Active,
    Superseded,
    Revoked,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("signet: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
