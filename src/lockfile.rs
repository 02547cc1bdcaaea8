//! One owner per state: an exclusive `flock` on `<state file>.lock`, holding the owner's pid.
//!
//! Two sentinels writing one config (or TOML state file) overwrite each other's votes and epochs, which
//! breaks the promise behind every vote. So the process that will write a state file first takes an
//! exclusive lock on a lock file beside it and keeps it until it exits; a second one fails at once with
//! the file and the holder's pid.
//!
//! Why a separate file: the state is replaced by rename (an atomic rewrite gives it a new inode), so a
//! lock on the state file itself would be lost at the first write. The lock file is never replaced or
//! removed (removing it on exit would let a third process lock a new inode while a second one still
//! holds the old). The kernel drops the lock when the holder exits, however it exits, so a stale lock
//! file never blocks a restart.
//!
//! Why `flock` through `libc` rather than a crate (`fs2`, `fs4`) or `std::fs::File::try_lock`: it is
//! one call on a descriptor we already own, `libc` is already a dependency, and `File::try_lock` needs
//! Rust 1.89, above this crate's `rust-version`. `flock` locks belong to the open file description, so
//! the lock survives `daemonize`'s fork in the child (the parent `_exit`s without closing anything).
//!
//! Redis does not lock, so a redis-sentinel on the same file is not stopped; the lock file is the only
//! trace vedette leaves beside the config.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process exits).
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{state} is in use by another vedette (pid {pid}): lock {lock} is held. \
         Two sentinels must not share one state file; stop the other one or give this one its own file"
    )]
    Held {
        /// The state file.
        state: String,
        /// The lock file.
        lock: String,
        /// The holder's pid as it wrote it, or `unknown`.
        pid: String,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// The lock file for `state`: `<state>.lock` beside the file the state is really written to (symbolic
/// links resolved, so two paths to one file share one lock).
pub fn lock_path(state: &Path) -> PathBuf {
    let real = std::fs::canonicalize(state).unwrap_or_else(|_| {
        // Not created yet (a TOML state file): canonicalize its directory.
        match (state.parent(), state.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| state.to_path_buf()),
            _ => state.to_path_buf(),
        }
    });
    let mut name = real.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    real.with_file_name(name)
}

impl StateLock {
    /// Take the lock for `state` without waiting, and record our pid in it.
    pub fn acquire(state: &Path) -> Result<StateLock, LockError> {
        let path = lock_path(state);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(e));
            }
            return Err(LockError::Held {
                state: state.display().to_string(),
                lock: path.display().to_string(),
                pid: holder_pid(&mut file),
            });
        }
        let mut lock = StateLock {
            file,
            path: path.clone(),
        };
        lock.record_pid().map_err(io)?;
        Ok(lock)
    }

    /// Write our pid into the lock file (again after `daemonize`, whose child has a new pid).
    pub fn record_pid(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file
            .write_all(format!("{}\n", std::process::id()).as_bytes())?;
        self.file.flush()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid the holder wrote, waiting briefly for a holder that locked but has not written it yet.
fn holder_pid(file: &mut File) -> String {
    for _ in 0..20 {
        let mut text = String::new();
        if file.rewind().is_ok() && file.read_to_string(&mut text).is_ok() {
            let pid = text.trim();
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return pid.to_string();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    "unknown".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("sentinel.conf");
        std::fs::write(&state, "port 1\n").expect("write");
        let held = StateLock::acquire(&state).expect("first lock");
        assert_eq!(
            std::fs::read_to_string(held.path()).expect("read"),
            format!("{}\n", std::process::id())
        );
        // flock locks are per open file description, so a second open in this process conflicts too.
        let err = StateLock::acquire(&state).expect_err("second lock");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("sentinel.conf.lock"), "{msg}");
        drop(held);
        StateLock::acquire(&state).expect("free again");
    }

    #[test]
    fn symlinks_share_one_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.conf");
        std::fs::write(&real, "").expect("write");
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert_eq!(lock_path(&link), lock_path(&real));
        let missing = dir.path().join("state.toml");
        assert_eq!(
            lock_path(&missing).file_name().and_then(|n| n.to_str()),
            Some("state.toml.lock")
        );
    }
}
