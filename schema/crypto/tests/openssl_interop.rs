//! What the signing core produces, checked by an independent implementation:
//! the OpenSSL 3 command line.
//!
//! * PKCS#10 requests pass `openssl req -verify` (RFC 2986 proof of
//!   possession), in both signature schemes;
//! * detached CMS SignedData passes `openssl cms -verify` against a test CA's
//!   chain, and fails after one changed byte of content;
//! * the encrypted PKCS#8 export opens with `openssl pkcs8` to the same key,
//!   and not with another pass phrase;
//! * raw signatures verify with `openssl dgst`, and OpenSSL reproduces the
//!   fixed PKCS#1 v1.5 vector byte for byte.

mod common;

use std::time::SystemTime;

use common::{Openssl, ca, key_2048, key_3072, registration};
use signet_crypto::keys::UserKey;
use signet_crypto::{cms, csr, export, sign};
use signet_schema::SignatureScheme;

const SCHEMES: [SignatureScheme; 2] = [SignatureScheme::RsaPssSha256, SignatureScheme::RsaPkcs1v15Sha256];

const ORDER: &[u8] =
    b"<Document><CstmrCdtTrfInitn><GrpHdr><MsgId>INTEROP-1</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>\n";

fn name(scheme: SignatureScheme) -> &'static str {
    match scheme {
        SignatureScheme::RsaPssSha256 => "pss",
        SignatureScheme::RsaPkcs1v15Sha256 => "pkcs1",
    }
}

/// `openssl req -verify` accepts the request, and the subject reads as registered.
fn check_request(key: &UserKey, scheme: SignatureScheme) {
    let openssl = Openssl::in_temp_dir();
    let request = csr::certification_request(key, &registration(), scheme).expect("request");
    openssl.write("req.der", &request);
    let output = openssl.ok(&["req", "-verify", "-in", "req.der", "-inform", "DER", "-noout"]);
    assert!(output.contains("verify OK"), "{output}");

    let subject = openssl.ok(&[
        "req", "-in", "req.der", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253",
    ]);
    assert_eq!(
        subject.trim(),
        r"subject=UID=alice,CN=Alice Example,OU=Payments,O=Example Bank\, Ltd,C=GB"
    );
    let text = openssl.ok(&["req", "-in", "req.der", "-inform", "DER", "-noout", "-text"]);
    assert!(text.contains("email:alice@example.com"), "{text}");
    let expected_algorithm = match scheme {
        SignatureScheme::RsaPssSha256 => "rsassaPss",
        SignatureScheme::RsaPkcs1v15Sha256 => "sha256WithRSAEncryption",
    };
    assert!(
        text.contains(&format!("Signature Algorithm: {expected_algorithm}")),
        "{text}"
    );

    // The last byte of the DER is the last byte of the signature.
    let mut tampered = request.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    openssl.write("bad.der", &tampered);
    // OpenSSL 3.0 `req -verify` exits 0 even when the signature fails, so
    // the verdict is read from its message.
    let output = openssl.run(&["req", "-verify", "-in", "bad.der", "-inform", "DER", "-noout"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("verify failure") && !text.contains("verify OK"), "{text}");
}

#[test]
fn openssl_accepts_our_certification_requests() {
    for scheme in SCHEMES {
        check_request(key_2048(), scheme);
    }
}

/// Signs `ORDER` as detached CMS with a certificate the test CA issued from
/// our own request; `openssl cms -verify` accepts it, and refuses it for
/// changed content. Returns the directory, holding `sig.der`.
fn check_detached_cms(key: &UserKey, scheme: SignatureScheme) -> Openssl {
    let openssl = Openssl::in_temp_dir();
    let request = csr::certification_request(key, &registration(), scheme).expect("request");
    let certificate = ca().issue(&request);
    let signature = cms::sign_detached(key, scheme, &certificate, ORDER, SystemTime::now()).expect("cms");

    openssl.write("ca.pem", ca().certificate_pem());
    openssl.write("data.bin", ORDER);
    openssl.write("sig.der", &signature);
    let output = openssl.ok(&cms_verify("data.bin", "ca.pem"));
    assert!(output.contains("Verification successful"), "{}: {output}", name(scheme));

    for at in [0, ORDER.len() / 2, ORDER.len() - 1] {
        let mut changed = ORDER.to_vec();
        changed[at] ^= 0x01;
        openssl.write("changed.bin", &changed);
        let output = openssl.fails(&cms_verify("changed.bin", "ca.pem"));
        assert!(output.contains("content verify error"), "{}: {output}", name(scheme));
    }
    // A CA that did not issue the certificate is not trusted either.
    openssl.write("other-ca.pem", openssl_self_signed_ca(&openssl));
    let output = openssl.fails(&cms_verify("data.bin", "other-ca.pem"));
    assert!(output.contains("unable to get local issuer certificate"), "{output}");
    openssl
}

/// `openssl cms -verify` of `sig.der` over detached `content`, trusting `ca`.
fn cms_verify<'a>(content: &'a str, ca: &'a str) -> [&'a str; 13] {
    [
        "cms",
        "-verify",
        "-binary",
        "-content",
        content,
        "-CAfile",
        ca,
        "-inform",
        "DER",
        "-in",
        "sig.der",
        "-out",
        "/dev/null",
    ]
}

