//! The audit log: every state change on the key tier writes an event in the
//! same transaction. Events form a hash chain and each is signed with the
//! key tier's integrity key, so an auditor can prove that none was removed,
//! inserted or edited.
//!
//! ```text
//! hash(e_n) = SHA-256("signet/v1/audit" ‖ hash(e_{n-1}) ‖ u64be(seq) ‖ i64be(at)
//!                     ‖ lp(actor) ‖ lp(kind) ‖ lp(subject or "") ‖ lp(detail))
//! hash(e_0's predecessor) = 32 zero bytes;  lp(x) = u32be(len(x)) ‖ x
//! signature(e_n) = RSASSA-PSS-SHA256(integrity key, hash(e_n))          RFC 8017 §8.1
//! ```

use sha2::{Digest, Sha256};
use signet_schema::SignatureScheme;
use signet_signer::keys::{PrivateKey, PublicKey};
use signet_signer::sign;

pub use crate::db::models::Event;

/// The predecessor hash of the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub kind: &'static str,
    /// Whom it concerns.
    pub subject: Option<String>,
    /// JSON detail.
    pub detail: serde_json::Value,
}

fn lp(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u32).to_be_bytes());
    h.update(bytes);
}

/// The chain hash of an event's content after `prev_hash`.
pub fn event_hash(
    prev_hash: &[u8],
    seq: i64,
    at: i64,
    actor: &str,
    kind: &str,
    subject: Option<&str>,
    detail: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"signet/v1/audit");
    h.update(prev_hash);
    h.update((seq as u64).to_be_bytes());
    h.update(at.to_be_bytes());
    lp(&mut h, actor.as_bytes());
    lp(&mut h, kind.as_bytes());
    lp(&mut h, subject.unwrap_or("").as_bytes());
    lp(&mut h, detail.as_bytes());
    h.finalize().into()
}

/// Builds the stored form of `event` as the successor of `previous`.
pub fn chain(
    previous: Option<&Event>,
    at: i64,
    event: NewEvent,
    integrity: &PrivateKey,
) -> Result<Event, signet_signer::Error> {
    let (seq, prev_hash) = match previous {
        Some(p) => (p.seq + 1, p.hash.clone()),
        None => (1, GENESIS.to_vec()),
    };
    let detail = event.detail.to_string();
    let hash = event_hash(
        &prev_hash,
        seq,
        at,
        &event.actor,
        event.kind,
        event.subject.as_deref(),
        &detail,
    );
    let signature = sign::sign(integrity, SignatureScheme::RsaPssSha256, &hash)?;
    Ok(Event {
        seq,
        at,
        actor: event.actor,
        kind: event.kind.to_owned(),
        subject: event.subject,
        detail,
        prev_hash,
        hash: hash.to_vec(),
        signature,
    })
}

/// Why the chain does not verify, at the first broken link.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    /// A sequence number is missing or repeated (an event was removed or inserted).
    #[error("event {seq}: expected sequence number {expected} (an event was removed or inserted)")]
    Gap {
        /// The sequence number found.
        seq: i64,
        /// The one expected.
        expected: i64,
    },
    /// The stored predecessor hash is not the previous event's hash.
    #[error("event {seq}: does not follow the previous event (the chain was cut or reordered)")]
    Unlinked {
        /// The event.
        seq: i64,
    },
    /// The content does not hash to the stored hash (an event was edited).
    #[error("event {seq}: its content was changed after it was written")]
    Edited {
        /// The event.
        seq: i64,
    },
    /// The signature does not verify with the integrity key.
    #[error("event {seq}: its signature does not verify with the integrity key")]
    BadSignature {
        /// The event.
        seq: i64,
    },
}

impl BrokenLink {
    /// The sequence number of the broken event.
    pub fn seq(&self) -> i64 {
        match self {
            BrokenLink::Gap { seq, .. }
            | BrokenLink::Unlinked { seq }
            | BrokenLink::Edited { seq }
            | BrokenLink::BadSignature { seq } => *seq,
        }
    }
}

/// Verifies events in order, starting after `previous` (or at the start of
/// the chain); returns the last event checked, or the first broken link.
pub struct ChainVerifier<'k> {
    key: &'k PublicKey,
    expected_seq: i64,
    prev_hash: Vec<u8>,
    /// Events verified so far.
    pub verified: u64,
}

impl<'k> ChainVerifier<'k> {
    /// A verifier for a chain from its first event.
    pub fn new(key: &'k PublicKey) -> Self {
        ChainVerifier {
            key,
            expected_seq: 1,
            prev_hash: GENESIS.to_vec(),
            verified: 0,
        }
    }

    /// Checks the next event.
    pub fn check(&mut self, e: &Event) -> Result<(), BrokenLink> {
        if e.seq != self.expected_seq {
            return Err(BrokenLink::Gap {
                seq: e.seq,
                expected: self.expected_seq,
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(BrokenLink::Unlinked { seq: e.seq });
        }
        let hash = event_hash(
            &e.prev_hash,
            e.seq,
            e.at,
            &e.actor,
            &e.kind,
            e.subject.as_deref(),
            &e.detail,
        );
        if hash.as_slice() != e.hash {
            return Err(BrokenLink::Edited { seq: e.seq });
        }
        sign::verify(self.key, SignatureScheme::RsaPssSha256, &hash, &e.signature)
            .map_err(|_| BrokenLink::BadSignature { seq: e.seq })?;
        self.expected_seq += 1;
        self.prev_hash = e.hash.clone();
        self.verified += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_schema::KeySize;
    use std::sync::OnceLock;

    fn key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| PrivateKey::generate(KeySize::Rsa2048).expect("keygen"))
    }

    fn chain_of(n: usize) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for i in 0..n {
            let e = NewEvent {
                actor: "alice".into(),
                kind: "user.signed_in",
                subject: Some("alice".into()),
                detail: serde_json::json!({ "n": i }),
            };
            events.push(chain(events.last(), 1_700_000_000 + i as i64, e, key()).expect("chain"));
        }
        events
    }

    fn verify_all(events: &[Event]) -> Result<u64, BrokenLink> {
        let public = key().public_key();
        let mut v = ChainVerifier::new(&public);
        for e in events {
            v.check(e)?;
        }
        Ok(v.verified)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_all(&chain_of(5)), Ok(5));
    }

    #[test]
    fn the_first_broken_link_is_named() {
        let events = chain_of(5);
        let mut removed = events.clone();
        removed.remove(2);
        assert_eq!(verify_all(&removed), Err(BrokenLink::Gap { seq: 4, expected: 3 }));

        let mut edited = events.clone();
        edited[3].detail = r#"{"n":99}"#.into();
        assert_eq!(verify_all(&edited), Err(BrokenLink::Edited { seq: 4 }));

        // Re-hashing an edit without the key leaves the signature behind.
        let mut rehashed = events.clone();
        rehashed[3].actor = "mallory".into();
        let e = &rehashed[3];
        rehashed[3].hash = event_hash(
            &e.prev_hash,
            e.seq,
            e.at,
            &e.actor,
            &e.kind,
            e.subject.as_deref(),
            &e.detail,
        )
        .to_vec();
        assert_eq!(verify_all(&rehashed), Err(BrokenLink::BadSignature { seq: 4 }));

        let mut relinked = events;
        relinked[1].prev_hash = vec![1; 32];
        assert_eq!(verify_all(&relinked), Err(BrokenLink::Unlinked { seq: 2 }));
    }
}
