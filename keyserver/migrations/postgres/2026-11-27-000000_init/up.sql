-- Signet key server tables, PostgreSQL: the same shape as the SQLite migration (BIGINT, TEXT, BYTEA).
-- Times are Unix seconds.

CREATE TABLE users (
    user_id TEXT NOT NULL PRIMARY KEY,
    registration TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE key_records (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (user_id),
    sealed_record BYTEA NOT NULL,
    kdf_m BIGINT NOT NULL,
    kdf_t BIGINT NOT NULL,
    kdf_p BIGINT NOT NULL,
    salt BYTEA NOT NULL,
    verifier_hash BYTEA NOT NULL,
    public_key_fingerprint BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE applications (
    application_id TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id),
    state TEXT NOT NULL,
    consent_wrap BYTEA NOT NULL,
    inner_hash BYTEA NOT NULL,
    certification_request BYTEA NOT NULL,
    verifier_hash BYTEA NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    letter_pdf BYTEA NULL,
    letter_state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX applications_user_id_created_at ON applications (user_id, created_at);
CREATE INDEX applications_letter_state ON applications (letter_state);

CREATE TABLE certificates (
    serial TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    der BYTEA NOT NULL,
    sha256_fingerprint TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    status TEXT NOT NULL,
    revoked_at BIGINT NULL,
    revocation_reason TEXT NULL,
    issued_at BIGINT NOT NULL
);
CREATE INDEX certificates_user_id ON certificates (user_id);
CREATE INDEX certificates_status ON certificates (status);
CREATE INDEX certificates_issued_at ON certificates (issued_at);

CREATE TABLE crls (
    crl_number BIGINT NOT NULL PRIMARY KEY,
    der BYTEA NOT NULL,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL
);

CREATE TABLE nonces (
    nonce TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE events (
    seq BIGINT NOT NULL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NULL,
    detail TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    signature BYTEA NOT NULL
);
CREATE INDEX events_subject ON events (subject);
CREATE INDEX events_at ON events (at);
