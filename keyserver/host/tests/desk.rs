//! The order desk's decisions, each a tested refusal with its ISO 20022
//! reason code, against a real CA, real user keys and signatures, the
//! host's own certified keys and database (SQLite, and PostgreSQL when
//! `SIGNET_TEST_POSTGRES_URL` names a server), with a clock the test moves.
//! The sealed HTTP path is in `channel.rs`, a crash in `crash.rs`, the
//! whole journey from the command line in `tests/journeys/host.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Desk, T0, User, key, registration};
use signet_database::testing::PgDatabase;
use signet_host::{HostPolicy, db};
use signet_keyserver::keys::ca::CertificateAuthority;
use signet_orders::status_report::ReportStatus;
use signet_schema::SignatureScheme;
use signet_schema::api::ApiErrorCode;
use signet_schema::host::{
    CANCEL_PATH, COSIGN_PATH, CosignOrder, LIST_PATH, ListOrders, OrderRef, OrderScope, OrderState, OrderStatus,
    SUBMIT_PATH, SubmitOrder,
};
use signet_schema::protocol::Bytes;

fn each_backend(test: impl Fn(Desk)) {
    test(Desk::open(None));
    if let Some(database) = PgDatabase::create() {
        test(Desk::open(Some(database)));
    }
}

#[track_caller]
fn rejected_with(desk: &Desk, status: &OrderStatus, code: &str) {
    assert_eq!(status.order.state, OrderState::Rejected, "{:?}", status.order);
    assert_eq!(status.order.reason_code.as_deref(), Some(code), "{:?}", status.order);
    let report = desk.report(status);
    assert_eq!(report.status, ReportStatus::Rejected);
    assert_eq!(report.reasons[0].code, code);
}

#[test]
fn a_signer_within_their_limit_is_accepted_with_a_signed_report() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        desk.mandate(&alice, "E", Some("1000.00"));
        let status = desk.submit(&alice, &desk.order("M1", "100.00"));
        assert_eq!(status.order.state, OrderState::Accepted);
        assert_eq!(status.order.signatures.len(), 1);
        let report = desk.report(&status);
        assert_eq!(report.status, ReportStatus::Accepted);
        assert_eq!(report.original_message_id, "M1");
        assert_eq!(report.received_at, Some(T0));
    });
}

#[test]
fn one_changed_byte_is_refused() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        desk.mandate(&alice, "E", None);
        let bytes = desk.order("M1", "100.00");
        let signature = desk.sign_at(&alice, &bytes, desk.now());
        let changed = String::from_utf8(bytes).expect("utf-8").replace("100.00", "900.00");
        let status = desk
            .submit_signed(&alice, changed.as_bytes(), signature)
            .expect("answered");
        rejected_with(&desk, &status, "DS0B");
    });
}

#[test]
fn a_revoked_signer_is_refused_and_one_revoked_later_is_not() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        let bob = desk.user("bob");
        desk.mandate(&alice, "E", None);
        desk.mandate(&bob, "E", None);
        let before = desk.pki.crl(desk.now(), &[]);
        desk.publish_crl(&[(&alice, T0 - 60), (&bob, T0 + 3600)]);
        // An older CRL served again (by whoever is on the path) does not lift the revocation.
        desk.host.accept_crl(&before).expect("a valid CRL");
        rejected_with(&desk, &desk.submit(&alice, &desk.order("M1", "1.00")), "DS0C");
        // A revoked certificate gets nothing else from the host.
        let list = desk.request(
            &alice,
            LIST_PATH,
            &ListOrders {
                scope: OrderScope::Mine,
            },
        );
        assert_eq!(
            desk.host.list(&list).expect_err("revoked").body.code,
            ApiErrorCode::Revoked
        );
        // Bob's revocation comes after this receipt: his order stands.
        let status = desk.submit(&bob, &desk.order("M2", "1.00"));
        assert_eq!(status.order.state, OrderState::Accepted);
    });
}

