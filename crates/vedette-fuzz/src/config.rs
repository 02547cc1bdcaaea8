//! Target `config_load`: `sentinel.conf` and TOML loading (`src/config`), and the write-back of what was
//! loaded.

use std::collections::HashMap;
use std::path::Path;

use vedette::config::{detect_format, load_from_memory, tokenize, ConfigFormat, LoadedConfig};
use vedette_core::PersistedState;

/// Where the fuzzed file "is"; nothing is read or written there.
pub(crate) const CONF_PATH: &str = "/nonexistent/vedette-fuzz/sentinel.conf";
pub(crate) const TOML_PATH: &str = "/nonexistent/vedette-fuzz/sentinel.toml";

/// Whether a `sentinel.conf` text has an `include` line. Those read other files, which a fuzzer must not
/// do (`include /dev/zero` never ends); the check tokenizes like the reader, so quoting or `\x` escapes
/// do not hide one.
pub(crate) fn has_include(content: &[u8]) -> bool {
    content.split(|&b| b == b'\n').any(|line| {
        tokenize::split_args(line).is_some_and(|argv| {
            argv.first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"include"))
        })
    })
}

/// Files already loaded back (keyed by TOML or not, and the file written) and the state they loaded to.
/// Loading dominates the cost of a core run and most runs persist the same few states, so the core
/// target loads each distinct file once per process; two states that write the same file still fail.
pub(crate) type LoadCache = HashMap<(bool, Vec<u8>), PersistedState>;

/// Entries kept before the cache starts over (a few MB).
const CACHE_MAX: usize = 4096;

/// Write `state` the way the config's [`vedette::config::StateStore`] would, over `old` (the current
/// `sentinel.conf`; unused for TOML), then load the result back. Returns the new file content, or panics
/// with the file if it does not load or loads to a different state.
pub(crate) fn round_trip(
    cfg: &LoadedConfig,
    toml: Option<&[u8]>,
    old: &[u8],
    state: &PersistedState,
    mut cache: Option<&mut LoadCache>,
) -> Vec<u8> {
    let written = cfg
        .store
        .render(old, state, &cfg.server)
        .unwrap_or_else(|e| panic!("cannot render a state vedette would persist: {e}"));
    let key = (toml.is_some(), written);
    if let Some(known) = cache.as_ref().and_then(|c| c.get(&key)) {
        assert!(
            known == state,
            "two states write the same file\n--- written ---\n{}\n--- state ---\n{state:#?}\n--- other ---\n{known:#?}",
            String::from_utf8_lossy(&key.1)
        );
        return key.1;
    }
    let written = key.1;
    let loaded = match toml {
        Some(config) => load_from_memory(Path::new(TOML_PATH), config, Some(&written)),
        None => load_from_memory(Path::new(CONF_PATH), &written, None),
    };
    match loaded {
        Ok(back) => {
            assert!(
                back.state == *state,
                "the written state loads back different\n--- written ---\n{}\n--- state ---\n{state:#?}\n--- loaded ---\n{:#?}",
                String::from_utf8_lossy(&written),
                back.state
            );
            if let Some(c) = cache.as_mut() {
                if c.len() >= CACHE_MAX {
                    c.clear();
                }
                c.insert((key.0, written.clone()), back.state);
            }
        }
        Err(e) => panic!(
            "the written state does not load: {e}\n--- written ---\n{}",
            String::from_utf8_lossy(&written)
        ),
    }
    written
}

/// The state `main` writes at start-up: the loaded one, with an id generated when the file had none.
fn startup_state(cfg: &LoadedConfig) -> PersistedState {
    let mut state = cfg.state.clone();
    if state.myid.is_empty() {
        state.myid = "ffffffffffffffffffffffffffffffffffffffff".into();
    }
    state
}

/// First byte: 0-127 `sentinel.conf`, 128-191 TOML without a state file, 192-255 TOML whose state file is
/// the part after the first NUL byte. The rest is the file.
///
/// Properties: loading never panics; a configuration that loads writes back (through its real store,
/// rendered in memory) to a file that loads to the same state — what `main` does right after start-up.
pub fn config_load(data: &[u8]) {
    let Some((&mode, content)) = data.split_first() else {
        return;
    };
    if mode < 128 {
        if has_include(content) {
            return;
        }
        if detect_format(Path::new(CONF_PATH), content) == ConfigFormat::Toml {
            return;
        }
        if let Ok(cfg) = load_from_memory(Path::new(CONF_PATH), content, None) {
            round_trip(&cfg, None, content, &startup_state(&cfg), None);
        }
        return;
    }
    let (config, state_file) = match (mode >= 192, content.iter().position(|&b| b == 0)) {
        (true, Some(nul)) => (&content[..nul], Some(&content[nul + 1..])),
        _ => (content, None),
    };
    if let Ok(cfg) = load_from_memory(Path::new(TOML_PATH), config, state_file) {
        round_trip(&cfg, Some(config), &[], &startup_state(&cfg), None);
    }
}
