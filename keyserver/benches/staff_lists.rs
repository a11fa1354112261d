//! The help desk's lists as the database grows: each page query of the
//! letter list and the user search, timed on a database of 1,000 people and
//! again on one of 1,000,000, and the ratio of the two medians (target: a
//! million rows answer as fast as a thousand, within 2×; a search whose
//! conditions together match almost no one examines a bounded number of
//! terms per request instead).
//!
//! SQLite always; PostgreSQL too when `SIGNET_BENCH_POSTGRES_URL` names a
//! server (a throwaway database is made on it). `SIGNET_BENCH_LARGEST`
//! lowers the larger size for a quick look. The queries are the key tier's
//! own (`models::applications::letters_to_send`, `models::user_terms::page`)
//! run in a read transaction, as the routes run them; the rows are written
//! with multi-row `INSERT`s so that a million people take seconds, their
//! search terms made by `user_terms::terms_of`. Each size is a database of
//! its own, its name pools grown with it (see `People`), so that each query
//! finds as many people at either size.
//!
//! `cargo bench -p signet-keyserver --bench staff_lists`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use signet_keyserver::keys::db::models::user_terms::{After, UserSearch, terms_of};
use signet_keyserver::keys::db::models::{applications, user_terms};
use signet_keyserver::keys::db::{self, Backend, Database, DbError, UserState};

/// Rows per `INSERT`.
const BATCH: usize = 1_000;
/// Times each query runs.
const RUNS: usize = 200;

/// The people of one database. Names and mail domains are drawn from pools
/// that grow with it, so that each query finds as many at either size: a
/// forename is shared by 200 people, a surname by 50, a mail domain by 1,000.
#[derive(Clone, Copy)]
struct People(usize);

impl People {
    fn forename(self, i: usize) -> String {
        format!("f{}", i % (self.0 / 200).max(1))
    }

    fn surname(self, i: usize) -> String {
        format!("s{}", (i * 7_919) % (self.0 / 50).max(1))
    }

    fn email(self, i: usize) -> String {
        format!("{}@bank{}.example", user_id(i), i % (self.0 / 1_000).max(1))
    }
}

fn user_id(i: usize) -> String {
    format!("u{i:07}")
}

/// One in twenty people is being re-registered (spread independently of
/// names and domains).
fn state(i: usize) -> &'static str {
    if (i / 7).is_multiple_of(20) { "reset" } else { "active" }
}

/// One application each: one in ten letters still to print, one in ten
/// printed and not yet posted, the rest posted.
fn letter_state(i: usize) -> &'static str {
    match i % 10 {
        0 => "queued",
        1 => "printed",
        _ => "dispatched",
    }
}

