//! The database layer on both backends: every test runs on a fresh SQLite file and, when
//! `SIGNET_TEST_POSTGRES_URL` names a PostgreSQL server, on a fresh PostgreSQL database created for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Once;

use crate::common::PgDatabase;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use signet_keyserver::keys::db::*;

/// A database made for one test on one backend, removed afterwards.
struct Scratch {
    url: String,
    backend: Backend,
    /// The SQLite file, for tests that look at it.
    sqlite_path: Option<PathBuf>,
}

impl Scratch {
    fn open(&self) -> Database {
        signet_keyserver::keys::db::open(&self.url).unwrap_or_else(|e| panic!("opening {:?}: {e}", self.backend))
    }
}

/// Runs `test` on SQLite, then on PostgreSQL if configured.
fn each_backend(test: impl Fn(&Scratch)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyserver.sqlite3");
    test(&Scratch {
        url: format!("sqlite://{}", path.display()),
        backend: Backend::Sqlite,
        sqlite_path: Some(path),
    });

    match PgDatabase::admin_url() {
        Some(admin_url) => {
            let postgres = PgDatabase::create_on(&admin_url);
            test(&Scratch {
                url: postgres.url.clone(),
                backend: Backend::Postgres,
                sqlite_path: None,
            });
        }
        _ => {
            static SKIPPED: Once = Once::new();
            // Written to the process's stderr directly so that the test harness does not capture it.
            SKIPPED.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL tests skipped: SIGNET_TEST_POSTGRES_URL is not set"
                );
            });
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count_rows(db: &Database, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    db.read(|c| Ok::<_, DbError>(diesel::sql_query(&sql).get_result::<Count>(c)?.n))
        .unwrap()
}

