//! Delivery of the signing core: before every sign-in and application, the
//! key server hands over the signer this client is to run, and the client
//! runs it from memory, so that the signing code, like the key, is on this
//! computer only while it runs (DESIGN.md, applet delivery).
//!
//! What is checked, in order, before a delivered signer starts
//! ([`check_manifest`], then [`deliver`]):
//!
//! 1. the key server's freshness statement is signed by its integrity key
//!    (the one pinned, when one is), covers exactly this release and has not
//!    expired — a frozen or replayed manifest stops working;
//! 2. the release is signed by a release key compiled into this program, or
//!    by a key that such a key endorsed (rotation);
//! 3. it speaks this program's signer protocol and has a build for this
//!    computer's target;
//! 4. its version is not lower than the highest accepted under the same
//!    release key (kept in the OS keyring), so no server can roll back;
//! 5. the binary has the SHA-256 and size the release names — checked as
//!    downloaded, and again from the sealed memfd it runs from.
//!
//! The binary is written into a `memfd` sealed against writing, growing and
//! shrinking, and executed through `/proc/self/fd`: nothing of the signer is
//! written to disk, and the memfd is gone when this process ends. Where the
//! kernel forbids executable memfds (`vm.memfd_noexec = 2`) or the system has
//! none, the signer installed beside the program runs only if the key
//! server's signed policy allows it, and [`SignerIdentity`] says so.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sha2::{Digest, Sha256};
use signet_crypto::keys::PublicKey;
use signet_schema::SignatureScheme;
use signet_schema::protocol::PROTOCOL_VERSION;
use signet_schema::release::{
    BundledSigner, Freshness, MAX_ENDORSEMENTS, ReleaseBuild, ReleaseContent, ReleaseManifest, SIGNER_PRODUCT,
};

use crate::error::{ClientError, Result};
use crate::server::KeyServer;
use crate::settings::SettingsStore;

/// The key server's route for the current release.
pub const MANIFEST_PATH: &str = "/v1/signer/release";
/// The key server's route for a binary, followed by its SHA-256 in hex.
pub const BINARY_PATH: &str = "/v1/signer/binaries/";
/// The target triple this program was built for; a release must have a build for it.
pub const TARGET: &str = env!("SIGNET_TARGET");
/// `development` when this program trusts the development release key
/// (`schema/release-keys/`), `release` when it was built with `SIGNET_RELEASE_KEYS`.
pub const RELEASE_KEYS_NAME: &str = env!("SIGNET_RELEASE_KEYS_NAME");
const RELEASE_KEYS_PEM: &str = include_str!(concat!(env!("OUT_DIR"), "/release-keys.pem"));

/// Seconds a statement may be dated ahead of this computer's clock.
const CLOCK_SKEW_SECS: i64 = 300;

/// Where the kernel says whether memfds may be executed.
const MEMFD_NOEXEC_SYSCTL: &str = "/proc/sys/vm/memfd_noexec";
/// Names another file to read in place of [`MEMFD_NOEXEC_SYSCTL`] in debug
/// builds: a stand-in for the kernel's setting, so that the refusal where
/// executable memfds are forbidden can be tried without changing the machine.
pub const MEMFD_NOEXEC_ENV: &str = "SIGNET_MEMFD_NOEXEC_SYSCTL";

/// Where the running signer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum SignerOrigin {
    /// Delivered by the key server and run from memory.
    Delivered,
    /// Installed beside this program, run because the key server allows it
    /// where this computer cannot run a delivered one.
    Bundled,
}

/// Which signer runs, for people to see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignerIdentity {
    /// Delivered or installed.
    pub origin: SignerOrigin,
    /// The release's number (the key server's current release, also for an installed signer).
    #[cfg_attr(feature = "typescript", ts(type = "number"))]
    pub version: u64,
    /// The version people read, e.g. `0.1.0`.
    pub label: String,
    /// SHA-256 of the binary that runs, hex.
    pub sha256: String,
    /// The key the release was signed with: `development`, or the start of its fingerprint.
    pub release_key: String,
}

impl std::fmt::Display for SignerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match self.origin {
            SignerOrigin::Delivered => "delivered by the key server, run from memory",
            SignerOrigin::Bundled => "installed signer (this computer cannot run one from memory)",
        };
        write!(
            f,
            "signer {} (release {}), {origin}, SHA-256 {}, release key {}",
            self.label, self.version, self.sha256, self.release_key
        )
    }
}

