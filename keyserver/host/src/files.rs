//! The host's data directory:
//!
//! * `integrity.key`, `confidentiality.key` — its own RSA-3072 keys
//!   (PKCS#8 PEM, mode 0600), made by `signet-host keys`;
//! * `host.csr.pem` — the PKCS#10 request for the integrity key, which the
//!   key server's operator turns into a host certificate;
//! * `host-cert.pem`, `ca-cert.pem` — that certificate and the CA that
//!   issued it, installed by `signet-host certificate` after checking that
//!   they belong together (issuer and signature, the "Signet host" extended
//!   key usage, the integrity key's public half);
//! * `host.db` — the SQLite database, unless another is configured;
//! * `tls/` — the self-signed TLS certificate, unless one is configured.

use std::path::Path;

use der::{Decode, DecodePem, Encode, EncodePem};
use signet_crypto::keys::{PublicKey, ServerKey};
use signet_crypto::pki;
use x509_cert::Certificate;

/// The certification request for the integrity key.
pub const REQUEST_FILE: &str = "host.csr.pem";
/// The host's certificate.
pub const CERTIFICATE_FILE: &str = "host-cert.pem";
/// The CA certificate.
pub const CA_FILE: &str = "ca-cert.pem";
/// The SQLite database.
pub const DATABASE_FILE: &str = "host.db";

/// What `signet-host certificate` installed.
#[derive(Clone, Debug)]
pub struct Installed {
    /// The host's name (its certificate's CN).
    pub name: String,
    /// The host's certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The CA's, DER.
    pub ca_der: Vec<u8>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn certificate_from(bytes: &[u8], path: &Path) -> Result<Certificate, String> {
    Certificate::from_pem(bytes)
        .or_else(|_| Certificate::from_der(bytes))
        .map_err(|e| format!("{}: not a certificate: {e}", path.display()))
}

/// Writes the certification request for the integrity key, subject
/// `CN=<name>`, to `host.csr.pem`; answers the file's path.
pub fn write_request(data_dir: &Path, integrity: &ServerKey, name: &str) -> Result<std::path::PathBuf, String> {
    use const_oid::db::rfc4519::COMMON_NAME;
    let subject = signet_crypto::csr::name_of(vec![(
        COMMON_NAME,
        signet_crypto::csr::utf8(name).map_err(|e| e.to_string())?,
    )])
    .map_err(|e| e.to_string())?;
    let der = signet_crypto::csr::certification_request_for(integrity, subject).map_err(|e| e.to_string())?;
    let pem =
        der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der).map_err(|e| e.to_string())?;
    let path = data_dir.join(REQUEST_FILE);
    signet_keyserver_web::secret_file::write_atomically(&path, pem.as_bytes(), 0o644).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Checks that `certificate` is a host certificate `ca` issued for the
/// integrity key, and answers the host's name.
fn check_pair(certificate: &Certificate, ca: &Certificate, integrity: &ServerKey) -> Result<String, String> {
    if !pki::issued_by(certificate, ca) {
        return Err("the certificate was not issued by this CA".into());
    }
    if !pki::has_extended_key_usage(certificate, pki::ID_KP_SIGNET_HOST) {
        return Err("the certificate is not a host certificate (no \"Signet host\" extended key usage)".into());
    }
    let certified = PublicKey::from_certificate(certificate).map_err(|e| e.to_string())?;
    if certified != integrity.public_key() {
        return Err("the certificate is for another key than this host's integrity key".into());
    }
    let name = pki::common_name_of(certificate).ok_or("the certificate names no host (no single CN)")?;
    Ok(name)
}

/// Installs the host certificate and the CA certificate from the files
/// given, after [`check_pair`]; answers the host's name.
pub fn install(
    data_dir: &Path,
    integrity: &ServerKey,
    certificate_file: &Path,
    ca_file: &Path,
) -> Result<String, String> {
    let certificate = certificate_from(&read(certificate_file)?, certificate_file)?;
    let ca = certificate_from(&read(ca_file)?, ca_file)?;
    let name = check_pair(&certificate, &ca, integrity)?;
    for (cert, file) in [(&ca, CA_FILE), (&certificate, CERTIFICATE_FILE)] {
        let pem = cert.to_pem(der::pem::LineEnding::LF).map_err(|e| e.to_string())?;
        signet_keyserver_web::secret_file::write_atomically(&data_dir.join(file), pem.as_bytes(), 0o644)
            .map_err(|e| e.to_string())?;
    }
    Ok(name)
}

/// The installed certificates, checked again against the integrity key.
pub fn installed(data_dir: &Path, integrity: &ServerKey) -> Result<Installed, String> {
    let certificate_path = data_dir.join(CERTIFICATE_FILE);
    let ca_path = data_dir.join(CA_FILE);
    if !certificate_path.exists() {
        return Err(format!(
            "{}: no host certificate installed; run `signet-host keys`, have the key server's operator certify {}, \
             then `signet-host certificate`",
            certificate_path.display(),
            data_dir.join(REQUEST_FILE).display()
        ));
    }
    let certificate = certificate_from(&read(&certificate_path)?, &certificate_path)?;
    let ca = certificate_from(&read(&ca_path)?, &ca_path)?;
    let name = check_pair(&certificate, &ca, integrity).map_err(|e| format!("{}: {e}", certificate_path.display()))?;
    Ok(Installed {
        name,
        certificate_der: certificate.to_der().map_err(|e| e.to_string())?,
        ca_der: ca.to_der().map_err(|e| e.to_string())?,
    })
}
