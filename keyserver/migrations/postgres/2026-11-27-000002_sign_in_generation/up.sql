-- The sign-in generation: one number that every change to what a sign-in
-- reads (users, key_records, certificates) increases, in the same
-- transaction as the change, whoever makes it (any key tier, an operator's
-- command, SQL by hand). The key tier caches record releases under the
-- generation they were read at and serves one only while the database still
-- shows that generation.
CREATE TABLE sign_in_generation (
    id BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO sign_in_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION bump_sign_in_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

-- Once per statement: a bulk change costs one update, and writers are queued
-- on the write lock already, so the row adds no contention.
CREATE TRIGGER users_sign_in_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_sign_in_generation();
CREATE TRIGGER key_records_sign_in_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON key_records
    FOR EACH STATEMENT EXECUTE FUNCTION bump_sign_in_generation();
CREATE TRIGGER certificates_sign_in_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION bump_sign_in_generation();