/// A release that passed every check of [`check_manifest`].
#[derive(Clone, Debug)]
pub struct CheckedRelease {
    /// What the release key signed.
    pub content: ReleaseContent,
    /// The build for this computer.
    pub build: ReleaseBuild,
    /// The key server's statement and policy.
    pub freshness: Freshness,
    /// SHA-256 fingerprint (hex) of the built-in key the release chains to.
    pub trusted_key: String,
    /// How the release key is shown.
    pub release_key_name: String,
}

/// Why a delivered signer was refused.
fn rejected(why: impl Into<String>) -> ClientError {
    ClientError::SignerRejected(why.into())
}

/// The release keys compiled into this program, as SubjectPublicKeyInfo DER.
pub fn built_in_release_keys() -> Result<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    let mut rest = RELEASE_KEYS_PEM;
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    while let Some(start) = rest.find(BEGIN) {
        let Some(length) = rest[start..].find(END) else {
            break;
        };
        let block = &rest[start..start + length + END.len()];
        let (_, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| rejected(format!("a release key built into this program is damaged ({e})")))?;
        keys.push(der);
        rest = &rest[start + length + END.len()..];
    }
    if keys.is_empty() {
        return Err(rejected("this program was built without a release key"));
    }
    Ok(keys)
}

fn fingerprint(spki: &[u8]) -> String {
    hex::encode(Sha256::digest(spki))
}

fn verify(spki: &[u8], content: &[u8], signature: &[u8]) -> bool {
    PublicKey::from_spki_der(spki)
        .is_ok_and(|key| signet_crypto::sign::verify(&key, SignatureScheme::RsaPssSha256, content, signature).is_ok())
}

/// Checks a manifest against the keys this program trusts
/// (`trusted`, SPKI DER), the key server's pinned integrity key, the time
/// `now` and this program's `target`. Every refusal says what failed.
pub fn check_manifest(
    manifest: &ReleaseManifest,
    trusted: &[Vec<u8>],
    pinned_integrity_key: Option<&[u8]>,
    now: i64,
    target: &str,
) -> Result<CheckedRelease> {
    // 1. The key server vouches that this release is current.
    if let Some(pinned) = pinned_integrity_key
        && pinned != manifest.integrity_key.0.as_slice()
    {
        return Err(rejected(
            "the release's freshness is vouched for by another key than the key server's pinned integrity key",
        ));
    }
    if !verify(
        &manifest.integrity_key.0,
        &manifest.freshness.0,
        &manifest.freshness_signature.0,
    ) {
        return Err(rejected(
            "the key server's freshness statement does not verify with its integrity key",
        ));
    }
    let freshness = Freshness::from_json(&manifest.freshness.0)
        .map_err(|e| rejected(format!("the key server's freshness statement is malformed: {e}")))?;
    if freshness.content_sha256.0 != Sha256::digest(&manifest.release.content.0).as_slice() {
        return Err(rejected(
            "the key server's freshness statement is about another release",
        ));
    }
    if now >= freshness.expires_at {
        return Err(rejected(format!(
            "the release manifest expired {} seconds ago: the key server has not renewed it, or someone is \
             replaying an old one",
            now.saturating_sub(freshness.expires_at)
        )));
    }
    if freshness.issued_at > now + CLOCK_SKEW_SECS {
        return Err(rejected(
            "the release manifest is dated in the future: check this computer's clock",
        ));
    }
    // 2. A trusted release key signed it, directly or through endorsements.
    let release = &manifest.release;
    if release.endorsements.len() > MAX_ENDORSEMENTS {
        return Err(rejected("the release key's chain of endorsements is too long"));
    }
    let root = signet_crypto::release::trusted_root(release, trusted).ok_or_else(|| {
        rejected(
            "the release is signed by a key this program does not trust (it is not built in, and no built-in key \
             endorsed it)",
        )
    })?;
    signet_crypto::release::check_release(release).map_err(rejected)?;
    let content = ReleaseContent::from_json(&release.content.0)
        .map_err(|e| rejected(format!("the signed release is malformed: {e}")))?;
    // 3. It is a signer this program can speak to, for this computer.
    if content.protocol_version != PROTOCOL_VERSION {
        return Err(rejected(format!(
            "release {} ({}) speaks signer protocol {}, this program speaks {PROTOCOL_VERSION}: update Signet",
            content.version, content.label, content.protocol_version
        )));
    }
    let build = content.build_for(target).cloned().ok_or_else(|| {
        rejected(format!(
            "release {} has no build for this computer ({target})",
            content.version
        ))
    })?;
    let trusted_key = fingerprint(root);
    let release_key_name = if root == release.signing_key.0.as_slice() && RELEASE_KEYS_NAME == "development" {
        "development".to_owned()
    } else {
        fingerprint(&release.signing_key.0)[..16].to_owned()
    };
    Ok(CheckedRelease {
        content,
        build,
        freshness,
        trusted_key,
        release_key_name,
    })
}

