//! Connections a listener holds at once, and how long a request may take to
//! arrive.
//!
//! * **Caps counted at accept time**, before the TLS handshake or any byte is
//!   read: one on every open connection of the listener and one per client
//!   address (IPv4 whole, IPv6 by its /64, as the rate limits key them). A
//!   connection over either cap is closed at once, so one address that opens
//!   connections and never finishes them cannot take the descriptors that
//!   other clients need.
//! * **Caps derived from the descriptor limit**: [`raise_descriptor_limit`]
//!   raises the soft `RLIMIT_NOFILE` to the hard one at start, and
//!   [`ConnectionLimits::for_descriptors`] keeps a reserve for the database,
//!   the link to the key tier and files, and gives one address at most a
//!   quarter of the rest.
//! * **A deadline on each request's body** ([`DeadlineBody`]): the head must
//!   arrive within the header time-out (hyper's, which also closes idle
//!   keep-alive connections), and the whole body within the body deadline
//!   after it, lengthened by one second per [`MIN_BODY_RATE`] bytes it
//!   declares; a body still arriving then is answered 408 `request-timeout`
//!   and the connection closed.
//! * **Answers must be read** ([`WriteStallGuard`]): a connection whose
//!   writes stay blocked for [`WRITE_STALL`] without [`WRITE_PROGRESS`]
//!   bytes going out is closed, so a client that asks for a large answer and
//!   stops reading it does not keep the connection and the answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::rate_limit::address_key;

/// Descriptors kept out of the connection caps whatever the limit: the
/// listener, logs, the database's files and connections, the key tier's link.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Most connections one address gets by default however high the limit.
pub const DEFAULT_MAX_PER_ADDRESS: usize = 1024;

/// The slowest upload a body is given time for, in bytes a second, beyond
/// the body deadline: a 4 MiB order gets 64 s more.
pub const MIN_BODY_RATE: u64 = 64 * 1024;

/// Longest body deadline, however large the body or the setting.
pub const MAX_BODY_DEADLINE: Duration = Duration::from_secs(3600);

/// How long writes may stay blocked without progress before the connection is closed.
pub const WRITE_STALL: Duration = Duration::from_secs(30);

/// Bytes that must go out within [`WRITE_STALL`] of a blocked write.
pub const WRITE_PROGRESS: usize = 64 * 1024;

/// The body deadline for a body that declares `length` bytes: `base`, and
/// one second more per [`MIN_BODY_RATE`] bytes, at most [`MAX_BODY_DEADLINE`].
pub fn body_deadline(base: Duration, length: Option<u64>) -> Duration {
    let transfer = Duration::from_secs(length.unwrap_or(0) / MIN_BODY_RATE);
    base.saturating_add(transfer).min(MAX_BODY_DEADLINE)
}

/// Raises the soft limit on open files to the hard limit and answers the
/// limit now in force. Where it cannot be read (not Unix), a conservative
/// 1,024.
pub fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "the open-file limit could not be raised");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// The caps of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, from everyone.
    pub total: usize,
    /// Connections open at once from one address (IPv6: one /64).
    pub per_address: usize,
}

impl ConnectionLimits {
    /// The caps for a process allowed `descriptors` open files: an eighth of
    /// them and [`RESERVED_DESCRIPTORS`] more are kept for everything but
    /// connections; one address gets at most a quarter of the rest, and never
    /// more than `per_address` (the operator's setting).
    pub fn for_descriptors(descriptors: u64, per_address: usize) -> ConnectionLimits {
        let reserve = RESERVED_DESCRIPTORS + descriptors / 8;
        let total = usize::try_from(descriptors.saturating_sub(reserve))
            .unwrap_or(usize::MAX)
            .max(4);
        ConnectionLimits {
            total,
            per_address: per_address.clamp(1, (total / 4).max(1)),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    /// Addresses whose new connections are refused until then (see [`ConnectionGate::cool_down`]).
    cooling: HashMap<IpAddr, std::time::Instant>,
}

/// Addresses cooling down at once at most.
const MAX_COOLING: usize = 100_000;

/// Counts the open connections of one listener against its caps.
#[derive(Clone, Debug)]
pub struct ConnectionGate {
    limits: ConnectionLimits,
    counts: Arc<Mutex<Counts>>,
}

/// Which cap refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// The listener holds its total.
    Total,
    /// The address holds its share.
    Address,
    /// The address flooded the server with requests over its rate, and cools down.
    Cooling,
}

impl ConnectionGate {
    /// A gate with no connection open.
    pub fn new(limits: ConnectionLimits) -> ConnectionGate {
        ConnectionGate {
            limits,
            counts: Arc::default(),
        }
    }

