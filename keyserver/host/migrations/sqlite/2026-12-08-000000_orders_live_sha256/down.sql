DROP INDEX orders_live_sha256;
