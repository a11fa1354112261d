//! Rate limits of the web tier (generic cell rate algorithm, governor):
//!
//! * per client address — every request counts; IPv4 addresses are keyed
//!   whole, IPv6 addresses by their /64 prefix (one subscriber usually holds
//!   a whole /64, RFC 6177), IPv4-mapped IPv6 addresses as IPv4;
//! * per user and address — the sign-in and account routes (pre-login,
//!   sign-in, consent, revoke, re-register) count against the `user_id`
//!   named in the body and the address it comes from (IPv6: its /64), so
//!   that one address hammering one user is slowed down, and no one can
//!   spend another address's allowance for a user (the key tier's counts of
//!   wrong guesses per id slow down guessing from many addresses);
//! * applications — `POST /v1/apply` counts against a much smaller rate per
//!   address (here) and, once the key tier has found it well-formed, against
//!   one rate for everyone: each application puts a letter in the help
//!   desk's queue and holds a user id.
//!
//! * session openings — `POST /v1/channel/open` costs the key tier an RSA
//!   decryption: a rate per address, and one of an address's openings
//!   forwarded at a time (the others wait their turn, up to
//!   [`OPENING_WAIT`]), so that a burst is decrypted one after another
//!   rather than side by side with everyone else's.
//!
//! A refused request is answered 429 `rate-limited` with `Retry-After`
//! (RFC 9110 §10.2.3) in whole seconds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

/// Longest user id used as a rate-limit key; longer ones are cut (the key
/// tier refuses them anyway).
const MAX_USER_KEY_LEN: usize = 128;

/// A rate: a sustained number of requests per minute and a burst allowed
/// on top of an idle period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests per minute, sustained.
    pub per_minute: NonZeroU32,
    /// Requests allowed at once after an idle period.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_minute` sustained, `burst` at once; zeros are raised to one.
    pub fn new(per_minute: u32, burst: u32) -> Rate {
        Rate {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        }
    }

    fn quota(self) -> Quota {
        Quota::per_minute(self.per_minute).allow_burst(self.burst)
    }
}

/// The two rates of the web tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per client address (IPv6 per /64).
    pub per_address: Rate,
    /// Per user id, on the sign-in and account routes.
    pub per_user: Rate,
    /// Applications per client address (IPv6 per /64).
    pub applications_per_address: Rate,
    /// Applications from everyone together.
    pub applications: Rate,
    /// Sealed-session openings per client address (IPv6 per /64): each
    /// costs the key tier an RSA decryption, so an address may not make it
    /// spend more than a sliver of a core.
    pub openings_per_address: Rate,
    /// Session openings of one address forwarded at once (the others wait
    /// their turn): 1, so that a burst is decrypted one after another.
    pub openings_at_once: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_address: Rate::new(600, 120),
            per_user: Rate::new(10, 20),
            // An office applying for its staff: a few at once, then one a minute.
            applications_per_address: Rate::new(1, 10),
            applications: Rate::new(60, 600),
            // A client opens one session per sign-in and keeps it 30 minutes:
            // an office's morning fits in the burst (a one-off cost of about
            // 1.7 s of a core), and an address flooding openings makes the key
            // tier decrypt two a second (1 % of a core).
            openings_per_address: Rate::new(120, 300),
            openings_at_once: 1,
        }
    }
}

/// The web tier's limiters.
#[derive(Clone)]
pub struct RateLimits {
    per_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    per_user: Arc<DefaultKeyedRateLimiter<String>>,
    applications_per_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    applications: Arc<DefaultDirectRateLimiter>,
    openings_per_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    opening_turns: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
    openings_at_once: usize,
    clock: DefaultClock,
}

/// Longest an opening waits for its address's turn before it is refused.
pub const OPENING_WAIT: Duration = Duration::from_secs(5);

/// An opening's turn to be forwarded: its address's one, until dropped.
#[derive(Debug)]
pub struct OpeningTurn {
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    address: IpAddr,
    turns: Arc<Mutex<HashMap<IpAddr, Arc<Semaphore>>>>,
}

impl Drop for OpeningTurn {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut turns = self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forgotten once no opening holds or waits for the address's turn.
        if turns
            .get(&self.address)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            turns.remove(&self.address);
        }
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("addresses", &self.per_address.len())
            .field("users", &self.per_user.len())
            .finish()
    }
}

