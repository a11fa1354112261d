//! Secret files of the key tier (storage key, CA key, integrity key):
//! created atomically with mode 0600, refused when others can read them.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Why a secret file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: io::Error,
    },
    /// Group or others may read or write the file.
    #[error("{path}: mode {mode:o} lets others read it; run `chmod 600 {path}`")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SecretFileError + '_ {
    move |source| SecretFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `path` with `mode`: written to a temporary file in the
/// same directory (created exclusively with that mode), synced, renamed over
/// `path`, and the directory synced, so a crash leaves either the old file
/// or the new one, never part of one.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SecretFileError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| io_error(path)(io::Error::other(e.to_string())))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(suffix)));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_error(path))
}

/// [`write_atomically`] with mode 0600, for keys.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), SecretFileError> {
    write_atomically(path, bytes, 0o600)
}

/// Reads a secret file, refusing it when group or others have any access.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let mode = fs::metadata(path).map_err(io_error(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretFileError::TooOpen {
            path: path.display().to_string(),
            mode,
        });
    }
    fs::read(path).map_err(io_error(path))
}

/// Reads `path` if it exists, or creates it from `make()` first.
pub fn read_or_create_secret(
    path: &Path,
    make: impl FnOnce() -> Result<Vec<u8>, SecretFileError>,
) -> Result<Vec<u8>, SecretFileError> {
    match fs::metadata(path) {
        Ok(_) => read_secret(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let bytes = make()?;
            write_secret(path, &bytes)?;
            Ok(bytes)
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("storage.key");
        let made = read_or_create_secret(&path, || Ok(vec![1, 2, 3])).expect("create");
        assert_eq!(made, vec![1, 2, 3]);
        assert_eq!(fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        let again = read_or_create_secret(&path, || panic!("must not be made twice")).expect("read");
        assert_eq!(again, vec![1, 2, 3]);
        assert_eq!(
            fs::read_dir(dir.path()).expect("dir").count(),
            1,
            "a temporary file was left behind"
        );
    }

    #[test]
    fn an_open_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("storage.key");
        fs::write(&path, b"x").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            read_secret(&path),
            Err(SecretFileError::TooOpen { mode: 0o644, .. })
        ));
    }
}
