//! A walk through one signer session, as the desktop app will drive it:
//! apply (generate and seal a key), then in a fresh signer process sign in
//! (unlock, open the record) and sign a payment order. Run with `make run`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use signet_schema::protocol::{
    Bytes, Passphrase, Request, RequestEnvelope, Response, SignatureFormat, decode_response, encode_frame,
};
use signet_schema::{KdfParams, KeySize, RegistrationData, SealedKeyRecord, SignatureScheme};
use signet_signer::keys::PublicKey;

type Failure = Box<dyn std::error::Error>;

struct Signer {
    child: Child,
    next_id: u64,
}

impl Signer {
    fn start() -> Result<Signer, Failure> {
        // Examples live in target/<profile>/examples; the binary one level up.
        let exe = std::env::current_exe()?;
        let dir = exe.parent().and_then(|p| p.parent()).ok_or("no target directory")?;
        let path: PathBuf = dir.join("signet-signer");
        let child = Command::new(&path)
            .arg("--parent-pid")
            .arg(std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (build it with `cargo build --release`)", path.display()))?;
        Ok(Signer { child, next_id: 1 })
    }

    fn call(&mut self, request: Request) -> Result<Response, Failure> {
        let id = self.next_id;
        self.next_id += 1;
        let stdin = self.child.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(&encode_frame(&RequestEnvelope { v: 1, id, request }))?;
        stdin.flush()?;
        let stdout = self.child.stdout.as_mut().ok_or("stdout closed")?;
        let mut header = [0u8; 4];
        stdout.read_exact(&mut header)?;
        let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
        stdout.read_exact(&mut body)?;
        match decode_response(&body)?.response {
            Response::Error { code, message } => Err(format!("signer refused ({code:?}): {message}").into()),
            response => Ok(response),
        }
    }

    fn end(mut self) -> Result<(), Failure> {
        self.call(Request::End)?;
        let status = self.child.wait()?;
        println!("  signer ended ({status}); its memory went with it");
        Ok(())
    }
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
    let mut signer = Signer::start()?;
    if let Response::Ready { pid, hardening, .. } = signer.call(Request::Hello)? {
        println!("  signer pid {pid}: {hardening:?}");
    }
    let started = Instant::now();
    let Response::KeyGenerated { record, certification_request, public_key, .. } = signer.call(Request::GenerateKey {
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
    signer.end()?;

    println!("\n2. Sign in with a new signer process: unlock, then open the record.");
    let mut signer = Signer::start()?;
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
    signet_signer::sign::verify(&public, SignatureScheme::RsaPssSha256, order, &signature.0)?;
    println!("  {} signature bytes; verified with the public key", signature.0.len());
    signer.end()?;
    println!("\nThe key server and the desktop app build on this core; see README.md.");
    Ok(())
}
