//! Queries on `user_terms`, the help desk's search index, and the search
//! itself.
//!
//! A person's terms are their lower-cased id, e-mail address and its domain,
//! and the words of their name. A search walks the terms that begin with its
//! rarest word (its *driver*, see [`choose_driver`]) in index order,
//! `(term, user_id)`, checks the
//! person's state and other words on each, and keeps a person once, at
//! their first matching term: a page costs the page, whatever the number of
//! people, and results come in the order of the words matched. When the
//! other conditions together match few, a request examines at most [`WALK`]
//! terms and answers a short page with where to go on. A listing without
//! words walks people in id order (the primary key, or the `(state,
//! user_id)` index). Neither depends on table statistics SQLite may not have.

use std::collections::{BTreeMap, BTreeSet};

use diesel::dsl::exists;
use diesel::prelude::*;

use diesel::sql_types::Bool;

use super::super::MultiBackend;
use super::{AnyConnection, DbError, User, UserState, schema};
use schema::user_terms::dsl as terms;
use schema::users::dsl as users;

/// The most terms one search request examines.
pub const WALK: usize = 2_000;

/// The most terms counted per word when a search of several words chooses
/// its driver.
pub const PROBE: usize = 500;

/// Where a page of the search goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum After {
    /// A listing without words: after this user id.
    Id(String),
    /// A search: after this term of this person, in `(term, user_id)` order.
    Term {
        /// Which of the search's words drives it (chosen on the first page
        /// and kept, so that a page goes on where the last one ended).
        word: usize,
        /// The driver's term.
        term: String,
        /// The person it belongs to.
        user_id: String,
    },
}

impl After {
    /// Whether this cursor can go on with a search for `words`: an
    /// [`After::Id`] without words, an [`After::Term`] whose term begins
    /// with the word it names.
    pub fn fits(&self, words: &[String]) -> bool {
        match self {
            After::Id(_) => words.is_empty(),
            After::Term { word, term, .. } => words.get(*word).is_some_and(|w| term.starts_with(w.as_str())),
        }
    }
}

/// What the help desk searches for; see [`page`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// Lower-cased words, each the beginning of one of the person's terms.
    pub words: Vec<String>,
    /// Only people in this state.
    pub state: Option<UserState>,
    /// Where the previous page ended: [`After::Id`] for a listing without
    /// words, [`After::Term`] for a search.
    pub after: Option<After>,
    /// At most this many.
    pub limit: usize,
}

/// One page of a search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// People, at most `limit`: in id order for a listing, in the order of
    /// the terms matched for a search.
    pub users: Vec<User>,
    /// Where the next page goes on; `None` on the last. A search that
    /// examined [`WALK`] terms answers a page shorter than `limit` (even
    /// empty) with a `next`.
    pub next: Option<After>,
}

/// The terms a person is found by: lower-cased id, e-mail address and its
/// domain, and the words of the name (whole, and split at hyphens and other
/// punctuation).
pub fn terms_of(user_id: &str, common_name: &str, email: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(user_id.to_lowercase());
    let email = email.to_lowercase();
    if let Some((_, domain)) = email.split_once('@') {
        out.insert(domain.to_owned());
    }
    if !email.is_empty() {
        out.insert(email);
    }
    for word in common_name.to_lowercase().split_whitespace() {
        out.insert(word.to_owned());
        out.extend(
            word.split(|c: char| !c.is_alphanumeric())
                .filter(|part| !part.is_empty())
                .map(str::to_owned),
        );
    }
    out
}

/// Indexes a person: their [`terms_of`] `registration` (the JSON of a
/// `RegistrationData` stored in `users`; a field missing is no term, and a
/// registration that is not JSON at all leaves the id alone, logged).
pub fn index(c: &mut AnyConnection, user_id: &str, registration: &str) -> Result<(), DbError> {
    let registration: serde_json::Value = serde_json::from_str(registration).unwrap_or_else(|e| {
        tracing::warn!(user_id, error = %e, "registration data is not JSON: the person is found by id alone");
        serde_json::Value::Null
    });
    let field = |name: &str| {
        registration
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    for term in terms_of(user_id, &field("common_name"), &field("email")) {
        diesel::insert_into(terms::user_terms)
            .values((terms::term.eq(term), terms::user_id.eq(user_id)))
            .execute(c)?;
    }
    Ok(())
}

/// Removes a person from the index.
pub fn forget(c: &mut AnyConnection, user_id: &str) -> Result<(), DbError> {
    diesel::delete(terms::user_terms.filter(terms::user_id.eq(user_id))).execute(c)?;
    Ok(())
}

/// Indexes up to `limit` people who have no terms yet (registered before the
/// index existed) and answers how many.
pub fn index_missing(c: &mut AnyConnection, limit: i64) -> Result<usize, DbError> {
    let missing: Vec<(String, String)> = users::users
        .filter(diesel::dsl::not(exists(
            terms::user_terms.filter(terms::user_id.eq(users::user_id)),
        )))
        .select((users::user_id, users::registration))
        .order(users::user_id)
        .limit(limit)
        .load(c)?;
    for (user_id, registration) in &missing {
        index(c, user_id, registration)?;
    }
    Ok(missing.len())
}

/// The range of terms that begin with `word`: from `word` up to, not
/// including, the next string in code-point order that does not begin with
/// it. (A word of U+10FFFF alone has no such string; the help desk's words
/// never hold that non-character, see `staff::search_words`.)
pub fn prefix_range(word: &str) -> (String, String) {
    let mut end: Vec<char> = word.chars().collect();
    while let Some(last) = end.pop() {
        // The next scalar value: past the surrogates, and none after U+10FFFF.
        if let Some(next) = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32) {
            end.push(next);
            return (word.to_owned(), end.into_iter().collect());
        }
    }
    (word.to_owned(), format!("{word}{}", char::MAX))
}

