//! The internal link between the web tier and the key tier: plain HTTP/1.1
//! over a Unix socket (`unix:/path`, mode 0600) or a TCP address on a
//! loopback or internal network.
//!
//! The web tier proves itself on every request with the link secret (32
//! random bytes shared through a file, hex, mode 0600) in the
//! [`LINK_HEADER`]; the key tier compares it in constant time and refuses
//! anything else with 403 `forbidden`. Only on an authenticated request does
//! the key tier believe the [`CLIENT_HEADER`] (the public client's address
//! as the web tier saw it); it becomes a [`ClientAddress`] extension.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use hyper_util::client::legacy::connect::{Connected, Connection};
use signet_schema::api::ApiErrorCode;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tower_service::Service;
use zeroize::Zeroizing;

use crate::error::Failure;
use crate::secret_file::SecretFileError;

/// The header that carries the link secret, in hex.
pub const LINK_HEADER: &str = "signet-link";
/// The header that carries the public client's IP address.
pub const CLIENT_HEADER: &str = "signet-client-address";
/// Length of the link secret in bytes.
pub const SECRET_LEN: usize = 32;

/// Why the link could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The secret file could not be read or written, or is too open.
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
    /// The secret file does not hold 64 hex digits.
    #[error("{path}: the link secret must be {} hex digits", SECRET_LEN * 2)]
    BadSecret {
        /// The file.
        path: String,
    },
    /// The operating system's random number generator failed.
    #[error("OS random number generator: {0}")]
    Random(String),
    /// An address is neither `unix:/path` nor `host:port`.
    #[error("{0:?} is neither unix:/path nor an IP address and port")]
    BadAddress(String),
    /// Binding or preparing the listener failed.
    #[error("{address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The secret the web tier shows the key tier. No `Debug` of the bytes.
#[derive(Clone)]
pub struct LinkSecret {
    bytes: Zeroizing<[u8; SECRET_LEN]>,
    header: HeaderValue,
}

impl std::fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSecret(..)")
    }
}

impl LinkSecret {
    /// A fresh secret from the OS random number generator.
    pub fn generate() -> Result<LinkSecret, LinkError> {
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        getrandom::fill(bytes.as_mut()).map_err(|e| LinkError::Random(e.to_string()))?;
        Ok(Self::from_bytes(bytes))
    }

    fn from_bytes(bytes: Zeroizing<[u8; SECRET_LEN]>) -> LinkSecret {
        let hex = Zeroizing::new(hex::encode(bytes.as_ref()));
        let mut header = HeaderValue::from_str(&hex).unwrap_or_else(|_| unreachable!("hex is a valid header value"));
        header.set_sensitive(true);
        LinkSecret { bytes, header }
    }

    /// Reads the secret from `path` (mode 0600 or stricter, 64 hex digits).
    pub fn load(path: &Path) -> Result<LinkSecret, LinkError> {
        let text = Zeroizing::new(crate::secret_file::read_secret(path)?);
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        let trimmed = text.trim_ascii();
        hex::decode_to_slice(trimmed, bytes.as_mut()).map_err(|_| LinkError::BadSecret {
            path: path.display().to_string(),
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// Reads the secret from `path`, writing a fresh one there (mode 0600)
    /// first when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<LinkSecret, LinkError> {
        if !path.exists() {
            let fresh = Self::generate()?;
            let mut text = Zeroizing::new(hex::encode(fresh.bytes.as_ref()).into_bytes());
            text.push(b'\n');
            crate::secret_file::write_secret(path, &text)?;
            tracing::info!(file = %path.display(), "made a new link secret");
        }
        Self::load(path)
    }

    /// The header value the web tier sends.
    pub fn header_value(&self) -> HeaderValue {
        self.header.clone()
    }

    /// Whether `presented` (the header's value) is this secret, compared in
    /// constant time.
    pub fn accepts(&self, presented: Option<&HeaderValue>) -> bool {
        let Some(presented) = presented else {
            return false;
        };
        let mut decoded = Zeroizing::new([0u8; SECRET_LEN]);
        if hex::decode_to_slice(presented.as_bytes(), decoded.as_mut()).is_err() {
            return false;
        }
        bool::from(decoded.as_ref().ct_eq(self.bytes.as_ref()))
    }
}

/// Where the key tier listens: `unix:/path` or an IP address and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkAddress {
    /// A Unix socket.
    Unix(PathBuf),
    /// A TCP address (loopback or internal network).
    Tcp(SocketAddr),
}

impl FromStr for LinkAddress {
    type Err = LinkError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(LinkError::BadAddress(text.to_owned()));
            }
            return Ok(LinkAddress::Unix(PathBuf::from(path)));
        }
        text.parse()
            .map(LinkAddress::Tcp)
            .map_err(|_| LinkError::BadAddress(text.to_owned()))
    }
}

