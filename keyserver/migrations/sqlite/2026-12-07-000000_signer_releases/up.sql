-- Signed releases of the signing core that the key tier delivers to clients,
-- the binaries they name (by SHA-256), and operator settings (the bundled-
-- signer policy). Times are Unix seconds.
CREATE TABLE signer_releases (
    version INTEGER NOT NULL PRIMARY KEY,
    label TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    signed_release BLOB NOT NULL,
    published_at INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
) STRICT;

CREATE TABLE signer_binaries (
    sha256 TEXT NOT NULL PRIMARY KEY,
    size INTEGER NOT NULL,
    bytes BLOB NOT NULL
) STRICT;

CREATE TABLE server_settings (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
