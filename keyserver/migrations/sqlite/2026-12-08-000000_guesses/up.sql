-- Failed guesses at ids that keep no counter of their own: a sign-in for an
-- id no one registered, or a consent phrase for an id with no application
-- open. They are counted, delayed and locked exactly as a registered
-- person's or an application's are, so that the answers do not tell which
-- ids exist. `purpose` is 'signin' or 'consent'. Times are Unix seconds.
CREATE TABLE guesses (
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until INTEGER NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (purpose, subject)
) STRICT;
CREATE INDEX guesses_updated_at ON guesses (updated_at);

-- A failed sign-in changes the sign-in generation whoever it names, as a
-- registered person's failure (an update of `users`) does: a cached release
-- dropped after a guess says nothing about the id guessed.
CREATE TRIGGER guesses_insert_sign_in_generation AFTER INSERT ON guesses WHEN NEW.purpose = 'signin'
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER guesses_update_sign_in_generation AFTER UPDATE ON guesses WHEN NEW.purpose = 'signin'
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;

-- What remains of an erased key (revocation, help-desk reset): its salt,
-- key-derivation parameters and the keyed tag of its sign-in verifier, and
-- nothing of the key. Pre-login keeps answering the same salt, and only the
-- person who still knows the pass phrase is told that the key was erased;
-- anyone else gets the answer an unknown id gets.
CREATE TABLE erased_keys (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (user_id),
    kdf_m INTEGER NOT NULL,
    kdf_t INTEGER NOT NULL,
    kdf_p INTEGER NOT NULL,
    salt BLOB NOT NULL,
    verifier_hash BLOB NOT NULL,
    erased_at INTEGER NOT NULL
) STRICT;
