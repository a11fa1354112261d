//! What this computer remembers about the key server, kept in the OS keyring
//! (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows) and nowhere else: the server's address, its pinned certificate
//! fingerprint, its pinned integrity key, and the user id last signed in;
//! and, apart from the server, the highest release of the signing core
//! accepted, so that no server can hand back an older one.
//!
//! Never a private key, a pass phrase or anything derived from one. When no
//! keyring is available the client stops with a clear message instead of
//! falling back to a file: a plain file would let anyone who can write to
//! the home directory swap the pinned server.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::tls::Fingerprint;

/// The keyring service name shared by the desktop app and the command line.
pub const SERVICE: &str = "signet";
const ENTRY: &str = "key-server";
const RELEASES_ENTRY: &str = "signer-releases";
const HOSTS_ENTRY: &str = "hosts";

/// A host application this computer sends orders to, pinned at first use:
/// its address, its TLS certificate's fingerprint and the integrity key its
/// CA-issued certificate names (what its channel documents and status
/// reports are signed with).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPin {
    /// `https://host:port`.
    pub url: String,
    /// SHA-256 of its TLS certificate, hex.
    pub tls_sha256: String,
    /// Its integrity key (SubjectPublicKeyInfo DER), base64.
    pub integrity_key: String,
}

/// The remembered key server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `https://host:port`.
    pub server_url: String,
    /// SHA-256 of the server's TLS certificate, confirmed by the person.
    pub fingerprint: Fingerprint,
    /// The key tier's integrity key (SubjectPublicKeyInfo DER), pinned at the first sealed session.
    pub integrity_key: Option<Vec<u8>>,
    /// The user id last signed in, offered next time.
    pub user_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    server_url: String,
    fingerprint: String,
    #[serde(default)]
    integrity_key: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// The keyring entry holding [`Settings`].
#[derive(Debug, Clone)]
pub struct SettingsStore {
    service: String,
}

impl Default for SettingsStore {
    fn default() -> Self {
        SettingsStore {
            service: SERVICE.to_string(),
        }
    }
}

fn keyring_error(error: keyring::Error) -> ClientError {
    ClientError::Keyring(error.to_string())
}

impl SettingsStore {
    /// The settings of another keyring service (a second profile).
    pub fn with_service(service: &str) -> SettingsStore {
        SettingsStore {
            service: service.to_string(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry> {
        self.named_entry(ENTRY)
    }

    fn named_entry(&self, name: &str) -> Result<keyring::Entry> {
        if let Err(e) = keyring::Entry::store_status() {
            return Err(ClientError::Keyring(e.to_string()));
        }
        keyring::Entry::new(&self.service, name).map_err(keyring_error)
    }

    fn accepted_releases(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        match self.named_entry(RELEASES_ENTRY)?.get_password() {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                ClientError::Keyring(format!(
                    "the record of accepted signer releases is damaged ({e}); it cannot be rebuilt here: ask \
                     your help desk"
                ))
            }),
            Err(keyring::Error::NoEntry) => Ok(Default::default()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// The highest release of `product` (the signing core) accepted on this
    /// computer, if any.
    pub fn accepted_release(&self, product: &str) -> Result<Option<u64>> {
        Ok(self.accepted_releases()?.get(product).copied())
    }

    /// Remembers that release `version` of `product` was accepted, unless a
    /// higher one was.
    pub fn accept_release(&self, product: &str, version: u64) -> Result<()> {
        let mut releases = self.accepted_releases()?;
        let highest = releases.entry(product.to_owned()).or_default();
        if *highest >= version {
            return Ok(());
        }
        *highest = version;
        let text = serde_json::to_string(&releases).map_err(|e| ClientError::Keyring(e.to_string()))?;
        self.named_entry(RELEASES_ENTRY)?
            .set_password(&text)
            .map_err(keyring_error)
    }

    /// The pinned host applications, by name.
    pub fn host_pins(&self) -> Result<std::collections::BTreeMap<String, HostPin>> {
        match self.named_entry(HOSTS_ENTRY)?.get_password() {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| ClientError::Keyring(format!("the pinned host applications are damaged ({e})"))),
            Err(keyring::Error::NoEntry) => Ok(Default::default()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Pins the host application `name`.
    pub fn pin_host(&self, name: &str, pin: &HostPin) -> Result<()> {
        let mut pins = self.host_pins()?;
        pins.insert(name.to_owned(), pin.clone());
        let text = serde_json::to_string(&pins).map_err(|e| ClientError::Keyring(e.to_string()))?;
        self.named_entry(HOSTS_ENTRY)?
            .set_password(&text)
            .map_err(keyring_error)
    }

    /// Checks that a keyring is there and answers.
    pub fn check(&self) -> Result<()> {
        self.load().map(|_| ())
    }

    /// The remembered server, if one was set up.
    pub fn load(&self) -> Result<Option<Settings>> {
        let text = match self.entry()?.get_password() {
            Ok(text) => text,
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(keyring_error(e)),
        };
        let stored: Stored = serde_json::from_str(&text).map_err(|e| {
            ClientError::Keyring(format!("the stored Signet settings are damaged ({e}): connect again"))
        })?;
        let fingerprint = stored
            .fingerprint
            .parse()
            .map_err(|e| ClientError::Keyring(format!("the stored fingerprint is damaged ({e}): connect again")))?;
        let integrity_key = match stored.integrity_key {
            Some(text) => Some(
                B64.decode(text)
                    .map_err(|e| ClientError::Keyring(format!("the stored integrity key is damaged ({e})")))?,
            ),
            None => None,
        };
        Ok(Some(Settings {
            server_url: stored.server_url,
            fingerprint,
            integrity_key,
            user_id: stored.user_id,
        }))
    }

    /// The remembered server, or [`ClientError::NotConfigured`].
    pub fn require(&self) -> Result<Settings> {
        self.load()?.ok_or(ClientError::NotConfigured)
    }

    /// Remembers `settings`, replacing what was there.
    pub fn save(&self, settings: &Settings) -> Result<()> {
        let stored = Stored {
            server_url: settings.server_url.clone(),
            fingerprint: settings.fingerprint.to_hex(),
            integrity_key: settings.integrity_key.as_ref().map(|k| B64.encode(k)),
            user_id: settings.user_id.clone(),
        };
        let text = serde_json::to_string(&stored).map_err(|e| ClientError::Keyring(e.to_string()))?;
        self.entry()?.set_password(&text).map_err(keyring_error)
    }

    /// Forgets the server (a new one must be confirmed again).
    pub fn forget(&self) -> Result<()> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}
