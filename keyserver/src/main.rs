//! `signet-keyserver`: the key server's command line.
//!
//! ```text
//! signet-keyserver serve --data-dir DIR --listen ADDR [--database URL]
//! signet-keyserver audit verify --data-dir DIR [--database URL]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use signet_keyserver::keys::{KeyTier, Policy, routes, system_clock};

/// Signet key server.
#[derive(Parser)]
#[command(name = "signet-keyserver", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web tier and the key tier in one process (the embedded default).
    Serve {
        /// Where the database, keys and CA live (created on first start, mode 0700).
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Database URL: `postgres://…` for PostgreSQL; default: SQLite in the data directory.
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks the hash chain and signatures of every event; names the first broken link.
    Verify {
        /// The key tier's data directory (for the integrity key).
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("signet-keyserver: {message}");
            ExitCode::from(1)
        }
    }
}

// The command line answers on stdout; logs go to stderr.
#[allow(clippy::print_stdout)]
fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            database,
        } => {
            let tier = KeyTier::open(&data_dir, database.as_deref(), Policy::default(), system_clock())
                .map_err(|e| e.to_string())?;
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("{listen}: {e}"))?;
                let bound = listener.local_addr().map_err(|e| e.to_string())?;
                tracing::info!(address = %bound, data_dir = %data_dir.display(), "key server listening");
                // A line a supervising process (or a test) can wait for.
                println!("listening on http://{bound}");
                warp::serve(routes::routes(Arc::new(tier)))
                    .incoming(listener)
                    .graceful(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .run()
                    .await;
                Ok::<_, String>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { data_dir, database },
        } => {
            let tier = KeyTier::open(&data_dir, database.as_deref(), Policy::default(), system_clock())
                .map_err(|e| e.to_string())?;
            match tier.verify_audit_log().map_err(|e| e.to_string())? {
                Ok(count) => {
                    println!("audit log intact: {count} events verified");
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    println!("audit log BROKEN at event {}: {broken}", broken.seq());
                    Ok(ExitCode::from(3))
                }
            }
        }
    }
}