#[test]
fn without_a_current_crl_an_order_waits_and_is_decided_when_one_comes() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        let bob = desk.user("bob");
        desk.mandate(&alice, "E", None);
        desk.mandate(&bob, "E", None);
        // The CRL published at T0 ran out; the host has no newer one.
        desk.advance(86_400 + 60);
        let waiting = desk.submit(&alice, &desk.order("M1", "1.00"));
        assert_eq!(waiting.order.state, OrderState::AwaitingRevocationStatus);
        assert_eq!(desk.report(&waiting).status, ReportStatus::Pending);
        let other = desk.submit(&bob, &desk.order("M2", "1.00"));
        assert_eq!(other.order.state, OrderState::AwaitingRevocationStatus);
        // A new CRL: Bob was revoked before his order arrived, Alice was not.
        let received = desk.now();
        desk.advance(30);
        desk.publish_crl(&[(&bob, received - 10)]);
        let (alice_order, bob_order) = desk
            .host
            .database()
            .read(|c| {
                Ok::<_, db::DbError>((
                    db::orders::find(c, &waiting.order.order_id)?.expect("order"),
                    db::orders::find(c, &other.order.order_id)?.expect("order"),
                ))
            })
            .expect("read");
        assert_eq!(alice_order.state, "accepted");
        assert_eq!(bob_order.state, "rejected");
        assert_eq!(bob_order.reason_code.as_deref(), Some("DS0C"));
    });
}

#[test]
fn four_eyes_hold_an_order_over_the_limit_until_a_plus_b() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        let bob = desk.user("bob");
        let carol = desk.user("carol");
        let trent = desk.user("trent");
        desk.mandate(&alice, "E", Some("1000.00"));
        desk.mandate(&bob, "B", None);
        desk.mandate(&carol, "B", Some("100.00"));
        desk.mandate(&trent, "T", None);
        let held = desk.submit(&alice, &desk.order("M1", "5000.00"));
        assert_eq!(held.order.state, OrderState::AwaitingSignatures);
        let report = desk.report(&held);
        assert_eq!(report.status, ReportStatus::Pending);
        // Bob sees it waiting for him; Alice, who signed, does not.
        let pending = |user: &User| desk.list(user, OrderScope::AwaitingMe);
        assert_eq!(pending(&bob).len(), 1);
        assert!(pending(&alice).is_empty());
        // The same user twice, a B over its limit, a transport mandate: refused, the order unchanged.
        for (user, code) in [(&alice, "DS26"), (&carol, "DS0G"), (&trent, "DS0G")] {
            let answer = desk.cosign(user, &held);
            assert_eq!(answer.order.state, OrderState::AwaitingSignatures, "{}", user.id);
            assert_eq!(answer.order.signatures.len(), 1);
            assert_eq!(desk.report(&answer).reasons[0].code, code, "{}", user.id);
        }
        let done = desk.cosign(&bob, &held);
        assert_eq!(done.order.state, OrderState::Accepted);
        assert_eq!(done.order.signatures.len(), 2);
        assert_eq!(desk.report(&done).status, ReportStatus::Accepted);
    });
}

#[test]
fn an_incomplete_order_expires_and_a_cancelled_one_takes_no_signature() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        let bob = desk.user("bob");
        desk.mandate(&alice, "A", None);
        desk.mandate(&bob, "A", None);
        let first = desk.submit(&alice, &desk.order("M1", "10.00"));
        let second = desk.submit(&alice, &desk.order("M2", "10.00"));
        assert_eq!(first.order.state, OrderState::AwaitingSignatures);
        // A transport mandate may not cancel what it could not sign; a stranger sees nothing.
        let trent = desk.user("trent");
        desk.mandate(&trent, "T", None);
        let carol = desk.user("carol");
        let by = |user: &User| {
            desk.request(
                user,
                CANCEL_PATH,
                &OrderRef {
                    order_id: second.order.order_id.clone(),
                },
            )
        };
        assert_eq!(
            desk.host.cancel(&by(&trent)).expect_err("T").body.code,
            ApiErrorCode::Forbidden
        );
        assert_eq!(
            desk.host.cancel(&by(&carol)).expect_err("stranger").body.code,
            ApiErrorCode::NotFound
        );
        let cancel = by(&bob);
        let cancelled = desk.host.cancel(&cancel).expect("cancelled");
        rejected_with_state(&desk, &cancelled, OrderState::Cancelled, "DS02");
        desk.advance(HostPolicy::default().waiting_seconds + 1);
        desk.publish_crl(&[]);
        assert_eq!(desk.host.expire_due().expect("expired"), 1);
        let expired = desk
            .host
            .database()
            .read(|c| db::orders::find(c, &first.order.order_id))
            .expect("read")
            .expect("order");
        assert_eq!(expired.state, "expired");
        assert_eq!(expired.reason_code.as_deref(), Some("DS24"));
        // Nothing more is signed on either.
        let late = desk.request(
            &bob,
            COSIGN_PATH,
            &CosignOrder {
                order_id: first.order.order_id.clone(),
                signature: Bytes(desk.sign_at(&bob, &desk.order_bytes(&first.order.order_id), desk.now())),
            },
        );
        assert_eq!(
            desk.host.cosign(&late).expect_err("expired").body.code,
            ApiErrorCode::WrongState
        );
    });
}

