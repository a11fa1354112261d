-- The help desk's user search, answered from an index: each person's
-- lower-cased id, e-mail address, its domain and the words of their name,
-- one row per term. A search word matches the terms it begins (a range on
-- the primary key); further words are checked per person on the second
-- index. Rows are written with the person (keys/db/models.rs, `user_terms`);
-- people registered before this table are indexed when the key tier starts.
CREATE TABLE user_terms (
    term TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    PRIMARY KEY (term, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_terms_user_id_term ON user_terms (user_id, term);

-- The help desk's list of the people in one state, in id order.
CREATE INDEX users_state_user_id ON users (state, user_id);

-- The help desk's letters, a page at a time in order of application: one
-- range of this index per letter state.
DROP INDEX applications_letter_state;
CREATE INDEX applications_letters ON applications (letter_state, state, created_at, application_id);
