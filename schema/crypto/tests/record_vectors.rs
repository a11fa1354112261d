//! The sealed-record test vector in `tests/vectors/record/`, byte for byte.

use std::path::{Path, PathBuf};

use signet_crypto::keys::UserKey;
use signet_crypto::{kdf, seal};
use signet_schema::{KdfParams, RegistrationData};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/record")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("vector file {name}: {e}"))
}

fn read_hex(name: &str) -> Vec<u8> {
    hex::decode(String::from_utf8(read(name)).expect("utf-8").trim()).expect("hex")
}

/// Compares with the frozen file, or writes it when asked to.
fn expect_file(name: &str, actual: &[u8]) {
    if std::env::var_os("SIGNET_WRITE_VECTORS").is_some() {
        std::fs::write(dir().join(name), actual).expect("write vector");
    }
    assert_eq!(actual, read(name).as_slice(), "{name} differs from the frozen vector");
}

struct Inputs {
    key: UserKey,
    registration: RegistrationData,
    passphrase: Vec<u8>,
    kdf: KdfParams,
    salt: Vec<u8>,
    iv: [u8; 16],
}

fn inputs() -> Inputs {
    let key_der = std::fs::read(dir().join("key.pk8.der")).expect("key");
    Inputs {
        key: UserKey::from_pkcs8_der(&key_der).expect("key parses"),
        registration: serde_json::from_slice(&read("registration.json")).expect("registration"),
        passphrase: read("passphrase.txt"),
        kdf: serde_json::from_slice(&read("kdf.json")).expect("kdf"),
        salt: read_hex("salt.hex"),
        iv: read_hex("iv.hex").try_into().expect("16-byte IV"),
    }
}

#[test]
fn record_vector_is_reproduced_byte_for_byte() {
    let v = inputs();
    let canonical = v.registration.canonical_bytes().expect("valid registration");
    expect_file("registration.canonical.bin", &canonical);
    let keys = kdf::derive(&v.passphrase, &v.registration.user_id, v.kdf, &v.salt).expect("derive");
    expect_file("verifier.hex", format!("{}\n", hex::encode(keys.verifier())).as_bytes());
    let record = seal::seal_with_iv(&v.key, &v.registration, &keys, v.iv)
        .expect("seal")
        .encode()
        .expect("encode");
    expect_file("record.bin", &record);
}

#[test]
fn record_vector_opens_to_the_key() {
    let v = inputs();
    let opened = seal::open_with_passphrase(&read("record.bin"), &v.registration, &v.passphrase).expect("opens");
    assert_eq!(opened.public_key(), v.key.public_key());
    let wrong = seal::open_with_passphrase(&read("record.bin"), &v.registration, b"correct horse battery stapler");
    assert!(matches!(wrong, Err(signet_crypto::Error::WrongPassphrase)));
}