fn new_user(user_id: &str) -> NewUser {
    NewUser {
        user_id: user_id.to_owned(),
        registration: format!(r#"{{"user_id":"{user_id}"}}"#),
        role: UserRole::User,
        state: UserState::Pending,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
    }
}

fn key_record(user_id: &str, fill: u8) -> KeyRecord {
    KeyRecord {
        user_id: user_id.to_owned(),
        sealed_record: (0..=255u8).map(|b| b ^ fill).collect(),
        kdf_m: 65536,
        kdf_t: 3,
        kdf_p: 4,
        salt: vec![0, 0xff, fill, 0],
        verifier_hash: vec![fill; 32],
        public_key_fingerprint: vec![0xab; 32],
        updated_at: 1_700_000_100,
    }
}

fn application(id: &str, user_id: &str, created_at: i64) -> Application {
    Application {
        application_id: id.to_owned(),
        user_id: user_id.to_owned(),
        state: ApplicationState::AwaitingConsent,
        consent_wrap: vec![1, 2, 3, 0],
        inner_hash: vec![0x55; 32],
        certification_request: vec![0x30, 0x82, 0x00],
        verifier_hash: vec![9; 32],
        failed_attempts: 0,
        letter_pdf: Some(b"%PDF-1.7\n\0binary".to_vec()),
        letter_state: LetterState::Queued,
        created_at,
        expires_at: created_at + 30 * 86_400,
    }
}

fn certificate(serial: &str, user_id: &str, status: CertificateStatus, issued_at: i64) -> Certificate {
    Certificate {
        serial: serial.to_owned(),
        user_id: user_id.to_owned(),
        der: vec![0x30, 0x82, 0x01, 0x00, 0xff],
        sha256_fingerprint: "AB".repeat(32),
        subject: format!("CN={user_id}"),
        not_before: issued_at,
        not_after: issued_at + 365 * 86_400,
        status,
        revoked_at: None,
        revocation_reason: None,
        issued_at,
    }
}

fn event(seq: i64, subject: Option<&str>) -> Event {
    Event {
        seq,
        at: 1_700_000_000 + seq,
        actor: "system".to_owned(),
        kind: "test".to_owned(),
        subject: subject.map(str::to_owned),
        detail: "{}".to_owned(),
        prev_hash: vec![0; 32],
        hash: vec![seq as u8; 32],
        signature: vec![0xee; 64],
    }
}

#[test]
fn migrations_run_on_a_fresh_database_and_again_on_reopen() {
    each_backend(|scratch| {
        let db = scratch.open();
        assert_eq!(db.backend(), scratch.backend);
        for table in [
            "users",
            "key_records",
            "applications",
            "certificates",
            "crls",
            "nonces",
            "events",
        ] {
            assert_eq!(count_rows(&db, table), 0, "{table}");
        }
        db.write(|c| users::insert(c, &new_user("alice"))).unwrap();
        drop(db);

        let db = scratch.open();
        // Each embedded migration is recorded once, however often the database is opened.
        let folder = match scratch.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let migrations = std::fs::read_dir(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(folder),
        )
        .expect("migrations folder")
        .count() as i64;
        assert!(migrations >= 2);
        assert_eq!(count_rows(&db, "__diesel_schema_migrations"), migrations);
        assert_eq!(db.read(|c| users::get(c, "alice")).unwrap().user_id, "alice");
        let db2 = scratch.open();
        assert_eq!(count_rows(&db2, "users"), 1);
    });
}

/// Reads an integer PRAGMA whose result column is `$column`.
macro_rules! integer_pragma {
    ($c:expr, $pragma:literal, $column:ident) => {{
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            $column: i64,
        }
        diesel::sql_query(concat!("PRAGMA ", $pragma))
            .get_result::<Row>($c)
            .map(|row| row.$column)
    }};
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[test]
fn sqlite_connections_carry_the_pragmas() {
    each_backend(|scratch| {
        if scratch.backend != Backend::Sqlite {
            return;
        }
        let db = scratch.open();
        // Two connections at once, so that a further pooled connection is checked as well as the first.
        let check = || {
            db.write(|c| {
                assert_eq!(
                    diesel::sql_query("PRAGMA journal_mode")
                        .get_result::<JournalMode>(c)?
                        .journal_mode,
                    "wal"
                );
                assert_eq!(integer_pragma!(c, "busy_timeout", timeout)?, 5000);
                assert_eq!(integer_pragma!(c, "synchronous", synchronous)?, 2, "FULL");
                assert_eq!(integer_pragma!(c, "secure_delete", secure_delete)?, 1);
                assert_eq!(integer_pragma!(c, "foreign_keys", foreign_keys)?, 1);
                std::thread::sleep(std::time::Duration::from_millis(50));
                Ok::<_, DbError>(())
            })
            .unwrap();
        };
        std::thread::scope(|s| {
            let a = s.spawn(check);
            let b = s.spawn(check);
            a.join().unwrap();
            b.join().unwrap();
        });
    });
}

#[test]
fn every_table_round_trips() {
    each_backend(|scratch| {
        let db = scratch.open();
        db.write(|c| {
            users::insert(c, &new_user("alice"))?;
            key_records::upsert(c, &key_record("alice", 1))?;
            applications::insert(c, &application("app-1", "alice", 100))?;
            applications::insert(c, &application("app-2", "alice", 200))?;
            certificates::insert(c, &certificate("7F00AA", "alice", CertificateStatus::Active, 300))?;
            crls::insert(
                c,
                &Crl {
                    crl_number: 1,
                    der: vec![0x30, 0],
                    this_update: 10,
                    next_update: 20,
                },
            )?;
            crls::insert(
                c,
                &Crl {
                    crl_number: 2,
                    der: vec![0x30, 1],
                    this_update: 20,
                    next_update: 30,
                },
            )?;
            assert!(nonces::consume(c, "n-1", 10, 100)?);
            events::append(c, &event(1, Some("alice")))?;
            events::append(c, &event(2, None))?;
            Ok::<_, DbError>(())
        })
        .unwrap();

        db.read(|c| {
            let user = users::get(c, "alice")?;
            let expected = new_user("alice");
            assert_eq!(
                (user.role, user.state, user.failed_logins, user.locked_until),
                (UserRole::User, UserState::Pending, 0, None)
            );
            assert_eq!(
                (&user.registration, user.created_at),
                (&expected.registration, expected.created_at)
            );
            assert_eq!(key_records::get(c, "alice")?, key_record("alice", 1));
            assert_eq!(applications::get(c, "app-1")?, application("app-1", "alice", 100));
            assert_eq!(
                applications::latest_for_user(c, "alice")?.unwrap().application_id,
                "app-2"
            );
            assert_eq!(applications::latest_for_user(c, "bob")?, None);
            assert_eq!(
                certificates::by_serial(c, "7F00AA")?,
                Some(certificate("7F00AA", "alice", CertificateStatus::Active, 300))
            );
            assert_eq!(crls::latest(c)?.unwrap().crl_number, 2);
            assert_eq!(events::last(c)?, Some(event(2, None)));
            assert_eq!(events::range(c, 1, 10)?, vec![event(1, Some("alice")), event(2, None)]);
            assert_eq!(events::for_subject(c, "alice", 10)?, vec![event(1, Some("alice"))]);
            assert!(matches!(users::get(c, "nobody"), Err(DbError::NotFound)));
            assert_eq!(users::find(c, "nobody")?, None);
            Ok::<_, DbError>(())
        })
        .unwrap();

        db.write(|c| {
            users::set_state(c, "alice", UserState::Active, 500)?;
            users::set_role(c, "alice", UserRole::Helpdesk, 500)?;
            users::set_sign_in_failures(c, "alice", 3, Some(900), 500)?;
            key_records::upsert(c, &key_record("alice", 2))?;
            assert_eq!(applications::record_failed_attempt(c, "app-2")?, 1);
            assert_eq!(applications::record_failed_attempt(c, "app-2")?, 2);
            applications::set_state(c, "app-2", ApplicationState::Consented)?;
            applications::set_letter_state(c, "app-2", LetterState::Printed)?;
            certificates::set_status(c, "7F00AA", CertificateStatus::Revoked, Some((600, "keyCompromise")))?;
            assert!(matches!(
                users::set_state(c, "nobody", UserState::Active, 1),
                Err(DbError::NotFound)
            ));
            Ok::<_, DbError>(())
        })
        .unwrap();

        db.read(|c| {
            let user = users::get(c, "alice")?;
            assert_eq!((user.role, user.state), (UserRole::Helpdesk, UserState::Active));
            assert_eq!(
                (user.failed_logins, user.locked_until, user.updated_at),
                (3, Some(900), 500)
            );
            let in_state = |c: &mut AnyConnection, state| {
                let search = user_terms::UserSearch {
                    state: Some(state),
                    limit: 10,
                    ..Default::default()
                };
                user_terms::page(c, &search).map(|found| found.users.len())
            };
            assert_eq!(in_state(c, UserState::Active)?, 1);
            assert_eq!(in_state(c, UserState::Pending)?, 0);
            assert_eq!(key_records::get(c, "alice")?, key_record("alice", 2));
            let app = applications::get(c, "app-2")?;
            assert_eq!(
                (app.state, app.letter_state, app.letter_pdf, app.failed_attempts),
                (ApplicationState::Consented, LetterState::Printed, None, 2)
            );
            assert_eq!(applications::letters_to_send(c, None, 10)?.len(), 1);
            let cert = certificates::by_serial(c, "7F00AA")?.unwrap();
            assert_eq!(cert.status, CertificateStatus::Revoked);
            assert_eq!(
                (cert.revoked_at, cert.revocation_reason.as_deref()),
                (Some(600), Some("keyCompromise"))
            );
            assert_eq!(certificates::revoked_unexpired(c, 1000)?.len(), 1);
            assert_eq!(certificates::revoked_unexpired(c, 300 + 365 * 86_400)?.len(), 0);
            Ok::<_, DbError>(())
        })
        .unwrap();

        assert_eq!(db.write(|c| applications::expire(c, 100 + 30 * 86_400)).unwrap(), 1);
        assert_eq!(
            db.read(|c| applications::get(c, "app-1")).unwrap().state,
            ApplicationState::Expired
        );
    });
}

#[test]
fn broken_rules_are_constraint_errors() {
    each_backend(|scratch| {
        let db = scratch.open();
        db.write(|c| users::insert(c, &new_user("alice"))).unwrap();
        let again = db.write(|c| users::insert(c, &new_user("alice")));
        assert!(
            matches!(
                again,
                Err(DbError::Constraint {
                    kind: ConstraintKind::Unique,
                    ..
                })
            ),
            "{again:?}"
        );

        db.write(|c| certificates::insert(c, &certificate("01", "alice", CertificateStatus::Active, 1)))
            .unwrap();
        let again = db.write(|c| certificates::insert(c, &certificate("01", "bob", CertificateStatus::Active, 2)));
        assert!(
            matches!(
                again,
                Err(DbError::Constraint {
                    kind: ConstraintKind::Unique,
                    ..
                })
            ),
            "{again:?}"
        );

        let orphan = db.write(|c| key_records::upsert(c, &key_record("nobody", 0)));
        assert!(
            matches!(
                orphan,
                Err(DbError::Constraint {
                    kind: ConstraintKind::ForeignKey,
                    ..
                })
            ),
            "{orphan:?}"
        );
        let orphan = db.write(|c| applications::insert(c, &application("x", "nobody", 1)));
        assert!(
            matches!(
                orphan,
                Err(DbError::Constraint {
                    kind: ConstraintKind::ForeignKey,
                    ..
                })
            ),
            "{orphan:?}"
        );

        // The database is still usable afterwards.
        assert_eq!(count_rows(&db, "users"), 1);
    });
}

#[test]
fn a_failed_transaction_leaves_nothing_behind() {
    each_backend(|scratch| {
        let db = scratch.open();
        let result: Result<(), DbError> = db.write(|c| {
            users::insert(c, &new_user("alice"))?;
            key_records::upsert(c, &key_record("alice", 1))?;
            events::append(c, &event(1, Some("alice")))?;
            Err(DbError::Other("the flow gave up".to_owned()))
        });
        assert!(matches!(result, Err(DbError::Other(_))));

        // A database error half way (the second user is a duplicate) undoes the first insert too.
        let result = db.write(|c| {
            users::insert(c, &new_user("bob"))?;
            events::append(c, &event(1, Some("bob")))?;
            users::insert(c, &new_user("bob"))
        });
        assert!(matches!(result, Err(DbError::Constraint { .. })));

        for table in ["users", "key_records", "events"] {
            assert_eq!(count_rows(&db, table), 0, "{table}");
        }
    });
}

#[test]
fn reads_cannot_write() {
    each_backend(|scratch| {
        let db = scratch.open();
        let result = db.read(|c| users::insert(c, &new_user("alice")));
        assert!(result.is_err(), "a write inside read succeeded");
        assert_eq!(count_rows(&db, "users"), 0);
        // The connection is writable again for the next write transaction.
        db.write(|c| users::insert(c, &new_user("alice"))).unwrap();
        assert_eq!(count_rows(&db, "users"), 1);
    });
}

#[test]
fn a_nonce_is_used_once() {
    each_backend(|scratch| {
        let db = scratch.open();
        assert!(db.write(|c| nonces::consume(c, "n-1", 1000, 1300)).unwrap());
        assert!(!db.write(|c| nonces::consume(c, "n-1", 1100, 1400)).unwrap());
        assert!(db.write(|c| nonces::consume(c, "n-2", 1100, 1400)).unwrap());
        // Twice in one transaction.
        let twice = db.write(|c| {
            Ok::<_, DbError>((
                nonces::consume(c, "n-3", 1100, 1400)?,
                nonces::consume(c, "n-3", 1100, 1400)?,
            ))
        });
        assert_eq!(twice.unwrap(), (true, false));
        // Once expired, it is forgotten (and purged).
        assert!(db.write(|c| nonces::consume(c, "n-1", 1300, 1600)).unwrap());
        assert_eq!(count_rows(&db, "nonces"), 3);
        assert!(db.write(|c| nonces::consume(c, "n-4", 1500, 1800)).unwrap());
        assert_eq!(count_rows(&db, "nonces"), 2);
    });
}

#[test]
fn certificate_search_filters() {
    each_backend(|scratch| {
        let db = scratch.open();
        db.write(|c| {
            certificates::insert(c, &certificate("0A", "alice", CertificateStatus::Superseded, 100))?;
            certificates::insert(c, &certificate("0B", "alice", CertificateStatus::Active, 200))?;
            certificates::insert(c, &certificate("0C", "bob", CertificateStatus::Revoked, 300))?;
            certificates::insert(c, &certificate("0D", "bob", CertificateStatus::Active, 400))?;
            certificates::insert(c, &certificate("0E", "carol", CertificateStatus::Active, 400))?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        let serials = |filter: CertificateFilter| -> Vec<String> {
            db.read(|c| certificates::search(c, &filter))
                .unwrap()
                .into_iter()
                .map(|c| c.serial)
                .collect()
        };
        let count = |filter: CertificateFilter| db.read(|c| certificates::count(c, &filter)).unwrap();

        assert_eq!(serials(CertificateFilter::default()), ["0D", "0E", "0C", "0B", "0A"]);
        assert_eq!(count(CertificateFilter::default()), 5);
        assert_eq!(
            serials(CertificateFilter {
                user_id: Some("alice".into()),
                ..Default::default()
            }),
            ["0B", "0A"]
        );
        assert_eq!(
            serials(CertificateFilter {
                status: Some(CertificateStatus::Active),
                ..Default::default()
            }),
            ["0D", "0E", "0B"]
        );
        assert_eq!(
            serials(CertificateFilter {
                serial: Some("0C".into()),
                ..Default::default()
            }),
            ["0C"]
        );
        assert_eq!(
            serials(CertificateFilter {
                issued_from: Some(200),
                issued_to: Some(300),
                ..Default::default()
            }),
            ["0C", "0B"]
        );
        assert_eq!(
            serials(CertificateFilter {
                user_id: Some("bob".into()),
                status: Some(CertificateStatus::Active),
                issued_from: Some(400),
                ..Default::default()
            }),
            ["0D"]
        );
        assert_eq!(
            serials(CertificateFilter {
                limit: Some(2),
                offset: Some(1),
                ..Default::default()
            }),
            ["0E", "0C"]
        );
        assert_eq!(
            count(CertificateFilter {
                limit: Some(1),
                issued_from: Some(300),
                ..Default::default()
            }),
            3
        );
        assert!(
            serials(CertificateFilter {
                user_id: Some("nobody".into()),
                ..Default::default()
            })
            .is_empty()
        );
        let active = db
            .read(|c| certificates::for_user(c, "alice", CertificateStatus::Active))
            .unwrap();
        assert_eq!(active.len(), 1);
    });
}

/// Whether `needle` occurs anywhere in the file at `path` (a missing file holds nothing).
fn file_contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

#[test]
fn deleting_a_key_record_removes_it() {
    each_backend(|scratch| {
        let db = scratch.open();
        let mut record = key_record("alice", 7);
        record.sealed_record = b"SEALED-RECORD-THAT-MUST-DISAPPEAR-0123456789".repeat(4);
        db.write(|c| {
            users::insert(c, &new_user("alice"))?;
            key_records::upsert(c, &record)
        })
        .unwrap();
        let checkpoint = |path: &Path| {
            let mut direct = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            direct
                .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
        };
        const MARK: &[u8] = b"SEALED-RECORD-THAT-MUST-DISAPPEAR";
        if let Some(path) = &scratch.sqlite_path {
            checkpoint(path);
            assert!(
                file_contains(path, MARK),
                "the record should be on disk before it is deleted"
            );
        }
        assert!(db.write(|c| key_records::delete(c, "alice")).unwrap());
        assert!(!db.write(|c| key_records::delete(c, "alice")).unwrap());
        assert!(matches!(
            db.read(|c| key_records::get(c, "alice")),
            Err(DbError::NotFound)
        ));
        assert_eq!(db.read(|c| key_records::find(c, "alice")).unwrap(), None);
        assert_eq!(count_rows(&db, "key_records"), 0);

        if let Some(path) = &scratch.sqlite_path {
            // With secure_delete the bytes are overwritten, not just unlinked: after a checkpoint neither the
            // database file nor its write-ahead log holds them.
            drop(db);
            checkpoint(path);
            let wal = PathBuf::from(format!("{}-wal", path.display()));
            assert!(!file_contains(path, MARK));
            assert!(!file_contains(&wal, MARK));
        }
    });
}

#[test]
fn an_unreachable_postgres_server_is_unavailable_and_creates_no_file() {
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(".")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    for url in [
        "postgres://postgres@127.0.0.1:1/signet",
        "postgresql://postgres@127.0.0.1:1/signet",
    ] {
        let result = signet_keyserver::keys::db::open(url);
        assert!(matches!(result, Err(DbError::Unavailable(_))), "{url}: {result:?}");
        assert!(!Path::new(url).exists());
    }
    assert_eq!(listing(), before);
}

#[test]
fn concurrent_writers_all_land() {
    each_backend(|scratch| {
        let db = scratch.open();
        // Each writer reads the last event and appends the next: racing transactions must serialize (SQLite
        // by BEGIN IMMEDIATE, PostgreSQL by retrying serialization failures) so the chain has no gap.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..5 {
                        db.write(|c| {
                            let next = events::last(c)?.map_or(1, |e| e.seq + 1);
                            events::append(c, &event(next, None))
                        })
                        .unwrap();
                    }
                });
            }
        });
        let seqs: Vec<i64> = db
            .read(|c| events::range(c, 1, 100))
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    });
}

