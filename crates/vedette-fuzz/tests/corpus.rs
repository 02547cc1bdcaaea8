//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`) through its target's check, so CI
//! keeps the fuzzers' findings as regression tests without nightly Rust or libFuzzer.

use std::path::Path;

#[test]
fn replay_committed_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, check) in vedette_fuzz::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: empty corpus", dir.display());
        for f in &files {
            let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            eprintln!("{}", f.display());
            check(&data);
        }
    }
}

#[test]
fn empty_and_tiny_inputs() {
    for (_, check) in vedette_fuzz::TARGETS {
        for data in [&b""[..], b"\0", b"\xff", b"\x01\x01\x01\x01\x01\x01"] {
            check(data);
        }
    }
}

/// The configuration seeds must load, or `config_load` never reaches its write-back check from them.
#[test]
fn config_seeds_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/config_load");
    for (seed, path) in [
        ("seed-minimal", "/x/sentinel.conf"),
        ("seed-full", "/x/sentinel.conf"),
        ("seed-odd-names", "/x/sentinel.conf"),
        ("seed-toml", "/x/sentinel.toml"),
        ("seed-toml-state", "/x/sentinel.toml"),
    ] {
        let data = std::fs::read(dir.join(seed)).expect("seed");
        let content = &data[1..];
        let (config, state) = match content.iter().position(|&b| b == 0) {
            Some(nul) if data[0] >= 192 => (&content[..nul], Some(&content[nul + 1..])),
            _ => (content, None),
        };
        if let Err(e) = vedette::config::load_from_memory(Path::new(path), config, state) {
            panic!("{seed}: {e}");
        }
    }
}
