DROP INDEX certificates_user_id_status;
CREATE INDEX certificates_user_id ON certificates (user_id);
