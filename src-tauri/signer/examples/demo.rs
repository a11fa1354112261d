//! A walk through one signer session, as the desktop app will drive it:
//! apply (generate and seal a key), then in a fresh signer process sign in
//! (unlock, open the record) and sign a payment order. Run with `make run`.

use std::path::PathBuf;
use std::time::Instant;

use signet_client::child::SignerProcess;
use signet_crypto::keys::PublicKey;
use signet_schema::protocol::{Bytes, Passphrase, Request, Response, SignatureFormat};
use signet_schema::{KdfParams, KeySize, RegistrationData, SealedKeyRecord, SignatureScheme};

type Failure = Box<dyn std::error::Error>;

/// The signer binary next to this example (examples live in target/<profile>/examples).
fn signer_path() -> Result<PathBuf, Failure> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(|p| p.parent()).ok_or("no target directory")?;
    Ok(dir.join("signet-signer"))
}

fn start() -> Result<SignerProcess, Failure> {
    let path = signer_path()?;
    SignerProcess::start(&path, &[]).map_err(|e| {
        format!(
            "cannot start {}: {e} (build it with `cargo build --release`)",
            path.display()
        )
        .into()
    })
}

#[allow(clippy::print_stdout)]
fn end(signer: SignerProcess) -> Result<(), Failure> {
    let status = signer.end()?;
    println!("  signer ended ({status}); its memory went with it");
    Ok(())
}

#[allow(clippy::print_stdout)]
fn main() -> Result<(), Failure> {
    let registration = RegistrationData {
        user_id: "alice".into(),
        common_name: "Alice Example".into(),
        organization: "Example Bank".into(),
        organizational_unit: "Payments".into(),
        email: "alice@example.com".into(),
        country: "GB".into(),
    };
    let phrase = "demonstration pass phrase, not a secret";
    println!("Signet signing core: one session, step by step.\n");

    println!("1. Apply: generate an RSA-3072 key and seal it (Argon2id m=64 MiB t=3 p=4).");
    let mut signer = start()?;
    if let Response::Ready { pid, hardening, .. } = signer.call(Request::Hello)? {
        println!("  signer pid {pid}: {hardening:?}");
    }
    let started = Instant::now();
    let Response::KeyGenerated {
        record,
        certification_request,
        public_key,
        ..
    } = signer.call(Request::GenerateKey {
        registration: registration.clone(),
        passphrase: Passphrase::new(phrase.into()),
        kdf: KdfParams::DEFAULT,
        key_bits: KeySize::Rsa3072,
    })?
    else {
        return Err("unexpected reply to generate-key".into());
    };
    println!(
        "  done in {:.2} s: sealed record {} bytes, PKCS#10 request {} bytes",
        started.elapsed().as_secs_f64(),
        record.0.len(),
        certification_request.0.len()
    );
    end(signer)?;

    println!("\n2. Sign in with a new signer process: unlock, then open the record.");
    let mut signer = start()?;
    let header = SealedKeyRecord::parse(&record.0)?.header;
    let started = Instant::now();
    signer.call(Request::Unlock {
        user_id: registration.user_id.clone(),
        kdf: header.kdf_params,
        salt: Bytes(header.salt),
        passphrase: Passphrase::new(phrase.into()),
    })?;
    signer.call(Request::OpenRecord { record, registration })?;
    println!("  opened in {:.2} s", started.elapsed().as_secs_f64());

    println!("\n3. Sign a payment order (RSASSA-PSS, SHA-256).");
    let order = b"<Document><CstmrCdtTrfInitn><GrpHdr><MsgId>DEMO-1</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>";
    let Response::Signed { signature } = signer.call(Request::Sign {
        content: Bytes(order.to_vec()),
        scheme: SignatureScheme::RsaPssSha256,
        format: SignatureFormat::Raw,
        certificate: None,
    })?
    else {
        return Err("unexpected reply to sign".into());
    };
    let public = PublicKey::from_spki_der(&public_key.0)?;
    signet_crypto::sign::verify(&public, SignatureScheme::RsaPssSha256, order, &signature.0)?;
    println!("  {} signature bytes; verified with the public key", signature.0.len());
    end(signer)?;
    println!("\nThe key server and the desktop app build on this core; see README.md.");
    Ok(())
}
