//! The public listener: TLS 1.2 and 1.3 (RFC 5246, RFC 8446) with rustls
//! over the `ring` provider, and a hand-written accept loop that serves HTTP/1.1
//! (RFC 9112) with hyper on every accepted connection.
//!
//! * **Certificate** — a PEM chain and key given by the operator, or else a
//!   self-signed server certificate made on first start and kept in
//!   `STATE_DIR/tls/` (`cert.pem` 0644, `key.pem` 0600, both written
//!   atomically), reused on every later start. Its SHA-256 fingerprint (over
//!   the DER certificate) is logged and printed, so that a client can pin it.
//! * **Connections** — counted at accept time against the listener's
//!   [`ConnectionGate`] before the TLS handshake; the handshake must finish
//!   within [`Timeouts::handshake`], the request head within
//!   [`Timeouts::header_read`] (which also closes idle keep-alive
//!   connections) and the body within [`Timeouts::body`] after the head,
//!   more for a large one (else 408 `request-timeout`, and the connection
//!   closes); a client that stops reading an answer loses the connection
//!   (see [`WriteStallGuard`]); on shutdown the listener closes and open
//!   connections have 30 s to finish their current request.
//! * **Peer address** — every request carries the connection's remote address
//!   as a [`PeerAddress`] extension, for the web tier's rate limits.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use der::Decode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::connections::{ConnectionGate, DeadlineBody, WRITE_STALL, WriteStallGuard, body_deadline};

/// File name of the self-signed certificate inside `STATE_DIR/tls/`.
pub const CERTIFICATE_FILE: &str = "cert.pem";
/// File name of the self-signed certificate's key inside `STATE_DIR/tls/`.
pub const KEY_FILE: &str = "key.pem";
/// Lifetime of a self-signed certificate: 825 days, the longest that
/// clients which cap server-certificate lifetimes accept.
pub const SELF_SIGNED_VALIDITY_DAYS: i64 = 825;

/// Why the TLS listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A certificate or key file is unusable.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Making the self-signed certificate failed.
    #[error("making the self-signed certificate: {0}")]
    SelfSigned(String),
    /// rustls refused the certificate, the key or the protocol versions.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The key file could not be written safely.
    #[error(transparent)]
    SecretFile(#[from] crate::secret_file::SecretFileError),
}

/// The server's certificate as rustls serves it, with the SHA-256
/// fingerprint of its end-entity certificate.
#[derive(Clone)]
pub struct ServerIdentity {
    /// What the accept loop hands to rustls.
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 over the DER end-entity certificate (what `openssl x509
    /// -fingerprint -sha256` shows).
    pub fingerprint: [u8; 32],
    /// The PEM file of the certificate (chain) served.
    pub certificate_file: PathBuf,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("fingerprint", &self.fingerprint_hex())
            .field("certificate_file", &self.certificate_file)
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// Loads an operator's PEM certificate chain (end-entity first) and PEM
    /// private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<ServerIdentity, TlsError> {
        let chain = read_chain(certificate)?;
        let key_pem = Zeroizing::new(crate::secret_file::read_secret(key)?);
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::File {
            path: key.display().to_string(),
            problem: format!("not a PEM private key: {e}"),
        })?;
        Self::from_parts(chain, key_der, certificate)
    }

    /// The self-signed certificate kept in `state_dir/tls/`, made for
    /// `names` (DNS names or IP addresses) on first use.
    pub fn self_signed(state_dir: &Path, names: &[String]) -> Result<ServerIdentity, TlsError> {
        let dir = state_dir.join("tls");
        let certificate = dir.join(CERTIFICATE_FILE);
        let key = dir.join(KEY_FILE);
        if !certificate.exists() || !key.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| TlsError::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
            let (cert_pem, key_pem) = make_self_signed(names)?;
            // The key first: a crash in between leaves no certificate without its key.
            crate::secret_file::write_atomically(&key, key_pem.as_bytes(), 0o600)?;
            crate::secret_file::write_atomically(&certificate, cert_pem.as_bytes(), 0o644)?;
            tracing::info!(file = %certificate.display(), ?names, "made a self-signed TLS certificate");
        }
        Self::from_pem_files(&certificate, &key)
    }

    fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        certificate_file: &Path,
    ) -> Result<ServerIdentity, TlsError> {
        let fingerprint: [u8; 32] = Sha256::digest(chain[0].as_ref()).into();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerIdentity {
            config: Arc::new(config),
            fingerprint,
            certificate_file: certificate_file.to_path_buf(),
        })
    }

    /// The fingerprint as 64 lower-case hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let problem = |problem: String| TlsError::File {
        path: path.display().to_string(),
        problem,
    };
    let pem = std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(problem("no CERTIFICATE in the file".into()));
    }
    Certificate::from_der(chain[0].as_ref()).map_err(|e| problem(format!("not an X.509 certificate: {e}")))?;
    Ok(chain)
}

