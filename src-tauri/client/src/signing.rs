//! Sign → check → save → record, the one sequence behind every signature
//! the app and the command line make:
//!
//! 1. the signing core signs the SHA-256 of the exact bytes, and the new
//!    signature is verified against that digest with the session's
//!    certificate before anything is saved ([`crate::session::UncheckedSignature`]);
//! 2. the files are written durably ([`write_durably`]: a temporary file,
//!    `fsync`, rename, `fsync` of the directory), so a signature reported
//!    as saved survives a crash;
//! 3. the signature is appended to the history ([`History`], one JSON line
//!    each, `fsync`ed), which holds what was signed and never a key.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use signet_schema::SignatureScheme;
use signet_schema::protocol::SignatureFormat;

use crate::error::ClientError;
use crate::session::{Session, UncheckedSignature, unix_now};

/// A signature made and saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignedDocument {
    /// Who signed.
    pub user_id: String,
    /// The document's name.
    pub name: String,
    /// SHA-256 of what was signed, upper-case hex.
    pub sha256: String,
    /// Unix seconds.
    pub signed_at: i64,
    /// The certificate's serial, upper-case hex.
    pub serial: String,
    /// Where the document is.
    pub document_path: String,
    /// Where its detached signature (CMS, `.p7s`) is.
    pub signature_path: String,
    /// Size of the signature.
    pub signature_size: usize,
    /// SHA-256 of the signature (the `.p7s` bytes), lower-case hex; absent
    /// in entries written before it was recorded.
    #[serde(default)]
    pub signature_sha256: Option<String>,
}

/// `name` as a plain file name: its last path component, without leading
/// dots; `document` when nothing is left. Whatever a page or a file says,
/// what is saved stays in the folder it is saved in.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let trimmed = last.trim_start_matches('.').trim();
    let cleaned: String = trimmed.chars().filter(|c| !c.is_control()).collect();
    if cleaned.is_empty() { "document".into() } else { cleaned }
}

/// `name` (made safe, see [`safe_file_name`]), or `name (2)`, `name (3)`,
/// … in `dir`: the first that does not exist.
pub fn unused_path(dir: &Path, name: &str) -> PathBuf {
    let name = safe_file_name(name);
    let name = name.as_str();
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (stem.to_string(), format!(".{extension}")),
        None => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

fn sync_directory(dir: &Path) -> Result<(), ClientError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ClientError::file(dir, e))
}

/// Writes `bytes` to `path` so that afterwards it is complete or absent,
/// even across a crash: a temporary file beside it, flushed to disk,
/// renamed over `path`, and the directory flushed. The file is readable by
/// its owner only (mode 0600, whatever the umask): letters carry consent
/// phrases, and orders and signatures are nobody else's business.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ClientError::file(dir, e))?;
    // A fresh, unpredictable temporary name (O_EXCL): nothing planted beside
    // the target can redirect the write; it is removed if anything fails.
    use std::os::unix::fs::PermissionsExt as _;
    let mut temporary = tempfile::Builder::new()
        .prefix(".signet-")
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| ClientError::file(dir, e))?;
    temporary
        .write_all(bytes)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(|e| ClientError::file(temporary.path(), e))?;
    temporary.persist(path).map_err(|e| ClientError::file(path, e.error))?;
    sync_directory(dir)
}

/// The history of signatures made on this computer.
#[derive(Clone, Debug)]
pub struct History {
    path: PathBuf,
}

impl History {
    /// The history kept in `path`.
    pub fn at(path: PathBuf) -> History {
        History { path }
    }

    /// Where the app and the command line keep it:
    /// `$XDG_DATA_HOME/signet/signatures.jsonl` (by default under
    /// `~/.local/share`).
    pub fn default_location() -> Result<History, ClientError> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .ok_or_else(|| ClientError::input("HOME", "neither XDG_DATA_HOME nor HOME is set"))?;
        Ok(History::at(base.join("signet").join("signatures.jsonl")))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one signature, flushed to disk before this returns.
    pub fn record(&self, signed: &SignedDocument) -> Result<(), ClientError> {
        let fail = |e: std::io::Error| ClientError::file(&self.path, e);
        let new_file = !self.path.exists();
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut line = Vec::new();
        if ends_mid_line(&self.path) {
            // Start afresh after a line a crash cut short, so this one reads.
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, signed).map_err(|e| ClientError::input("history", e.to_string()))?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        file.write_all(&line).and_then(|()| file.sync_data()).map_err(fail)?;
        match self.path.parent().filter(|_| new_file) {
            Some(dir) => sync_directory(dir),
            None => Ok(()),
        }
    }

