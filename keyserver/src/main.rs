//! `signet-keyserver`: the key server's command line.
//!
//! ```text
//! signet-keyserver serve --data-dir DIR --listen ADDR [--database URL] [--tls-cert PEM --tls-key PEM]
//! signet-keyserver key   --data-dir DIR --internal ADDR|unix:PATH --link-secret-file F [--database URL]
//! signet-keyserver web   --listen ADDR --key-tier ADDR|unix:PATH --link-secret-file F
//!                        [--tls-cert PEM --tls-key PEM | --state-dir DIR]
//! signet-keyserver audit verify --data-dir DIR [--database URL]
//! signet-keyserver admin bootstrap | set-role …
//! signet-keyserver applet release-key | endorse-key | sign-release …   (offline, on files)
//! signet-keyserver applet publish | list | bundled-signer … --data-dir DIR
//! ```
//!
//! `serve` runs both tiers in one process: the web tier on HTTPS at
//! `--listen` hands each admitted request straight to the key tier's routes
//! in the same process, behind the same link guard (a link secret made for
//! this run). `key` and `web` run the tiers as separate processes, linked by
//! a Unix socket or an internal TCP address. The first line on standard output of each
//! server is `listening on <URL>`; the web tier's second line is
//! `tls-sha256 <fingerprint>`, the SHA-256 of its certificate, for pinning.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use signet_keyserver::keys::channel::ChannelLimits;
use signet_keyserver::keys::{KeyTier, Policy, routes, system_clock};
use signet_keyserver::rate_limit::{Rate, RateLimitConfig, RateLimits};
use signet_keyserver::web::connections::{self, ConnectionGate, ConnectionLimits};
use signet_keyserver::web::forward::KeyTierService;
use signet_keyserver::web::link::{self, LinkAddress, LinkListener, LinkSecret};
use signet_keyserver::web::tls::{self, ServerIdentity, Timeouts};
use signet_keyserver::web::{self, WebTier};
use signet_schema::{KdfParams, KeySize};

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
        /// Where the database, keys, CA and TLS certificate live (created on first start, mode 0700).
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Address of the public HTTPS listener.
        #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Database URL: `postgres://…` for PostgreSQL; default: SQLite in the data directory.
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(flatten)]
        limits: LimitArgs,
        /// The per-user limit on sealed requests, counted by the key tier in this process.
        #[command(flatten)]
        user_limits: UserLimitArgs,
        #[command(flatten)]
        sessions: SessionArgs,
        #[command(flatten)]
        guesses: GuessArgs,
        #[command(flatten)]
        records: RecordPolicyArgs,
        /// The key server's public address (`https://host[:port]`), under which users' certificates name
        /// the CRL (`/v1/crl`) and the CA certificate (`/v1/ca.cer`).
        #[arg(long, env = "SIGNET_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Runs the key tier alone: plain HTTP on the internal link, for the web tier only.
    Key {
        /// Where the database, keys and CA live (created on first start, mode 0700).
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Internal address: `unix:/path` (socket made mode 0600) or IP:port on a loopback or internal network.
        #[arg(long, env = "SIGNET_INTERNAL")]
        internal: LinkAddress,
        /// File holding the link secret (64 hex digits, mode 0600); made if missing.
        #[arg(long, env = "SIGNET_LINK_SECRET_FILE")]
        link_secret_file: PathBuf,
        /// Database URL: `postgres://…` for PostgreSQL; default: SQLite in the data directory.
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
        /// The per-user limit on sealed requests, which only the key tier can read.
        #[command(flatten)]
        user_limits: UserLimitArgs,
        #[command(flatten)]
        applications: ApplicationsInAllArgs,
        #[command(flatten)]
        sessions: SessionArgs,
        #[command(flatten)]
        guesses: GuessArgs,
        #[command(flatten)]
        records: RecordPolicyArgs,
        /// The key server's public address (`https://host[:port]`), under which users' certificates name
        /// the CRL (`/v1/crl`) and the CA certificate (`/v1/ca.cer`).
        #[arg(long, env = "SIGNET_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Runs the web tier alone: HTTPS in front of a key tier; holds no keys and no database credentials.
    Web {
        /// Address of the public HTTPS listener.
        #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// The key tier's internal address: `unix:/path` or IP:port.
        #[arg(long, env = "SIGNET_KEY_TIER")]
        key_tier: LinkAddress,
        /// File holding the link secret the key tier expects (mode 0600).
        #[arg(long, env = "SIGNET_LINK_SECRET_FILE")]
        link_secret_file: PathBuf,
        /// Where the self-signed TLS certificate is kept when no --tls-cert is given.
        #[arg(long, env = "SIGNET_STATE_DIR", required_unless_present = "tls_cert")]
        state_dir: Option<PathBuf>,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Operator actions on the key tier's own machine.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Releases of the signing core: signed offline, published to the key tier.
    Applet {
        #[command(subcommand)]
        command: AppletCommand,
    },
}

#[derive(Subcommand)]
enum AppletCommand {
    /// Makes an offline release key (RSA-3072): the private half (mode 0600)
    /// and its public half, which clients are built to trust.
    ReleaseKey {
        /// Where to write the private half (PKCS#8 PEM); never overwritten.
        #[arg(long)]
        out: PathBuf,
        /// Where to write the public half (SPKI PEM).
        #[arg(long)]
        public_out: PathBuf,
    },
    /// The current release key endorses a new one (key rotation).
    EndorseKey {
        /// The current release key (private half).
        #[arg(long)]
        key: PathBuf,
        /// The new release key's public half.
        #[arg(long)]
        new_public: PathBuf,
        /// Where to write the endorsement (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Signs a release of signer binaries with the release key, on files
    /// only: it never touches a key server's data directory.
    SignRelease {
        /// The release key (private half).
        #[arg(long)]
        key: PathBuf,
        /// A signer binary, as `TARGET=FILE`, or `FILE` for this machine's target (repeatable).
        #[arg(long = "binary", required = true)]
        binaries: Vec<String>,
        /// Release number: higher than every release before it.
        #[arg(long)]
        version: u64,
        /// The version people read (default: this program's).
        #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
        label: String,
        /// The signer protocol the binaries speak (default: this program's).
        #[arg(long, default_value_t = signet_schema::protocol::PROTOCOL_VERSION)]
        protocol_version: u32,
        /// Endorsements from a key clients trust to --key, oldest first (repeatable).
        #[arg(long = "endorsement")]
        endorsements: Vec<PathBuf>,
        /// Where to write the signed release (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Publishes a signed release and its binaries on the key tier.
    Publish {
        /// The signed release (`sign-release --out`).
        #[arg(long)]
        manifest: PathBuf,
        /// Each binary the release lists (repeatable).
        #[arg(long = "binary", required = true)]
        binaries: Vec<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Lists the published releases, newest (the one delivered) first.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Whether clients that cannot run a delivered signer from memory may
    /// run the one installed beside them: `refused` (default) or `allowed`.
    BundledSigner {
        /// `refused` or `allowed`.
        policy: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// The key tier's data directory and database.
#[derive(Args)]
struct StoreArgs {
    /// The key tier's data directory.
    #[arg(long, env = "SIGNET_DATA_DIR")]
    data_dir: PathBuf,
    /// Database URL (default: SQLite in the data directory).
    #[arg(long, env = "SIGNET_DATABASE_URL")]
    database: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// On a fresh install, makes a pending applicant the first help-desk
    /// account and writes their consent letter to a file (mode 0600).
    Bootstrap {
        /// The applicant (who applied in the Signet app).
        #[arg(long)]
        user_id: String,
        /// Where to write the consent letter (PDF).
        #[arg(long)]
        letter: PathBuf,
        /// The key tier's data directory.
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
    },
    /// Certifies a bank's host application: issues a host certificate for
    /// its PKCS#10 request (`signet-host keys`), publishes it with the
    /// host's address at `GET /v1/hosts`, and supersedes the host's earlier
    /// certificate.
    CertifyHost {
        /// The host's name, e.g. `order-desk`.
        #[arg(long)]
        name: String,
        /// Its HTTPS address, as clients reach it.
        #[arg(long)]
        url: String,
        /// The host's certification request (PEM or DER).
        #[arg(long)]
        csr: PathBuf,
        /// Where to write the certificate (PEM), for `signet-host certificate`.
        #[arg(long)]
        out: PathBuf,
        /// The key tier's data directory.
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
    },
    /// Revokes a host application's certificate (clients stop sending it orders).
    RevokeHost {
        /// The host's name.
        #[arg(long)]
        name: String,
        /// Why: `unspecified`, `keyCompromise`, `affiliationChanged`, `superseded` or `cessationOfOperation`.
        #[arg(long, default_value = "cessationOfOperation")]
        reason: String,
        /// The key tier's data directory.
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
    },
    /// Grants a role to a user: `user`, `helpdesk` or `auditor`.
    SetRole {
        /// The user.
        #[arg(long)]
        user_id: String,
        /// The role.
        #[arg(long)]
        role: String,
        /// The key tier's data directory.
        #[arg(long, env = "SIGNET_DATA_DIR")]
        data_dir: PathBuf,
        /// Database URL (default: SQLite in the data directory).
        #[arg(long, env = "SIGNET_DATABASE_URL")]
        database: Option<String>,
    },
}

/// The public listener's certificate.
#[derive(Args)]
struct TlsArgs {
    /// PEM certificate chain (end-entity first); default: a self-signed certificate made on first start.
    #[arg(long, env = "SIGNET_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (mode 0600).
    #[arg(long, env = "SIGNET_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Extra DNS name or address for the self-signed certificate (repeatable).
    #[arg(long = "tls-name")]
    tls_names: Vec<String>,
}

/// The web tier's rate limits.
#[derive(Args)]
struct LimitArgs {
    /// Requests per minute from one client address (IPv6: one /64), sustained.
    #[arg(long, env = "SIGNET_ADDRESS_RATE", default_value_t = 600)]
    address_rate: u32,
    /// Requests at once from one client address after an idle period.
    #[arg(long, env = "SIGNET_ADDRESS_BURST", default_value_t = 120)]
    address_burst: u32,
    /// Applications per minute from one client address (IPv6: one /64), sustained.
    #[arg(long, env = "SIGNET_APPLICATION_RATE", default_value_t = 1)]
    application_rate: u32,
    /// Applications at once from one client address after an idle period.
    #[arg(long, env = "SIGNET_APPLICATION_BURST", default_value_t = 10)]
    application_burst: u32,
    #[command(flatten)]
    applications: ApplicationsInAllArgs,
    /// Sealed-session openings per minute from one client address (IPv6: one /64), sustained; each costs
    /// the key tier an RSA decryption.
    #[arg(long, env = "SIGNET_OPENING_RATE", default_value_t = 120)]
    opening_rate: u32,
    /// Sealed-session openings at once from one client address after an idle period.
    #[arg(long, env = "SIGNET_OPENING_BURST", default_value_t = 300)]
    opening_burst: u32,
    /// Sealed-session openings of one client address forwarded at once; the others wait their turn (up to
    /// 5 s), so that a burst is decrypted one after another.
    #[arg(long, env = "SIGNET_OPENINGS_AT_ONCE", default_value_t = 1)]
    openings_at_once: u32,
    /// Seconds the key tier may take to answer before the client gets 503.
    #[arg(long, env = "SIGNET_FORWARD_TIMEOUT", default_value_t = 30)]
    forward_timeout: u64,
    /// Connections open at once from one client address (IPv6: one /64); never more than a quarter of
    /// what the open-file limit allows.
    #[arg(long, env = "SIGNET_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = connections::DEFAULT_MAX_PER_ADDRESS)]
    max_connections_per_address: usize,
    /// Seconds a request's body may take to arrive after its head (then 408, and the connection closes).
    #[arg(long, env = "SIGNET_REQUEST_BODY_TIMEOUT", default_value_t = 10)]
    request_body_timeout: u64,
}

/// Everyone's application rate, counted by the key tier on well-formed applications.
#[derive(Args)]
struct ApplicationsInAllArgs {
    /// Well-formed applications per minute from everyone together, sustained.
    #[arg(long, env = "SIGNET_APPLICATION_RATE_TOTAL", default_value_t = 60)]
    application_rate_total: u32,
    /// Well-formed applications at once from everyone together after an idle period.
    #[arg(long, env = "SIGNET_APPLICATION_BURST_TOTAL", default_value_t = 600)]
    application_burst_total: u32,
}

impl ApplicationsInAllArgs {
    fn rate(&self) -> Rate {
        Rate::new(self.application_rate_total, self.application_burst_total)
    }
}

/// The sealed channel's session table (the key tier's).
#[derive(Args)]
struct SessionArgs {
    /// Sealed sessions open at once; when full, the address holding the most loses its oldest.
    #[arg(long, env = "SIGNET_MAX_SESSIONS", default_value_t = ChannelLimits::default().max_sessions)]
    max_sessions: usize,
    /// Sealed sessions one client address (IPv6: one /64) holds at once; its next drops its oldest.
    #[arg(long, env = "SIGNET_MAX_SESSIONS_PER_ADDRESS", default_value_t = ChannelLimits::default().max_sessions_per_address)]
    max_sessions_per_address: usize,
}

impl SessionArgs {
    fn limits(&self) -> ChannelLimits {
        ChannelLimits {
            max_sessions: self.max_sessions,
            max_sessions_per_address: self.max_sessions_per_address,
            ..ChannelLimits::default()
        }
    }
}

/// How wrong guesses at pass phrases are slowed down (the key tier's).
#[derive(Args)]
struct GuessArgs {
    /// Failed sign-ins at one id from one address answered at once; each later one makes that address wait (1 s, doubling) until it is locked out of the id.
    #[arg(long, env = "SIGNET_FREE_SIGNIN_FAILURES", default_value_t = Policy::default().free_signin_failures)]
    free_sign_in_failures: i64,
    /// Wrong guesses from one client address (IPv6: one /64), at any ids, answered at once; then it waits likewise.
    #[arg(long, env = "SIGNET_FREE_GUESSES_PER_ADDRESS", default_value_t = Policy::default().free_guesses_per_address)]
    free_guesses_per_address: i64,
}

impl GuessArgs {
    /// The key tier's policy with these and the session table's `channel` limits.
    fn policy(&self, channel: ChannelLimits) -> Policy {
        Policy {
            channel,
            free_signin_failures: self.free_sign_in_failures,
            free_guesses_per_address: self.free_guesses_per_address,
            ..Policy::default()
        }
    }
}

/// What new sealed records and keys must meet (the key tier's policy, which
/// its bootstrap document signs for clients to follow).
#[derive(Args)]
struct RecordPolicyArgs {
    /// Argon2id memory in KiB that new sealed records are derived with, at least.
    #[arg(long, env = "SIGNET_KDF_MEMORY_KIB", default_value_t = KdfParams::DEFAULT.m_kib)]
    kdf_memory_kib: u32,
    /// Argon2id passes that new sealed records are derived with, at least.
    #[arg(long, env = "SIGNET_KDF_PASSES", default_value_t = KdfParams::DEFAULT.t)]
    kdf_passes: u32,
    /// Argon2id lanes clients derive new records with.
    #[arg(long, env = "SIGNET_KDF_LANES", default_value_t = KdfParams::DEFAULT.p)]
    kdf_lanes: u32,
    /// RSA modulus size of new keys, in bits, at least: 2048, 3072 or 4096.
    #[arg(long, env = "SIGNET_KEY_BITS", default_value_t = 3072)]
    key_bits: usize,
}

impl RecordPolicyArgs {
    /// `policy` with these requirements, if they are within what the
    /// signing core accepts, and the public address `public_url`.
    fn policy(&self, policy: Policy, public_url: Option<String>) -> Result<Policy, String> {
        if let Some(url) = &public_url {
            signet_keyserver::keys::ca::public_url_checked(url).map_err(|e| format!("--public-url: {e}"))?;
        }
        let kdf = KdfParams {
            m_kib: self.kdf_memory_kib,
            t: self.kdf_passes,
            p: self.kdf_lanes,
        };
        if !kdf.meets_floor() || !kdf.within_ceiling() {
            return Err(format!(
                "the KDF policy must lie between m={} KiB, t={}, p={} and m={} KiB, t={}, p={}",
                KdfParams::FLOOR.m_kib,
                KdfParams::FLOOR.t,
                KdfParams::FLOOR.p,
                KdfParams::CEILING.m_kib,
                KdfParams::CEILING.t,
                KdfParams::CEILING.p
            ));
        }
        let key_bits = [KeySize::Rsa2048, KeySize::Rsa3072, KeySize::Rsa4096]
            .into_iter()
            .find(|size| size.bits() == self.key_bits)
            .ok_or_else(|| format!("--key-bits must be 2048, 3072 or 4096, not {}", self.key_bits))?;
        Ok(Policy {
            kdf,
            key_bits,
            public_url,
            ..policy
        })
    }
}

/// The per-user limit, the key tier's: every request it applies to is
/// sealed, so the web tier cannot read whom it names.
#[derive(Args)]
struct UserLimitArgs {
    /// Pre-login, sign-in, consent, revoke and re-registration requests per minute for one user id, sustained.
    #[arg(long, env = "SIGNET_USER_RATE", default_value_t = 10)]
    user_rate: u32,
    /// Such requests at once for one user id after an idle period.
    #[arg(long, env = "SIGNET_USER_BURST", default_value_t = 20)]
    user_burst: u32,
}

impl UserLimitArgs {
    fn rate(&self) -> Rate {
        Rate::new(self.user_rate, self.user_burst)
    }
}

impl LimitArgs {
    /// The public listener's time-outs.
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            body: Duration::from_secs(self.request_body_timeout.max(1)),
            ..Timeouts::default()
        }
    }

    /// The public listener's connection caps, from the open-file limit (raised first).
    fn connection_gate(&self) -> ConnectionGate {
        let descriptors = connections::raise_descriptor_limit();
        let limits = ConnectionLimits::for_descriptors(descriptors, self.max_connections_per_address);
        tracing::info!(
            open_files = descriptors,
            connections = limits.total,
            per_address = limits.per_address,
            "connection caps"
        );
        ConnectionGate::new(limits)
    }

    fn config(&self) -> RateLimitConfig {
        RateLimitConfig {
            per_address: Rate::new(self.address_rate, self.address_burst),
            applications_per_address: Rate::new(self.application_rate, self.application_burst),
            applications: self.applications.rate(),
            openings_per_address: Rate::new(self.opening_rate, self.opening_burst),
            openings_at_once: self.openings_at_once,
            ..RateLimitConfig::default()
        }
    }
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

/// Announces a listener on standard output in one write: supervisors and
/// tests wait for the first line. Later failures to write (a reader that has
/// gone) are not the server's concern.
fn announce(lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| e.to_string())
}

fn identity(tls: &TlsArgs, state_dir: &Path, listen: &SocketAddr) -> Result<ServerIdentity, String> {
    match (&tls.tls_cert, &tls.tls_key) {
        (Some(cert), Some(key)) => ServerIdentity::from_pem_files(cert, key),
        _ => ServerIdentity::self_signed(state_dir, &tls::names_for(listen, &tls.tls_names)),
    }
    .map_err(|e| e.to_string())
}

/// Binds the public listener, announces it and serves the web tier until a signal.
async fn run_web(
    web: WebTier,
    listen: SocketAddr,
    identity: ServerIdentity,
    (gate, timeouts): (ConnectionGate, Timeouts),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    web.cool_floods_at(gate.clone());
    let web = Arc::new(web);
    let _housekeeping = web.spawn_housekeeping();
    tracing::info!(
        address = %bound,
        certificate = %identity.certificate_file.display(),
        sha256 = %identity.fingerprint_hex(),
        "web tier listening"
    );
    announce(&[
        format!("listening on https://{bound}"),
        format!("tls-sha256 {}", identity.fingerprint_hex()),
    ]);
    tls::serve_tls(
        listener,
        &identity,
        warp::service(web::routes(web.clone())),
        timeouts,
        gate,
        tls::shutdown_signal(),
    )
    .await;
    Ok(())
}

fn open_key_tier(data_dir: &Path, database: Option<&str>, policy: Policy) -> Result<Arc<KeyTier>, String> {
    KeyTier::open(data_dir, database, policy, system_clock())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

// The command line answers on stdout; logs go to stderr.
#[allow(clippy::print_stdout)]
fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            database,
            tls,
            limits,
            user_limits,
            sessions,
            guesses,
            records,
            public_url,
        } => {
            // By default the listener's own address, when it is one a client
            // can reach (not every interface, not a port chosen at start).
            let public_url = public_url
                .or_else(|| (listen.port() != 0 && !listen.ip().is_unspecified()).then(|| format!("https://{listen}")));
            if public_url.is_none() {
                tracing::warn!("no --public-url: users' certificates will not name the CRL or the CA certificate");
            }
            let policy = records.policy(guesses.policy(sessions.limits()), public_url)?;
            let tier = open_key_tier(&data_dir, database.as_deref(), policy)?;
            let rate_limits = RateLimits::new(RateLimitConfig {
                per_user: user_limits.rate(),
                ..limits.config()
            });
            tier.limit_sealed_users(rate_limits.clone());
            let identity = identity(&tls, &data_dir, &listen)?;
            let listening = (limits.connection_gate(), limits.timeouts());
            let secret = LinkSecret::generate().map_err(|e| e.to_string())?;
            runtime()?.block_on(async move {
                tracing::info!(data_dir = %data_dir.display(), "key tier in this process");
                let _housekeeping = tier.spawn_housekeeping();
                let key_tier = KeyTierService::new(Arc::new(secret.clone()), warp::service(routes::routes(tier)));
                let web = WebTier::in_process(
                    key_tier,
                    secret,
                    rate_limits,
                    Duration::from_secs(limits.forward_timeout),
                );
                run_web(web, listen, identity, listening).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Key {
            data_dir,
            internal,
            link_secret_file,
            database,
            user_limits,
            applications,
            sessions,
            guesses,
            records,
            public_url,
        } => {
            let secret = LinkSecret::load_or_create(&link_secret_file).map_err(|e| e.to_string())?;
            if public_url.is_none() {
                tracing::warn!("no --public-url: users' certificates will not name the CRL or the CA certificate");
            }
            let policy = records.policy(guesses.policy(sessions.limits()), public_url)?;
            let tier = open_key_tier(&data_dir, database.as_deref(), policy)?;
            // Only the per-user limit and everyone's applications are counted here: addresses are the web tier's.
            tier.limit_sealed_users(RateLimits::new(RateLimitConfig {
                per_user: user_limits.rate(),
                applications: applications.rate(),
                ..RateLimitConfig::default()
            }));
            runtime()?.block_on(async move {
                let _housekeeping = tier.spawn_housekeeping();
                let listener = LinkListener::bind(&internal).await.map_err(|e| e.to_string())?;
                let bound = listener.local_address().map_err(|e| e.to_string())?;
                tracing::info!(internal = %bound, data_dir = %data_dir.display(), "key tier listening");
                announce(&[format!("listening on {bound}")]);
                link::serve_link(
                    listener,
                    Arc::new(secret),
                    warp::service(routes::routes(tier)),
                    Timeouts::default(),
                    tls::shutdown_signal(),
                )
                .await;
                Ok::<_, String>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Web {
            listen,
            key_tier,
            link_secret_file,
            state_dir,
            tls,
            limits,
        } => {
            let secret = LinkSecret::load(&link_secret_file).map_err(|e| e.to_string())?;
            let state_dir = state_dir.unwrap_or_default();
            let identity = identity(&tls, &state_dir, &listen)?;
            let listening = (limits.connection_gate(), limits.timeouts());
            runtime()?.block_on(async move {
                let web = WebTier::new(
                    key_tier,
                    secret,
                    limits.config(),
                    Duration::from_secs(limits.forward_timeout),
                );
                run_web(web, listen, identity, listening).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command } => {
            let (data_dir, database) = match &command {
                AdminCommand::Bootstrap { data_dir, database, .. }
                | AdminCommand::CertifyHost { data_dir, database, .. }
                | AdminCommand::RevokeHost { data_dir, database, .. }
                | AdminCommand::SetRole { data_dir, database, .. } => (data_dir.clone(), database.clone()),
            };
            let tier = KeyTier::open(&data_dir, database.as_deref(), Policy::default(), system_clock())
                .map_err(|e| e.to_string())?;
            match command {
                AdminCommand::Bootstrap { user_id, letter, .. } => {
                    tier.bootstrap_helpdesk(&user_id, &letter).map_err(|f| f.body.message)?;
                    println!(
                        "{user_id} is the first help-desk account; their consent letter is in {}",
                        letter.display()
                    );
                }
                AdminCommand::CertifyHost {
                    name, url, csr, out, ..
                } => {
                    let request = std::fs::read(&csr).map_err(|e| format!("{}: {e}", csr.display()))?;
                    let der =
                        pem_or_der(&request, "CERTIFICATE REQUEST").map_err(|e| format!("{}: {e}", csr.display()))?;
                    let certificate = tier.certify_host(&name, &url, &der).map_err(|f| f.body.message)?;
                    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &certificate.der)
                        .map_err(|e| e.to_string())?;
                    std::fs::write(&out, pem).map_err(|e| format!("{}: {e}", out.display()))?;
                    println!(
                        "host {name} certified: serial {}, SHA-256 {}; certificate in {}",
                        certificate.serial,
                        certificate.sha256_fingerprint,
                        out.display()
                    );
                }
                AdminCommand::RevokeHost { name, reason, .. } => {
                    let reason =
                        signet_schema::api::RevocationReason::from_rfc5280_name(&reason).map_err(|e| e.to_string())?;
                    let serial = tier.revoke_host(&name, reason).map_err(|f| f.body.message)?;
                    println!("host {name}: certificate {serial} revoked ({})", reason.rfc5280_name());
                }
                AdminCommand::SetRole { user_id, role, .. } => {
                    let role: signet_keyserver::keys::db::models::UserRole =
                        role.parse().map_err(|e| format!("{e}"))?;
                    tier.set_role(&user_id, role).map_err(|f| f.body.message)?;
                    println!("{user_id} now has the role {role}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Applet { command } => applet(command),
        Command::Audit {
            command: AuditCommand::Verify { data_dir, database },
        } => {
            let tier = KeyTier::open(&data_dir, database.as_deref(), Policy::default(), system_clock())
                .map_err(|e| e.to_string())?;
            match tier.verify_audit_log().map_err(|e| e.to_string())? {
                Ok(count) => {
                    println!("audit log intact: {count} events verified");
                    if count > 0 && matches!(tier.audit_head(), Ok(None)) {
                        println!(
                            "note: no audit head is kept in {}: events cut off the end of the log cannot be found",
                            data_dir.display()
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    match broken.seq() {
                        Some(seq) => println!("audit log BROKEN at event {seq}: {broken}"),
                        None => println!("audit log BROKEN: {broken}"),
                    }
                    Ok(ExitCode::from(3))
                }
            }
        }
    }
}

/// The DER inside `bytes`: a PEM block labelled `label`, or DER as it is.
fn pem_or_der(bytes: &[u8], label: &str) -> Result<Vec<u8>, String> {
    if bytes.starts_with(b"-----BEGIN") {
        let (found, der) = der::pem::decode_vec(bytes).map_err(|e| format!("not PEM: {e}"))?;
        if found != label {
            return Err(format!("a PEM {found} block, not {label}"));
        }
        Ok(der)
    } else {
        Ok(bytes.to_vec())
    }
}

/// `signet-keyserver applet …`.
#[allow(clippy::print_stdout)]
fn applet(command: AppletCommand) -> Result<ExitCode, String> {
    use signet_keyserver::offline_release::{self as offline, ReleaseInfo};
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    match command {
        AppletCommand::ReleaseKey { out, public_out } => {
            let fingerprint = offline::new_release_key(&out, &public_out).map_err(|e| e.to_string())?;
            println!("release key written to {} (keep it offline)", out.display());
            println!("public half in {}: SHA-256 {fingerprint}", public_out.display());
        }
        AppletCommand::EndorseKey { key, new_public, out } => {
            let old = offline::read_release_key(&key).map_err(|e| e.to_string())?;
            let new = offline::read_public_key(&new_public).map_err(|e| e.to_string())?;
            let endorsement = offline::endorse_key(&old, &new).map_err(|e| e.to_string())?;
            let json = serde_json::to_vec_pretty(&endorsement).map_err(|e| e.to_string())?;
            std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("endorsement of {} written to {}", new_public.display(), out.display());
        }
        AppletCommand::SignRelease {
            key,
            binaries,
            version,
            label,
            protocol_version,
            endorsements,
            out,
        } => {
            let key = offline::read_release_key(&key).map_err(|e| e.to_string())?;
            let mut builds = Vec::new();
            for binary in &binaries {
                let (target, file) = match binary.split_once('=') {
                    Some((target, file)) => (target.to_owned(), PathBuf::from(file)),
                    None => (env!("SIGNET_TARGET").to_owned(), PathBuf::from(binary)),
                };
                builds.push((target, read(&file)?));
            }
            let endorsements = endorsements
                .iter()
                .map(|path| {
                    serde_json::from_slice(&read(path)?)
                        .map_err(|e| format!("{}: not an endorsement ({e})", path.display()))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let info = ReleaseInfo {
                version,
                label,
                protocol_version,
                published_at: system_clock()(),
            };
            let release = offline::sign_release(&key, &info, &builds, endorsements).map_err(|e| e.to_string())?;
            let json = serde_json::to_vec_pretty(&release).map_err(|e| e.to_string())?;
            std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("release {version} ({}) signed: {}", info.label, out.display());
        }
        AppletCommand::Publish {
            manifest,
            binaries,
            store,
        } => {
            let release = read(&manifest)?;
            let binaries = binaries.iter().map(|p| read(p)).collect::<Result<Vec<_>, String>>()?;
            let tier = open_key_tier(&store.data_dir, store.database.as_deref(), Policy::default())?;
            let published = tier.publish_signer(&release, &binaries).map_err(|f| f.body.message)?;
            println!(
                "published signer release {} ({}) for {}",
                published.version,
                published.label,
                published
                    .builds
                    .iter()
                    .map(|b| b.target.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        AppletCommand::List { store } => {
            let tier = open_key_tier(&store.data_dir, store.database.as_deref(), Policy::default())?;
            let releases = tier.signer_releases().map_err(|f| f.body.message)?;
            if releases.is_empty() {
                println!("no signer release is published");
            }
            for (i, release) in releases.iter().enumerate() {
                let mark = if i == 0 { " (delivered)" } else { "" };
                println!(
                    "release {} ({}, protocol {}){mark}",
                    release.version, release.label, release.protocol_version
                );
                for build in &release.builds {
                    println!("  {}  {} bytes  sha256 {}", build.target, build.size, build.sha256);
                }
            }
        }
        AppletCommand::BundledSigner { policy, store } => {
            let policy: signet_schema::release::BundledSigner = policy
                .parse()
                .map_err(|_| format!("`{policy}`: the policy is `refused` or `allowed`"))?;
            let tier = open_key_tier(&store.data_dir, store.database.as_deref(), Policy::default())?;
            tier.set_bundled_signer(policy).map_err(|f| f.body.message)?;
            println!(
                "installed signers are now {} where a delivered one cannot run",
                policy.as_str()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