/// A signer ready to start: a sealed memfd holding a checked release, or
/// the installed binary where the key server allows it.
#[derive(Debug)]
pub struct SignerImage {
    location: ImageLocation,
    /// Which signer it is.
    pub identity: SignerIdentity,
}

#[derive(Debug)]
enum ImageLocation {
    #[cfg(target_os = "linux")]
    Memory(std::os::fd::OwnedFd),
    Installed(PathBuf),
}

impl SignerImage {
    /// The path to execute: `/proc/self/fd/N` for a memfd (resolved by the
    /// kernel in the child, before the descriptor closes on exec).
    pub fn program(&self) -> PathBuf {
        match &self.location {
            #[cfg(target_os = "linux")]
            ImageLocation::Memory(fd) => {
                use std::os::fd::AsRawFd;
                PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            }
            ImageLocation::Installed(path) => path.clone(),
        }
    }

    /// The signer installed at `path`, as part of `release`: run only where
    /// the key server's policy allows it (see [`deliver`]).
    pub fn installed(path: PathBuf, release: &CheckedRelease) -> Result<SignerImage> {
        let bytes = std::fs::read(&path).map_err(|e| ClientError::file(&path, e))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let mut identity = release.identity(SignerOrigin::Bundled, sha256);
        // Only the release's own binary carries the release's name.
        if identity.sha256 != release.build.sha256 {
            identity.version = 0;
            identity.label = "an unreleased build".into();
        }
        Ok(SignerImage {
            identity,
            location: ImageLocation::Installed(path),
        })
    }
}

/// The signer delivered last, kept (sealed, in memory) for the next
/// sign-in to the same server while the release stays current.
static DELIVERED: Mutex<Option<(String, Arc<SignerImage>)>> = Mutex::new(None);

/// Fetches the current release's manifest and checks it ([`check_manifest`])
/// against the built-in release keys and `pinned_integrity_key`.
pub fn fetch_release(
    server: &KeyServer,
    pinned_integrity_key: Option<&[u8]>,
) -> Result<(ReleaseManifest, CheckedRelease)> {
    let manifest: ReleaseManifest = server.get_json(MANIFEST_PATH).map_err(|e| match e {
        ClientError::Server {
            code: signet_schema::api::ApiErrorCode::NotFound,
            message,
            ..
        } => rejected(format!("the key server delivers no signer: {message}")),
        other => other,
    })?;
    let checked = check_manifest(
        &manifest,
        &built_in_release_keys()?,
        pinned_integrity_key,
        crate::session::unix_now(),
        TARGET,
    )?;
    Ok((manifest, checked))
}

/// Fetches the binary of a checked release, checks it and loads it into a
/// sealed memfd, checked again from there.
pub fn load_release(server: &KeyServer, checked: &CheckedRelease) -> Result<SignerImage> {
    let binary = server.get_bytes(&format!("{BINARY_PATH}{}", checked.build.sha256))?;
    check_binary(&binary, &checked.build)?;
    Ok(SignerImage {
        location: load_into_memory(&binary, &checked.build)?,
        identity: checked.identity(SignerOrigin::Delivered, checked.build.sha256.clone()),
    })
}

impl CheckedRelease {
    fn identity(&self, origin: SignerOrigin, sha256: String) -> SignerIdentity {
        SignerIdentity {
            origin,
            version: self.content.version,
            label: self.content.label.clone(),
            sha256,
            release_key: self.release_key_name.clone(),
        }
    }
}

