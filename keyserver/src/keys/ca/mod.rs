//! The key tier's certification authority: one self-signed root that issues
//! users' signing certificates and signs certificate revocation lists.
//!
//! * **Key** — RSA-3072 ([`ServerKey`], the key tier's own key type), stored as an
//!   unencrypted PKCS#8 `PRIVATE KEY` PEM (RFC 5208, RFC 7468 §10) with mode
//!   0600, written atomically; the certificate next to it as PEM.
//! * **Signature algorithm** — RSASSA-PKCS1-v1_5 with SHA-256
//!   (`sha256WithRSAEncryption`, RFC 8017 §8.2, RFC 4055 §5) for the CA
//!   certificate, every user certificate and every CRL. OpenSSL 3.0 verifies
//!   RSASSA-PSS certificates and CRLs too, but PKCS#1 v1.5 is the one every
//!   relying party checks without parameter handling (host applications,
//!   Java, Windows, older OpenSSL and LibreSSL), and it is deterministic, so
//!   a CRL signed twice over the same content is the same bytes. Users' own
//!   signatures stay RSASSA-PSS (the signing core's default).
//! * **CA certificate** — X.509 v3 (RFC 5280), see [`profile::CaProfile`].
//! * **User certificates** — subject from the registration data, checked
//!   against the PKCS#10 request ([`request`]), extensions per
//!   [`profile::SigningProfile`], serial of 16 random bytes.
//! * **CRLs** — v2 (RFC 5280 §5) with cRLNumber (§5.2.3) and
//!   authorityKeyIdentifier (§5.2.1), one reasonCode per entry (§5.3.1).
//!
//! Times are Unix seconds (`i64`), as everywhere in the key server.

mod profile;
pub mod request;
mod signer;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use der::asn1::Ia5String;
use der::pem::LineEnding;
use der::referenced::OwnedToRef;
use der::{Decode, DecodePem, Encode, EncodePem};
use sha2::{Digest, Sha256};
use signet_crypto::keys::ServerKey;
use signet_schema::{KeySize, RegistrationData};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, CrlBuilder};
use x509_cert::crl::RevokedCert;
use x509_cert::ext::ToExtension;
use x509_cert::ext::pkix::{CrlNumber, CrlReason, SubjectKeyIdentifier};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use self::profile::{CaProfile, HostProfile, SigningProfile};
use self::signer::{CaSignature, CaSigner};

/// File name of the CA private key inside the CA directory.
pub const KEY_FILE: &str = "ca-key.pem";
/// File name of the CA certificate inside the CA directory.
pub const CERTIFICATE_FILE: &str = "ca-cert.pem";
/// Lifetime of a CA certificate made by [`CertificateAuthority::create`]: 20 years.
pub const CA_VALIDITY_DAYS: u32 = 20 * 365;
/// Length of a certificate serial number in bytes.
pub const SERIAL_LEN: usize = 16;

/// Why the CA refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The certification request is not a DER `CertificationRequest` (RFC 2986 §4.2).
    #[error("the certification request does not parse")]
    MalformedRequest,
    /// The request's signature does not verify with the key it carries.
    #[error("the certification request's signature does not verify")]
    BadRequestSignature,
    /// The request is signed with an algorithm the CA does not accept.
    #[error("unsupported request signature algorithm: {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The request's key is not RSA of 2048, 3072 or 4096 bits.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// The request names another subject than the registration data.
    #[error("the request's subject {requested:?} is not the registered {registered:?}")]
    SubjectMismatch {
        /// The subject in the request (RFC 4514 form).
        requested: String,
        /// The subject built from the registration data.
        registered: String,
    },
    /// The registration data is not valid.
    #[error("invalid registration data: {0}")]
    Registration(String),
    /// The key server's public address cannot be named in a certificate.
    #[error("the public address must be an https:// URL without a trailing slash, query or fragment, not {0:?}")]
    PublicUrl(String),
    /// A serial number is not 1 to 20 bytes of hexadecimal.
    #[error("invalid serial number {0:?}")]
    BadSerial(String),
    /// A time or period cannot be put in a certificate or CRL.
    #[error("invalid time: {0}")]
    Time(String),
    /// DER or PEM encoding failed.
    #[error("encoding: {0}")]
    Encoding(String),
    /// Building or signing a certificate or CRL failed.
    #[error("signing: {0}")]
    Signing(String),
    /// The operating system's random number generator failed.
    #[error("OS random number generator: {0}")]
    Random(String),
    /// A CA file is unusable (wrong content, key and certificate disagree, too open).
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing a CA file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