    /// The caps it enforces.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Each update is a pair of counters changed together: a panic cannot leave them half done.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a connection from `peer` when both caps allow: the permit
    /// counts it until dropped.
    pub fn admit(&self, peer: IpAddr) -> Result<ConnectionPermit, Full> {
        let key = address_key(peer);
        let mut counts = self.counts();
        if let Some(until) = counts.cooling.get(&key).copied() {
            if until > std::time::Instant::now() {
                return Err(Full::Cooling);
            }
            counts.cooling.remove(&key);
        }
        if counts.total >= self.limits.total {
            return Err(Full::Total);
        }
        let held = counts.by_address.get(&key).copied().unwrap_or(0);
        if held >= self.limits.per_address {
            return Err(Full::Address);
        }
        counts.total += 1;
        counts.by_address.insert(key, held + 1);
        Ok(ConnectionPermit {
            gate: self.clone(),
            key,
        })
    }

    /// Refuses new connections from `peer`'s address (IPv6: its /64) at
    /// accept time, before any handshake, until `until`: for an address
    /// that goes on sending requests far over its rate (see the web tier's
    /// flood rule), refusing its connections costs the server next to
    /// nothing, where answering each request 429 costs a TLS record each way.
    pub fn cool_down(&self, peer: IpAddr, until: std::time::Instant) {
        let mut counts = self.counts();
        let now = std::time::Instant::now();
        if counts.cooling.len() >= MAX_COOLING {
            counts.cooling.retain(|_, t| *t > now);
        }
        if counts.cooling.len() < MAX_COOLING {
            counts.cooling.insert(address_key(peer), until);
        }
    }

    /// Connections open now: in all, and from `peer`'s address.
    pub fn open(&self, peer: IpAddr) -> (usize, usize) {
        let counts = self.counts();
        (
            counts.total,
            counts.by_address.get(&address_key(peer)).copied().unwrap_or(0),
        )
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionPermit {
    gate: ConnectionGate,
    key: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut counts = self.gate.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.by_address.get_mut(&self.key) {
            *held -= 1;
            if *held == 0 {
                counts.by_address.remove(&self.key);
            }
        }
    }
}

/// A request body that must have arrived whole by a deadline. Past it, the
/// body ends with an error, and [`DeadlineBody::expired`]'s flag tells the
/// connection to answer 408 and close.
#[derive(Debug)]
pub struct DeadlineBody<B> {
    inner: B,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

/// The error of a body past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within its deadline")]
pub struct BodyDeadlinePassed;

impl<B> DeadlineBody<B> {
    /// `inner`, to be read whole within `deadline` from now.
    pub fn new(inner: B, deadline: Duration) -> DeadlineBody<B> {
        let deadline = deadline.min(MAX_BODY_DEADLINE);
        DeadlineBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(deadline)),
            expired: Arc::default(),
        }
    }