/// The search's driver: of `words`, the one that begins the fewest terms
/// (counted up to [`PROBE`]), of those the longest, of those the first. The
/// words are counted longest first, each only as far as the fewest counted
/// so far, so choosing reads at most `PROBE` index entries per word, and
/// nothing for a single word.
pub fn choose_driver(c: &mut AnyConnection, words: &[String]) -> Result<usize, DbError> {
    if words.len() < 2 {
        return Ok(0);
    }
    let mut order: Vec<usize> = (0..words.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(words[i].chars().count()), i));
    let mut best: Option<(usize, usize)> = None;
    for i in order {
        let cap = best.map_or(PROBE, |(fewest, _)| fewest);
        if cap == 0 {
            break;
        }
        let (from, to) = prefix_range(&words[i]);
        let counted = terms::user_terms
            .select(terms::user_id)
            .filter(terms::term.ge(from).and(terms::term.lt(to)))
            .limit(cap as i64)
            .load::<String>(c)?
            .len();
        if best.is_none_or(|(fewest, _)| counted < fewest) {
            best = Some((counted, i));
        }
    }
    Ok(best.map_or(0, |(_, i)| i))
}

/// One page of people: those in `search.state` with a term beginning with
/// each of `search.words`, after `search.after`.
pub fn page(c: &mut AnyConnection, search: &UserSearch) -> Result<Found, DbError> {
    page_with(c, search, WALK)
}

/// [`page`], examining at most `walk` terms (so that tests can reach the
/// walk's end on a few people).
#[doc(hidden)]
pub fn page_with(c: &mut AnyConnection, search: &UserSearch, walk: usize) -> Result<Found, DbError> {
    if let Some(after) = &search.after
        && !after.fits(&search.words)
    {
        return Err(DbError::Other(format!(
            "the cursor {after:?} is not one of a search for {:?}",
            search.words
        )));
    }
    if search.words.is_empty() {
        return listing(c, search);
    }
    let driver = match &search.after {
        Some(After::Term { word, .. }) => *word,
        Some(After::Id(_)) | None => choose_driver(c, &search.words)?,
    };
    matching(c, search, driver, walk)
}

/// People in id order, optionally in one state (a range of the primary key
/// or of the `(state, user_id)` index).
fn listing(c: &mut AnyConnection, search: &UserSearch) -> Result<Found, DbError> {
    let mut query = users::users
        .select(User::as_select())
        .order(users::user_id)
        .limit(search.limit as i64 + 1)
        .into_boxed();
    match &search.after {
        Some(After::Id(after)) => query = query.filter(users::user_id.gt(after.clone())),
        Some(After::Term { .. }) | None => {}
    }
    if let Some(state) = search.state {
        query = query.filter(users::state.eq(state.as_str()));
    }
    let mut users: Vec<User> = query.load(c)?;
    let next = (users.len() > search.limit).then(|| {
        users.truncate(search.limit);
        users.last().map(|u| After::Id(u.user_id.clone()))
    });
    Ok(Found {
        users,
        next: next.flatten(),
    })
}

