-- Signed releases of the signing core that the key tier delivers to clients,
-- the binaries they name (by SHA-256), and operator settings (the bundled-
-- signer policy). The same shape as the SQLite migration. Times are Unix seconds.
CREATE TABLE signer_releases (
    version BIGINT NOT NULL PRIMARY KEY,
    label TEXT NOT NULL,
    protocol_version BIGINT NOT NULL,
    signed_release BYTEA NOT NULL,
    published_at BIGINT NOT NULL,
    stored_at BIGINT NOT NULL
);

CREATE TABLE signer_binaries (
    sha256 TEXT NOT NULL PRIMARY KEY,
    size BIGINT NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE TABLE server_settings (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
