DROP TABLE events;
DROP TABLE nonces;
DROP TABLE crls;
DROP TABLE certificates;
DROP TABLE applications;
DROP TABLE key_records;
DROP TABLE users;
