//! Wrong guesses counted by where they come from, in memory, beside the
//! counts per id that the database keeps:
//!
//! * **per address** (IPv6: per /64), whatever ids its guesses name: one
//!   address spraying guesses over many accounts, each under its own
//!   account's count, is slowed down as a whole. Its first failures (the
//!   policy's `free_guesses_per_address`) are answered at once (an office
//!   behind one address has many people who mistype); after that each one
//!   makes it wait one second, doubling, up to the policy's longest wait.
//! * **per account and address**: sign-in's waits and its lock are counted
//!   for each address apart, so a guesser locks out itself, not the owner
//!   signing in from elsewhere. Each attempt is charged before it is tried
//!   (and the charge taken back when it succeeds), so parallel guesses
//!   cannot outrun the lock.
//! * **recognised addresses**: an address an account signed in from in the
//!   last 30 days passes the account's own waits (which many addresses
//!   guessing together can raise) and its address's wait (which someone
//!   else behind the same address can raise), though not its own count for
//!   the account. A new pass phrase or key, a revocation or a reset forgets
//!   them.
//!
//! A count whose wait is over and that has been quiet for [`FORGET_AFTER`]
//! seconds more starts again. The tables are bounded; when one is full, the
//! counts longest quiet and not waiting go first. A restart forgets all of
//! this, not the database's counts.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::rate_limit::address_key;

/// Seconds of quiet after a wait is over before a count starts again.
pub const FORGET_AFTER: i64 = 3600;
/// Seconds an address stays recognised for an account after a sign-in from it.
pub const RECOGNISED_FOR: i64 = 30 * 86_400;
/// Entries per table of counts at most.
const MAX_ENTRIES: usize = 100_000;
/// Recognised account-address pairs at most.
const MAX_RECOGNISED: usize = 1_000_000;

/// One count: failures so far, the last one's time, and the end of the
/// current wait (or lock).
#[derive(Clone, Copy, Debug, Default)]
struct Count {
    failures: i64,
    last: i64,
    until: i64,
}

impl Count {
    /// Whether the count can be dropped at `now`: its wait over and quiet since long enough.
    fn stale(&self, now: i64) -> bool {
        now - self.last.max(self.until) > FORGET_AFTER
    }
}

/// A refusal before a guess is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Seconds left.
    pub seconds: i64,
    /// Whether it is a lock (the count's last step) rather than a wait.
    pub lock: bool,
}

/// What a new failure makes a count wait: `None`, a wait, or a lock (which starts the count again).
pub type Schedule<'a> = &'a dyn Fn(i64) -> Option<Wait>;

