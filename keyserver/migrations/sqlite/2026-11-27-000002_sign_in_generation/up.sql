-- The sign-in generation: one number that every change to what a sign-in
-- reads (users, key_records, certificates) increases, in the same
-- transaction as the change, whoever makes it. The key tier caches record
-- releases under the generation they were read at and serves one only while
-- the database still shows that generation.
CREATE TABLE sign_in_generation (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
) STRICT;
INSERT INTO sign_in_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER users_insert_sign_in_generation AFTER INSERT ON users
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_sign_in_generation AFTER UPDATE ON users
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_sign_in_generation AFTER DELETE ON users
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;

CREATE TRIGGER key_records_insert_sign_in_generation AFTER INSERT ON key_records
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER key_records_update_sign_in_generation AFTER UPDATE ON key_records
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER key_records_delete_sign_in_generation AFTER DELETE ON key_records
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;

CREATE TRIGGER certificates_insert_sign_in_generation AFTER INSERT ON certificates
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER certificates_update_sign_in_generation AFTER UPDATE ON certificates
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER certificates_delete_sign_in_generation AFTER DELETE ON certificates
BEGIN UPDATE sign_in_generation SET generation = generation + 1 WHERE id = 1; END;
