-- A user's active certificate is looked up on every sign-in: one index on
-- both columns, so the planner never walks every active certificate through
-- the status index (which SQLite, without statistics, prefers).
DROP INDEX certificates_user_id;
CREATE INDEX certificates_user_id_status ON certificates (user_id, status);