pub(crate) fn encoding(error: impl std::fmt::Display) -> CaError {
    CaError::Encoding(error.to_string())
}

fn signing(error: impl std::fmt::Display) -> CaError {
    CaError::Signing(error.to_string())
}

/// Why a certificate was revoked: the API's reasons, the subset of RFC 5280
/// §5.3.1 `CRLReason` the key server uses, stored by their RFC 5280 names.
pub use signet_schema::api::RevocationReason;

/// The CRL entry's reasonCode for `reason`.
fn crl_reason(reason: RevocationReason) -> CrlReason {
    match reason {
        RevocationReason::Unspecified => CrlReason::Unspecified,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
    }
}

/// One entry of a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number in hexadecimal (either case).
    pub serial_hex: String,
    /// When it was revoked (Unix seconds).
    pub revoked_at: i64,
    /// Why.
    pub reason: RevocationReason,
}

/// A certificate the CA has just issued, with what the archive stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The serial number, upper-case hexadecimal, 32 digits.
    pub serial_hex: String,
    /// SHA-256 of the DER, upper-case hexadecimal.
    pub sha256_fingerprint_hex: String,
    /// The subject in RFC 4514 form (most specific attribute first).
    pub subject: String,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
}

/// Where the key server publishes its current CRL (DER), under its public address.
pub const CRL_PATH: &str = "/v1/crl";
/// Where the key server publishes the CA certificate (DER), under its public address.
pub const CA_CERTIFICATE_PATH: &str = "/v1/ca.cer";

/// `url` as the key server's public address in certificates: `https://`,
/// ASCII, no query, fragment or trailing slash; else why not.
pub fn public_url_checked(url: &str) -> Result<&str, CaError> {
    let host = url.strip_prefix("https://").unwrap_or_default();
    let fine = !host.is_empty()
        && url.is_ascii()
        && !url.ends_with('/')
        && !url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || matches!(c, '?' | '#' | '"' | '<' | '>'));
    if fine {
        Ok(url)
    } else {
        Err(CaError::PublicUrl(url.to_owned()))
    }
}