/// The names a self-signed certificate is made for when the listener binds
/// `listen`: its address, or every loopback name when it binds all
/// addresses, plus `extra` (DNS names or addresses).
pub fn names_for(listen: &SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = if listen.ip().is_unspecified() || listen.ip().is_loopback() {
        vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
    } else {
        vec![listen.ip().to_string()]
    };
    if !listen.ip().is_unspecified() && !names.contains(&listen.ip().to_string()) {
        names.push(listen.ip().to_string());
    }
    for name in extra {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// A fresh ECDSA P-256 key and a self-signed TLS server certificate for
/// `names`, both PEM (the key as PKCS#8, RFC 5208), made with `rcgen`:
/// basicConstraints cA FALSE, keyUsage digitalSignature, extKeyUsage
/// serverAuth (RFC 5280 §4.2.1.12), subjectAltName with every name (RFC 6125
/// §6.4: clients match the SAN, not the CN), a random 128-bit serial.
fn make_self_signed(names: &[String]) -> Result<(String, Zeroizing<String>), TlsError> {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
        SerialNumber,
    };
    let fail = |e: &dyn std::fmt::Display| TlsError::SelfSigned(e.to_string());
    let first = names
        .first()
        .ok_or_else(|| TlsError::SelfSigned("no name to make the certificate for".into()))?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| fail(&e))?;
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, first.as_str());
    subject.push(DnType::OrganizationName, "Signet key server");
    params.distinguished_name = subject;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + time::Duration::days(SELF_SIGNED_VALIDITY_DAYS);
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| fail(&e))?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let key = KeyPair::generate().map_err(|e| fail(&e))?;
    let certificate = params.self_signed(&key).map_err(|e| fail(&e))?;
    Ok((certificate.pem(), Zeroizing::new(key.serialize_pem())))
}

/// The remote address of the connection a request came on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddress(pub SocketAddr);

/// How long a connection may take for each stage.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// From accept to the end of the TLS handshake.
    pub handshake: Duration,
    /// From the connection's start (or the previous response) to the end of
    /// the request head: an idle keep-alive connection is closed after it.
    pub header_read: Duration,
    /// From the end of the request head to the end of its body, for a small
    /// body; a large one gets more (see [`body_deadline`]).
    pub body: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            body: Duration::from_secs(10),
        }
    }
}

/// The request type every listener hands its service: hyper's body, to be
/// read whole by [`Timeouts::body`].
pub type TimedRequest = http::Request<DeadlineBody<Incoming>>;

/// The 408 answer to a body that did not arrive in time; the connection closes after it.
fn request_timeout() -> warp::reply::Response {
    let mut response = crate::json::failure_reply(crate::error::Failure::new(
        signet_schema::api::ApiErrorCode::RequestTimeout,
        "the request did not arrive in time; send it again",
    ));
    response
        .headers_mut()
        .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}

