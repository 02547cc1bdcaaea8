//! Atomic write tests. The crash-safety test (a writer SIGKILLed at random moments) goes through the
//! whole state store, in `config::store::tests`.

use std::path::{Path, PathBuf};

use super::*;

/// A temporary directory and its canonical path (the tests compare paths).
pub(crate) fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let p = std::fs::canonicalize(t.path()).expect("canonical");
    (t, p)
}

/// The names in `dir`, sorted.
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn atomic_write_replaces_and_leaves_no_temp_file() {
    let (_t, dir) = tempdir();
    let p = dir.join("f.conf");
    atomic_write(&p, b"one\n").expect("write");
    atomic_write(&p, b"two\n").expect("write");
    assert_eq!(std::fs::read(&p).expect("read"), b"two\n");
    assert_eq!(entries(&dir), vec!["f.conf"]);
}

#[test]
fn rewrite_keeps_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (_t, dir) = tempdir();
    let p = dir.join("f.conf");
    atomic_write(&p, b"one\n").expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // As root, also hand the file to another owner: the rewrite must give it back to them.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&p, Some(12345), Some(23456)).expect("chown");
    } else {
        eprintln!("SKIPPED (owner part): not root, cannot give the file to another owner");
    }
    atomic_write(&p, b"two\n").expect("write");
    let m = std::fs::metadata(&p).expect("stat");
    assert_eq!(m.mode() & 0o7777, 0o600);
    if root {
        assert_eq!((m.uid(), m.gid()), (12345, 23456));
    }
    assert_eq!(std::fs::read(&p).expect("read"), b"two\n");
    // A new file gets 0644 (less the umask), as before.
    let q = dir.join("new.conf");
    atomic_write(&q, b"x").expect("write");
    assert_eq!(
        std::fs::metadata(&q).expect("stat").mode() & 0o077,
        0o044 & 0o077 & !umask()
    );
}

fn umask() -> u32 {
    // SAFETY: umask has no preconditions; the old mask is restored at once.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

#[test]
fn failed_write_keeps_old_file_and_removes_temp_file() {
    let (_t, dir) = tempdir();
    // The target is a non-empty directory: the rename fails after the temp file was written.
    let target = dir.join("target");
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::write(target.join("keep"), b"x").expect("write");
    let err = atomic_write(&target, b"new").expect_err("must fail");
    assert!(
        matches!(err, PersistError::Io { op: "rename", .. }),
        "{err}"
    );
    assert_eq!(entries(&dir), vec!["target"]);
    assert_eq!(entries(&target), vec!["keep"]);
    // A missing directory fails at create.
    let err = atomic_write(&dir.join("nope/f"), b"x").expect_err("must fail");
    assert!(
        matches!(err, PersistError::Io { op: "create", .. }),
        "{err}"
    );
}
