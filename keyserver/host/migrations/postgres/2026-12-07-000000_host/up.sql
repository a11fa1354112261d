-- The host application's tables. Times are Unix seconds; amounts are exact
-- decimals kept as text.

-- Account mandates: who may sign for which debtor account, with which
-- EBICS signature class (E, A, B, T) and up to which amount per order.
CREATE TABLE mandates (
    iban TEXT NOT NULL,
    user_id TEXT NOT NULL,
    class TEXT NOT NULL,
    amount_limit TEXT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (iban, user_id)
);
CREATE INDEX mandates_user_id ON mandates (user_id);

-- Orders received, with their exact bytes and the latest signed status report.
CREATE TABLE orders (
    order_id TEXT NOT NULL PRIMARY KEY,
    message_id TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    sha256 TEXT NOT NULL,
    payments BIGINT NOT NULL,
    totals TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    state TEXT NOT NULL,
    reason_code TEXT NULL,
    reason TEXT NULL,
    received_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    report_xml BYTEA NOT NULL,
    report_signature BYTEA NOT NULL
);
-- A message id is taken by any order that was not rejected.
CREATE UNIQUE INDEX orders_live_message_id ON orders (message_id) WHERE state <> 'rejected';
CREATE INDEX orders_state_expires ON orders (state, expires_at);
CREATE INDEX orders_submitted_by ON orders (submitted_by);

-- The debtor accounts each order draws on, with its total per account.
CREATE TABLE order_accounts (
    order_id TEXT NOT NULL REFERENCES orders (order_id),
    iban TEXT NOT NULL,
    total TEXT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (order_id, iban)
);
CREATE INDEX order_accounts_iban ON order_accounts (iban);

-- Every signature an order holds: detached CMS over the order's bytes.
CREATE TABLE order_signatures (
    order_id TEXT NOT NULL REFERENCES orders (order_id),
    user_id TEXT NOT NULL,
    class TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    signature BYTEA NOT NULL,
    signing_time BIGINT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (order_id, user_id)
);
CREATE INDEX order_signatures_user_id ON order_signatures (user_id);

-- Nonces of signed requests, kept until their time stamp is too old anyway.
CREATE TABLE nonces (
    nonce TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- The latest CRL the host fetched and verified (one row).
CREATE TABLE crl (
    id BIGINT NOT NULL PRIMARY KEY,
    der BYTEA NOT NULL,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    fetched_at BIGINT NOT NULL
);
