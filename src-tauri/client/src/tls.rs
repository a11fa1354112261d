//! TLS to the key server with its certificate pinned.
//!
//! The key server usually runs with a self-signed certificate made on its
//! first start, so there is no CA to ask. Instead the person confirms the
//! certificate's SHA-256 fingerprint once (read to them by the help desk or
//! printed on the server's console) and from then on exactly that
//! certificate is accepted: rustls still checks the handshake signature with
//! the certificate's key, we replace only the chain-building step by a
//! fingerprint match. Expiry is not checked: the pin, not a date, is what is
//! trusted, and a server that changes its certificate must be confirmed again.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a certificate's DER.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of `der`.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Lower-case hex, no separators (how it is stored).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Upper-case hex in pairs, `AB:CD:…`, as people compare fingerprints.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Accepts hex with or without `:` or spaces between pairs, any case.
impl FromStr for Fingerprint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact: String = text.chars().filter(|c| !matches!(c, ':' | ' ' | '-')).collect();
        let bytes = hex::decode(&compact).map_err(|_| "a fingerprint is 64 hexadecimal digits".to_string())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "a fingerprint is 64 hexadecimal digits (SHA-256)".to_string())?;
        Ok(Fingerprint(bytes))
    }
}

/// What the server should show, and what it showed when it was refused.
#[derive(Debug)]
enum Expectation {
    /// Accept exactly this certificate.
    Pinned(Fingerprint),
    /// Accept nothing: only note the certificate (first contact, before the person confirms it).
    Probe,
}

/// Our certificate check: a fingerprint match in place of chain building.
#[derive(Debug)]
pub(crate) struct PinnedServer {
    expectation: Expectation,
    provider: Arc<CryptoProvider>,
    /// The last certificate the server presented.
    seen: Mutex<Option<Fingerprint>>,
}

impl PinnedServer {
    /// Accepts only the certificate with `fingerprint`.
    pub(crate) fn pinned(fingerprint: Fingerprint) -> Arc<PinnedServer> {
        Self::new(Expectation::Pinned(fingerprint))
    }

    /// Refuses every certificate but remembers it.
    pub(crate) fn probe() -> Arc<PinnedServer> {
        Self::new(Expectation::Probe)
    }

    fn new(expectation: Expectation) -> Arc<PinnedServer> {
        Arc::new(PinnedServer {
            expectation,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            seen: Mutex::new(None),
        })
    }

    /// The certificate the server presented last, if a handshake got that far.
    pub(crate) fn seen(&self) -> Option<Fingerprint> {
        *self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A rustls client configuration using this check.
    pub(crate) fn client_config(self: &Arc<Self>) -> Result<rustls::ClientConfig, rustls::Error> {
        let config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        Ok(config)
    }
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity);
        *self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(presented);
        match &self.expectation {
            Expectation::Pinned(pinned) if bool::from(pinned.0.ct_eq(&presented.0)) => {
                Ok(ServerCertVerified::assertion())
            }
            _ => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_back_in_every_usual_spelling() {
        let fp = Fingerprint::of(b"certificate");
        assert_eq!(fp.to_string().parse::<Fingerprint>(), Ok(fp));
        assert_eq!(fp.to_hex().parse::<Fingerprint>(), Ok(fp));
        assert_eq!(fp.to_hex().to_uppercase().parse::<Fingerprint>(), Ok(fp));
        assert!("AB:CD".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let name = ServerName::try_from("localhost").expect("name");
        let good = CertificateDer::from(b"good".to_vec());
        let other = CertificateDer::from(b"other".to_vec());
        let pinned = PinnedServer::pinned(Fingerprint::of(b"good"));
        let now = UnixTime::now();
        assert!(pinned.verify_server_cert(&good, &[], &name, &[], now).is_ok());
        assert!(pinned.verify_server_cert(&other, &[], &name, &[], now).is_err());
        assert_eq!(pinned.seen(), Some(Fingerprint::of(b"other")));
        let probe = PinnedServer::probe();
        assert!(probe.verify_server_cert(&good, &[], &name, &[], now).is_err());
        assert_eq!(probe.seen(), Some(Fingerprint::of(b"good")));
    }
}
