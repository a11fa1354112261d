-- Applications are swept once a minute for letters that ran out (see keys/sweep.rs).
CREATE INDEX applications_state_expires_at ON applications (state, expires_at);
