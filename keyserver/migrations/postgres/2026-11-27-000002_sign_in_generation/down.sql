DROP TRIGGER users_sign_in_generation ON users;
DROP TRIGGER key_records_sign_in_generation ON key_records;
DROP TRIGGER certificates_sign_in_generation ON certificates;
DROP FUNCTION bump_sign_in_generation();
DROP TABLE sign_in_generation;