/// Fetches, checks and loads the signer the key server delivers; see the
/// module documentation for what is checked. `pinned_integrity_key` is the
/// key tier's integrity key pinned in the settings, if any; answers the
/// image and the integrity key that vouched for it (to pin on first use).
pub fn deliver(
    server: &KeyServer,
    store: &SettingsStore,
    pinned_integrity_key: Option<&[u8]>,
) -> Result<(Arc<SignerImage>, Vec<u8>)> {
    let (manifest, checked) = fetch_release(server, pinned_integrity_key)?;
    // One floor for the signing core, whichever trusted key signed a release:
    // a second built-in key, or a rotation, never reopens older releases.
    if let Some(highest) = store.accepted_release(SIGNER_PRODUCT)?
        && checked.content.version < highest
    {
        return Err(rejected(format!(
            "the key server offers signer release {} ({}), older than release {highest} which this computer \
             has already run: an older signer is never run again",
            checked.content.version, checked.content.label
        )));
    }
    let image = match memfd_execution() {
        Ok(()) => {
            let key = format!("{} {} {}", server.url(), checked.content.version, checked.build.sha256);
            let mut delivered = DELIVERED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match delivered.as_ref().filter(|(k, _)| *k == key) {
                Some((_, image)) => image.clone(),
                None => {
                    let image = Arc::new(load_release(server, &checked)?);
                    *delivered = Some((key, image.clone()));
                    image
                }
            }
        }
        Err(why) => {
            if checked.freshness.bundled_signer != BundledSigner::Allowed {
                return Err(rejected(format!(
                    "{why}, and the key server does not allow the signer installed on this computer: ask your \
                     administrator"
                )));
            }
            Arc::new(SignerImage::installed(crate::signer::locate()?, &checked)?)
        }
    };
    store.accept_release(SIGNER_PRODUCT, checked.content.version)?;
    Ok((image, manifest.integrity_key.0))
}

/// Checks downloaded (or re-read) bytes against the release's build.
fn check_binary(binary: &[u8], build: &ReleaseBuild) -> Result<()> {
    if binary.len() as u64 != build.size {
        return Err(rejected(format!(
            "the signer binary has {} bytes, the signed release says {}",
            binary.len(),
            build.size
        )));
    }
    let sha256 = hex::encode(Sha256::digest(binary));
    if sha256 != build.sha256 {
        return Err(rejected(format!(
            "the signer binary's SHA-256 is {sha256}, the signed release says {}: it was changed after release",
            build.sha256
        )));
    }
    Ok(())
}

/// Whether this computer can execute a memfd: `Err` says why not.
fn memfd_execution() -> std::result::Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("this system cannot run a program from memory".into());
    }
    // The stand-in is honoured by debug builds only (the tests'): a release
    // build reads the kernel's setting whatever its environment says.
    let stand_in = cfg!(debug_assertions)
        .then(|| std::env::var_os(MEMFD_NOEXEC_ENV))
        .flatten();
    let sysctl = stand_in.map_or_else(|| PathBuf::from(MEMFD_NOEXEC_SYSCTL), PathBuf::from);
    match std::fs::read_to_string(&sysctl) {
        Ok(text) if text.trim() == "2" => Err(format!(
            "this computer forbids running programs from memory (vm.memfd_noexec = 2 in {})",
            sysctl.display()
        )),
        // 0 and 1 allow a memfd made with MFD_EXEC; kernels before 6.3 have no such setting.
        _ => Ok(()),
    }
}

