//! Where the sentinel state is written back, and in what form: into the `sentinel.conf` itself (the
//! Redis-style in-place rewrite, [`super::rewrite`]) or, for a TOML config, into the separate state file
//! ([`super::toml_conf`]; the TOML itself is never written).
//!
//! The content is the config's business, so the store lives here; the durable replacement of the file
//! is [`crate::persist`]'s, which depends on nothing in the config.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use vedette_core::PersistedState;

use super::rewrite::rewrite;
use super::toml_conf::{render_state, Seed};
use super::ServerConfig;
use crate::persist::{atomic_write, resolve_link, PersistError};

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

#[cfg(test)]
mod tests;