/// A bounded table of counts.
#[derive(Debug)]
struct Counts<K> {
    table: Mutex<HashMap<K, Count>>,
}

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts {
            table: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> Counts<K> {
    fn check(&self, key: &K, now: i64) -> Result<(), i64> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        match table.get(key) {
            Some(count) if count.until > now => Err(count.until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure for `key`; answers the wait it starts, if any.
    fn fail(&self, key: K, now: i64, schedule: Schedule<'_>) -> Option<Wait> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_ENTRIES && !table.contains_key(&key) {
            make_room(&mut table, now);
        }
        let count = table.entry(key).or_default();
        if count.stale(now) {
            *count = Count::default();
        }
        count.failures += 1;
        count.last = now;
        let wait = schedule(count.failures);
        if let Some(wait) = wait {
            count.until = now + wait.seconds;
            if wait.lock {
                count.failures = 0;
            }
        }
        wait
    }

    fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Drops stale counts; if that is not enough, the half quiet longest among
/// those not waiting. A count still waiting is never dropped: flooding the
/// table cannot lift a wait.
fn make_room<K: Eq + Hash + Clone>(table: &mut HashMap<K, Count>, now: i64) {
    table.retain(|_, count| !count.stale(now));
    if table.len() < MAX_ENTRIES {
        return;
    }
    let mut quiet: Vec<(i64, K)> = table
        .iter()
        .filter(|(_, count)| count.until <= now)
        .map(|(key, count)| (count.last, key.clone()))
        .collect();
    quiet.sort_unstable_by_key(|(last, _)| *last);
    for (_, key) in quiet.into_iter().take(MAX_ENTRIES / 2) {
        table.remove(&key);
    }
}

/// Shards of the per-account-and-address tables: sign-ins from many
/// addresses do not queue on one lock.
const SHARDS: usize = 32;

/// One shard of a per-account-and-address table: by address, then by user
/// id (looked up by `&str`, so that a sign-in allocates nothing unless its
/// pair is new).
type PairShard<V> = Mutex<HashMap<IpAddr, HashMap<Box<str>, V>>>;

fn shard<V>(
    shards: &[PairShard<V>],
    address: IpAddr,
) -> std::sync::MutexGuard<'_, HashMap<IpAddr, HashMap<Box<str>, V>>> {
    let index = match address {
        IpAddr::V4(v4) => u32::from(v4) as usize,
        IpAddr::V6(v6) => (u128::from(v6) >> 64) as usize,
    } % SHARDS;
    shards[index].lock().unwrap_or_else(|e| e.into_inner())
}

/// The counts by origin (see the module documentation).
#[derive(Debug)]
pub struct GuessSources {
    addresses: Counts<IpAddr>,
    pairs: Vec<PairShard<Count>>,
    recognised: Vec<PairShard<i64>>,
}

impl Default for GuessSources {
    fn default() -> Self {
        GuessSources {
            addresses: Counts::default(),
            pairs: (0..SHARDS).map(|_| Mutex::default()).collect(),
            recognised: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

impl GuessSources {
    /// `Err(seconds)` while `address` must wait before its next guess.
    pub fn check_address(&self, address: IpAddr, now: i64) -> Result<(), i64> {
        self.addresses.check(&address_key(address), now)
    }

    /// Counts a refused guess from `address`.
    pub fn address_failed(&self, address: IpAddr, now: i64, schedule: Schedule<'_>) {
        self.addresses.fail(address_key(address), now, schedule);
    }

    /// Charges an attempt at `user_id` from `address` before it is tried:
    /// refused while that pair waits or is locked; otherwise counted, and
    /// the wait or lock it starts (if any) applies to the attempts after it.
    pub fn charge(&self, user_id: &str, address: IpAddr, now: i64, schedule: Schedule<'_>) -> Result<(), Wait> {
        let key = address_key(address);
        let mut table = shard(&self.pairs, key);
        let entries: usize = table.values().map(HashMap::len).sum();
        if entries >= MAX_ENTRIES / SHARDS && !table.get(&key).is_some_and(|users| users.contains_key(user_id)) {
            for users in table.values_mut() {
                users.retain(|_, count| !count.stale(now) || count.until > now);
            }
            table.retain(|_, users| !users.is_empty());
        }
        let users = table.entry(key).or_default();
        let count = match users.get_mut(user_id) {
            Some(count) => count,
            None => users.entry(user_id.into()).or_default(),
        };
        if count.until > now {
            return Err(Wait {
                seconds: count.until - now,
                lock: count.failures == 0,
            });
        }
        if count.stale(now) {
            *count = Count::default();
        }
        count.failures += 1;
        count.last = now;
        if let Some(wait) = schedule(count.failures) {
            count.until = now + wait.seconds;
            if wait.lock {
                count.failures = 0;
            }
        }
        Ok(())
    }

    /// An attempt charged for `user_id` from `address` that was never judged
    /// (the database was unreachable, say): the charge is taken back, and
    /// with it a wait that the count no longer calls for.
    pub fn refund(&self, user_id: &str, address: IpAddr, now: i64, schedule: Schedule<'_>) {
        let key = address_key(address);
        let mut table = shard(&self.pairs, key);
        if let Some(count) = table.get_mut(&key).and_then(|users| users.get_mut(user_id))
            && count.failures > 0
        {
            count.failures -= 1;
            if schedule(count.failures).is_none() {
                count.until = count.until.min(now);
            }
        }
    }

    /// A right guess at `user_id` from `address`: the pair's count starts
    /// again, and the address is recognised for the account.
    pub fn succeeded(&self, user_id: &str, address: IpAddr, now: i64) {
        let key = address_key(address);
        {
            let mut table = shard(&self.pairs, key);
            if let Some(count) = table.get_mut(&key).and_then(|users| users.get_mut(user_id)) {
                *count = Count {
                    last: now,
                    ..Count::default()
                };
            }
        }
        let mut recognised = shard(&self.recognised, key);
        let users = recognised.entry(key).or_default();
        match users.get_mut(user_id) {
            // Refreshed at most once a day: a sign-in usually writes nothing here.
            Some(at) if now - *at < 86_400 => {}
            Some(at) => *at = now,
            None => {
                let entries: usize = recognised.values().map(HashMap::len).sum();
                if entries >= MAX_RECOGNISED / SHARDS {
                    for users in recognised.values_mut() {
                        users.retain(|_, at| now - *at <= RECOGNISED_FOR);
                    }
                    recognised.retain(|_, users| !users.is_empty());
                }
                // Full of recent sign-ins, the table takes no more rather than
                // drop owners' addresses: no one flushes it by signing in from many.
                let entries: usize = recognised.values().map(HashMap::len).sum();
                if entries < MAX_RECOGNISED / SHARDS {
                    recognised.entry(key).or_default().insert(user_id.into(), now);
                }
            }
        }
    }

    /// Whether `user_id` signed in from `address` in the last [`RECOGNISED_FOR`] seconds.
    pub fn recognised(&self, user_id: &str, address: IpAddr, now: i64) -> bool {
        let key = address_key(address);
        let recognised = shard(&self.recognised, key);
        recognised
            .get(&key)
            .and_then(|users| users.get(user_id))
            .is_some_and(|at| now - at <= RECOGNISED_FOR)
    }

    /// The help desk unlocked `user_id`: every address's count for it goes.
    pub fn unlock(&self, user_id: &str) {
        for shard in &self.pairs {
            let mut table = shard.lock().unwrap_or_else(|e| e.into_inner());
            for users in table.values_mut() {
                users.remove(user_id);
            }
        }
    }

    /// `user_id`'s pass phrase or key changed, or it was revoked or reset:
    /// its counts go, and no address stays recognised for it.
    pub fn forget_user(&self, user_id: &str) {
        self.unlock(user_id);
        for shard in &self.recognised {
            let mut table = shard.lock().unwrap_or_else(|e| e.into_inner());
            for users in table.values_mut() {
                users.remove(user_id);
            }
        }
    }

    /// Addresses and account-address pairs counted now.
    pub fn len(&self) -> (usize, usize) {
        let pairs = self
            .pairs
            .iter()
            .map(|shard| {
                let table = shard.lock().unwrap_or_else(|e| e.into_inner());
                table.values().map(HashMap::len).sum::<usize>()
            })
            .sum();
        (self.addresses.len(), pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Policy;

    fn waits(failures: i64) -> Option<Wait> {
        Policy::default()
            .wait_after(failures, 20)
            .map(|seconds| Wait { seconds, lock: false })
    }

    fn locks_at_10(failures: i64) -> Option<Wait> {
        if failures >= 10 {
            return Some(Wait {
                seconds: 1800,
                lock: true,
            });
        }
        Policy::default()
            .wait_after(failures, 3)
            .map(|seconds| Wait { seconds, lock: false })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn an_address_waits_after_its_free_failures() {
        let sources = GuessSources::default();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for _ in 0..20 {
            assert_eq!(sources.check_address(a, 100), Ok(()));
            sources.address_failed(a, 100, &waits);
        }
        assert_eq!(sources.check_address(a, 100), Ok(()));
        sources.address_failed(a, 100, &waits);
        assert_eq!(sources.check_address(a, 100), Err(1));
        assert_eq!(sources.check_address(b, 100), Ok(()), "another address is not slowed");
        sources.address_failed(a, 101, &waits);
        assert_eq!(sources.check_address(a, 101), Err(2));
        // Quiet for long enough after the wait: the count starts again.
        let later = 103 + FORGET_AFTER + 1;
        sources.address_failed(a, later, &waits);
        assert_eq!(sources.check_address(a, later), Ok(()));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let sources = GuessSources::default();
        for i in 0..=20 {
            sources.address_failed(ip(&format!("2001:db8::{i:x}")), 100, &waits);
        }
        assert_eq!(sources.check_address(ip("2001:db8::ffff"), 100), Err(1));
        assert_eq!(sources.len().0, 1);
    }

    #[test]
    fn a_pair_is_charged_before_it_is_tried_and_locks_only_itself() {
        let sources = GuessSources::default();
        let (guesser, owner) = (ip("192.0.2.66"), ip("192.0.2.1"));
        // Ten charges at once: the tenth locks; the eleventh is refused untried.
        let mut allowed = 0;
        for _ in 0..3 {
            assert!(sources.charge("alice", guesser, 100, &locks_at_10).is_ok());
            allowed += 1;
        }
        // The fourth starts a wait of 1 s for the attempts after it.
        assert!(sources.charge("alice", guesser, 100, &locks_at_10).is_ok());
        allowed += 1;
        assert_eq!(
            sources.charge("alice", guesser, 100, &locks_at_10),
            Err(Wait {
                seconds: 1,
                lock: false
            })
        );
        let mut now = 101;
        while allowed < 10 {
            match sources.charge("alice", guesser, now, &locks_at_10) {
                Ok(()) => allowed += 1,
                Err(wait) => now += wait.seconds,
            }
        }
        let refused = sources.charge("alice", guesser, now, &locks_at_10).expect_err("locked");
        assert!(refused.lock && refused.seconds == 1800, "{refused:?}");
        // The owner, from elsewhere, is not held up; nor is another account from the guesser.
        assert!(sources.charge("alice", owner, now, &locks_at_10).is_ok());
        sources.succeeded("alice", owner, now);
        assert!(sources.recognised("alice", owner, now));
        assert!(!sources.recognised("alice", guesser, now));
        assert!(sources.charge("bob", guesser, now, &locks_at_10).is_ok());
        // The help desk's unlock lifts it.
        sources.unlock("alice");
        assert!(sources.charge("alice", guesser, now, &locks_at_10).is_ok());
    }

    #[test]
    fn a_full_table_keeps_what_waits() {
        let mut table = HashMap::new();
        for i in 0..MAX_ENTRIES as u32 {
            let waiting = i % 10 == 0;
            table.insert(
                i,
                Count {
                    failures: 1,
                    last: i64::from(i % 3000),
                    until: if waiting { 10_000 } else { 0 },
                },
            );
        }
        make_room(&mut table, 3000);
        assert!(table.len() <= MAX_ENTRIES - MAX_ENTRIES / 2 + 1, "{}", table.len());
        assert_eq!(
            table.values().filter(|c| c.until > 3000).count(),
            MAX_ENTRIES / 10,
            "waits are kept"
        );
    }
}