/// A CA certificate made by OpenSSL itself, unrelated to the test CA.
fn openssl_self_signed_ca(openssl: &Openssl) -> Vec<u8> {
    openssl.ok(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "other-ca.key",
        "-out",
        "other-ca.tmp",
        "-subj",
        "/CN=Other CA",
        "-days",
        "1",
    ]);
    openssl.read("other-ca.tmp")
}

#[test]
fn openssl_verifies_our_detached_cms_and_refuses_changed_content() {
    for scheme in SCHEMES {
        check_detached_cms(key_2048(), scheme);
    }
}

#[test]
fn openssl_sees_the_signed_attributes_and_no_content() {
    for scheme in SCHEMES {
        let openssl = check_detached_cms(key_2048(), scheme);
        let printed = openssl.ok(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der"]);
        for expected in [
            "signingTime",
            "messageDigest",
            "contentType",
            "eContent: <ABSENT>",
            "issuerAndSerialNumber",
        ] {
            assert!(
                printed.contains(expected),
                "{}: no {expected} in\n{printed}",
                name(scheme)
            );
        }
        let expected_algorithm = match scheme {
            SignatureScheme::RsaPssSha256 => "rsassaPss",
            SignatureScheme::RsaPkcs1v15Sha256 => "sha256WithRSAEncryption",
        };
        assert!(printed.contains(expected_algorithm), "{printed}");
    }
}

#[test]
fn openssl_opens_our_encrypted_pkcs8_export() {
    let openssl = Openssl::in_temp_dir();
    let key = key_2048();
    let passphrase = "pass phrase with spaces & ünïcode";
    let pem = export::encrypted_pkcs8_pem(key, passphrase.as_bytes()).expect("export");
    openssl.write("key.pem", pem.as_bytes());
    openssl.write("pass.txt", format!("{passphrase}\n"));
    openssl.write("wrong.txt", "pass phrase with spaces & unicode\n");

    openssl.ok(&[
        "pkcs8",
        "-in",
        "key.pem",
        "-passin",
        "file:pass.txt",
        "-out",
        "clear.pem",
    ]);
    openssl.ok(&[
        "pkey",
        "-in",
        "clear.pem",
        "-pubout",
        "-outform",
        "DER",
        "-out",
        "pub.der",
    ]);
    assert_eq!(openssl.read("pub.der"), key.public_key().to_spki_der().expect("spki"));
    openssl.ok(&["pkey", "-in", "clear.pem", "-check", "-noout"]);

    let output = openssl.fails(&[
        "pkcs8",
        "-in",
        "key.pem",
        "-passin",
        "file:wrong.txt",
        "-out",
        "wrong.pem",
    ]);
    assert!(output.contains("Error decrypting key"), "{output}");

    // The parameters as OpenSSL reads them: PBES2, PBKDF2 with
    // hmacWithSHA256 and 600000 (0x0927C0) iterations, AES-256-CBC.
    let structure = openssl.ok(&["asn1parse", "-in", "key.pem"]);
    for expected in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc", ":0927C0"] {
        assert!(structure.contains(expected), "no {expected} in\n{structure}");
    }
}