#[track_caller]
fn rejected_with_state(desk: &Desk, status: &OrderStatus, state: OrderState, code: &str) {
    assert_eq!(status.order.state, state);
    assert_eq!(status.order.reason_code.as_deref(), Some(code));
    assert_eq!(desk.report(status).status, ReportStatus::Rejected);
}

#[test]
fn duplicates_strangers_old_signatures_and_foreign_accounts_are_refused() {
    each_backend(|desk| {
        let alice = desk.user("alice");
        let mallory = desk.user("mallory");
        desk.mandate(&alice, "E", None);
        let bytes = desk.order("M1", "10.00");
        assert_eq!(desk.submit(&alice, &bytes).order.state, OrderState::Accepted);
        // The same message id again.
        rejected_with(&desk, &desk.submit(&alice, &bytes), "AM05");
        // The same bytes from another user who may sign for the account: one order at a time.
        let bob = desk.user("bob");
        desk.mandate(&bob, "E", None);
        rejected_with(&desk, &desk.submit(&bob, &bytes), "AM05");
        // No mandate on the account.
        rejected_with(&desk, &desk.submit(&mallory, &desk.order("M2", "10.00")), "DS0H");
        // Signed ten minutes before receipt, or an hour ahead.
        let bytes = desk.order("M3", "10.00");
        let old = desk.sign_at(&alice, &bytes, desk.now() - 600);
        rejected_with(
            &desk,
            &desk.submit_signed(&alice, &bytes, old).expect("answered"),
            "DT01",
        );
        let ahead = desk.sign_at(&alice, &bytes, desk.now() + 3600);
        let status = desk.submit_signed(&alice, &bytes, ahead.clone()).expect("answered");
        rejected_with(&desk, &status, "DT01");
        // A refused signature the requester made is recorded as received, by its hash.
        let report = signet_orders::status_report::read(&status.report.xml.0).expect("the report reads");
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&ahead));
        assert_eq!(
            report.received_signature(&alice.serial, &digest),
            Some(desk.now()),
            "{:?}",
            report.signatures
        );
        // Signed by someone else than the request's signer: refused, and the host's
        // report vouches for the receipt of no signature at all (it would otherwise
        // attest a time for a certificate nobody checked).
        let by_mallory = desk.sign_at(&mallory, &bytes, desk.now());
        let status = desk.submit_signed(&alice, &bytes, by_mallory).expect("answered");
        rejected_with(&desk, &status, "DS0E");
        let report = signet_orders::status_report::read(&status.report.xml.0).expect("the report reads");
        assert!(report.signatures.is_empty(), "{:?}", report.signatures);
        // Not a payment order.
        let junk = b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\"/>";
        let signature = desk.sign_at(&alice, junk, desk.now());
        rejected_with(
            &desk,
            &desk.submit_signed(&alice, junk, signature).expect("answered"),
            "FF01",
        );
        // Each refusal was stored under Alice's account, with its report.
        let mine = desk.list(&alice, OrderScope::Mine);
        assert_eq!(mine.len(), 6);
    });
}