impl RateLimits {
    /// Limiters with `config`'s rates.
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimits {
            per_address: Arc::new(RateLimiter::keyed(config.per_address.quota())),
            per_user: Arc::new(RateLimiter::keyed(config.per_user.quota())),
            applications_per_address: Arc::new(RateLimiter::keyed(config.applications_per_address.quota())),
            applications: Arc::new(RateLimiter::direct(config.applications.quota())),
            openings_per_address: Arc::new(RateLimiter::keyed(config.openings_per_address.quota())),
            opening_turns: Arc::default(),
            openings_at_once: (config.openings_at_once.max(1) as usize).min(Semaphore::MAX_PERMITS),
            clock: DefaultClock::default(),
        }
    }

    /// Counts a request from `address`; `Err(wait)` when it must be refused.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Duration> {
        self.per_address
            .check_key(&address_key(address))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Counts a request naming `user_id` from `address` (when known);
    /// `Err(wait)` when it must be refused.
    pub fn check_user(&self, user_id: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let mut key: String = user_id.chars().take(MAX_USER_KEY_LEN).collect();
        if let Some(address) = address {
            key.push_str(&format!(" from {}", address_key(address)));
        }
        self.per_user
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Counts an application from `address` against its address's rate (the
    /// web tier's); `Err(wait)` when it must be refused.
    pub fn check_application(&self, address: IpAddr) -> Result<(), Duration> {
        self.applications_per_address
            .check_key(&address_key(address))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Counts a sealed-session opening from `address` against its address's
    /// rate, before the key tier spends a decryption on it; `Err(wait)` when
    /// it must be refused.
    pub fn check_opening(&self, address: IpAddr) -> Result<(), Duration> {
        self.openings_per_address
            .check_key(&address_key(address))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Waits for `address`'s turn to have a session opening forwarded
    /// ([`RateLimitConfig::openings_at_once`] at a time per address), at
    /// most [`OPENING_WAIT`]; `None` when it did not come.
    pub async fn opening_turn(&self, address: IpAddr) -> Option<OpeningTurn> {
        let address = address_key(address);
        let turn = {
            let mut turns = self
                .opening_turns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            turns
                .entry(address)
                .or_insert_with(|| Arc::new(Semaphore::new(self.openings_at_once)))
                .clone()
        };
        let permit = tokio::time::timeout(OPENING_WAIT, turn.acquire_owned())
            .await
            .ok()?
            .ok()?;
        Some(OpeningTurn {
            permit: Some(permit),
            address,
            turns: self.opening_turns.clone(),
        })
    }

    /// Counts a well-formed application against everyone's rate (the key
    /// tier's, once it has checked the record and the certification request,
    /// so that garbage cannot spend it); `Err(wait)` when it must be refused.
    pub fn check_applications_in_all(&self) -> Result<(), Duration> {
        self.applications
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose limits have fully recovered; run now and then so
    /// that the tables do not grow with every address ever seen.
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_user.retain_recent();
        self.per_user.shrink_to_fit();
        self.applications_per_address.retain_recent();
        self.applications_per_address.shrink_to_fit();
        self.openings_per_address.retain_recent();
        self.openings_per_address.shrink_to_fit();
    }
}

/// The key an address is counted under: IPv4 whole, IPv6 by /64.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Whole seconds for `Retry-After`, at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_keyed_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("v6");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("v6");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("v6");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("mapped");
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().expect("v4"));
    }

    #[test]
    fn burst_then_refused() {
        let limits = RateLimits::new(RateLimitConfig {
            per_address: Rate::new(1, 3),
            per_user: Rate::new(1, 2),
            ..RateLimitConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..3 {
            assert!(limits.check_address(ip).is_ok());
        }
        let wait = limits.check_address(ip).expect_err("limited");
        assert!(retry_after_seconds(wait) >= 1 && retry_after_seconds(wait) <= 60);
        assert!(limits.check_address("192.0.2.2".parse().expect("ip")).is_ok());
        let (here, there) = (Some(IpAddr::from([192, 0, 2, 1])), Some(IpAddr::from([192, 0, 2, 2])));
        assert!(limits.check_user("bob", here).is_ok());
        assert!(limits.check_user("bob", here).is_ok());
        assert!(limits.check_user("bob", here).is_err());
        assert!(
            limits.check_user("bob", there).is_ok(),
            "another address keeps its own allowance"
        );
        assert!(limits.check_user("carol", here).is_ok());
    }

    #[test]
    fn openings_are_limited_per_address() {
        let limits = RateLimits::new(RateLimitConfig {
            openings_per_address: Rate::new(1, 3),
            ..RateLimitConfig::default()
        });
        let one: IpAddr = "2001:db8::1".parse().expect("ip");
        let same_64: IpAddr = "2001:db8::2".parse().expect("ip");
        let other: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..3 {
            assert!(limits.check_opening(one).is_ok());
        }
        assert!(limits.check_opening(same_64).is_err(), "one /64 shares one allowance");
        assert!(limits.check_opening(other).is_ok());
        assert!(limits.check_address(one).is_ok(), "other requests keep their own rate");
    }

    #[tokio::test(start_paused = true)]
    async fn one_opening_per_address_is_forwarded_at_a_time() {
        let limits = RateLimits::new(RateLimitConfig::default());
        let one: IpAddr = "2001:db8::1".parse().expect("ip");
        let same_64: IpAddr = "2001:db8::2".parse().expect("ip");
        let other: IpAddr = "192.0.2.1".parse().expect("ip");
        let first = limits.opening_turn(one).await.expect("a turn");
        // Another address does not wait; the same /64 does, and gives up after OPENING_WAIT.
        let elsewhere = limits.opening_turn(other).await.expect("another address has its own");
        assert!(limits.opening_turn(same_64).await.is_none(), "one /64 shares its turn");
        // A waiting opening gets the turn when the one before is answered.
        let waiting = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.opening_turn(same_64).await.is_some() })
        };
        tokio::task::yield_now().await;
        drop(first);
        assert!(waiting.await.expect("task"), "the turn passes on");
        drop(elsewhere);
        assert!(
            limits.opening_turns.lock().expect("lock").is_empty(),
            "nothing kept for idle addresses"
        );
    }

    #[test]
    fn applications_are_limited_per_address_and_for_everyone() {
        let limits = RateLimits::new(RateLimitConfig {
            applications_per_address: Rate::new(1, 3),
            applications: Rate::new(1, 5),
            ..RateLimitConfig::default()
        });
        let one: IpAddr = "192.0.2.1".parse().expect("ip");
        let two: IpAddr = "198.51.100.1".parse().expect("ip");
        for _ in 0..3 {
            assert!(limits.check_application(one).is_ok());
        }
        assert!(limits.check_application(one).is_err());
        assert!(limits.check_application(two).is_ok());
        // Everyone's rate is counted apart, on well-formed applications.
        for _ in 0..5 {
            assert!(limits.check_applications_in_all().is_ok());
        }
        let wait = limits.check_applications_in_all().expect_err("everyone's rate");
        assert!(retry_after_seconds(wait) >= 1);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
    }
}
