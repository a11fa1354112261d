//! Project Wycheproof RSA signature-verification vectors through
//! `signet_crypto::sign::verify`.
//!
//! * RSASSA-PKCS1-v1_5 with SHA-256 at 2048, 3072 and 4096 bits;
//! * RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt at 2048, 3072
//!   and 4096 bits, plus the groups of the "misc" sets with exactly those
//!   parameters.
//!
//! Every `valid` vector must verify and every `invalid` one must be refused;
//! `acceptable` ones (legacy encodings a verifier may take) are counted only.
//! Valid signatures of PSS groups that use SHA-256 with *other* parameters
//! (salt length, MGF1 hash) must be refused, because `verify` pins them. Each family
//! must have run cases, so the test cannot pass vacuously.

use rsa::pkcs1::DecodeRsaPublicKey;
use signet_crypto::keys::PublicKey;
use signet_crypto::sign::verify;
use signet_schema::SignatureScheme;
use wycheproof::{HashFunction, Mgf, TestResult};

/// Tally of one family of vectors.
#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
    /// Valid vectors refused because their PSS parameters are not ours.
    other_parameters: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, id: &str, result: TestResult, accepted: bool) {
        match (result, accepted) {
            (TestResult::Valid, true) => self.valid += 1,
            (TestResult::Invalid, false) => self.invalid += 1,
            (TestResult::Acceptable, true) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, false) => self.acceptable_refused += 1,
            (result, accepted) => self
                .failures
                .push(format!("{id}: expected {result:?}, verify accepted={accepted}")),
        }
    }

    fn finish(self, family: &str) {
        eprintln!("{family}: {self:?}");
        assert!(
            self.failures.is_empty(),
            "{family}: {} mismatches:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(self.valid > 0, "{family}: no valid vector ran");
        assert!(self.invalid > 0, "{family}: no invalid vector ran");
    }
}

fn accepted(key: &PublicKey, scheme: SignatureScheme, msg: &[u8], sig: &[u8]) -> bool {
    match verify(key, scheme, msg, sig) {
        Ok(()) => true,
        Err(signet_crypto::Error::SignatureInvalid) => false,
        Err(other) => panic!("verify must fail only with SignatureInvalid, got {other}"),
    }
}

/// The key from a PKCS#1 `RSAPublicKey` DER (the vectors' `publicKeyAsn`),
/// for groups whose SubjectPublicKeyInfo is `id-RSASSA-PSS`, which our SPKI
/// parser (rsaEncryption only) does not take.
fn from_pkcs1(der: &[u8]) -> PublicKey {
    PublicKey::from(rsa::PublicKey::from_pkcs1_der(der).expect("vector key parses"))
}

#[test]
fn pkcs1v15_sha256_vectors() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};

    let mut tally = Tally::default();
    let mut sizes = Vec::new();
    for name in [
        TestName::Rsa2048Sha256,
        TestName::Rsa3072Sha256,
        TestName::Rsa4096Sha256,
    ] {
        let set = TestSet::load(name).expect("vectors load");
        for group in set.test_groups {
            assert_eq!(group.hash, HashFunction::Sha2_256);
            // The SubjectPublicKeyInfo DER goes through our own parser.
            let key = PublicKey::from_spki_der(&group.der).expect("rsaEncryption key parses");
            sizes.push(group.key_size);
            for test in &group.tests {
                let id = format!("{name:?} #{} {:?} {}", test.tc_id, test.flags, test.comment);
                let ok = accepted(&key, SignatureScheme::RsaPkcs1v15Sha256, &test.msg, &test.sig);
                tally.record(&id, test.result, ok);
            }
        }
    }
    for bits in [2048, 3072, 4096] {
        assert!(sizes.contains(&bits), "no {bits}-bit group");
    }
    tally.finish("RSASSA-PKCS1-v1_5 SHA-256");
}

#[test]
fn pss_sha256_mgf1_sha256_salt32_vectors() {
    use wycheproof::rsa_pss_verify::{TestGroupTypeId, TestName, TestSet};

    let mut ours = Tally::default();
    let mut others = Tally::default();
    let mut sizes = Vec::new();
    let names = [
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha256Mgf1SaltLen32WithParams,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss3072Sha256Mgf1SaltLen32WithParams,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha256Mgf1SaltLen0,
        TestName::RsaPss2048Sha256Mgf1SaltLen0WithParams,
        TestName::RsaPss2048Sha256Mgf1Sha1_20,
        TestName::RsaPssmisc,
        TestName::RsaPssmiscWithParams,
    ];
    for name in names {
        let set = TestSet::load(name).expect("vectors load");
        for group in set.test_groups {
            if group.hash != HashFunction::Sha2_256 || group.mgf != Mgf::Mgf1 {
                continue;
            }
            let key = match group.test_type {
                TestGroupTypeId::RsaPssVerify => PublicKey::from_spki_der(&group.der).expect("key parses"),
                TestGroupTypeId::RsaPssVerifyWithParam => from_pkcs1(&group.asn_key),
            };
            let matches_ours = group.mgf_hash == Some(HashFunction::Sha2_256) && group.salt_size == 32;
            if matches_ours {
                sizes.push(group.key_size);
            }
            for test in &group.tests {
                let id = format!(
                    "{name:?} #{} (mgf {:?}, salt {}) {:?} {}",
                    test.tc_id, group.mgf_hash, group.salt_size, test.flags, test.comment
                );
                let ok = accepted(&key, SignatureScheme::RsaPssSha256, &test.msg, &test.sig);
                if matches_ours {
                    ours.record(&id, test.result, ok);
                } else if test.result != TestResult::Valid {
                    // Some invalid vectors of other groups are signatures
                    // re-made with *our* parameters ("s_len changed to 32"):
                    // they may verify here, rightly.
                    others.invalid += 1;
                } else if ok {
                    others
                        .failures
                        .push(format!("{id}: accepted with parameters other than ours"));
                } else {
                    others.other_parameters += 1;
                }
            }
        }
    }
    for bits in [2048, 3072, 4096] {
        assert!(sizes.contains(&bits), "no {bits}-bit PSS group");
    }
    ours.finish("RSASSA-PSS SHA-256 MGF1-SHA-256 salt 32");
    eprintln!("RSASSA-PSS SHA-256 with other parameters: {others:?}");
    assert!(others.failures.is_empty(), "{}", others.failures.join("\n"));
    assert!(
        others.other_parameters > 0,
        "no valid PSS vector with other parameters ran"
    );
}
