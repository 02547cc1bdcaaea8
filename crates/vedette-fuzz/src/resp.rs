//! Target `resp_request`: the client server's request parser (`src/server/resp.rs`).

use bytes::BytesMut;
use vedette::link::codec::encode_command;
use vedette::server::resp::{Limits, ProtocolError, RequestParser, INLINE_MAX};

use crate::source::Source;

/// What one parser run produced: the requests, then how it stopped.
#[derive(Debug, PartialEq)]
struct Run {
    /// Each request, and whether it was an inline command (else multibulk).
    requests: Vec<(bool, Vec<Vec<u8>>)>,
    error: Option<ProtocolError>,
    /// Bytes left unconsumed in the buffer when no more requests came out.
    left: usize,
}

/// Drain every request from `buf` into `run`; false once an error ended the connection.
fn drain(p: &mut RequestParser, buf: &mut BytesMut, limits: Limits, run: &mut Run) -> bool {
    loop {
        let inline = !p.in_progress() && buf.first().is_some_and(|&b| b != b'*');
        match p.parse(buf, limits) {
            Ok(Some(argv)) => run.requests.push((inline, argv)),
            Ok(None) => return true,
            Err(e) => {
                run.error = Some(e);
                return false;
            }
        }
    }
}

/// Feed `data` in the given chunk sizes (cycled; `0` = all at once).
fn run(data: &[u8], chunks: &[usize], limits: Limits) -> Run {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut out = Run {
        requests: Vec::new(),
        error: None,
        left: 0,
    };
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = match chunks.get(i % chunks.len().max(1)) {
            Some(&n) if n > 0 => n.min(rest.len()),
            _ => rest.len(),
        };
        i += 1;
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        if !drain(&mut p, &mut buf, limits, &mut out) {
            return out;
        }
    }
    out.left = buf.len();
    out
}

/// Header: a mode byte (bit 0: client not yet authenticated; bits 1-2: `proto-max-bulk-len` 512 MiB,
/// 16, 1 or 0) and four chunk sizes; the rest is the byte stream of one connection.
///
/// Properties: the parser never panics; reading the stream in pieces gives exactly the requests, error
/// and leftover of reading it at once (for streams below the 64 KiB line limit, where Redis's own result
/// depends on read sizes); no request breaks the pre-AUTH caps; a multibulk encoding of a parsed request
/// parses back to the same arguments.
pub fn resp_request(data: &[u8]) {
    let mut src = Source::new(data);
    let mode = src.byte();
    let chunks: Vec<usize> = (0..4).map(|_| usize::from(src.byte() % 32)).collect();
    let stream = &data[data.len().min(5)..];
    let limits = Limits {
        max_bulk_len: [512 * 1024 * 1024, 16, 1, 0][usize::from((mode >> 1) & 3)],
        unauthenticated: mode & 1 == 1,
    };
    let whole = run(stream, &[0], limits);
    if stream.len() < INLINE_MAX {
        let pieces = run(stream, &chunks, limits);
        assert_eq!(pieces, whole, "chunks {chunks:?} disagree with one read");
        // Byte by byte costs a parser call per byte: only for short streams (the fuzzed chunk sizes
        // cover the rest).
        if stream.len() <= 512 {
            let bytewise = run(stream, &[1], limits);
            assert_eq!(bytewise, whole, "byte-by-byte reads disagree with one read");
        }
    }
    for (inline, argv) in &whole.requests {
        if !inline {
            // Inline commands only have the line limit, as in Redis; multibulk ones have every cap.
            assert!(argv.iter().all(|a| a.len() <= limits.max_bulk_len));
            if limits.unauthenticated {
                assert!(argv.len() <= 10 && argv.iter().all(|a| a.len() <= 16 * 1024));
            }
        }
        if argv.is_empty() {
            continue;
        }
        let mut enc = BytesMut::new();
        encode_command(&mut enc, argv);
        let unlimited = Limits {
            max_bulk_len: usize::MAX,
            unauthenticated: false,
        };
        let back = RequestParser::new().parse(&mut enc, unlimited);
        assert_eq!(back, Ok(Some(argv.clone())), "re-encoded request");
        assert!(enc.is_empty());
    }
}
