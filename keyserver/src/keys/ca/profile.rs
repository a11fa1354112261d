//! Certificate profiles (the extensions each kind of certificate carries).

use der::asn1::Ia5String;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::{self, profile::BuilderProfile};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints,
    ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;

/// The self-signed CA certificate (RFC 5280 §4.2.1): basicConstraints cA
/// TRUE with pathLenConstraint 0 (it certifies end entities only), critical
/// (§4.2.1.9); keyUsage keyCertSign + cRLSign, critical (§4.2.1.3); subject
/// key identifier (§4.2.1.2 method 1) and an authority key identifier equal
/// to it (§4.2.1.1).
pub(crate) struct CaProfile {
    pub(crate) subject: Name,
}

impl BuilderProfile for CaProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let basic = BasicConstraints {
            ca: true,
            path_len_constraint: Some(0),
        };
        extensions.push(basic.to_extension(subject, &extensions)?);
        let usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        extensions.push(usage.to_extension(subject, &extensions)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(ski.0.clone()),
            ..Default::default()
        };
        extensions.push(ski.to_extension(subject, &extensions)?);
        extensions.push(aki.to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}

/// A user's signing certificate: basicConstraints cA FALSE; keyUsage
/// digitalSignature + nonRepudiation (contentCommitment), critical
/// (RFC 5280 §4.2.1.3); extendedKeyUsage e-mail protection and
/// [`signet_crypto::pki::ID_KP_SIGNET_USER`] (§4.2.1.12); subject key
/// identifier, SHA-1 of the subjectPublicKey bits (§4.2.1.2 method 1);
/// authority key identifier = the CA's subject key identifier (§4.2.1.1);
/// subjectAltName with the registered e-mail as rfc822Name (§4.2.1.6, where
/// RFC 5280 §4.1.2.6 wants e-mail addresses); and, where the key server's
/// public address is known, a CRL distribution point (§4.2.1.13) and the
/// CA certificate's address as authority information access (§4.2.2.1).
pub(crate) struct SigningProfile {
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    pub(crate) email: Ia5String,
    pub(crate) authority_key_id: SubjectKeyIdentifier,
    pub(crate) published: Option<(Ia5String, Ia5String)>,
}

impl BuilderProfile for SigningProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let basic = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        extensions.push(basic.to_extension(subject, &extensions)?);
        let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
        extensions.push(usage.to_extension(subject, &extensions)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(self.authority_key_id.0.clone()),
            ..Default::default()
        };
        extensions.push(aki.to_extension(subject, &extensions)?);
        let san = SubjectAltName(vec![GeneralName::Rfc822Name(self.email.clone())]);
        extensions.push(san.to_extension(subject, &extensions)?);
        let purposes = ExtendedKeyUsage(vec![
            signet_crypto::pki::ID_KP_EMAIL_PROTECTION,
            signet_crypto::pki::ID_KP_SIGNET_USER,
        ]);
        extensions.push(purposes.to_extension(subject, &extensions)?);
        if let Some((crl, ca_certificate)) = &self.published {
            let points = CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(crl.clone()),
                ])),
                reasons: None,
                crl_issuer: None,
            }]);
            extensions.push(points.to_extension(subject, &extensions)?);
            let access = AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: ID_AD_CA_ISSUERS,
                access_location: GeneralName::UniformResourceIdentifier(ca_certificate.clone()),
            }]);
            extensions.push(access.to_extension(subject, &extensions)?);
        }
        Ok(extensions)
    }
}

/// id-ad-caIssuers (RFC 5280 §4.2.2.1).
const ID_AD_CA_ISSUERS: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

/// A host application's certificate (the key that signs its channel
/// documents and status reports): basicConstraints cA FALSE; keyUsage
/// digitalSignature, critical (§4.2.1.3); extendedKeyUsage
/// [`signet_crypto::pki::ID_KP_SIGNET_HOST`] alone (§4.2.1.12), so a
/// client that requires it never takes a user's certificate for a host, nor
/// a host's for a user (user certificates carry e-mail protection and
/// [`signet_crypto::pki::ID_KP_SIGNET_USER`] instead, and the host refuses
/// orders signed under this one); subject and authority key
/// identifiers as for users.
pub(crate) struct HostProfile {
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    pub(crate) authority_key_id: SubjectKeyIdentifier,
}

impl BuilderProfile for HostProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let basic = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        extensions.push(basic.to_extension(subject, &extensions)?);
        let usage = KeyUsage(KeyUsages::DigitalSignature.into());
        extensions.push(usage.to_extension(subject, &extensions)?);
        let purpose = ExtendedKeyUsage(vec![signet_crypto::pki::ID_KP_SIGNET_HOST]);
        extensions.push(purpose.to_extension(subject, &extensions)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(self.authority_key_id.0.clone()),
            ..Default::default()
        };
        extensions.push(aki.to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}
