DROP INDEX users_state_user_id;
DROP INDEX applications_letters;
CREATE INDEX applications_letter_state ON applications (letter_state);
DROP TABLE user_terms;