/// Serves one accepted connection with HTTP/1.1: the request head must come
/// within `timeouts.header_read` and its body within `timeouts.body`; `peer`,
/// when known, goes into every request's extensions. The connection is
/// registered with `graceful` so that shutdown waits for its current request.
pub async fn serve_connection<I, S>(
    io: I,
    service: S,
    peer: Option<SocketAddr>,
    timeouts: Timeouts,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<TimedRequest, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let deadline = body_deadline(timeouts.body, declared);
        let mut request = request.map(|body| DeadlineBody::new(body, deadline));
        let expired = request.body().expired();
        if let Some(peer) = peer {
            request.extensions_mut().insert(PeerAddress(peer));
        }
        let mut service = service.clone();
        async move {
            let response = service.call(request).await;
            if expired.load(Ordering::Acquire) {
                tracing::debug!(?peer, "request body past its deadline");
                return Ok(request_timeout());
            }
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let connection = builder.serve_connection(TokioIo::new(WriteStallGuard::new(io, WRITE_STALL)), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Accepts TLS connections on `listener` until `shutdown` completes, then
/// stops accepting and waits for open connections to finish their request.
/// Each connection is admitted by `gate` as it is accepted, before its
/// handshake, and counted until it closes.
pub async fn serve_tls<S>(
    listener: tokio::net::TcpListener,
    identity: &ServerIdentity,
    service: S,
    timeouts: Timeouts,
    gate: ConnectionGate,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<TimedRequest, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.config.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused = Refusals::default();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match gate.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(full) => {
                // Closed unread: no handshake, no buffer, nothing to answer.
                refused.count(full, peer, &gate);
                drop(tcp);
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let service = service.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(timeouts.handshake, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            serve_connection(tls, service, Some(peer), timeouts, watcher).await;
        });
    }
    drop(listener);
    finish_open_connections(graceful).await;
}

/// How long shutdown waits for open connections to finish their request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Waits for open connections to finish their current request, at most [`SHUTDOWN_GRACE`].
pub(crate) async fn finish_open_connections(graceful: hyper_util::server::graceful::GracefulShutdown) {
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}: closing them");
    }
}

/// Connections refused at accept time, logged at most once a minute so that a
/// flood does not become a flood of log lines.
#[derive(Default)]
struct Refusals {
    since_logged: u64,
    logged_at: Option<std::time::Instant>,
}

impl Refusals {
    fn count(&mut self, full: crate::connections::Full, peer: SocketAddr, gate: &ConnectionGate) {
        self.since_logged += 1;
        if self.logged_at.is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
            return;
        }
        let (open, from_peer) = gate.open(peer.ip());
        let limits = gate.limits();
        tracing::warn!(
            %peer,
            cap = ?full,
            open,
            from_peer,
            total_cap = limits.total,
            per_address_cap = limits.per_address,
            refused = self.since_logged,
            "connections refused at accept: a cap is reached"
        );
        self.since_logged = 0;
        self.logged_at = Some(std::time::Instant::now());
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{DecodePem, Encode};
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectAltName};

    #[test]
    fn self_signed_is_made_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = names_for(&"127.0.0.1:0".parse().expect("addr"), &[]);
        let first = ServerIdentity::self_signed(dir.path(), &names).expect("make");
        let second = ServerIdentity::self_signed(dir.path(), &names).expect("reuse");
        assert_eq!(first.fingerprint, second.fingerprint);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("tls").join(KEY_FILE))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let pem = std::fs::read(&first.certificate_file).expect("cert");
        let cert = Certificate::from_pem(&pem).expect("parse");
        assert_eq!(
            Sha256::digest(cert.to_der().expect("der")).as_slice(),
            first.fingerprint.as_slice()
        );
        let tbs = cert.tbs_certificate();
        let san: SubjectAltName = tbs.get_extension().expect("decode").expect("SAN").1;
        assert!(
            san.0
                .iter()
                .any(|n| matches!(n, GeneralName::IpAddress(ip) if ip.as_bytes() == [127, 0, 0, 1])),
            "{san:?}"
        );
        assert!(
            san.0
                .iter()
                .any(|n| matches!(n, GeneralName::DnsName(d) if d.as_str() == "localhost"))
        );
        let eku: ExtendedKeyUsage = tbs.get_extension().expect("decode").expect("EKU").1;
        assert_eq!(eku.0, [const_oid::db::rfc5280::ID_KP_SERVER_AUTH]);
        let basic: BasicConstraints = tbs.get_extension().expect("decode").expect("basic constraints").1;
        assert!(!basic.ca);
    }
}