fn blob(backend: Backend, bytes: &[u8]) -> String {
    match backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// Adds `people`, each with their terms and one application.
fn populate(db: &Database, people: People) {
    let backend = db.backend();
    let wrap = blob(backend, &[7; 96]);
    let hash = blob(backend, &[5; 32]);
    let request = blob(backend, &[0x30; 700]);
    for start in (0..people.0).step_by(BATCH) {
        let end = (start + BATCH).min(people.0);
        let mut users = Vec::new();
        let mut terms = Vec::new();
        let mut apps = Vec::new();
        for i in start..end {
            let name = format!("{} {}", people.forename(i), people.surname(i));
            let (id, mail) = (user_id(i), people.email(i));
            let registration = serde_json::json!({
                "user_id": id, "common_name": name, "organization": "Example Bank",
                "organizational_unit": "", "email": mail, "country": "GB",
            });
            users.push(format!(
                "('{id}', '{registration}', 'user', '{}', 0, NULL, {i}, {i})",
                state(i)
            ));
            terms.extend(
                terms_of(&id, &name, &mail)
                    .into_iter()
                    .map(|t| format!("('{t}', '{id}')")),
            );
            apps.push(format!(
                "('{:032x}', '{id}', 'awaiting_consent', {wrap}, {hash}, {request}, {hash}, 0, NULL, '{}', {}, {})",
                i,
                letter_state(i),
                1_700_000_000 + i,
                1_700_000_000 + i + 30 * 86_400,
            ));
        }
        let sql = format!(
            "INSERT INTO users (user_id, registration, role, state, failed_logins, locked_until, created_at, \
             updated_at) VALUES {};\n\
             INSERT INTO user_terms (term, user_id) VALUES {};\n\
             INSERT INTO applications (application_id, user_id, state, consent_wrap, inner_hash, \
             certification_request, verifier_hash, failed_attempts, letter_pdf, letter_state, created_at, \
             expires_at) VALUES {};",
            users.join(", "),
            terms.join(", "),
            apps.join(", ")
        );
        db.write(|c| c.batch_execute(&sql).map_err(DbError::from))
            .expect("populate");
    }
    if backend == Backend::Postgres {
        // As autovacuum would, after a load this size.
        db.write(|c| c.batch_execute("ANALYZE").map_err(DbError::from))
            .expect("analyze");
    }
}

/// Runs a query on a database of the people given; answers the rows found.
type Run = Box<dyn Fn(&Database, People) -> usize>;

/// A page query of the help desk's.
struct Query {
    name: &'static str,
    run: Run,
}

fn search(words: &[String], state: Option<UserState>, after: Option<After>) -> UserSearch {
    UserSearch {
        words: words.to_vec(),
        state,
        after,
        limit: 50,
    }
}

fn users_query(name: &'static str, make: impl Fn(People) -> UserSearch + 'static) -> Query {
    Query {
        name,
        run: Box::new(move |db, people| {
            let search = make(people);
            db.read(|c| user_terms::page(c, &search)).expect("users").users.len()
        }),
    }
}

fn queries() -> Vec<Query> {
    let middle = |people: People| people.0 / 2;
    vec![
        Query {
            name: "letters, first page",
            run: Box::new(|db, _| {
                db.read(|c| applications::letters_to_send(c, None, 51))
                    .expect("letters")
                    .len()
            }),
        },
        Query {
            name: "letters, a page from the middle",
            run: Box::new(move |db, people| {
                let after = (
                    1_700_000_000 + middle(people) as i64,
                    format!("{:032x}", middle(people)),
                );
                db.read(|c| applications::letters_to_send(c, Some(&after), 51))
                    .expect("letters")
                    .len()
            }),
        },
        users_query("everyone, first page", |_| search(&[], None, None)),
        users_query("everyone, a page from the middle", move |people| {
            search(&[], None, Some(After::Id(user_id(middle(people)))))
        }),
        users_query("everyone re-registering (5 %)", |_| {
            search(&[], Some(UserState::Reset), None)
        }),
        users_query("a surname (50 people)", move |people| {
            search(&[people.surname(middle(people))], None, None)
        }),
        users_query("a forename and a surname", move |people| {
            let i = middle(people);
            search(&[people.forename(i), people.surname(i)], None, None)
        }),
        users_query("the beginning of an id (100 people)", move |people| {
            search(&[user_id(middle(people))[..6].to_owned()], None, None)
        }),
        users_query("a mail domain (1,000 people)", |_| {
            search(&["bank0.example".to_owned()], None, None)
        }),
        users_query("a mail domain, a page from the middle", move |people| {
            let domains = (people.0 / 1_000).max(1);
            let after = After::Term {
                word: 0,
                term: "bank0.example".to_owned(),
                user_id: user_id(middle(people) / domains * domains),
            };
            search(&["bank0.example".to_owned()], None, Some(after))
        }),
        users_query("a mail domain, re-registering (50 people)", |_| {
            search(&["bank0.example".to_owned()], Some(UserState::Reset), None)
        }),
        users_query("every domain, revoked (nobody): one request's walk", |_| {
            search(&["bank".to_owned()], Some(UserState::Revoked), None)
        }),
    ]
}

/// Median and 99th percentile of a query's time, and the rows it found.
type Timing = (Duration, Duration, usize);

/// Median and 99th percentile of `RUNS` runs, after a few unmeasured.
fn time(query: &Query, db: &Database, people: People) -> Timing {
    let mut found = 0;
    for _ in 0..5 {
        found = (query.run)(db, people);
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box((query.run)(db, people));
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[RUNS * 99 / 100], found)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Times every query on a database of `people`, made by `open`.
fn measure(open: &dyn Fn() -> Database, people: People) -> (Vec<Timing>, Duration) {
    let db = open();
    let started = Instant::now();
    populate(&db, people);
    let populating = started.elapsed();
    (queries().iter().map(|q| time(q, &db, people)).collect(), populating)
}

fn run_backend(label: &str, open: &dyn Fn() -> Database, largest: usize) {
    let small = People(1_000);
    let large = People(largest);
    let (at_small, _) = measure(open, small);
    let (at_large, populating) = measure(open, large);
    println!(
        "\n{label}: {} and {} people ({populating:.1?} to add the larger)\n",
        small.0, large.0
    );
    println!(
        "| query | rows | {} people: p50, p99 | {} people: p50, p99 | ratio of p50s |",
        small.0, large.0
    );
    println!("| --- | --- | --- | --- | --- |");
    for ((query, small), large) in queries().iter().zip(&at_small).zip(&at_large) {
        println!(
            "| {} | {} / {} | {}, {} | {}, {} | {:.2} |",
            query.name,
            small.2,
            large.2,
            ms(small.0),
            ms(small.1),
            ms(large.0),
            ms(large.1),
            large.0.as_secs_f64() / small.0.as_secs_f64()
        );
    }
}

fn main() {
    let largest = std::env::var("SIGNET_BENCH_LARGEST")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let made = std::cell::Cell::new(0);
    let sqlite = || {
        made.set(made.get() + 1);
        let path = dir.path().join(format!("lists-{}.db", made.get()));
        db::open(&path.display().to_string()).expect("SQLite")
    };
    run_backend("SQLite", &sqlite, largest);
    match std::env::var("SIGNET_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let scratch = std::cell::RefCell::new(Vec::new());
            let postgres = || {
                let database = signet_database::testing::PgDatabase::create_on(&admin_url);
                let db = db::open(&database.url).expect("PostgreSQL");
                scratch.borrow_mut().push(database);
                db
            };
            run_backend("PostgreSQL", &postgres, largest);
        }
        None => eprintln!("PostgreSQL skipped: SIGNET_BENCH_POSTGRES_URL is not set"),
    }
}