    /// `user_id`'s signatures, latest first. A line that does not read (a
    /// write cut short by a crash) is skipped.
    pub fn of_user(&self, user_id: &str) -> Result<Vec<SignedDocument>, ClientError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(ClientError::file(&self.path, e)),
        };
        let mut mine: Vec<SignedDocument> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<SignedDocument>(line).ok())
            .filter(|s| s.user_id == user_id)
            .collect();
        mine.reverse();
        Ok(mine)
    }
}

/// The serial of a DER certificate, upper-case hex.
fn serial_of(der: &[u8]) -> Result<String, ClientError> {
    use der::Decode;
    x509_cert::Certificate::from_der(der)
        .map(|c| hex::encode_upper(c.tbs_certificate().serial_number().as_bytes()))
        .map_err(|e| ClientError::NotValid(format!("the session's certificate does not parse: {e}")))
}

/// Whether the file at `path` is non-empty and does not end with a newline
/// (a line cut short by a crash).
fn ends_mid_line(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let last = std::fs::File::open(path).and_then(|mut f| {
        if f.metadata()?.len() == 0 {
            return Ok(b'\n');
        }
        f.seek(SeekFrom::End(-1))?;
        let mut byte = [0u8];
        f.read_exact(&mut byte)?;
        Ok(byte[0])
    });
    matches!(last, Ok(b) if b != b'\n')
}

/// Where a document and its signature go.
#[derive(Clone, Copy, Debug)]
pub enum Placement<'a> {
    /// The document is already where it belongs (a file the person chose):
    /// the signature goes beside it as `FILE.p7s`, or into `out` when given.
    Beside {
        /// The document.
        document: &'a Path,
        /// Another folder for the signature.
        out: Option<&'a Path>,
    },
    /// The document is new (composed, or imported from the page): it is
    /// saved in `dir` under an unused name, with its signature.
    Into {
        /// The folder.
        dir: &'a Path,
    },
}

/// One document to sign: its name, its exact bytes and where it goes.
#[derive(Clone, Copy, Debug)]
pub struct Document<'a> {
    /// The name it is saved and recorded under.
    pub name: &'a str,
    /// The exact bytes to sign.
    pub bytes: &'a [u8],
    /// Where it and its signature go.
    pub placement: Placement<'a>,
}

/// Who signs: what every saved signature records.
struct SignedBy {
    user_id: String,
    serial: String,
}

impl SignedBy {
    fn of(session: &Session) -> Result<SignedBy, ClientError> {
        Ok(SignedBy {
            user_id: session.user_id().to_string(),
            serial: serial_of(session.certificate())?,
        })
    }
}

/// The signing core's signature over `document`, not yet checked.
fn request(session: &mut Session, document: &Document<'_>) -> Result<([u8; 32], UncheckedSignature), ClientError> {
    // Hashed once: the digest is signed, checked against the new signature
    // and recorded.
    let sha256: [u8; 32] = Sha256::digest(document.bytes).into();
    let signature = session.request_signature(&sha256, SignatureFormat::Cms, SignatureScheme::RsaPssSha256)?;
    Ok((sha256, signature))
}

