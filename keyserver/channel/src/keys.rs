//! A server's own RSA keys — the key tier's, or a host application's —
//! kept as PKCS#8 PEM files (mode 0600) in its data directory and made on
//! first start:
//!
//! * `integrity.key` — signs the bootstrap document (RSASSA-PSS-SHA256), and
//!   what else the server signs (the key tier's audit events, the host's
//!   status reports);
//! * `confidentiality.key` — the sealed channel's RSA-OAEP-SHA256 key.
//!
//! The key tier's CA key is the CA's own.

use std::path::Path;

use der::pem::LineEnding;
use signet_crypto::keys::ServerKey;
use signet_schema::KeySize;
use zeroize::Zeroizing;

use signet_keyserver_web::secret_file::{SecretFileError, read_or_create_secret};

/// Loads a PKCS#8 PEM private key from `path`, generating an RSA key of
/// `size` and writing it there first if the file does not exist.
pub fn load_or_create_key(path: &Path, size: KeySize) -> Result<ServerKey, SecretFileError> {
    let invalid = |what: String| SecretFileError::Io {
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    };
    let pem = Zeroizing::new(read_or_create_secret(path, || {
        let key = ServerKey::generate(size).map_err(|e| invalid(e.to_string()))?;
        let der = key.to_pkcs8_der().map_err(|e| invalid(e.to_string()))?;
        der::pem::encode_string("PRIVATE KEY", LineEnding::LF, &der)
            .map(String::into_bytes)
            .map_err(|e| invalid(e.to_string()))
    })?);
    let (label, der) = der::pem::decode_vec(&pem).map_err(|e| invalid(format!("not a PEM file: {e}")))?;
    let der = Zeroizing::new(der);
    if label != "PRIVATE KEY" {
        return Err(invalid(format!("expected a PKCS#8 PRIVATE KEY, found {label}")));
    }
    ServerKey::from_pkcs8_der(&der).map_err(|e| invalid(e.to_string()))
}

/// The integrity and confidentiality keys.
pub struct ServerKeys {
    /// Signs audit events and the bootstrap document.
    pub integrity: ServerKey,
    /// Decrypts the sealed channel's session keys.
    pub confidentiality: ServerKey,
}

impl ServerKeys {
    /// Loads both keys from `data_dir`, making them on first start (RSA-3072).
    pub fn load_or_create(data_dir: &Path) -> Result<ServerKeys, SecretFileError> {
        Ok(ServerKeys {
            integrity: load_or_create_key(&data_dir.join("integrity.key"), KeySize::Rsa3072)?,
            confidentiality: load_or_create_key(&data_dir.join("confidentiality.key"), KeySize::Rsa3072)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_persist_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("integrity.key");
        let first = load_or_create_key(&path, KeySize::Rsa2048).expect("create");
        let again = load_or_create_key(&path, KeySize::Rsa2048).expect("load");
        assert_eq!(first.public_key(), again.public_key());
        let text = std::fs::read_to_string(&path).expect("pem");
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}
