//! Target `wire`: hello payloads (`__sentinel__:hello`) and INFO replies, the two texts the core parses
//! from instances and peers.

use vedette_core::wire::hello::Hello;
use vedette_core::wire::info::InfoReport;

/// First byte: bit 0 selects INFO (1) or hello (0); bit 1 is `resolve-hostnames` for the hello address
/// check. A hello that parses must render to a payload that parses back to the same hello.
pub fn wire(data: &[u8]) {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        let report = InfoReport::parse(&String::from_utf8_lossy(payload));
        // What the core relies on: replica addresses have a host, a run id is a valid id.
        assert!(report.replicas.iter().all(|r| !r.ip.is_empty()));
        if let Some(id) = &report.run_id {
            assert!(vedette_core::config::is_valid_myid(id), "run id {id:?}");
        }
        return;
    }
    if let Ok(hello) = Hello::parse(payload) {
        let _ = hello.check_addresses(mode & 2 != 0);
        let rendered = hello.render();
        match Hello::parse(rendered.as_bytes()) {
            Ok(back) => assert_eq!(back, hello, "hello changed through render: {rendered:?}"),
            Err(e) => panic!("rendered hello {rendered:?} does not parse: {e}"),
        }
    }
}