    /// Set once the deadline passed while the body was being read.
    pub fn expired(&self) -> Arc<AtomicBool> {
        self.expired.clone()
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(Box::new(BodyDeadlinePassed))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's stream whose writes must make progress: once a write or
/// flush is blocked, [`WRITE_PROGRESS`] bytes must go out (or everything be
/// flushed) within [`WRITE_STALL`], or the stream fails with `TimedOut`.
#[derive(Debug)]
pub struct WriteStallGuard<I> {
    inner: I,
    stall: Duration,
    /// Armed while writes are blocked: when it fires, the stream fails.
    timer: Option<Pin<Box<Sleep>>>,
    /// Bytes written since the timer was armed.
    written: usize,
}

impl<I> WriteStallGuard<I> {
    /// `inner`, whose writes may stall for at most `stall`.
    pub fn new(inner: I, stall: Duration) -> WriteStallGuard<I> {
        WriteStallGuard {
            inner,
            stall,
            timer: None,
            written: 0,
        }
    }

    /// After a blocked write or flush: arms the timer, or fails if it fired.
    fn blocked(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let stall = self.stall;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading the answer",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed(&mut self, bytes: usize) {
        if self.timer.is_some() {
            self.written += bytes;
            if self.written >= WRITE_PROGRESS {
                self.timer = None;
                self.written = 0;
            }
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteStallGuard<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteStallGuard<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                self.progressed(n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.blocked(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(result) => {
                // Everything written has left: nothing is owed any more.
                self.timer = None;
                self.written = 0;
                Poll::Ready(result)
            }
            Poll::Pending => self.blocked(cx).map(Err),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.blocked(cx).map(Err),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn caps_follow_the_descriptor_limit() {
        // The attack's server: 256 descriptors.
        let small = ConnectionLimits::for_descriptors(256, DEFAULT_MAX_PER_ADDRESS);
        assert_eq!(small.total, 256 - 64 - 32);
        assert_eq!(small.per_address, small.total / 4);
        // A raised limit: the operator's share per address applies.
        let large = ConnectionLimits::for_descriptors(1 << 20, DEFAULT_MAX_PER_ADDRESS);
        assert_eq!(large.per_address, DEFAULT_MAX_PER_ADDRESS);
        assert!(large.total > 900_000);
        // Nonsense limits still leave a working server.
        let tiny = ConnectionLimits::for_descriptors(10, 0);
        assert_eq!((tiny.total, tiny.per_address), (4, 1));
    }

    #[test]
    fn a_cooling_address_is_refused_until_its_time() {
        let gate = ConnectionGate::new(ConnectionLimits::for_descriptors(1024, 64));
        let flooder = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let now = std::time::Instant::now();
        gate.cool_down(flooder, now + Duration::from_millis(200));
        assert_eq!(gate.admit(flooder).err(), Some(Full::Cooling));
        let _other = gate
            .admit(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)))
            .expect("another address");
        std::thread::sleep(Duration::from_millis(250));
        let _again = gate.admit(flooder).expect("cooled down");
    }

    #[test]
    fn one_address_cannot_take_every_place() {
        let gate = ConnectionGate::new(ConnectionLimits {
            total: 5,
            per_address: 2,
        });
        let attacker = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let held: Vec<_> = (0..2)
            .map(|_| gate.admit(attacker).expect("within its share"))
            .collect();
        assert_eq!(gate.admit(attacker).err(), Some(Full::Address));
        // Another address of the same /64 is the same subscriber.
        let v6 = |last: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, last));
        let _a = gate.admit(v6(1)).expect("first of the /64");
        let _b = gate.admit(v6(2)).expect("second of the /64");
        assert_eq!(gate.admit(v6(3)).err(), Some(Full::Address));
        // Someone else still gets in, until the total is reached.
        let other = gate
            .admit(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)))
            .expect("another client");
        assert_eq!(
            gate.admit(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))).err(),
            Some(Full::Total)
        );
        // Closed connections free their places.
        drop(held);
        drop(other);
        assert_eq!(gate.open(attacker), (2, 0));
        let _again = gate.admit(attacker).expect("free again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_still_arriving_at_its_deadline_fails() {
        use http_body_util::BodyExt;
        // A body whose sender sends one chunk and then stalls.
        let (mut sender, body) = http_body_util::channel::Channel::<Bytes, std::convert::Infallible>::new(4);
        sender.send_data(Bytes::from_static(b"{")).await.expect("sent");
        let body = DeadlineBody::new(body, Duration::from_secs(10));
        let expired = body.expired();
        let read = tokio::spawn(body.collect());
        tokio::time::sleep(Duration::from_secs(11)).await;
        let outcome = read.await.expect("joined");
        assert!(outcome.is_err());
        assert!(expired.load(Ordering::Acquire));
        drop(sender);
    }

    #[test]
    fn the_body_deadline_grows_with_the_declared_length_up_to_its_cap() {
        let base = Duration::from_secs(10);
        assert_eq!(body_deadline(base, None), base);
        assert_eq!(body_deadline(base, Some(60_000)), base);
        assert_eq!(body_deadline(base, Some(4 << 20)), Duration::from_secs(74));
        assert_eq!(body_deadline(base, Some(u64::MAX)), MAX_BODY_DEADLINE);
        assert_eq!(body_deadline(Duration::MAX, None), MAX_BODY_DEADLINE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_reading_loses_the_connection() {
        use tokio::io::AsyncWriteExt;
        // The client's end is never read: the server's writes block once the pipe is full.
        let (server_end, _client_end) = tokio::io::duplex(1024);
        let mut guarded = WriteStallGuard::new(server_end, Duration::from_secs(30));
        let answer = vec![7u8; 1 << 20];
        let written = tokio::time::timeout(Duration::from_secs(60), guarded.write_all(&answer)).await;
        let error = written.expect("gave up by itself").expect_err("the write failed");
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_reader_is_served() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (server_end, mut client_end) = tokio::io::duplex(1024);
        let mut guarded = WriteStallGuard::new(server_end, Duration::from_secs(30));
        let answer = vec![7u8; 256 * 1024];
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut chunk = [0u8; 8192];
            let mut reads = 0;
            while got.len() < 256 * 1024 {
                let n = client_end.read(&mut chunk).await.expect("read");
                got.extend_from_slice(&chunk[..n]);
                reads += 1;
                // About 8 KiB a second: 64 KiB every 8 s, well within the stall time.
                if reads % 8 == 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            got.len()
        });
        guarded.write_all(&answer).await.expect("written");
        guarded.flush().await.expect("flushed");
        assert_eq!(reader.await.expect("joined"), 256 * 1024);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_in_time_is_untouched() {
        use http_body_util::BodyExt;
        let body = DeadlineBody::new(
            http_body_util::Full::new(Bytes::from_static(b"{}")),
            Duration::from_secs(10),
        );
        let expired = body.expired();
        let bytes = body.collect().await.expect("whole").to_bytes();
        assert_eq!(&bytes[..], b"{}");
        assert!(!expired.load(Ordering::Acquire));
    }
}