/// Writes `binary` into a new memfd, seals it and checks it again from there.
#[cfg(target_os = "linux")]
fn load_into_memory(binary: &[u8], build: &ReleaseBuild) -> Result<ImageLocation> {
    use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, fcntl_get_seals, memfd_create};
    use std::io::Write as _;
    use std::os::unix::fs::FileExt as _;

    let failed = |what: &str, e: std::io::Error| ClientError::SignerUnavailable(format!("{what}: {e}"));
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    // MFD_EXEC (Linux 6.3) keeps the memfd executable where vm.memfd_noexec = 1
    // makes memfds non-executable by default; older kernels refuse the flag.
    let fd = memfd_create("signet-signer", flags | MemfdFlags::EXEC)
        .or_else(|_| memfd_create("signet-signer", flags))
        .map_err(|e| failed("no memory file for the signer", e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(binary)
        .map_err(|e| failed("the signer could not be put in memory", e))?;
    let seals = SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL;
    // The kernel refuses F_SEAL_WRITE (EBUSY) while a page still has a
    // transient reference, as freshly written pages can have in another
    // CPU's page batches for a few milliseconds: try again for up to a second.
    let mut attempts = 0;
    while let Err(e) = fcntl_add_seals(&file, seals) {
        attempts += 1;
        if e != rustix::io::Errno::BUSY || attempts == 200 {
            return Err(failed("the signer's memory file could not be sealed", e.into()));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let sealed = fcntl_get_seals(&file).map_err(|e| failed("the signer's seals could not be read", e.into()))?;
    if !sealed.contains(seals) {
        return Err(rejected("the signer's memory file is not sealed"));
    }
    // What runs is what was checked: nothing more (another process of this
    // user could have appended before the seals) and the same bytes, read back
    // from the sealed memfd.
    let size = file
        .metadata()
        .map_err(|e| failed("the signer's memory file could not be examined", e))?
        .len();
    if size != build.size {
        return Err(rejected(format!(
            "the signer's memory file holds {size} bytes, the signed release says {}",
            build.size
        )));
    }
    let mut again = vec![0u8; binary.len()];
    file.read_exact_at(&mut again, 0)
        .map_err(|e| failed("the signer could not be read back from memory", e))?;
    check_binary(&again, build)?;
    Ok(ImageLocation::Memory(file.into()))
}

#[cfg(not(target_os = "linux"))]
fn load_into_memory(_binary: &[u8], _build: &ReleaseBuild) -> Result<ImageLocation> {
    Err(rejected("this system cannot run a program from memory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::keys::ServerKey;
    use signet_schema::KeySize;
    use signet_schema::protocol::Bytes;
    use signet_schema::release::{
        FRESHNESS_PURPOSE, KeyEndorsement, RELEASE_FORMAT, SIGNER_PRODUCT, SignedRelease, endorsement_bytes,
    };
    use std::sync::OnceLock;

    const NOW: i64 = 1_900_000_000;
    const TARGET: &str = "x86_64-unknown-linux-gnu";
    const BINARY: &[u8] = b"\x7fELF a signer";

    /// Release key, second release key, integrity key, another key.
    fn keys() -> &'static [ServerKey; 4] {
        static KEYS: OnceLock<[ServerKey; 4]> = OnceLock::new();
        KEYS.get_or_init(|| std::array::from_fn(|_| ServerKey::generate(KeySize::Rsa2048).expect("key")))
    }

    fn spki(key: &ServerKey) -> Vec<u8> {
        key.public_key().to_spki_der().expect("spki")
    }

    fn sign(key: &ServerKey, bytes: &[u8]) -> Bytes {
        Bytes(signet_crypto::sign::sign(key, SignatureScheme::RsaPssSha256, bytes).expect("sign"))
    }

    fn content() -> ReleaseContent {
        ReleaseContent {
            format: RELEASE_FORMAT,
            product: SIGNER_PRODUCT.into(),
            version: 7,
            label: "0.1.0".into(),
            protocol_version: PROTOCOL_VERSION,
            published_at: NOW - 100,
            builds: vec![ReleaseBuild {
                target: TARGET.into(),
                sha256: hex::encode(Sha256::digest(BINARY)),
                size: BINARY.len() as u64,
            }],
        }
    }

    /// A manifest of `content` signed by `release_key`, made fresh by the integrity key.
    fn manifest_of(content: &ReleaseContent, release_key: &ServerKey, expires_at: i64) -> ReleaseManifest {
        let [_, _, integrity, _] = keys();
        let content = content.to_json();
        let freshness = Freshness {
            purpose: FRESHNESS_PURPOSE.into(),
            content_sha256: Bytes(Sha256::digest(&content).to_vec()),
            issued_at: NOW - 10,
            expires_at,
            bundled_signer: BundledSigner::Refused,
        }
        .to_json();
        ReleaseManifest {
            release: SignedRelease {
                signature: sign(release_key, &content),
                content: Bytes(content),
                signing_key: Bytes(spki(release_key)),
                endorsements: Vec::new(),
            },
            freshness_signature: sign(integrity, &freshness),
            freshness: Bytes(freshness),
            integrity_key: Bytes(spki(integrity)),
        }
    }

    fn good() -> ReleaseManifest {
        manifest_of(&content(), &keys()[0], NOW + 3600)
    }

    fn check(manifest: &ReleaseManifest) -> Result<CheckedRelease> {
        let [release, _, integrity, _] = keys();
        check_manifest(manifest, &[spki(release)], Some(&spki(integrity)), NOW, TARGET)
    }

    fn refusal(manifest: &ReleaseManifest) -> String {
        match check(manifest) {
            Err(ClientError::SignerRejected(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_current_release_signed_by_a_built_in_key_is_accepted() {
        let checked = check(&good()).expect("accepted");
        assert_eq!(checked.content.version, 7);
        assert_eq!(checked.build.size, BINARY.len() as u64);
        assert_eq!(checked.trusted_key, fingerprint(&spki(&keys()[0])));
        check_binary(BINARY, &checked.build).expect("the binary it names");
    }

    #[test]
    fn an_expired_or_replayed_manifest_is_refused() {
        let expired = manifest_of(&content(), &keys()[0], NOW - 1);
        assert!(refusal(&expired).contains("expired"), "{}", refusal(&expired));
    }

    #[test]
    fn freshness_must_come_from_the_pinned_integrity_key_and_name_this_release() {
        let mut other_key = good();
        other_key.integrity_key = Bytes(spki(&keys()[3]));
        assert!(refusal(&other_key).contains("pinned integrity key"));

        let mut forged = good();
        forged.freshness_signature = sign(&keys()[3], &forged.freshness.0);
        assert!(refusal(&forged).contains("does not verify"));

        // A fresh statement about another release does not make this one fresh.
        let mut mixed = good();
        let newer = manifest_of(
            &ReleaseContent {
                version: 8,
                ..content()
            },
            &keys()[0],
            NOW + 3600,
        );
        mixed.freshness = newer.freshness;
        mixed.freshness_signature = newer.freshness_signature;
        assert!(refusal(&mixed).contains("another release"));
    }

    #[test]
    fn a_release_not_signed_by_a_trusted_key_is_refused() {
        let untrusted = manifest_of(&content(), &keys()[3], NOW + 3600);
        assert!(refusal(&untrusted).contains("does not trust"));

        let mut tampered = good();
        let mut changed = content();
        changed.builds[0].sha256 = "00".repeat(32);
        tampered.release.content = Bytes(changed.to_json());
        // Freshness over the new bytes, so only the release signature fails.
        let fresh = manifest_of(&changed, &keys()[0], NOW + 3600);
        tampered.freshness = fresh.freshness;
        tampered.freshness_signature = fresh.freshness_signature;
        assert!(refusal(&tampered).contains("release signature"));
    }

    #[test]
    fn a_rotated_release_key_is_trusted_through_the_old_keys_endorsement() {
        let [old, new, _, stranger] = keys();
        let mut rotated = manifest_of(&content(), new, NOW + 3600);
        rotated.release.endorsements = vec![KeyEndorsement {
            key: Bytes(spki(new)),
            signature: sign(old, &endorsement_bytes(&spki(new))),
        }];
        let checked = check(&rotated).expect("endorsed");
        assert_eq!(
            checked.trusted_key,
            fingerprint(&spki(old)),
            "the floor stays the old key's"
        );

        rotated.release.endorsements[0].signature = sign(stranger, &endorsement_bytes(&spki(new)));
        assert!(refusal(&rotated).contains("does not trust"));
    }

    #[test]
    fn another_protocol_or_another_computer_is_refused() {
        let other_protocol = manifest_of(
            &ReleaseContent {
                protocol_version: PROTOCOL_VERSION + 1,
                ..content()
            },
            &keys()[0],
            NOW + 3600,
        );
        assert!(refusal(&other_protocol).contains("speaks signer protocol"));

        let [release, _, integrity, _] = keys();
        let elsewhere = check_manifest(
            &good(),
            &[spki(release)],
            Some(&spki(integrity)),
            NOW,
            "aarch64-apple-darwin",
        );
        assert!(matches!(elsewhere, Err(ClientError::SignerRejected(why)) if why.contains("no build")));
    }

    #[test]
    fn a_changed_binary_is_refused() {
        let build = check(&good()).expect("accepted").build;
        let mut changed = BINARY.to_vec();
        changed[5] ^= 1;
        assert!(
            matches!(check_binary(&changed, &build), Err(ClientError::SignerRejected(why)) if why.contains("SHA-256"))
        );
        assert!(
            matches!(check_binary(&BINARY[1..], &build), Err(ClientError::SignerRejected(why)) if why.contains("bytes"))
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_memfd_is_sealed_and_holds_what_was_checked() {
        use std::io::Write as _;
        let build = check(&good()).expect("accepted").build;
        let ImageLocation::Memory(fd) = load_into_memory(BINARY, &build).expect("memfd") else {
            panic!("not in memory");
        };
        let mut file = std::fs::File::from(fd);
        assert!(file.write_all(b"changed").is_err(), "sealed against writing");
        assert!(file.set_len(1).is_err(), "sealed against shrinking");
        let mut back = vec![0u8; BINARY.len()];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut back, 0).expect("read");
        assert_eq!(back, BINARY);
    }

    #[test]
    fn the_built_in_keys_parse() {
        assert!(!built_in_release_keys().expect("keys").is_empty());
    }
}
