//! `signet-host`: the bank's host application.
//!
//! ```text
//! signet-host keys --data-dir D --name order-desk       # keys + host.csr.pem for the key server's operator
//! signet-host certificate --data-dir D --certificate host-cert.pem --ca ca.pem
//! signet-host mandate add --data-dir D --iban DE… --user alice --class E --limit 10000.00 --currency EUR
//! signet-host serve --data-dir D --listen 127.0.0.1:8444 --crl-url https://keyserver:8443/v1/crl
//! ```

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use signet_channel::{ServerKeys, system_clock};
use signet_host::{Host, HostPolicy, db, files};
use signet_keyserver_web::connections::{self, ConnectionGate, ConnectionLimits};
use signet_keyserver_web::tls::{self, ServerIdentity, Timeouts};
use signet_schema::host::SignatureClass;

#[derive(Parser)]
#[command(
    name = "signet-host",
    version,
    about = "Signet host application: receives, verifies and co-signs payment orders"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Makes the host's keys (once) and writes the certification request for
    /// its integrity key, for the key server's operator
    /// (`signet-keyserver admin certify-host`).
    Keys {
        /// The host's data directory.
        #[arg(long, env = "SIGNET_HOST_DATA_DIR")]
        data_dir: PathBuf,
        /// The host's name, e.g. `order-desk`.
        #[arg(long)]
        name: String,
    },
    /// Installs the host certificate the key server's CA issued, and that CA's certificate.
    Certificate {
        /// The host's data directory.
        #[arg(long, env = "SIGNET_HOST_DATA_DIR")]
        data_dir: PathBuf,
        /// The host certificate (PEM or DER).
        #[arg(long)]
        certificate: PathBuf,
        /// The CA certificate (PEM or DER), e.g. from the key server's `GET /v1/ca.pem`.
        #[arg(long)]
        ca: PathBuf,
    },
    /// Account mandates: who may sign for which debtor account.
    Mandate {
        #[command(subcommand)]
        command: MandateCommand,
    },
    /// Serves the host's API over HTTPS.
    Serve {
        /// The host's data directory.
        #[arg(long, env = "SIGNET_HOST_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_HOST_DATABASE_URL")]
        database: Option<String>,
        /// Address to listen on.
        #[arg(long, env = "SIGNET_HOST_LISTEN", default_value = "127.0.0.1:8444")]
        listen: SocketAddr,
        /// Where to fetch the CA's CRL (the key server's `/v1/crl`).
        #[arg(long, env = "SIGNET_HOST_CRL_URL")]
        crl_url: String,
        /// Seconds between CRL fetches at most (sooner when the CRL's nextUpdate nears).
        #[arg(long, default_value_t = 3600)]
        crl_interval: u64,
        /// Seconds a signing time may lie before receipt.
        #[arg(long, default_value_t = 300)]
        signing_window: i64,
        /// Days an order may wait for its signatures.
        #[arg(long, default_value_t = 7)]
        waiting_days: i64,
        /// Seconds an order may wait for its signatures (overrides --waiting-days; for tests and drills).
        #[arg(long, hide = true)]
        waiting_seconds: Option<i64>,
        /// Extra DNS name or address for the self-signed TLS certificate (repeatable).
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
        /// Connections open at once from one client address (IPv6: one /64); never more than a quarter
        /// of what the open-file limit allows.
        #[arg(long, env = "SIGNET_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = connections::DEFAULT_MAX_PER_ADDRESS)]
        max_connections_per_address: usize,
    },
}