impl std::fmt::Display for LinkAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkAddress::Unix(path) => write!(f, "unix:{}", path.display()),
            LinkAddress::Tcp(address) => write!(f, "http://{address}"),
        }
    }
}

/// A bound listener of the internal link.
#[derive(Debug)]
pub enum LinkListener {
    /// On a Unix socket (the path is removed again on drop).
    Unix(UnixListener, PathBuf),
    /// On TCP.
    Tcp(TcpListener),
}

impl LinkListener {
    /// Binds `address`. A Unix socket left by an earlier run is replaced
    /// (anything else at that path is refused), and the new one is made
    /// mode 0600, so that only this account can connect.
    pub async fn bind(address: &LinkAddress) -> Result<LinkListener, LinkError> {
        let bind_error = |source| LinkError::Bind {
            address: address.to_string(),
            source,
        };
        match address {
            LinkAddress::Unix(path) => {
                match std::fs::symlink_metadata(path) {
                    Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path).map_err(bind_error)?,
                    Ok(_) => {
                        return Err(bind_error(std::io::Error::new(
                            std::io::ErrorKind::AlreadyExists,
                            "a file that is not a socket is in the way",
                        )));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(bind_error(e)),
                }
                let listener = UnixListener::bind(path).map_err(bind_error)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_error)?;
                Ok(LinkListener::Unix(listener, path.clone()))
            }
            LinkAddress::Tcp(socket) => Ok(LinkListener::Tcp(TcpListener::bind(socket).await.map_err(bind_error)?)),
        }
    }

    /// The address actually bound (the port chosen for port 0).
    pub fn local_address(&self) -> Result<LinkAddress, LinkError> {
        match self {
            LinkListener::Unix(_, path) => Ok(LinkAddress::Unix(path.clone())),
            LinkListener::Tcp(listener) => {
                listener
                    .local_addr()
                    .map(LinkAddress::Tcp)
                    .map_err(|source| LinkError::Bind {
                        address: "tcp".into(),
                        source,
                    })
            }
        }
    }

    async fn accept(&self) -> std::io::Result<(LinkStream, Option<SocketAddr>)> {
        match self {
            LinkListener::Unix(listener, _) => listener.accept().await.map(|(s, _)| (LinkStream::Unix(s), None)),
            LinkListener::Tcp(listener) => listener.accept().await.map(|(s, a)| (LinkStream::Tcp(s), Some(a))),
        }
    }
}