#[test]
fn openssl_verifies_our_raw_signatures() {
    let openssl = Openssl::in_temp_dir();
    let key = key_2048();
    openssl.write("pub.der", key.public_key().to_spki_der().expect("spki"));
    openssl.ok(&["pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem"]);
    openssl.write("order.bin", ORDER);
    for scheme in SCHEMES {
        openssl.write("order.sig", sign::sign(key, scheme, ORDER).expect("sign"));
        let mut args = vec!["dgst", "-sha256", "-verify", "pub.pem", "-signature", "order.sig"];
        if scheme == SignatureScheme::RsaPssSha256 {
            args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]);
            args.extend(["-sigopt", "rsa_mgf1_md:sha256"]);
        }
        args.push("order.bin");
        let output = openssl.ok(&args);
        assert!(output.contains("Verified OK"), "{output}");
        let last = args.len() - 1;
        openssl.write("changed.bin", b"changed");
        args[last] = "changed.bin";
        let output = openssl.fails(&args);
        assert!(output.contains("Verification failure"), "{output}");
    }
}

/// The committed PKCS#1 v1.5 vector: our signature equals OpenSSL's, made
/// now from the same key file, and `openssl dgst -verify` accepts it.
#[test]
fn openssl_agrees_with_the_fixed_pkcs1v15_vector() {
    const KEY: &[u8] = include_bytes!("vectors/sign/key.pk8.der");
    const MESSAGE: &[u8] = include_bytes!("vectors/sign/message.xml");
    const EXPECTED: &[u8] = include_bytes!("vectors/sign/message.xml.pkcs1v15-sha256.sig");
    const PUBLIC_PEM: &[u8] = include_bytes!("vectors/sign/pub.pem");

    let openssl = Openssl::in_temp_dir();
    openssl.write("key.der", KEY);
    openssl.write("pub.pem", PUBLIC_PEM);
    openssl.write("message.xml", MESSAGE);

    let ours = sign::sign(
        &UserKey::from_pkcs8_der(KEY).expect("key"),
        SignatureScheme::RsaPkcs1v15Sha256,
        MESSAGE,
    )
    .expect("sign");
    assert_eq!(ours, EXPECTED);

    openssl.ok(&[
        "dgst",
        "-sha256",
        "-sign",
        "key.der",
        "-keyform",
        "DER",
        "-out",
        "theirs.sig",
        "message.xml",
    ]);
    assert_eq!(openssl.read("theirs.sig"), ours);

    openssl.write("ours.sig", &ours);
    let output = openssl.ok(&[
        "dgst",
        "-sha256",
        "-verify",
        "pub.pem",
        "-signature",
        "ours.sig",
        "message.xml",
    ]);
    assert!(output.contains("Verified OK"), "{output}");
}

/// The product's default key size, end to end: request, detached CMS in
/// both schemes, export.
#[test]
fn rsa_3072_key_interoperates() {
    let key = key_3072();
    assert_eq!(key.bits(), 3072);
    check_request(key, SignatureScheme::RsaPssSha256);
    for scheme in SCHEMES {
        check_detached_cms(key, scheme);
    }
    let openssl = Openssl::in_temp_dir();
    let pem = export::encrypted_pkcs8_pem(key, b"3072").expect("export");
    openssl.write("key.pem", pem.as_bytes());
    openssl.write("pass.txt", "3072");
    openssl.ok(&[
        "pkcs8",
        "-in",
        "key.pem",
        "-passin",
        "file:pass.txt",
        "-out",
        "clear.pem",
    ]);
    openssl.ok(&[
        "pkey",
        "-in",
        "clear.pem",
        "-pubout",
        "-outform",
        "DER",
        "-out",
        "pub.der",
    ]);
    assert_eq!(openssl.read("pub.der"), key.public_key().to_spki_der().expect("spki"));
}
