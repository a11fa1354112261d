//! Queries on `user_terms`, the help desk's search index, and the search
//! itself: a page of people in id order whose terms begin with every word
//! searched for.
//!
//! A person's terms are their lower-cased id, e-mail address and its domain,
//! and the words of their name. A page is found one of two ways, chosen per
//! search by how many terms begin with its rarest word (counted up to
//! [`DENSE`]):
//!
//! * few: those terms' people are looked up by id (the rarest word drives an
//!   `IN` list from the term index), the other words checked per person;
//! * many: people are walked in id order from the page's start, each checked
//!   on the `(user_id, term)` index, until the page is full — with at least
//!   [`DENSE`] of them matching, that is soon.
//!
//! Either way a page costs about the same whatever the number of people, and
//! neither shape depends on table statistics SQLite may not have.

use std::collections::BTreeSet;

use diesel::dsl::exists;
use diesel::prelude::*;

use super::{AnyConnection, DbError, User, UserState, schema};
use schema::user_terms::dsl as terms;
use schema::users::dsl as users;

/// From this many terms beginning with the rarest word on, a search walks
/// people in id order instead of looking up every match. The two shapes'
/// worst cases meet near √(page × people); 5,000 keeps both within a few
/// milliseconds at a million people.
pub const DENSE: i64 = 5_000;

/// What the help desk searches for; see [`page`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// Lower-cased words, each the beginning of one of the person's terms.
    pub words: Vec<String>,
    /// Only people in this state.
    pub state: Option<UserState>,
    /// Only ids after this one (the previous page's last).
    pub after: Option<String>,
    /// At most this many.
    pub limit: i64,
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
/// `RegistrationData` stored in `users`; a field missing is no term).
pub fn index(c: &mut AnyConnection, user_id: &str, registration: &str) -> Result<(), DbError> {
    let registration: serde_json::Value =
        serde_json::from_str(registration).map_err(|e| DbError::Corrupt(format!("registration of {user_id}: {e}")))?;
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

/// How many terms begin with `word`, counting no further than `cap`.
pub fn count_up_to(c: &mut AnyConnection, word: &str, cap: i64) -> Result<i64, DbError> {
    let (from, to) = prefix_range(word);
    let found: Vec<String> = terms::user_terms
        .select(terms::user_id)
        .filter(terms::term.ge(from).and(terms::term.lt(to)))
        .limit(cap)
        .load(c)?;
    Ok(found.len() as i64)
}

/// One page of people in id order: those after `search.after`, in
/// `search.state`, with a term beginning with each of `search.words`.
pub fn page(c: &mut AnyConnection, search: &UserSearch) -> Result<Vec<User>, DbError> {
    page_with(c, search, DENSE)
}

/// [`page`], walking people in id order from `dense` matches of the rarest
/// word on (so that tests and benchmarks can compare the two shapes).
#[doc(hidden)]
pub fn page_with(c: &mut AnyConnection, search: &UserSearch, dense: i64) -> Result<Vec<User>, DbError> {
    let mut query = users::users
        .select(User::as_select())
        .order(users::user_id)
        .limit(search.limit)
        .into_boxed();
    if let Some(after) = &search.after {
        query = query.filter(users::user_id.gt(after.clone()));
    }
    if let Some(state) = search.state {
        query = query.filter(users::state.eq(state.as_str()));
    }
    // The rarest word drives when it is rare enough; the others are checked per person.
    let mut counted = Vec::with_capacity(search.words.len());
    for word in &search.words {
        counted.push((count_up_to(c, word, dense)?, word));
    }
    counted.sort();
    for (i, (count, word)) in counted.into_iter().enumerate() {
        let (from, to) = prefix_range(word);
        let in_range = terms::term.ge(from).and(terms::term.lt(to));
        if i == 0 && count < dense {
            let matching = terms::user_terms.select(terms::user_id).filter(in_range);
            query = query.filter(users::user_id.eq_any(matching));
        } else {
            let of_this_user = terms::user_terms.filter(terms::user_id.eq(users::user_id).and(in_range));
            query = query.filter(exists(of_this_user));
        }
    }
    Ok(query.load(c)?)
}
