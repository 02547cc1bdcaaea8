//! Atomic, durable file writes (sentinel.c `sentinelFlushConfig`, config.c `rewriteConfigOverwriteFile`).
//!
//! A write goes to a temp file in the same directory, is fsync'ed, renamed over the target, and the
//! directory is fsync'ed; on any failure the temp file is removed and the old file is intact. A crash at
//! any moment leaves either the old or the new complete file (plus, at worst, a stray temp file). This is
//! what makes a vote safe to announce once `write` returned (reference §6.3, §9.6).
//!
//! This module knows nothing of what is written: [`crate::config::StateStore`] decides the content (the
//! Redis-style in-place rewrite of a `sentinel.conf`, or the separate state file of a TOML config) and
//! hands it here. So the dependency goes one way, config → persist.
//!
//! Difference from Redis: when the config path is a symbolic link, the file it points to is replaced
//! (Redis replaces the link itself with a regular file); see `resolve_link`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a state write failed (the old file is intact).
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create`, `chmod`, `write`, `fsync`, `rename`, `fsync dir`).
        op: &'static str,
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The state could not be encoded.
    #[error("cannot encode state: {0}")]
    Encode(String),
}
/// The file a symlink points to (one level is enough for ConfigMap-style links; `canonicalize` follows
/// all), or `path` itself.
pub(crate) fn resolve_link(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// Distinguishes temp files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replace `path` with `content`: temp file in the same directory, write, fsync, rename, fsync the
/// directory. On failure the temp file is removed and `path` is untouched.
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<(), PersistError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(
        "{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |op: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| PersistError::Io {
            op,
            path: p,
            source,
        }
    };
    // The replacement keeps the original's mode and owner (an operator's 0600 stays 0600).
    let original = std::fs::metadata(path).ok().filter(|m| m.is_file());
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(io("create", &tmp))?;
        if let Some(m) = &original {
            keep_mode_and_owner(&f, m).map_err(io("chmod", &tmp))?;
        }
        f.write_all(content).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io("rename", path))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync dir", &dir))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Give the new file `original`'s permission bits (exactly: not masked by the umask) and, when we may,
/// its owner and group. Changing the owner needs privileges unless it is already ours; without them
/// the file stays ours, as it would with Redis (which always writes a fresh 0644 file).
fn keep_mode_and_owner(f: &File, original: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    f.set_permissions(std::fs::Permissions::from_mode(original.mode() & 0o7777))?;
    let mine = f.metadata()?;
    if (mine.uid(), mine.gid()) != (original.uid(), original.gid()) {
        match std::os::unix::fs::fchown(f, Some(original.uid()), Some(original.gid())) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                tracing::debug!("cannot keep the state file's owner: {e}");
            }
            Err(e) => return Err(e),
        }
        // chown may clear set-id bits: put the mode back.
        f.set_permissions(std::fs::Permissions::from_mode(original.mode() & 0o7777))?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