/// Checks the signature, then saves what `document.placement` says and
/// records it: nothing is saved unless the signature verified.
fn check_and_save(
    signed_by: &SignedBy,
    document: &Document<'_>,
    sha256: [u8; 32],
    signature: UncheckedSignature,
    history: &History,
) -> Result<SignedDocument, ClientError> {
    let signature = signature.check()?;
    let (document_path, signature_path) = match document.placement {
        Placement::Beside { document, out } => {
            let mut file_name = document.file_name().unwrap_or_default().to_os_string();
            file_name.push(".p7s");
            let dir = out
                .map(Path::to_path_buf)
                .or_else(|| document.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            (document.to_path_buf(), dir.join(file_name))
        }
        Placement::Into { dir } => {
            let document_path = unused_path(dir, document.name);
            if document_path.parent() != Some(dir) {
                return Err(ClientError::input(
                    "name",
                    "the document would be saved outside its folder",
                ));
            }
            write_durably(&document_path, document.bytes)?;
            let mut file_name = document_path.file_name().unwrap_or_default().to_os_string();
            file_name.push(".p7s");
            (document_path, dir.join(file_name))
        }
    };
    write_durably(&signature_path, &signature)?;
    let signed = SignedDocument {
        user_id: signed_by.user_id.clone(),
        name: document.name.to_owned(),
        sha256: hex::encode_upper(sha256),
        signed_at: unix_now(),
        serial: signed_by.serial.clone(),
        document_path: document_path.display().to_string(),
        signature_path: signature_path.display().to_string(),
        signature_size: signature.len(),
        signature_sha256: Some(hex::encode(Sha256::digest(&signature))),
    };
    history.record(&signed).map_err(|e| ClientError::NotRecorded {
        signature_path: signed.signature_path.clone(),
        source: Box::new(e),
    })?;
    Ok(signed)
}

/// Signs `document` as a detached CMS signature with RSASSA-PSS, saves
/// what its placement says, and records it in `history`. Nothing is saved
/// unless the signature verified.
pub fn sign_and_save(
    session: &mut Session,
    document: Document<'_>,
    history: &History,
) -> Result<SignedDocument, ClientError> {
    let signed_by = SignedBy::of(session)?;
    let (sha256, signature) = request(session, &document)?;
    check_and_save(&signed_by, &document, sha256, signature, history)
}

/// Whether `error` ends a batch: the signing process failed or is gone.
fn ends_a_batch(error: &ClientError) -> bool {
    matches!(error, ClientError::SignerFailed(_) | ClientError::SignerUnavailable(_))
}

/// [`sign_and_save`] for each of `items`, in order, as a pipeline: while
/// the signing core signs one document, the signature before it is checked,
/// saved and recorded on a second thread, so a batch takes about as long as
/// its signatures. `document` says what to sign for an item, just before it
/// is signed (an error there refuses that item alone); `done` hears of each
/// item once, in order, with what became of it.
///
/// Stops at the first failure of the signing process ([`ends_a_batch`]),
/// which it returns once the items before it are done; the items after it
/// are not signed and `done` does not hear of them.
pub fn sign_and_save_each<T: Sync>(
    session: &mut Session,
    items: &[T],
    document: impl for<'a> Fn(&'a T) -> Result<Document<'a>, ClientError>,
    history: &History,
    mut done: impl FnMut(&T, Result<SignedDocument, ClientError>) + Send,
) -> Result<(), ClientError> {
    type Signed<'a> = Result<(Document<'a>, [u8; 32], UncheckedSignature), ClientError>;
    let signed_by = SignedBy::of(session)?;
    std::thread::scope(|scope| {
        // One signature waits while the next is made: the core never idles
        // on a slow disk, and little is held at once.
        let (to_save, saving) = std::sync::mpsc::sync_channel::<(usize, Signed<'_>)>(1);
        let (signed_by, done) = (&signed_by, &mut done);
        let saver = scope.spawn(move || {
            for (index, signed) in saving {
                let outcome = signed.and_then(|(document, sha256, signature)| {
                    check_and_save(signed_by, &document, sha256, signature, history)
                });
                done(&items[index], outcome);
            }
        });
        let mut fatal = None;
        for (index, item) in items.iter().enumerate() {
            let signed = document(item).and_then(|document| {
                let (sha256, signature) = request(session, &document)?;
                Ok((document, sha256, signature))
            });
            match signed {
                Err(error) if ends_a_batch(&error) => {
                    fatal = Some(error);
                    break;
                }
                signed => {
                    if to_save.send((index, signed)).is_err() {
                        break;
                    }
                }
            }
        }
        drop(to_save);
        if let Err(panic) = saver.join() {
            std::panic::resume_unwind(panic);
        }
        fatal.map_or(Ok(()), Err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_writes_replace_whole_files_and_leave_no_partial() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("order.xml.p7s");
        write_durably(&path, b"first").expect("write");
        write_durably(&path, b"second").expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the owner's alone");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("order.xml.p7s")]);
        assert_eq!(
            unused_path(dir.path(), "order.xml.p7s"),
            dir.path().join("order.xml (2).p7s")
        );
    }

    #[test]
    fn the_history_keeps_each_users_signatures_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let history = History::at(dir.path().join("signet").join("signatures.jsonl"));
        let signed = |user: &str, name: &str| SignedDocument {
            user_id: user.into(),
            name: name.into(),
            sha256: "AB".into(),
            signed_at: 1,
            serial: "01".into(),
            document_path: name.into(),
            signature_path: format!("{name}.p7s"),
            signature_size: 3,
            signature_sha256: None,
        };
        history.record(&signed("alice", "a.xml")).expect("record");
        history.record(&signed("bob", "b.xml")).expect("record");
        // A write cut short by a crash leaves half a line.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(history.path())
            .expect("open");
        file.write_all(b"{\"userId\":\"alice\",\"na").expect("torn");
        drop(file);
        history
            .record(&signed("alice", "c.xml"))
            .expect("record after the torn line");
        let names: Vec<String> = history
            .of_user("alice")
            .expect("read")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["c.xml", "a.xml"]);
        assert!(history.of_user("carol").expect("read").is_empty());
    }
}