#[test]
fn async_wrappers_run_on_the_blocking_pool() {
    each_backend(|scratch| {
        let db = scratch.open();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            db.write_async(|c| users::insert(c, &new_user("alice"))).await.unwrap();
            let user = db.read_async(|c| users::get(c, "alice")).await.unwrap();
            assert_eq!(user.user_id, "alice");
            let missing = db.read_async(|c| users::get(c, "bob")).await;
            assert!(matches!(missing, Err(DbError::NotFound)));
        });
    });
}

/// A person of the list tests: names from a small set (shared words, a
/// hyphen, letters beyond ASCII), two mail domains, every state.
fn listed_person(i: usize) -> (NewUser, String, String) {
    const NAMES: [&str; 6] = [
        "Anna Berg",
        "Anne-Marie Nilsson",
        "Bo Ek",
        "Åsa Öberg",
        "Annika Bergström",
        "Erik Anders Berg",
    ];
    const STATES: [UserState; 4] = [
        UserState::Pending,
        UserState::Active,
        UserState::Reset,
        UserState::Revoked,
    ];
    let user_id = format!("u{i:03}");
    let name = NAMES[i % NAMES.len()].to_owned();
    let email = format!(
        "{user_id}@{}.example",
        if i.is_multiple_of(3) { "bank" } else { "firm" }
    );
    let registration = serde_json::json!({ "user_id": user_id, "common_name": name, "email": email }).to_string();
    let user = NewUser {
        user_id,
        registration,
        role: UserRole::User,
        state: STATES[i % STATES.len()],
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
    };
    (user, name, email)
}