/// The certification authority: its key and its self-signed certificate.
/// `Debug` shows the subject only.
pub struct CertificateAuthority {
    key: ServerKey,
    certificate: Certificate,
    key_identifier: SubjectKeyIdentifier,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.certificate.tbs_certificate().subject().to_string())
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Makes a new CA: a fresh RSA-3072 key and a self-signed certificate
    /// for `O=organization, CN=common_name`, valid from now for
    /// [`CA_VALIDITY_DAYS`].
    pub fn create(common_name: &str, organization: &str) -> Result<Self, CaError> {
        Self::create_at(common_name, organization, unix_now()?, CA_VALIDITY_DAYS)
    }

    /// [`create`](Self::create) with an explicit start and lifetime.
    pub fn create_at(common_name: &str, organization: &str, now: i64, validity_days: u32) -> Result<Self, CaError> {
        use const_oid::db::rfc4519::{COMMON_NAME, ORGANIZATION_NAME};

        for (field, text) in [("common name", common_name), ("organization", organization)] {
            if text.trim().is_empty() || text.chars().count() > signet_schema::registration::MAX_TEXT_CHARS {
                return Err(CaError::Registration(format!(
                    "CA {field} must have 1 to 64 characters"
                )));
            }
        }
        let subject = request::name_of(vec![
            (ORGANIZATION_NAME, request::utf8(organization).map_err(encoding)?),
            (COMMON_NAME, request::utf8(common_name).map_err(encoding)?),
        ])
        .map_err(encoding)?;
        let key = ServerKey::generate(KeySize::Rsa3072).map_err(signing)?;
        let spki = spki_of(&key)?;
        let validity = validity(now, validity_days, None)?;
        let builder = CertificateBuilder::new(CaProfile { subject }, random_serial()?, validity, spki.clone())
            .map_err(signing)?;
        let signer = CaSigner::new(&key)?;
        let certificate = builder.build::<_, CaSignature>(&signer).map_err(signing)?;
        let key_identifier = SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(encoding)?;
        Ok(CertificateAuthority {
            key,
            certificate,
            key_identifier,
        })
    }

    /// Reads [`KEY_FILE`] and [`CERTIFICATE_FILE`] from `dir`. The key file
    /// must not be readable or writable by group or others, and the
    /// certificate must be for that key.
    pub fn load(dir: &Path) -> Result<Self, CaError> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERTIFICATE_FILE);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CaError::Io { path, source }
        };
        let file_problem = |path: &Path, problem: &str| CaError::File {
            path: path.to_path_buf(),
            problem: problem.to_owned(),
        };

        let mode = fs::metadata(&key_path).map_err(io(&key_path))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(file_problem(
                &key_path,
                &format!("mode {:o} lets others read it; run `chmod 600` on it", mode & 0o777),
            ));
        }
        let pem = Zeroizing::new(fs::read(&key_path).map_err(io(&key_path))?);
        let (label, der) = der::pem::decode_vec(&pem).map_err(|_| file_problem(&key_path, "not a PEM file"))?;
        let der = Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(file_problem(&key_path, "not a PKCS#8 PRIVATE KEY"));
        }
        let key = ServerKey::from_pkcs8_der(&der).map_err(|e| file_problem(&key_path, &e.to_string()))?;

        let pem = fs::read(&cert_path).map_err(io(&cert_path))?;
        let certificate = Certificate::from_pem(&pem).map_err(|_| file_problem(&cert_path, "not a PEM certificate"))?;
        let spki = spki_of(&key)?;
        if certificate.tbs_certificate().subject_public_key_info() != &spki {
            return Err(file_problem(
                &cert_path,
                "the certificate is not for the key in the key file",
            ));
        }
        let key_identifier = SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(encoding)?;
        Ok(CertificateAuthority {
            key,
            certificate,
            key_identifier,
        })
    }

    /// Writes [`KEY_FILE`] (mode 0600) and [`CERTIFICATE_FILE`] (mode 0644)
    /// into `dir`, creating it (mode 0700) if needed. Each file is written to
    /// a temporary name, synced and renamed, so a crash leaves the old file
    /// or the new one, never part of one.
    pub fn save(&self, dir: &Path) -> Result<(), CaError> {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| CaError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
        }
        let der = self.key.to_pkcs8_der().map_err(encoding)?;
        let pem = Zeroizing::new(der::pem::encode_string("PRIVATE KEY", LineEnding::LF, &der).map_err(encoding)?);
        let file_error = |e: crate::secret_file::SecretFileError| CaError::File {
            path: dir.to_path_buf(),
            problem: e.to_string(),
        };
        crate::secret_file::write_atomically(&dir.join(KEY_FILE), pem.as_bytes(), 0o600).map_err(file_error)?;
        crate::secret_file::write_atomically(&dir.join(CERTIFICATE_FILE), self.ca_pem()?.as_bytes(), 0o644)
            .map_err(file_error)
    }

    /// The CA certificate as PEM (RFC 7468 §5), for `openssl verify -CAfile`
    /// and for host applications.
    pub fn ca_pem(&self) -> Result<String, CaError> {
        self.certificate.to_pem(LineEnding::LF).map_err(encoding)
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> Result<Vec<u8>, CaError> {
        self.certificate.to_der().map_err(encoding)
    }

    /// The CA's subject in RFC 4514 form.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate().subject().to_string()
    }

    /// The CA's key identifier (SHA-1 of its subjectPublicKey bits, RFC 5280
    /// §4.2.1.2 method 1): its SKI and every issued certificate's AKI.
    pub fn key_identifier(&self) -> &[u8] {
        self.key_identifier.0.as_bytes()
    }

    /// Checks a PKCS#10 request as [`CertificateAuthority::issue`] will,
    /// without issuing: its signature, key and subject. Returns the
    /// requested SubjectPublicKeyInfo, DER, so the caller can match it to
    /// the sealed record's fingerprint.
    pub fn check_request(&self, csr_der: &[u8], registration: &RegistrationData) -> Result<Vec<u8>, CaError> {
        let checked = request::check(csr_der, registration)?;
        checked.public_key.to_der().map_err(encoding)
    }

    /// Issues a signing certificate for a PKCS#10 request.
    ///
    /// The request must pass [`request`]'s checks: parseable, signed with
    /// RSASSA-PSS (SHA-256, 32-byte salt) or RSASSA-PKCS1-v1_5 (SHA-256) by
    /// the RSA-2048/3072/4096 key it carries, with exactly the subject built
    /// from `registration`. The certificate is valid from `now` for
    /// `validity_days` days, but never beyond the CA certificate.
    pub fn issue(
        &self,
        csr_der: &[u8],
        registration: &RegistrationData,
        now: i64,
        validity_days: u32,
    ) -> Result<IssuedCertificate, CaError> {
        self.issue_published(csr_der, registration, now, validity_days, None)
    }

    /// [`CertificateAuthority::issue`], naming in the certificate where the
    /// key server publishes its CRL and the CA certificate, under the public
    /// address `public_url` (`https://…`, see [`public_url`]).
    pub fn issue_published(
        &self,
        csr_der: &[u8],
        registration: &RegistrationData,
        now: i64,
        validity_days: u32,
        public_url: Option<&str>,
    ) -> Result<IssuedCertificate, CaError> {
        let checked = request::check(csr_der, registration)?;
        let email = Ia5String::new(&registration.email).map_err(|e| CaError::Registration(e.to_string()))?;
        let published = public_url
            .map(|url| {
                let url = public_url_checked(url)?;
                let ia5 = |path: &str| Ia5String::new(&format!("{url}{path}")).map_err(encoding);
                Ok::<_, CaError>((ia5(CRL_PATH)?, ia5(CA_CERTIFICATE_PATH)?))
            })
            .transpose()?;
        let tbs = self.certificate.tbs_certificate();
        let profile = SigningProfile {
            issuer: tbs.subject().clone(),
            subject: checked.subject,
            email,
            authority_key_id: self.key_identifier.clone(),
            published,
        };
        self.sign_certificate(profile, checked.public_key, now, validity_days)
    }

    /// Signs a certificate of `profile` for `public_key`, valid from `now`
    /// for `validity_days` days but never beyond the CA certificate, under a
    /// fresh random serial.
    fn sign_certificate<P: x509_cert::builder::profile::BuilderProfile>(
        &self,
        profile: P,
        public_key: SubjectPublicKeyInfoOwned,
        now: i64,
        validity_days: u32,
    ) -> Result<IssuedCertificate, CaError> {
        let tbs = self.certificate.tbs_certificate();
        let validity = validity(now, validity_days, Some(&tbs.validity().not_after))?;
        let serial = random_serial()?;
        let builder = CertificateBuilder::new(profile, serial, validity, public_key).map_err(signing)?;
        let certificate = builder
            .build::<_, CaSignature>(&CaSigner::new(&self.key)?)
            .map_err(signing)?;
        let der = certificate.to_der().map_err(encoding)?;
        let tbs = certificate.tbs_certificate();
        Ok(IssuedCertificate {
            serial_hex: hex::encode_upper(tbs.serial_number().as_bytes()),
            sha256_fingerprint_hex: hex::encode_upper(Sha256::digest(&der)),
            subject: tbs.subject().to_string(),
            not_before: unix_of(&tbs.validity().not_before),
            not_after: unix_of(&tbs.validity().not_after),
            der,
        })
    }

    /// Issues a host application's certificate ([`profile::HostProfile`]:
    /// extended key usage "Signet host") for a PKCS#10 request signed by the
    /// RSA key it carries. The subject is the CA's organisation and
    /// `CN=<host name>`, whatever the request asked for.
    pub fn issue_host(
        &self,
        csr_der: &[u8],
        host_name: &str,
        now: i64,
        validity_days: u32,
    ) -> Result<IssuedCertificate, CaError> {
        use const_oid::db::rfc4519::{COMMON_NAME, ORGANIZATION_NAME};
        let request = request::signed_request(csr_der)?;
        let tbs = self.certificate.tbs_certificate();
        let organization = tbs
            .subject()
            .iter()
            .find(|a| a.oid == ORGANIZATION_NAME)
            .and_then(|a| der::asn1::Utf8StringRef::try_from(&a.value).ok())
            .map_or_else(|| "Signet".to_owned(), |o| o.as_str().to_owned());
        let subject = request::name_of(vec![
            (ORGANIZATION_NAME, request::utf8(&organization).map_err(encoding)?),
            (COMMON_NAME, request::utf8(host_name).map_err(encoding)?),
        ])
        .map_err(encoding)?;
        let profile = HostProfile {
            issuer: tbs.subject().clone(),
            subject,
            authority_key_id: self.key_identifier.clone(),
        };
        self.sign_certificate(profile, request.info.public_key, now, validity_days)
    }

    /// Signs a v2 CRL (RFC 5280 §5.1), DER: issuer = the CA, thisUpdate and
    /// nextUpdate as given, extensions cRLNumber (§5.2.3) and
    /// authorityKeyIdentifier (§5.2.1, = the CA's key identifier), one entry
    /// per `revoked` certificate with its revocation date and reasonCode
    /// (§5.3.1; left out for [`RevocationReason::Unspecified`], as that
    /// section asks).
    pub fn crl(
        &self,
        crl_number: u64,
        this_update: i64,
        next_update: i64,
        revoked: &[RevokedEntry],
    ) -> Result<Vec<u8>, CaError> {
        if next_update <= this_update {
            return Err(CaError::Time("nextUpdate must be later than thisUpdate".into()));
        }
        let issuer = self.certificate.tbs_certificate().subject().clone();
        let mut entries = Vec::with_capacity(revoked.len());
        for entry in revoked {
            let bytes = hex::decode(entry.serial_hex.trim())
                .ok()
                .filter(|b| !b.is_empty() && b.len() <= 20)
                .ok_or_else(|| CaError::BadSerial(entry.serial_hex.clone()))?;
            let serial_number = SerialNumber::<x509_cert::certificate::Rfc5280>::new(&bytes)
                .map_err(|_| CaError::BadSerial(entry.serial_hex.clone()))?;
            let crl_entry_extensions = match entry.reason {
                RevocationReason::Unspecified => None,
                reason => Some(vec![crl_reason(reason).to_extension(&issuer, &[]).map_err(encoding)?]),
            };
            entries.push(RevokedCert {
                serial_number,
                revocation_date: time(entry.revoked_at)?,
                crl_entry_extensions,
            });
        }
        let number = CrlNumber::try_from(crl_number).map_err(encoding)?;
        let mut builder = CrlBuilder::new_with_this_update(&self.certificate, number, time(this_update)?)
            .map_err(encoding)?
            .with_next_update(Some(time(next_update)?));
        if !entries.is_empty() {
            // An empty revokedCertificates must be absent, not an empty SEQUENCE (§5.1.2.6).
            builder = builder.with_certificates(entries.into_iter());
        }
        let crl = builder
            .build::<_, CaSignature>(&CaSigner::new(&self.key)?)
            .map_err(signing)?;
        crl.to_der().map_err(encoding)
    }
}

