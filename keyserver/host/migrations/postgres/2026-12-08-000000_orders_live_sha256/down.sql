DROP INDEX orders_live_sha256;
DROP INDEX orders_live_message_id;
CREATE UNIQUE INDEX orders_live_message_id ON orders (message_id) WHERE state <> 'rejected';
