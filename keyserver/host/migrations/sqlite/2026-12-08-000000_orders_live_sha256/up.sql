-- A submitter's message id is taken by their orders that wait or were
-- accepted (a rejected, cancelled or expired order frees it), no longer by
-- anyone's order that was not rejected: one user cannot squat another's ids.
DROP INDEX orders_live_message_id;
CREATE UNIQUE INDEX orders_live_message_id ON orders (submitted_by, message_id)
    WHERE state NOT IN ('rejected', 'cancelled', 'expired');

-- The same bytes are one order at a time, whoever submits them: an order
-- that waits or was accepted takes its SHA-256 (a rejected, cancelled or
-- expired order frees it), so a signed order sent again by another user
-- cannot be paid twice.
CREATE UNIQUE INDEX orders_live_sha256 ON orders (sha256)
    WHERE state NOT IN ('rejected', 'cancelled', 'expired');