#[derive(Subcommand)]
enum MandateCommand {
    /// Gives a user a signature class on a debtor account (replacing their earlier one there).
    Add {
        /// The host's data directory.
        #[arg(long, env = "SIGNET_HOST_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_HOST_DATABASE_URL")]
        database: Option<String>,
        /// The debtor account (IBAN).
        #[arg(long)]
        iban: String,
        /// The user (their key server user id).
        #[arg(long)]
        user: String,
        /// `E` (alone), `A`, `B` (two needed: A+A or A+B) or `T` (submits, never signs).
        #[arg(long)]
        class: String,
        /// Largest order total on the account the signature counts for (none: no limit).
        #[arg(long)]
        limit: Option<String>,
        /// The limit's currency.
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Removes a user's mandate on an account.
    Remove {
        /// The host's data directory.
        #[arg(long, env = "SIGNET_HOST_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_HOST_DATABASE_URL")]
        database: Option<String>,
        /// The debtor account (IBAN).
        #[arg(long)]
        iban: String,
        /// The user.
        #[arg(long)]
        user: String,
    },
    /// Lists every mandate.
    List {
        /// The host's data directory.
        #[arg(long, env = "SIGNET_HOST_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_HOST_DATABASE_URL")]
        database: Option<String>,
    },
}

fn announce(lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn database(data_dir: &std::path::Path, url: Option<&str>) -> Result<db::Database, String> {
    let default_url = data_dir.join(files::DATABASE_FILE).display().to_string();
    db::open(url.unwrap_or(&default_url)).map_err(|e| e.to_string())
}

fn mandate(command: MandateCommand) -> Result<(), String> {
    match command {
        MandateCommand::Add {
            data_dir,
            database: url,
            iban,
            user,
            class,
            limit,
            currency,
        } => {
            if let Some(problem) = signet_orders::checks::iban_problem(&iban) {
                return Err(problem);
            }
            signet_schema::record::validate_user_id(&user).map_err(|e| format!("--user: {e}"))?;
            let class = SignatureClass::parse(&class).ok_or("--class is E, A, B or T")?;
            if let Some(limit) = &limit {
                let value = rust_decimal::Decimal::from_str_exact(limit)
                    .map_err(|e| format!("--limit {limit:?} is not an amount: {e}"))?;
                if value.is_sign_negative() {
                    return Err("--limit cannot be negative".into());
                }
            }
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                return Err("--currency is an ISO 4217 code such as EUR".into());
            }
            let database = database(&data_dir, url.as_deref())?;
            let now = (system_clock())();
            let mandate = db::Mandate {
                iban: iban.clone(),
                user_id: user.clone(),
                class: class.as_str().into(),
                amount_limit: limit.clone(),
                currency: currency.clone(),
                created_at: now,
            };
            database
                .write(|c| db::mandates::put(c, &mandate))
                .map_err(|e| e.to_string())?;
            announce(&[format!(
                "{user} signs for {iban} with class {} up to {}",
                class.as_str(),
                limit.map_or_else(|| "any amount".to_owned(), |l| format!("{l} {currency}"))
            )]);
        }
        MandateCommand::Remove {
            data_dir,
            database: url,
            iban,
            user,
        } => {
            let database = database(&data_dir, url.as_deref())?;
            let removed = database
                .write(|c| db::mandates::remove(c, &iban, &user))
                .map_err(|e| e.to_string())?;
            if !removed {
                return Err(format!("{user} has no mandate on {iban}"));
            }
            announce(&[format!("{user} no longer signs for {iban}")]);
        }
        MandateCommand::List {
            data_dir,
            database: url,
        } => {
            let database = database(&data_dir, url.as_deref())?;
            let all = database.read(db::mandates::all).map_err(|e| e.to_string())?;
            let lines: Vec<String> = all
                .into_iter()
                .map(|m| {
                    format!(
                        "{}\t{}\t{}\t{}",
                        m.iban,
                        m.user_id,
                        m.class,
                        m.amount_limit
                            .map_or_else(|| "-".to_owned(), |l| format!("{l} {}", m.currency))
                    )
                })
                .collect();
            announce(&lines);
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Keys { data_dir, name } => {
            signet_schema::record::validate_user_id(&name)
                .map_err(|_| "--name is 1 to 64 lower-case letters, digits, '.', '_' or '-'".to_owned())?;
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(&data_dir)
                .map_err(|e| format!("{}: {e}", data_dir.display()))?;
            let keys = ServerKeys::load_or_create(&data_dir).map_err(|e| e.to_string())?;
            let request = files::write_request(&data_dir, &keys.integrity, &name)?;
            announce(&[format!(
                "keys in {}; certification request in {}",
                data_dir.display(),
                request.display()
            )]);
        }
        Command::Certificate {
            data_dir,
            certificate,
            ca,
        } => {
            let keys = ServerKeys::load_or_create(&data_dir).map_err(|e| e.to_string())?;
            let name = files::install(&data_dir, &keys.integrity, &certificate, &ca)?;
            announce(&[format!("host certificate of {name} installed")]);
        }
        Command::Mandate { command } => mandate(command)?,
        Command::Serve {
            data_dir,
            database,
            listen,
            crl_url,
            crl_interval,
            signing_window,
            waiting_days,
            waiting_seconds,
            tls_names,
            max_connections_per_address,
        } => {
            let policy = HostPolicy {
                signing_window_seconds: signing_window,
                waiting_seconds: waiting_seconds.unwrap_or(waiting_days.saturating_mul(24 * 3600)),
                ..HostPolicy::default()
            };
            let host = Arc::new(Host::open(&data_dir, database.as_deref(), policy, system_clock())?);
            let identity = ServerIdentity::self_signed(&data_dir, &tls::names_for(&listen, &tls_names))
                .map_err(|e| e.to_string())?;
            let descriptors = connections::raise_descriptor_limit();
            let gate = ConnectionGate::new(ConnectionLimits::for_descriptors(
                descriptors,
                max_connections_per_address,
            ));
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("{listen}: {e}"))?;
                let bound = listener.local_addr().map_err(|e| e.to_string())?;
                tracing::info!(address = %bound, host = host.name(), "host listening");
                tokio::spawn(signet_host::crl_fetch::run(
                    host.clone(),
                    crl_url,
                    Duration::from_secs(crl_interval),
                ));
                announce(&[
                    format!("listening on https://{bound}"),
                    format!("tls-sha256 {}", identity.fingerprint_hex()),
                ]);
                tls::serve_tls(
                    listener,
                    &identity,
                    warp::service(signet_host::routes::routes(host)),
                    Timeouts::default(),
                    gate,
                    tls::shutdown_signal(),
                )
                .await;
                Ok::<_, String>(())
            })?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "signet-host: {message}");
            ExitCode::FAILURE
        }
    }
}