/// The help desk's lists page in SQL: every waiting letter and every person
/// found is on exactly one page, in order; a search word matches the
/// beginning of an id, e-mail address, domain or name word, any case; both
/// shapes of the search find the same people; the index follows the people.
#[test]
fn help_desk_lists_page_and_search_in_sql() {
    each_backend(|scratch| {
        let db = scratch.open();
        let people: Vec<_> = (0..130).map(listed_person).collect();
        let mut waiting = Vec::new();
        db.write(|c| {
            for (i, (user, _, _)) in people.iter().enumerate() {
                users::insert(c, user)?;
                // Ten applications share each second: the id breaks the tie.
                let mut app = application(
                    &format!("{:02x}{i:03}", (i * 37) % 256),
                    &user.user_id,
                    1000 + (i % 13) as i64,
                );
                app.letter_state = [LetterState::Queued, LetterState::Printed, LetterState::Dispatched][i % 3];
                if i.is_multiple_of(5) {
                    app.state = ApplicationState::Consented;
                }
                if app.letter_state != LetterState::Dispatched && app.state == ApplicationState::AwaitingConsent {
                    waiting.push((app.created_at, app.application_id.clone()));
                }
                applications::insert(c, &app)?;
            }
            Ok::<_, DbError>(())
        })
        .unwrap();
        waiting.sort();

        // Letters, seven to a page.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = db
                .read(|c| applications::letters_to_send(c, after.as_ref(), 7))
                .unwrap();
            paged.extend(page.iter().map(|a| (a.created_at, a.application_id.clone())));
            match page.last() {
                Some(last) if page.len() == 7 => after = Some((last.created_at, last.application_id.clone())),
                _ => break,
            }
        }
        assert_eq!(paged, waiting, "{:?}", scratch.backend);

        // Searches, against the rule written out here, in both shapes.
        let searches: &[(&[&str], Option<UserState>)] = &[
            (&[], None),
            (&[], Some(UserState::Reset)),
            (&["ann"], None),
            (&["anne"], None),
            (&["marie"], None),
            (&["anne-marie"], None),
            (&["berg"], Some(UserState::Active)),
            (&["berg", "ann"], None),
            (&["åsa"], None),
            (&["öberg", "u1"], None),
            (&["bank.example"], None),
            (&["u01"], None),
            (&["u012@firm"], None),
            (&["nobody"], None),
            (&["erik", "anders", "berg", "u0"], Some(UserState::Pending)),
        ];
        for (words, state) in searches {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            // A listing comes in id order; a search in the order of the
            // driver's first matching term, then id. The driver: the word
            // beginning the fewest terms (at most `PROBE` counted), then the
            // longest, then the first.
            let terms_beginning = |word: &str| {
                people
                    .iter()
                    .flat_map(|(user, name, email)| user_terms::terms_of(&user.user_id, name, email))
                    .filter(|t| t.starts_with(word))
                    .count()
                    .min(user_terms::PROBE)
            };
            let driver = words
                .iter()
                .enumerate()
                .min_by_key(|(i, w)| (terms_beginning(w), std::cmp::Reverse(w.chars().count()), *i))
                .map(|(_, w)| w.clone())
                .unwrap_or_default();
            let chosen = db.read(|c| user_terms::choose_driver(c, &words)).unwrap();
            assert_eq!(words.get(chosen).cloned().unwrap_or_default(), driver, "{words:?}");
            let mut expected: Vec<(String, String)> = people
                .iter()
                .filter_map(|(user, name, email)| {
                    let terms = user_terms::terms_of(&user.user_id, name, email);
                    let all = words.iter().all(|w| terms.iter().any(|t| t.starts_with(w.as_str())));
                    let first = match words.is_empty() {
                        true => String::new(),
                        false => terms.iter().find(|t| t.starts_with(driver.as_str()))?.clone(),
                    };
                    (all && state.is_none_or(|s| s == user.state)).then(|| (first, user.user_id.clone()))
                })
                .collect();
            expected.sort();
            let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
            // Whole walks, and walks cut short every 3 and every 8 terms.
            for walk in [user_terms::WALK, 3, 8] {
                let mut found = Vec::new();
                let mut search = user_terms::UserSearch {
                    words: words.clone(),
                    state: *state,
                    after: None,
                    limit: 7,
                };
                loop {
                    let page = db.read(|c| user_terms::page_with(c, &search, walk)).unwrap();
                    assert!(page.users.len() <= 7);
                    found.extend(page.users.iter().map(|u| u.user_id.clone()));
                    match page.next {
                        Some(next) => search.after = Some(next),
                        None => break,
                    }
                }
                assert_eq!(
                    found, expected,
                    "{words:?} {state:?} walking {walk} on {:?}",
                    scratch.backend
                );
            }
        }
        assert_eq!(
            user_terms::prefix_range("ab\u{10FFFF}"),
            ("ab\u{10FFFF}".to_owned(), "ac".to_owned())
        );

        // A person deleted leaves the index; people the index missed are added.
        db.write(|c| {
            applications::delete_for_user(c, "u000")?;
            users::delete(c, "u000")?;
            diesel::sql_query("DELETE FROM user_terms WHERE user_id IN ('u001', 'u002')").execute(c)?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        assert_eq!(count_rows(&db, "user_terms WHERE user_id = 'u000'"), 0);
        assert_eq!(db.write(|c| user_terms::index_missing(c, 100)).unwrap(), 2);
        assert_eq!(db.write(|c| user_terms::index_missing(c, 100)).unwrap(), 0);
        let annes = user_terms::UserSearch {
            words: vec!["anne".into()],
            limit: 2,
            ..Default::default()
        };
        let found: Vec<String> = db
            .read(|c| user_terms::page(c, &annes))
            .unwrap()
            .users
            .into_iter()
            .map(|u| u.user_id)
            .collect();
        assert_eq!(found, ["u001", "u007"], "{:?}", scratch.backend);
        // A cursor of another search is refused, not taken for a new start.
        for after in [
            user_terms::After::Id("u001".into()),
            user_terms::After::Term {
                word: 1,
                term: "anne".into(),
                user_id: "u001".into(),
            },
            user_terms::After::Term {
                word: 0,
                term: "berg".into(),
                user_id: "u001".into(),
            },
        ] {
            let search = user_terms::UserSearch {
                after: Some(after.clone()),
                ..annes.clone()
            };
            assert!(db.read(|c| user_terms::page(c, &search)).is_err(), "{after:?}");
        }
    });
}
