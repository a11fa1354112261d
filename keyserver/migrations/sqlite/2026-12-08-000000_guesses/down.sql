DROP TABLE erased_keys;
DROP TRIGGER guesses_update_sign_in_generation;
DROP TRIGGER guesses_insert_sign_in_generation;
DROP TABLE guesses;
