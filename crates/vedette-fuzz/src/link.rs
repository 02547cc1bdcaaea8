//! Target `link_reply`: the reply decoder of the links to monitored instances (`src/link/codec.rs`).

use vedette::link::codec::{parse, DecodeError, Frame, FrameReader, Limits};

use crate::source::Source;

/// Decode every frame of `stream` fed in `chunks` (cycled; `0` = all at once): the frames, then the
/// error that ended the stream if any.
///
/// Each chunk is also `stream.len() / 32` bytes longer: an incomplete aggregate is re-walked from its
/// start on every read, so byte-sized reads of a long stream would make one run quadratic (short
/// streams are still split at every byte).
fn read(stream: &[u8], chunks: &[usize], limits: Limits) -> (Vec<Frame>, Option<DecodeError>) {
    let extra = stream.len() / 32;
    let mut r = FrameReader::new(limits);
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = match chunks.get(i % chunks.len().max(1)) {
            Some(&n) if n > 0 => (n + extra).min(rest.len()),
            _ => rest.len(),
        };
        i += 1;
        r.buf_mut().extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match r.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

/// Header: a limits byte (0-127: the defaults; 128-255: tiny limits so every cap is reachable with a few
/// bytes) and four chunk sizes; the rest is what an instance sent.
///
/// Properties: no panic; [`parse`] is restartable (a frame it returns parses the same from exactly the
/// bytes it used, and every shorter prefix of those bytes is "incomplete", never an error); a
/// [`FrameReader`] fed in pieces yields the same frames and error as one fed at once.
pub fn link_reply(data: &[u8]) {
    let mut src = Source::new(data);
    let tiny = src.byte() >= 128;
    let chunks: Vec<usize> = (0..4).map(|_| usize::from(src.byte() % 32)).collect();
    let stream = &data[data.len().min(5)..];
    let limits = if tiny {
        Limits {
            max_bulk: 8,
            max_elements: 8,
            max_depth: 3,
            max_line: 16,
            // Above any fuzz input, so that how much is buffered at once does not decide the outcome.
            max_buffered: 1 << 20,
        }
    } else {
        Limits::default()
    };
    if stream.len() > limits.max_buffered {
        return;
    }
    if let Ok(Some((frame, used))) = parse(stream, &limits) {
        assert!(used > 0 && used <= stream.len());
        assert_eq!(
            parse(&stream[..used], &limits),
            Ok(Some((frame.clone(), used)))
        );
        // Prefixes (sampled, to keep the run linear-ish): always incomplete.
        let step = (used / 16).max(1);
        for k in (0..used).step_by(step) {
            assert_eq!(
                parse(&stream[..k], &limits),
                Ok(None),
                "prefix of {k} of a {used}-byte frame"
            );
        }
    }
    let whole = read(stream, &[0], limits);
    let pieces = read(stream, &chunks, limits);
    assert_eq!(pieces, whole, "chunks {chunks:?} disagree with one read");
}
