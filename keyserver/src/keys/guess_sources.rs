//! Wrong guesses counted per client address (IPv6: per /64), whatever ids
//! they name: one address that sprays guesses over many accounts, each
//! staying under its own account's count, is slowed down as a whole. The
//! first failures (the policy's `free_guesses_per_address`, 20 by default)
//! are answered at once (an office behind one address has many people who
//! mistype); after that each one makes the address wait one second,
//! doubling, up to the policy's longest wait. An address that stays quiet
//! for [`FORGET_AFTER`] seconds starts again.
//!
//! Kept in memory: a restart forgets the counts, which the accounts' own
//! counters (in the database) do not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::rate_limit::address_key;

/// Seconds of quiet after which an address's count starts again.
pub const FORGET_AFTER: i64 = 3600;
/// Addresses tracked at once; when full, the quietest are forgotten first.
const MAX_SOURCES: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Source {
    failures: i64,
    last: i64,
    until: i64,
}

/// The per-address counts (see the module documentation).
#[derive(Debug, Default)]
pub struct GuessSources {
    table: Mutex<HashMap<IpAddr, Source>>,
}

impl GuessSources {
    /// `Err(seconds)` while `address` must wait before its next guess.
    pub fn check(&self, address: IpAddr, now: i64) -> Result<(), i64> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        match table.get(&address_key(address)) {
            Some(source) if source.until > now => Err(source.until - now),
            _ => Ok(()),
        }
    }

    /// Counts a refused guess from `address`; `wait` is the policy's
    /// schedule for the address's count ([`super::Policy::wait_after`]).
    pub fn failed(&self, address: IpAddr, now: i64, wait: impl Fn(i64) -> Option<i64>) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_SOURCES {
            forget_quietest(&mut table, now);
        }
        let source = table.entry(address_key(address)).or_insert(Source {
            failures: 0,
            last: now,
            until: now,
        });
        if now - source.last > FORGET_AFTER {
            source.failures = 0;
        }
        source.failures += 1;
        source.last = now;
        if let Some(wait) = wait(source.failures) {
            source.until = now + wait;
        }
    }

    /// Addresses tracked now.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops the addresses quiet for [`FORGET_AFTER`]; if none is, the half
/// heard from least recently (their waits are the shortest left).
fn forget_quietest(table: &mut HashMap<IpAddr, Source>, now: i64) {
    table.retain(|_, s| now - s.last <= FORGET_AFTER || s.until > now);
    if table.len() < MAX_SOURCES {
        return;
    }
    let mut lasts: Vec<i64> = table.values().map(|s| s.last).collect();
    let middle = lasts.len() / 2;
    let (_, cut, _) = lasts.select_nth_unstable(middle);
    let cut = *cut;
    table.retain(|_, s| s.last > cut);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Policy;

    const FREE_PER_SOURCE: i64 = 20;

    fn schedule(failures: i64) -> Option<i64> {
        Policy::default().wait_after(failures, FREE_PER_SOURCE)
    }

    #[test]
    fn an_address_waits_after_its_free_failures() {
        let sources = GuessSources::default();
        let a: IpAddr = "192.0.2.1".parse().expect("address");
        let b: IpAddr = "192.0.2.2".parse().expect("address");
        for _ in 0..FREE_PER_SOURCE {
            assert_eq!(sources.check(a, 100), Ok(()));
            sources.failed(a, 100, schedule);
        }
        assert_eq!(sources.check(a, 100), Ok(()));
        sources.failed(a, 100, schedule);
        assert_eq!(sources.check(a, 100), Err(1));
        assert_eq!(sources.check(b, 100), Ok(()), "another address is not slowed");
        sources.failed(a, 101, schedule);
        assert_eq!(sources.check(a, 101), Err(2));
        // After an hour of quiet the count starts again.
        sources.failed(a, 101 + FORGET_AFTER + 1, schedule);
        assert_eq!(sources.check(a, 101 + FORGET_AFTER + 1), Ok(()));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let sources = GuessSources::default();
        for i in 0..=FREE_PER_SOURCE {
            let address: IpAddr = format!("2001:db8::{i:x}").parse().expect("address");
            sources.failed(address, 100, schedule);
        }
        let neighbour: IpAddr = "2001:db8::ffff".parse().expect("address");
        assert_eq!(sources.check(neighbour, 100), Err(1));
        assert_eq!(sources.len(), 1);
    }

    #[test]
    fn a_full_table_forgets_the_quietest() {
        let mut table = HashMap::new();
        for i in 0..MAX_SOURCES as u32 {
            table.insert(
                IpAddr::from(i.to_be_bytes()),
                Source {
                    failures: 1,
                    last: i64::from(i % 3000),
                    until: 0,
                },
            );
        }
        // All heard from within the hour: the half heard from least recently goes.
        forget_quietest(&mut table, 3000);
        assert!(table.len() <= MAX_SOURCES / 2, "{}", table.len());
        assert!(table.values().all(|s| s.last >= 1400), "the most recent are kept");
    }
}
