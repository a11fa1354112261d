DROP TABLE erased_keys;
DROP TRIGGER guesses_sign_in_generation ON guesses;
DROP TABLE guesses;