/// The SubjectPublicKeyInfo of `key`.
fn spki_of(key: &ServerKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    let der = key.public_key().to_spki_der().map_err(encoding)?;
    SubjectPublicKeyInfoOwned::from_der(&der).map_err(encoding)
}

/// A serial number of [`SERIAL_LEN`] random bytes from the OS (RFC 5280
/// §4.1.2.2: positive, at most 20 octets; CA/B Forum: at least 64 random
/// bits). The top bit is cleared so the INTEGER is positive without a
/// leading zero octet, and the next bit is set so it always has exactly 16
/// octets: 126 random bits.
fn random_serial() -> Result<SerialNumber, CaError> {
    let mut bytes = [0u8; SERIAL_LEN];
    getrandom::fill(&mut bytes).map_err(|e| CaError::Random(e.to_string()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::<x509_cert::certificate::Rfc5280>::new(&bytes).map_err(encoding)
}

/// `Time` for Unix seconds: UTCTime through 2049, GeneralizedTime after
/// (RFC 5280 §4.1.2.5, §5.1.2.4).
fn time(unix: i64) -> Result<Time, CaError> {
    let seconds = u64::try_from(unix).map_err(|_| CaError::Time(format!("{unix} is before 1970")))?;
    let date = der::DateTime::from_unix_duration(Duration::from_secs(seconds))
        .map_err(|_| CaError::Time(format!("{unix} is out of range")))?;
    Ok(Time::from(date))
}

fn unix_of(time: &Time) -> i64 {
    // Certificate times end before year 10000, far below i64::MAX seconds.
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn unix_now() -> Result<i64, CaError> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| CaError::Time("the clock is before 1970".into()))?;
    i64::try_from(since.as_secs()).map_err(|_| CaError::Time("the clock is out of range".into()))
}

/// Validity from `now` for `days` days, ending no later than `cap`.
fn validity(now: i64, days: u32, cap: Option<&Time>) -> Result<Validity, CaError> {
    if days == 0 {
        return Err(CaError::Time("the validity period must be at least one day".into()));
    }
    let mut end = now
        .checked_add(i64::from(days) * 86_400)
        .ok_or_else(|| CaError::Time("the validity period is out of range".into()))?;
    if let Some(cap) = cap {
        end = end.min(unix_of(cap));
    }
    if end <= now {
        return Err(CaError::Time("the CA certificate has expired".into()));
    }
    Ok(Validity::new(time(now)?, time(end)?))
}

#[cfg(test)]
mod tests;