impl Drop for LinkListener {
    fn drop(&mut self) {
        if let LinkListener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A connection of the internal link, either kind.
#[derive(Debug)]
pub enum LinkStream {
    /// Over a Unix socket.
    Unix(UnixStream),
    /// Over TCP.
    Tcp(TcpStream),
}

impl LinkStream {
    /// Connects to the key tier at `address`.
    pub async fn connect(address: &LinkAddress) -> std::io::Result<LinkStream> {
        match address {
            LinkAddress::Unix(path) => UnixStream::connect(path).await.map(LinkStream::Unix),
            LinkAddress::Tcp(socket) => {
                let stream = TcpStream::connect(socket).await?;
                stream.set_nodelay(true)?;
                Ok(LinkStream::Tcp(stream))
            }
        }
    }
}

impl AsyncRead for LinkStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            LinkStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            LinkStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for LinkStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            LinkStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            LinkStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            LinkStream::Unix(s) => Pin::new(s).poll_flush(cx),
            LinkStream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            LinkStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            LinkStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl Connection for LinkStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// The public client's address, as the authenticated web tier reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The key tier's side of the link: refuses every request without the link
/// secret (403 `forbidden`), takes the client address from an authenticated
/// request, strips both headers, and hands the request to `inner`.
#[derive(Clone)]
pub struct Guarded<S> {
    secret: Arc<LinkSecret>,
    inner: S,
}

impl<S> Guarded<S> {
    /// Guards `inner` with `secret`.
    pub fn new(secret: Arc<LinkSecret>, inner: S) -> Self {
        Guarded { secret, inner }
    }
}

type BoxedResponse = Pin<Box<dyn Future<Output = Result<warp::reply::Response, Infallible>> + Send>>;

impl<S, B> Service<http::Request<B>> for Guarded<S>
where
    B: Send + 'static,
    S: Service<http::Request<B>, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = warp::reply::Response;
    type Error = Infallible;
    type Future = BoxedResponse;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let headers = request.headers_mut();
        let authenticated = self.secret.accepts(headers.get(LINK_HEADER));
        headers.remove(LINK_HEADER);
        let client = headers
            .remove(CLIENT_HEADER)
            .and_then(|v| v.to_str().ok().and_then(|s| s.parse::<IpAddr>().ok()));
        if !authenticated {
            tracing::warn!(%method, %path, "refused a request without the link secret");
            let failure = Failure::new(
                ApiErrorCode::Forbidden,
                "this listener answers the web tier only; connect through the web tier",
            );
            return Box::pin(async move { Ok(crate::json::failure_reply(failure)) });
        }
        if let Some(client) = client {
            request.extensions_mut().insert(ClientAddress(client));
        }
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let response = inner.call(request).await?;
            tracing::info!(%method, %path, client = ?client, status = response.status().as_u16(), "request");
            Ok(response)
        })
    }
}

/// Serves the key tier's `routes` (a `warp::service`) on the internal link until `shutdown`
/// completes: plain HTTP/1.1, every request guarded by `secret`.
pub async fn serve_link<S>(
    listener: LinkListener,
    secret: Arc<LinkSecret>,
    routes: S,
    timeouts: crate::tls::Timeouts,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<crate::tls::TimedRequest, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let service = Guarded::new(secret, routes);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = service.clone();
        let watcher = graceful.watcher();
        tokio::spawn(crate::tls::serve_connection(stream, service, peer, timeouts, watcher));
    }
    drop(listener);
    crate::tls::finish_open_connections(graceful).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trips_and_compares() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("link.secret");
        let made = LinkSecret::load_or_create(&path).expect("create");
        let again = LinkSecret::load(&path).expect("load");
        assert!(again.accepts(Some(&made.header_value())));
        let other = LinkSecret::generate().expect("other");
        assert!(!made.accepts(Some(&other.header_value())));
        assert!(!made.accepts(None));
        assert!(!made.accepts(Some(&HeaderValue::from_static("zz"))));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(
            "unix:/run/signet/key.sock".parse::<LinkAddress>().expect("unix"),
            LinkAddress::Unix("/run/signet/key.sock".into())
        );
        assert_eq!(
            "127.0.0.1:9000".parse::<LinkAddress>().expect("tcp"),
            LinkAddress::Tcp("127.0.0.1:9000".parse().expect("addr"))
        );
        assert!("unix:".parse::<LinkAddress>().is_err());
        assert!("localhost".parse::<LinkAddress>().is_err());
    }
}
