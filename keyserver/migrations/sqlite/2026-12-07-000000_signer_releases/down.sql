DROP TABLE server_settings;
DROP TABLE signer_binaries;
DROP TABLE signer_releases;
