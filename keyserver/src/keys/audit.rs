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
use signet_crypto::keys::{PublicKey, ServerKey};
use signet_crypto::sign;
use signet_schema::SignatureScheme;
use signet_schema::vocabulary::AuditEventKind;

pub use crate::keys::db::models::Event;

/// The predecessor hash of the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub kind: AuditEventKind,
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
    integrity: &ServerKey,
) -> Result<Event, signet_crypto::Error> {
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
        event.kind.as_str(),
        event.subject.as_deref(),
        &detail,
    );
    let signature = sign::sign(integrity, SignatureScheme::RsaPssSha256, &hash)?;
    Ok(Event {
        seq,
        at,
        actor: event.actor,
        kind: event.kind.as_str().to_owned(),
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
    /// The head kept outside the database cannot be read or is not signed by the integrity key.
    #[error("the head kept outside the database cannot be trusted: {reason}")]
    BadHead {
        /// What is wrong with it.
        reason: String,
    },
    /// The chain ends before the head kept outside the database.
    #[error(
        "event {seq}: missing, but the head kept outside the database names event {head} (events were cut off the end)"
    )]
    Truncated {
        /// The first missing event.
        seq: i64,
        /// The head's event.
        head: i64,
    },
    /// The event the head names is not the one in the chain.
    #[error("event {seq}: not the event the head kept outside the database names (the log was rewritten)")]
    Rewritten {
        /// The event.
        seq: i64,
    },
}

impl BrokenLink {
    /// The sequence number of the broken event; none when the head file
    /// itself cannot be trusted.
    pub fn seq(&self) -> Option<i64> {
        match self {
            BrokenLink::Gap { seq, .. }
            | BrokenLink::Unlinked { seq }
            | BrokenLink::Edited { seq }
            | BrokenLink::BadSignature { seq }
            | BrokenLink::Truncated { seq, .. }
            | BrokenLink::Rewritten { seq } => Some(*seq),
            BrokenLink::BadHead { .. } => None,
        }
    }
}

/// The newest event the key tier has seen committed, kept outside the
/// database (a file beside the keys, and the log): a chain cut off at its
/// end, or rewritten from some event on, no longer reaches it.
///
/// The head carries the event's own signature, so it cannot be forged
/// without the integrity key; it lags the chain by at most the interval it
/// is written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The event's sequence number.
    pub seq: i64,
    /// Its chain hash.
    pub hash: Vec<u8>,
    /// Its signature by the integrity key.
    pub signature: Vec<u8>,
}

/// Why a head file cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("the audit head file is not valid: {0}")]
pub struct BadHead(pub String);

impl Head {
    const MAGIC: &'static str = "signet-audit-head v1";

    /// The head at `event`.
    pub fn of(event: &Event) -> Head {
        Head {
            seq: event.seq,
            hash: event.hash.clone(),
            signature: event.signature.clone(),
        }
    }

    /// The file form: four lines of text.
    pub fn to_text(&self) -> String {
        format!(
            "{}\nseq {}\nhash {}\nsignature {}\n",
            Head::MAGIC,
            self.seq,
            hex::encode(&self.hash),
            hex::encode(&self.signature)
        )
    }

    /// Reads the file form and checks the signature with the integrity key.
    pub fn parse(text: &str, key: &PublicKey) -> Result<Head, BadHead> {
        let mut lines = text.lines();
        if lines.next() != Some(Head::MAGIC) {
            return Err(BadHead("it does not start with the expected header".into()));
        }
        let mut field = |name: &str| -> Result<String, BadHead> {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| BadHead(format!("the `{name}` line is missing")))
        };
        let seq = field("seq")?
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 1)
            .ok_or_else(|| BadHead("the sequence number is not a positive number".into()))?;
        let hash = hex::decode(field("hash")?).map_err(|_| BadHead("the hash is not hex".into()))?;
        let signature = hex::decode(field("signature")?).map_err(|_| BadHead("the signature is not hex".into()))?;
        sign::verify(key, SignatureScheme::RsaPssSha256, &hash, &signature)
            .map_err(|_| BadHead("its signature does not verify with the integrity key".into()))?;
        Ok(Head { seq, hash, signature })
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

    fn key() -> &'static ServerKey {
        static KEY: OnceLock<ServerKey> = OnceLock::new();
        KEY.get_or_init(|| ServerKey::generate(KeySize::Rsa2048).expect("keygen"))
    }

    fn chain_of(n: usize) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for i in 0..n {
            let e = NewEvent {
                actor: "alice".into(),
                kind: AuditEventKind::UserSignedIn,
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

    #[test]
    fn a_head_round_trips_and_a_forged_one_is_refused() {
        let events = chain_of(3);
        let public = key().public_key();
        let head = Head::of(&events[2]);
        assert_eq!(Head::parse(&head.to_text(), &public).expect("parse"), head);

        // Pointing a head at another hash needs a signature over that hash.
        let mut forged = head.clone();
        forged.hash = events[1].hash.clone();
        assert!(Head::parse(&forged.to_text(), &public).is_err());
        for garbage in ["", "signet-audit-head v1\nseq x\n", "another file\n"] {
            assert!(Head::parse(garbage, &public).is_err(), "{garbage:?}");
        }
    }
}