/// A search: the driver's terms in `(term, user_id)` order, read in growing
/// chunks (index seeks, nothing else in SQL, so each chunk costs its size);
/// of each chunk, the people with every other word and in the state asked
/// for are kept, each at their first matching term; until the page is full,
/// the terms run out or `walk` terms were read.
fn matching(c: &mut AnyConnection, search: &UserSearch, word: usize, walk: usize) -> Result<Found, DbError> {
    let driver = search.words[word].as_str();
    let (from, to) = prefix_range(driver);
    let mut at = match &search.after {
        Some(After::Term { term, user_id, .. }) => Some((term.clone(), user_id.clone())),
        Some(After::Id(_)) | None => None,
    };
    let others: Vec<(String, String)> = search
        .words
        .iter()
        .filter(|w| w.as_str() != driver)
        .map(|w| prefix_range(w))
        .collect();
    let mut kept: Vec<(String, User)> = Vec::new();
    let mut examined = 0;
    let mut chunk = ((search.limit + 1) * 2).min(walk).max(1);
    loop {
        let rows = driver_terms(c, (&from, &to), at.as_ref(), chunk)?;
        let exhausted = rows.len() < chunk;
        examined += rows.len();
        at = rows.last().cloned().or(at);
        // Each person's terms: for the other words, and to keep them once.
        let ids: BTreeSet<&str> = rows.iter().map(|(_, id)| id.as_str()).collect();
        let mut terms_of_person: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut searched: Box<dyn BoxableExpression<terms::user_terms, MultiBackend, SqlType = Bool>> =
            Box::new(terms::term.ge(from.clone()).and(terms::term.lt(to.clone())));
        for (from, to) in &others {
            searched = Box::new(searched.or(terms::term.ge(from.clone()).and(terms::term.lt(to.clone()))));
        }
        let found: Vec<(String, String)> = terms::user_terms
            .select((terms::user_id, terms::term))
            .filter(terms::user_id.eq_any(ids.iter().copied()))
            .filter(searched)
            .load(c)?;
        for (user_id, term) in found {
            terms_of_person.entry(user_id).or_default().push(term);
        }
        let mut wanted: Vec<(String, String)> = rows
            .into_iter()
            .filter(|(term, user_id)| {
                let theirs = terms_of_person.get(user_id).map(Vec::as_slice).unwrap_or_default();
                let first = theirs.iter().filter(|t| in_range(t, (&from, &to))).min();
                first == Some(term) && others.iter().all(|(f, t)| theirs.iter().any(|x| in_range(x, (f, t))))
            })
            .collect();
        // The state from the ids alone; whole rows only for the page.
        if let Some(state) = search.state {
            let in_state: BTreeSet<String> = users::users
                .select(users::user_id)
                .filter(users::user_id.eq_any(wanted.iter().map(|(_, id)| id.as_str())))
                .filter(users::state.eq(state.as_str()))
                .load::<String>(c)?
                .into_iter()
                .collect();
            wanted.retain(|(_, id)| in_state.contains(id));
        }
        wanted.truncate(search.limit + 1 - kept.len());
        let mut people: BTreeMap<String, User> = users::users
            .select(User::as_select())
            .filter(users::user_id.eq_any(wanted.iter().map(|(_, id)| id.as_str())))
            .load::<User>(c)?
            .into_iter()
            .map(|user| (user.user_id.clone(), user))
            .collect();
        kept.extend(
            wanted
                .into_iter()
                .filter_map(|(term, user_id)| people.remove(&user_id).map(|user| (term, user))),
        );
        if kept.len() > search.limit {
            kept.truncate(search.limit);
            let next = kept.last().map(|(term, user)| After::Term {
                word,
                term: term.clone(),
                user_id: user.user_id.clone(),
            });
            return Ok(Found {
                users: kept.into_iter().map(|(_, user)| user).collect(),
                next,
            });
        }
        if exhausted || examined >= walk {
            let next = (!exhausted)
                .then(|| at.map(|(term, user_id)| After::Term { word, term, user_id }))
                .flatten();
            return Ok(Found {
                users: kept.into_iter().map(|(_, user)| user).collect(),
                next,
            });
        }
        chunk = (chunk * 2).min(walk - examined).max(1);
    }
}

fn in_range(term: &str, (from, to): (&str, &str)) -> bool {
    from <= term && term < to
}

/// Up to `count` of the terms in `from..to` with their people, in `(term,
/// user_id)` order, after `at`: the rest of `at`'s term, then the terms
/// after it, each an index seek (neither SQL seeks on a row value's second
/// column).
fn driver_terms(
    c: &mut AnyConnection,
    (from, to): (&str, &str),
    at: Option<&(String, String)>,
    count: usize,
) -> Result<Vec<(String, String)>, DbError> {
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Some((term, user_id)) = at {
        rows = terms::user_terms
            .select((terms::term, terms::user_id))
            .filter(terms::term.eq(term).and(terms::user_id.gt(user_id)))
            .order(terms::user_id)
            .limit(count as i64)
            .load(c)?;
    }
    if rows.len() < count {
        let mut rest = terms::user_terms
            .select((terms::term, terms::user_id))
            .filter(terms::term.ge(from).and(terms::term.lt(to)))
            .order((terms::term, terms::user_id))
            .limit((count - rows.len()) as i64)
            .into_boxed();
        if let Some((term, _)) = at {
            rest = rest.filter(terms::term.gt(term.clone()));
        }
        rows.extend(rest.load::<(String, String)>(c)?);
    }
    Ok(rows)
}