#[test]
fn requests_from_another_ca_replayed_or_stale_are_refused_unstored() {
    let desk = Desk::open(None);
    let alice = desk.user("alice");
    desk.mandate(&alice, "E", None);
    // A certificate from another CA, for the same name.
    let other_ca = CertificateAuthority::create_at("Other CA", "Other", T0 - 86_400, 3650).expect("CA");
    let key = key();
    let csr = signet_crypto::csr::certification_request(&key, &registration("alice"), SignatureScheme::RsaPssSha256)
        .expect("csr");
    let forged = other_ca
        .issue(&csr, &registration("alice"), T0 - 3600, 365)
        .expect("certificate");
    let impostor = User {
        id: "alice".into(),
        key,
        serial: forged.serial_hex.clone(),
        certificate: forged.der,
    };
    let bytes = desk.order("M1", "10.00");
    let refused = desk
        .submit_signed(&impostor, &bytes, desk.sign_at(&impostor, &bytes, desk.now()))
        .expect_err("another CA");
    assert_eq!(refused, ApiErrorCode::Forbidden);
    // A replayed request.
    let request = desk.request(
        &alice,
        SUBMIT_PATH,
        &SubmitOrder {
            order: Bytes(bytes.clone()),
            signature: Bytes(desk.sign_at(&alice, &bytes, desk.now())),
        },
    );
    assert_eq!(
        desk.host.submit(&request).expect("first").order.state,
        OrderState::Accepted
    );
    assert_eq!(
        desk.host.submit(&request).expect_err("replay").body.code,
        ApiErrorCode::NonceReused
    );
    // A request signed ten minutes ago.
    desk.advance(600);
    assert_eq!(
        desk.host.submit(&request).expect_err("stale").body.code,
        ApiErrorCode::StaleRequest
    );
    // A changed payload breaks the request's signature.
    let mut tampered = desk.request(
        &alice,
        LIST_PATH,
        &ListOrders {
            scope: OrderScope::Mine,
        },
    );
    tampered.payload = Bytes(br#"{"scope":"awaiting-me"}"#.to_vec());
    assert_eq!(
        desk.host.list(&tampered).expect_err("tampered").body.code,
        ApiErrorCode::BadSignature
    );
    // Only the accepted order was stored.
    let mine = desk.list(&alice, OrderScope::Mine);
    assert_eq!(mine.len(), 1);
}

#[test]
fn every_waiting_order_is_decided_when_a_crl_comes_not_only_the_first_batch() {
    let desk = Desk::open(None);
    let alice = desk.user("alice");
    desk.mandate(&alice, "E", None);
    desk.advance(86_400 + 60);
    for n in 0..130 {
        let status = desk.submit(&alice, &desk.order(&format!("W{n}"), "1.00"));
        assert_eq!(status.order.state, OrderState::AwaitingRevocationStatus);
    }
    desk.publish_crl(&[]);
    let still_waiting = desk
        .host
        .database()
        .read(|c| db::orders::in_state(c, "awaiting-revocation-status", 1000))
        .expect("read");
    assert!(still_waiting.is_empty(), "{} orders still wait", still_waiting.len());
}

#[test]
fn the_same_order_submitted_many_times_at_once_is_accepted_once_and_each_report_says_what_happened() {
    // Each submission's report is signed before the write lock on what a
    // snapshot decides, and used only if the transaction decides the same.
    each_backend(|desk| {
        let alice = desk.user("alice");
        desk.mandate(&alice, "E", None);
        let bytes = desk.order("RACE-1", "10.00");
        let requests: Vec<_> = (0..8)
            .map(|_| common::submission(desk.host.certificate_der(), &alice, &bytes, desk.now()))
            .collect();
        let answers: Vec<OrderStatus> = std::thread::scope(|scope| {
            let workers: Vec<_> = requests
                .iter()
                .map(|request| {
                    let host = desk.host.clone();
                    scope.spawn(move || host.submit(request).expect("answered"))
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("worker")).collect()
        });
        let accepted = answers.iter().filter(|a| a.order.state == OrderState::Accepted).count();
        assert_eq!(
            accepted,
            1,
            "{:?}",
            answers.iter().map(|a| a.order.state).collect::<Vec<_>>()
        );
        for answer in &answers {
            let report = signet_orders::status_report::read(&answer.report.xml.0).expect("the report reads");
            match answer.order.state {
                OrderState::Accepted => assert_eq!(report.status, ReportStatus::Accepted),
                _ => {
                    rejected_with(&desk, answer, "AM05");
                    assert_eq!(report.status, ReportStatus::Rejected);
                }
            }
        }
    });
}

#[test]
fn the_duplicate_checks_are_answered_from_their_partial_indexes_not_a_scan() {
    // With the states as bound parameters, SQLite scanned every order ever
    // stored on each submission; the condition must read as the indexes say it.
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let desk = Desk::open(None);
    let url = desk.pki.data_dir.join("host.db").display().to_string();
    let database = db::open(&url).expect("the host's database");
    let live = db::orders::LIVE;
    for (query, index) in [
        (
            format!("SELECT order_id FROM orders WHERE sha256 = 'ab' AND {live}"),
            "orders_live_sha256",
        ),
        (
            format!("SELECT order_id FROM orders WHERE submitted_by = 'alice' AND message_id = 'M1' AND {live}"),
            "orders_live_message_id",
        ),
    ] {
        let plan: Vec<Plan> = database
            .read(|c| {
                diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
                    .load::<Plan>(c)
                    .map_err(signet_database::DbError::from)
            })
            .expect("a plan");
        let plan: Vec<&str> = plan.iter().map(|p| p.detail.as_str()).collect();
        assert!(plan.iter().any(|d| d.contains(index)), "{query}: {plan:?}");
    }
}
