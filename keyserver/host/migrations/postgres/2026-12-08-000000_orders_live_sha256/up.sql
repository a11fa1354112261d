-- The same bytes are one order at a time, whoever submits them: an order
-- that waits or was accepted takes its SHA-256 (a rejected, cancelled or
-- expired order frees it), so a signed order sent again by another user
-- cannot be paid twice.
CREATE UNIQUE INDEX orders_live_sha256 ON orders (sha256)
    WHERE state NOT IN ('rejected', 'cancelled', 'expired');
