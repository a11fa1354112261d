-- Signet key server tables, SQLite.
-- STRICT tables make SQLite refuse a value of the wrong type. INTEGER is SQLite's 8-byte integer, the same
-- range as PostgreSQL's BIGINT, so both backends load i64 (STRICT tables do not accept the name BIGINT).
-- Times are Unix seconds.

CREATE TABLE users (
    user_id TEXT NOT NULL PRIMARY KEY,
    registration TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE key_records (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (user_id),
    sealed_record BLOB NOT NULL,
    kdf_m INTEGER NOT NULL,
    kdf_t INTEGER NOT NULL,
    kdf_p INTEGER NOT NULL,
    salt BLOB NOT NULL,
    verifier_hash BLOB NOT NULL,
    public_key_fingerprint BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE applications (
    application_id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    state TEXT NOT NULL,
    consent_wrap BLOB NOT NULL,
    inner_hash BLOB NOT NULL,
    certification_request BLOB NOT NULL,
    verifier_hash BLOB NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    letter_pdf BLOB NULL,
    letter_state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX applications_user_id_created_at ON applications (user_id, created_at);
CREATE INDEX applications_letter_state ON applications (letter_state);

CREATE TABLE certificates (
    serial TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    der BLOB NOT NULL,
    sha256_fingerprint TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    status TEXT NOT NULL,
    revoked_at INTEGER NULL,
    revocation_reason TEXT NULL,
    issued_at INTEGER NOT NULL
) STRICT;
CREATE INDEX certificates_user_id ON certificates (user_id);
CREATE INDEX certificates_status ON certificates (status);
CREATE INDEX certificates_issued_at ON certificates (issued_at);

CREATE TABLE crls (
    crl_number INTEGER NOT NULL PRIMARY KEY,
    der BLOB NOT NULL,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL
) STRICT;

CREATE TABLE nonces (
    nonce TEXT NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE events (
    seq INTEGER NOT NULL PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    signature BLOB NOT NULL
) STRICT;
CREATE INDEX events_subject ON events (subject);
CREATE INDEX events_at ON events (at);
