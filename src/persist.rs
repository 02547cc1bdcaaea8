//! Atomic, durable state writes (sentinel.c `sentinelFlushConfig`, config.c `rewriteConfigOverwriteFile`).
//!
//! A write goes to a temp file in the same directory, is fsync'ed, renamed over the target, and the
//! directory is fsync'ed; on any failure the temp file is removed and the old file is intact. A crash at
//! any moment leaves either the old or the new complete file (plus, at worst, a stray temp file). This is
//! what makes a vote safe to announce once `write` returned (reference §6.3, §9.6).
//!
//! For a `sentinel.conf` the content is the Redis-style in-place rewrite of the current file
//! ([`crate::config::rewrite`]); for a TOML config it is the separate state file
//! ([`crate::config::toml_conf`]), the TOML itself is never written.
//!
//! Difference from Redis: when the config path is a symbolic link, the file it points to is replaced
//! (Redis replaces the link itself with a regular file).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use vedette_core::PersistedState;

use crate::config::rewrite::rewrite;
use crate::config::toml_conf::{render_state, Seed};
use crate::config::ServerConfig;

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

/// Where the state goes.
#[derive(Debug)]
enum Target {
    /// Rewrite this `sentinel.conf` in place, with these command-line generic directives.
    RedisConf {
        path: PathBuf,
        overrides: Vec<Vec<String>>,
    },
    /// Write this state file (TOML config), recording the seed for the merge.
    TomlState { path: PathBuf, seed: Seed },
    /// Write nothing (tests of other modules).
    Discard,
}

#[derive(Debug)]
struct Inner {
    target: Target,
    /// Serialises writes from clones (the rewrite reads the file it replaces).
    lock: Mutex<()>,
}

/// Writes the sentinel state back where it came from. Cheap to clone; clones share one write lock.
#[derive(Debug, Clone)]
pub struct StateStore {
    inner: Arc<Inner>,
}

impl StateStore {
    fn new(target: Target) -> Self {
        StateStore {
            inner: Arc::new(Inner {
                target,
                lock: Mutex::new(()),
            }),
        }
    }

    /// A store that rewrites the Redis-syntax config at `path` (absolute) in place.
    pub(crate) fn redis_conf(path: PathBuf, overrides: Vec<Vec<String>>) -> Self {
        Self::new(Target::RedisConf { path, overrides })
    }

    /// A store that writes the state file of a TOML config.
    pub(crate) fn toml_state(path: PathBuf, seed: Seed) -> Self {
        Self::new(Target::TomlState { path, seed })
    }

    /// A store that accepts every write and keeps nothing (for tests that need a [`crate::config::LoadedConfig`]).
    pub fn discard() -> Self {
        Self::new(Target::Discard)
    }

    /// The file written (`None` for [`StateStore::discard`]).
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.target {
            Target::RedisConf { path, .. } | Target::TomlState { path, .. } => Some(path),
            Target::Discard => None,
        }
    }

    /// Human-readable description (`/etc/sentinel.conf (rewritten in place)`).
    pub fn describe(&self) -> String {
        match &self.inner.target {
            Target::RedisConf { path, .. } => format!("{} (rewritten in place)", path.display()),
            Target::TomlState { path, .. } => format!("{} (state file)", path.display()),
            Target::Discard => "nowhere (discarded)".into(),
        }
    }

    /// Redis's start-up check (`sentinelCheckConfigFile`): the file must be writable. `Err` carries the
    /// exact message Redis logs before exiting. For a TOML config, the state file's directory (or the
    /// state file itself when it exists) must be writable.
    pub fn check_writable(&self) -> Result<(), String> {
        let (path, what) = match &self.inner.target {
            Target::RedisConf { path, .. } => (path.clone(), "config file"),
            Target::TomlState { path, .. } => {
                if path.exists() {
                    (path.clone(), "state file")
                } else {
                    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    (dir, "state directory")
                }
            }
            Target::Discard => return Ok(()),
        };
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            "Sentinel needs config file on disk to save state. Exiting...".to_string()
        })?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == -1 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "Sentinel {what} {} is not writable: {}. Exiting...",
                path.display(),
                crate::config::strerror(&e)
            ));
        }
        Ok(())
    }

    /// Persist `state` (and `server`'s `port`/`dir`) atomically and durably.
    pub fn write(&self, state: &PersistedState, server: &ServerConfig) -> Result<(), PersistError> {
        let _guard = self
            .inner
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &self.inner.target {
            Target::RedisConf { path, .. } => {
                let target = resolve_link(path);
                let old = match std::fs::read(&target) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                    Err(source) => {
                        return Err(PersistError::Io {
                            op: "read",
                            path: target,
                            source,
                        })
                    }
                };
                let content = self.render(&old, state, server)?;
                atomic_write(&target, &content)
            }
            Target::TomlState { path, .. } => {
                let content = self.render(&[], state, server)?;
                atomic_write(&resolve_link(path), &content)
            }
            Target::Discard => Ok(()),
        }
    }

    /// The bytes [`StateStore::write`] writes for `state`, given `old`, the current content of the file
    /// it replaces (used by the `sentinel.conf` rewrite, ignored for a TOML state file; empty for
    /// [`StateStore::discard`]). Public so fuzzing and property tests can check the round trip in memory.
    pub fn render(
        &self,
        old: &[u8],
        state: &PersistedState,
        server: &ServerConfig,
    ) -> Result<Vec<u8>, PersistError> {
        match &self.inner.target {
            Target::RedisConf { overrides, .. } => Ok(rewrite(old, state, server, overrides)),
            Target::TomlState { seed, .. } => render_state(state, seed)
                .map(String::into_bytes)
                .map_err(PersistError::Encode),
            Target::Discard => Ok(Vec::new()),
        }
    }
}

/// The file a symlink points to (one level is enough for ConfigMap-style links; `canonicalize` follows
/// all), or `path` itself.
fn resolve_link(path: &Path) -> PathBuf {
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
mod tests;
