//! Client-side RESP codec: encode commands, decode replies (RESP2 and RESP3).
//!
//! The bytes come from instances we monitor, which are trusted to run Redis but not to be healthy: a half
//! broken proxy, a non-Redis service on the port or a bit flip must close that one link, never panic the
//! process or make it allocate what a header merely *claims*. So every length is bounded by [`Limits`],
//! capacities are pre-allocated only up to a small cap (`PREALLOC_CAP`), and nesting depth is capped.
//!
//! Decoding is restartable: [`parse`] either returns a whole frame and how many bytes it used, or says
//! "incomplete" without consuming anything; [`FrameReader`] owns the buffer and calls it after each read.
//! A partially received bulk string is recognised from its header in O(1), so large INFO replies arriving
//! in many segments do not make decoding quadratic.

use bytes::{Buf, BytesMut};

/// Never reserve more than this many elements up front, whatever an aggregate header says: the elements
/// have to arrive (at least 3 bytes each) before the vector really grows.
const PREALLOC_CAP: usize = 1024;

/// A decoded reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text` (status).
    Simple(Vec<u8>),
    /// `-text` (error; the text without the `-`).
    Error(Vec<u8>),
    /// `:n`.
    Integer(i64),
    /// `$n` bulk string.
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3).
    Null,
    /// `,` double, kept as its text.
    Double(Vec<u8>),
    /// `#t` / `#f`.
    Boolean(bool),
    /// `(` big number, kept as its text.
    BigNumber(Vec<u8>),
    /// `!n` blob error (the text).
    BlobError(Vec<u8>),
    /// `=n` verbatim string: the 3-byte format (`txt`, `mkd`) and the text after the `:`.
    Verbatim {
        /// Format tag.
        format: [u8; 3],
        /// Text.
        text: Vec<u8>,
    },
    /// `*n`.
    Array(Vec<Frame>),
    /// `~n`.
    Set(Vec<Frame>),
    /// `%n`.
    Map(Vec<(Frame, Frame)>),
    /// `>n` out-of-band push (RESP3 pub/sub messages).
    Push(Vec<Frame>),
}

impl Frame {
    /// Whether this is an error reply (`-` or `!`).
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_) | Frame::BlobError(_))
    }

    /// The bytes of a string-like frame (status, bulk, verbatim text), None otherwise.
    pub fn as_str_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(s) | Frame::Bulk(s) => Some(s),
            Frame::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Bounds applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk / blob error / verbatim string accepted.
    pub max_bulk: usize,
    /// Most aggregate elements declared in one frame, all nesting levels together (map pairs count twice).
    /// Redis never sends a sentinel more than a handful; this bounds the work of re-checking a frame.
    pub max_elements: usize,
    /// Deepest nesting of aggregates.
    pub max_depth: usize,
    /// Longest simple line (`+`, `-`, `:`, headers...), CRLF excluded.
    pub max_line: usize,
    /// Most bytes buffered for one incomplete frame before giving up on the peer.
    pub max_buffered: usize,
}

impl Default for Limits {
    /// Generous for anything Redis sends a sentinel (INFO is tens of KiB), small enough that a broken peer
    /// cannot make us hold more than a few tens of MiB.
    fn default() -> Self {
        Limits {
            max_bulk: 16 * 1024 * 1024,
            max_elements: 64 * 1024,
            max_depth: 16,
            max_line: 64 * 1024,
            max_buffered: 32 * 1024 * 1024,
        }
    }
}

/// Why a byte stream is not valid RESP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// First byte of a frame is not a known type.
    #[error("unknown RESP type byte 0x{0:02x}")]
    UnknownType(u8),
    /// A line was not terminated by CRLF, or a bulk was not followed by CRLF.
    #[error("missing CRLF")]
    BadTerminator,
    /// A number (length, integer, boolean) did not parse.
    #[error("invalid number or value in header")]
    BadNumber,
    /// A declared length exceeds the limits.
    #[error("length {0} exceeds limit")]
    TooLong(u64),
    /// Aggregates nested too deeply.
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// A line exceeds `max_line`, or too much is buffered for one frame.
    #[error("frame too large")]
    TooLarge,
    /// RESP3 streamed (`?`) types are not supported (Redis never sends them).
    #[error("streamed RESP3 types are not supported")]
    Streamed,
    /// A verbatim string without its `xxx:` prefix.
    #[error("malformed verbatim string")]
    BadVerbatim,
}

/// Internal outcome of a parse step: need more bytes, or the data is invalid.
enum Stop {
    Incomplete,
    Invalid(DecodeError),
}

impl From<DecodeError> for Stop {
    fn from(e: DecodeError) -> Self {
        Stop::Invalid(e)
    }
}

type Step<T> = Result<T, Stop>;

/// Walks one frame. In check mode (`build == false`) nothing is copied or collected, so re-checking a
/// large incomplete frame after every read costs a header walk, not a copy of everything received so far.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    build: bool,
    /// Aggregate elements declared so far in this frame (bounded by `max_elements` for the whole frame).
    elements: usize,
    /// On `Incomplete`: the buffer length below which retrying cannot succeed.
    need: usize,
}

impl<'a> Cursor<'a> {
    fn incomplete<T>(&mut self, need: usize) -> Step<T> {
        self.need = need;
        Err(Stop::Incomplete)
    }

    fn bytes(&self, b: &[u8]) -> Vec<u8> {
        if self.build {
            b.to_vec()
        } else {
            Vec::new()
        }
    }

    /// The next CRLF-terminated line (without CRLF). A lone CR or LF inside a line is invalid.
    fn line(&mut self) -> Step<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        let window = &rest[..rest.len().min(self.limits.max_line + 1)];
        match window.iter().position(|&b| b == b'\r' || b == b'\n') {
            Some(i) => {
                if window[i] == b'\n' {
                    return Err(DecodeError::BadTerminator.into());
                }
                match rest.get(i + 1) {
                    None => self.incomplete(self.buf.len() + 1),
                    Some(b'\n') => {
                        self.pos += i + 2;
                        Ok(&rest[..i])
                    }
                    Some(_) => Err(DecodeError::BadTerminator.into()),
                }
            }
            None if rest.len() > self.limits.max_line => Err(DecodeError::TooLarge.into()),
            None => self.incomplete(self.buf.len() + 1),
        }
    }

    fn int_line(&mut self) -> Step<i64> {
        let line = self.line()?;
        Ok(parse_i64(line).ok_or(DecodeError::BadNumber)?)
    }

    /// A length header: `-1` means null (returns None), other negatives are invalid.
    fn len_line(&mut self, max: usize) -> Step<Option<usize>> {
        let n = self.int_line()?;
        if n == -1 {
            return Ok(None);
        }
        let n = u64::try_from(n).map_err(|_| DecodeError::BadNumber)?;
        if n > max as u64 {
            return Err(DecodeError::TooLong(n).into());
        }
        // `n <= max` and `max` is a usize, so this conversion cannot fail.
        Ok(Some(
            usize::try_from(n).map_err(|_| DecodeError::TooLong(n))?,
        ))
    }

    /// An aggregate header: the declared count, charged to the frame's element budget.
    fn count_line(&mut self, per_element: usize) -> Step<Option<usize>> {
        let budget = (self.limits.max_elements - self.elements) / per_element;
        let n = self.len_line(budget)?;
        self.elements += n.unwrap_or(0) * per_element;
        Ok(n)
    }

    /// `len` bytes followed by CRLF.
    fn blob(&mut self, len: usize) -> Step<&'a [u8]> {
        let rest = &self.buf[self.pos..];
        if rest.len() < len + 2 {
            return self.incomplete(self.pos + len + 2);
        }
        if &rest[len..len + 2] != b"\r\n" {
            return Err(DecodeError::BadTerminator.into());
        }
        self.pos += len + 2;
        Ok(&rest[..len])
    }

    fn frames(&mut self, n: usize, depth: usize) -> Step<Vec<Frame>> {
        let mut v = Vec::with_capacity(if self.build { n.min(PREALLOC_CAP) } else { 0 });
        for _ in 0..n {
            let f = self.frame(depth + 1)?;
            if self.build {
                v.push(f);
            }
        }
        Ok(v)
    }

    fn frame(&mut self, depth: usize) -> Step<Frame> {
        if depth > self.limits.max_depth {
            return Err(DecodeError::TooDeep(self.limits.max_depth).into());
        }
        let Some(&ty) = self.buf.get(self.pos) else {
            return self.incomplete(self.buf.len() + 1);
        };
        // Streamed types put `?` where the length goes; check before consuming the header line.
        if matches!(ty, b'$' | b'*' | b'%' | b'~' | b'|' | b'>' | b'=' | b'!')
            && self.buf.get(self.pos + 1) == Some(&b'?')
        {
            return Err(DecodeError::Streamed.into());
        }
        self.pos += 1;
        let max_bulk = self.limits.max_bulk;
        Ok(match ty {
            b'+' => Frame::Simple({
                let l = self.line()?;
                self.bytes(l)
            }),
            b'-' => Frame::Error({
                let l = self.line()?;
                self.bytes(l)
            }),
            b':' => Frame::Integer(self.int_line()?),
            b'$' => match self.len_line(max_bulk)? {
                None => Frame::Null,
                Some(n) => Frame::Bulk({
                    let b = self.blob(n)?;
                    self.bytes(b)
                }),
            },
            b'!' => match self.len_line(max_bulk)? {
                None => return Err(DecodeError::BadNumber.into()),
                Some(n) => Frame::BlobError({
                    let b = self.blob(n)?;
                    self.bytes(b)
                }),
            },
            b'=' => match self.len_line(max_bulk)? {
                None => return Err(DecodeError::BadNumber.into()),
                Some(n) => {
                    let b = self.blob(n)?;
                    if b.len() < 4 || b[3] != b':' {
                        return Err(DecodeError::BadVerbatim.into());
                    }
                    Frame::Verbatim {
                        format: [b[0], b[1], b[2]],
                        text: self.bytes(&b[4..]),
                    }
                }
            },
            b'*' => match self.count_line(1)? {
                None => Frame::Null,
                Some(n) => Frame::Array(self.frames(n, depth)?),
            },
            b'~' | b'>' => match self.count_line(1)? {
                None => return Err(DecodeError::BadNumber.into()),
                Some(n) => {
                    let v = self.frames(n, depth)?;
                    if ty == b'~' {
                        Frame::Set(v)
                    } else {
                        Frame::Push(v)
                    }
                }
            },
            b'%' | b'|' => {
                let Some(n) = self.count_line(2)? else {
                    return Err(DecodeError::BadNumber.into());
                };
                let mut pairs =
                    Vec::with_capacity(if self.build { n.min(PREALLOC_CAP) } else { 0 });
                for _ in 0..n {
                    let k = self.frame(depth + 1)?;
                    let v = self.frame(depth + 1)?;
                    if self.build {
                        pairs.push((k, v));
                    }
                }
                if ty == b'%' {
                    Frame::Map(pairs)
                } else {
                    // An attribute decorates the frame that follows it; we have no use for it. The
                    // decorated frame counts one level deeper so chained attributes cannot recurse
                    // without bound.
                    return self.frame(depth + 1);
                }
            }
            b'_' => {
                if !self.line()?.is_empty() {
                    return Err(DecodeError::BadNumber.into());
                }
                Frame::Null
            }
            b'#' => match self.line()? {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return Err(DecodeError::BadNumber.into()),
            },
            b',' => {
                let l = self.line()?;
                if l.is_empty() || !l.iter().all(|b| b.is_ascii_graphic()) {
                    return Err(DecodeError::BadNumber.into());
                }
                Frame::Double(self.bytes(l))
            }
            b'(' => {
                let l = self.line()?;
                let digits = l.strip_prefix(b"-").unwrap_or(l);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(DecodeError::BadNumber.into());
                }
                Frame::BigNumber(self.bytes(l))
            }
            other => return Err(DecodeError::UnknownType(other).into()),
        })
    }
}

/// Strict decimal i64: optional `-`, 1..=19 digits, no overflow.
fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Decode one frame from the start of `buf`: `Ok(Some((frame, bytes used)))`, `Ok(None)` if more bytes
/// are needed (nothing is consumed), or an error if `buf` can never become a valid frame.
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(Frame, usize)>, DecodeError> {
    match check(buf, limits)? {
        Ok(_) => build(buf, limits).map(Some),
        Err(_) => Ok(None),
    }
}

/// Walk one frame without building it: `Ok(Ok(len))` if complete, `Ok(Err(need))` if incomplete (retrying
/// before `buf` holds `need` bytes is pointless), or the reason it is invalid.
fn check(buf: &[u8], limits: &Limits) -> Result<Result<usize, usize>, DecodeError> {
    let mut c = Cursor {
        buf,
        pos: 0,
        limits,
        build: false,
        elements: 0,
        need: 0,
    };
    match c.frame(0) {
        Ok(_) => Ok(Ok(c.pos)),
        Err(Stop::Incomplete) if buf.len() > limits.max_buffered => Err(DecodeError::TooLarge),
        Err(Stop::Incomplete) => Ok(Err(c.need.max(buf.len() + 1))),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// Build a frame [`check`] found complete.
fn build(buf: &[u8], limits: &Limits) -> Result<(Frame, usize), DecodeError> {
    let mut c = Cursor {
        buf,
        pos: 0,
        limits,
        build: true,
        elements: 0,
        need: 0,
    };
    match c.frame(0) {
        Ok(f) => Ok((f, c.pos)),
        // Unreachable after a successful check; reported as invalid rather than trusted.
        Err(Stop::Incomplete) => Err(DecodeError::TooLarge),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// A read buffer plus the decoder: feed it socket data with [`FrameReader::feed`] (or append to
/// [`FrameReader::buf_mut`] and drain with [`FrameReader::next_frame`]).
///
/// The buffer only holds the incomplete tail of what was read: `feed` decodes complete frames straight
/// from the caller's (shared) read buffer, and an emptied buffer above [`KEEP_CAPACITY`] is released, so
/// an idle link costs no buffer memory — at 1000 masters that is 2000 connections.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: BytesMut,
    limits: Limits,
    /// Don't re-check the buffered frame before it holds this many bytes (e.g. the rest of a bulk).
    need: usize,
}

/// An emptied read buffer larger than this is freed rather than kept for the next reply.
pub const KEEP_CAPACITY: usize = 1024;

impl FrameReader {
    /// Empty reader with the given limits (allocates nothing until a frame arrives in pieces).
    pub fn new(limits: Limits) -> Self {
        FrameReader {
            buf: BytesMut::new(),
            limits,
            need: 0,
        }
    }

    /// The buffer to read socket data into (append only).
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes of an incomplete frame held.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Decode `data` (just read from the socket) after what is buffered: complete frames are appended to
    /// `frames` in order, an incomplete tail is kept. On invalid input the frames before it are still
    /// appended and the error is returned.
    pub fn feed(&mut self, data: &[u8], frames: &mut Vec<Frame>) -> Result<(), DecodeError> {
        if !self.buf.is_empty() {
            self.buf.extend_from_slice(data);
            while let Some(f) = self.next_frame()? {
                frames.push(f);
            }
            return Ok(());
        }
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            match check(rest, &self.limits)? {
                Ok(_) => {
                    let (f, used) = build(rest, &self.limits)?;
                    frames.push(f);
                    pos += used;
                }
                Err(need) => {
                    self.need = need;
                    self.buf.extend_from_slice(rest);
                    break;
                }
            }
        }
        Ok(())
    }

    /// The next complete frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        if self.buf.is_empty() || self.buf.len() < self.need {
            return Ok(None);
        }
        match check(&self.buf, &self.limits)? {
            Ok(_) => {
                let (frame, used) = build(&self.buf, &self.limits)?;
                self.buf.advance(used);
                self.need = 0;
                if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
                    self.buf = BytesMut::new();
                }
                Ok(Some(frame))
            }
            Err(need) => {
                self.need = need;
                Ok(None)
            }
        }
    }
}

/// Append a command as a RESP array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut BytesMut, args: &[A]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &[u8]) -> Frame {
        match parse(input, &Limits::default()) {
            Ok(Some((f, n))) => {
                assert_eq!(n, input.len(), "whole input consumed");
                f
            }
            other => panic!("expected a frame from {input:?}, got {other:?}"),
        }
    }

    fn bad(input: &[u8]) -> DecodeError {
        match parse(input, &Limits::default()) {
            Err(e) => e,
            other => panic!("expected an error from {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn resp2_types() {
        assert_eq!(one(b"+PONG\r\n"), Frame::Simple(b"PONG".to_vec()));
        assert_eq!(
            one(b"-NOAUTH Authentication required.\r\n"),
            Frame::Error(b"NOAUTH Authentication required.".to_vec())
        );
        assert_eq!(one(b":-42\r\n"), Frame::Integer(-42));
        assert_eq!(one(b":9223372036854775807\r\n"), Frame::Integer(i64::MAX));
        assert_eq!(one(b":-9223372036854775808\r\n"), Frame::Integer(i64::MIN));
        assert_eq!(one(b"$5\r\nhe\r\no\r\n"), Frame::Bulk(b"he\r\no".to_vec()));
        assert_eq!(one(b"$0\r\n\r\n"), Frame::Bulk(vec![]));
        assert_eq!(one(b"$-1\r\n"), Frame::Null);
        assert_eq!(one(b"*-1\r\n"), Frame::Null);
        assert_eq!(one(b"*0\r\n"), Frame::Array(vec![]));
        assert_eq!(
            one(b"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n"),
            Frame::Array(vec![
                Frame::Integer(0),
                Frame::Bulk(b"*".to_vec()),
                Frame::Integer(0)
            ])
        );
        assert_eq!(
            one(b"*2\r\n*1\r\n+OK\r\n-ERR x\r\n"),
            Frame::Array(vec![
                Frame::Array(vec![Frame::Simple(b"OK".to_vec())]),
                Frame::Error(b"ERR x".to_vec())
            ])
        );
    }

    #[test]
    fn resp3_types() {
        assert_eq!(one(b"_\r\n"), Frame::Null);
        assert_eq!(one(b"#t\r\n"), Frame::Boolean(true));
        assert_eq!(one(b"#f\r\n"), Frame::Boolean(false));
        assert_eq!(one(b",3.14\r\n"), Frame::Double(b"3.14".to_vec()));
        assert_eq!(one(b",-inf\r\n"), Frame::Double(b"-inf".to_vec()));
        assert_eq!(one(b"(-123456789012345678901234567890\r\n"), {
            Frame::BigNumber(b"-123456789012345678901234567890".to_vec())
        });
        assert_eq!(
            one(b"!10\r\nERR broken\r\n"),
            Frame::BlobError(b"ERR broken".to_vec())
        );
        assert_eq!(
            one(b"=15\r\ntxt:role:master\r\n"),
            Frame::Verbatim {
                format: *b"txt",
                text: b"role:master".to_vec()
            }
        );
        assert_eq!(
            one(b"%1\r\n+k\r\n:1\r\n"),
            Frame::Map(vec![(Frame::Simple(b"k".to_vec()), Frame::Integer(1))])
        );
        assert_eq!(
            one(b"~2\r\n:1\r\n:2\r\n"),
            Frame::Set(vec![Frame::Integer(1), Frame::Integer(2)])
        );
        assert_eq!(
            one(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n"),
            Frame::Push(vec![
                Frame::Bulk(b"message".to_vec()),
                Frame::Bulk(b"c".to_vec()),
                Frame::Bulk(b"p".to_vec())
            ])
        );
        // Attributes are skipped; the decorated frame is returned.
        assert_eq!(one(b"|1\r\n+a\r\n+b\r\n:7\r\n"), Frame::Integer(7));
    }

    #[test]
    fn incomplete_consumes_nothing() {
        let full = b"*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n$3\r\nabc\r\n";
        for cut in 0..full.len() {
            assert_eq!(
                parse(&full[..cut], &Limits::default()),
                Ok(None),
                "prefix of {cut} bytes"
            );
        }
        assert!(matches!(parse(full, &Limits::default()), Ok(Some((_, n))) if n == full.len()));
    }

    #[test]
    fn two_frames_back_to_back() {
        let mut r = FrameReader::new(Limits::default());
        r.buf_mut().extend_from_slice(b"+OK\r\n:1\r\n$3\r\nab");
        assert_eq!(r.next_frame(), Ok(Some(Frame::Simple(b"OK".to_vec()))));
        assert_eq!(r.next_frame(), Ok(Some(Frame::Integer(1))));
        assert_eq!(r.next_frame(), Ok(None));
        r.buf_mut().extend_from_slice(b"c\r\n");
        assert_eq!(r.next_frame(), Ok(Some(Frame::Bulk(b"abc".to_vec()))));
        assert_eq!(r.next_frame(), Ok(None));
    }

    #[test]
    fn reader_waits_for_the_rest_of_a_bulk() {
        let mut r = FrameReader::new(Limits::default());
        r.buf_mut()
            .extend_from_slice(b"*2\r\n$3\r\nabc\r\n$100000\r\n");
        assert_eq!(r.next_frame(), Ok(None));
        // Until the second bulk can be complete there is nothing to re-check.
        assert_eq!(r.need, 4 + 9 + 9 + 100_002);
        let body = vec![b'x'; 100_000];
        for chunk in body.chunks(1000) {
            r.buf_mut().extend_from_slice(chunk);
            assert_eq!(r.next_frame(), Ok(None));
        }
        r.buf_mut().extend_from_slice(b"\r\n+OK\r\n");
        assert_eq!(
            r.next_frame(),
            Ok(Some(Frame::Array(vec![
                Frame::Bulk(b"abc".to_vec()),
                Frame::Bulk(body)
            ])))
        );
        assert_eq!(r.next_frame(), Ok(Some(Frame::Simple(b"OK".to_vec()))));
        assert_eq!(r.next_frame(), Ok(None));
    }

    #[test]
    fn malformed() {
        assert_eq!(bad(b"hello\r\n"), DecodeError::UnknownType(b'h'));
        assert_eq!(bad(b"\x00"), DecodeError::UnknownType(0));
        assert_eq!(bad(b"+OK\rX"), DecodeError::BadTerminator);
        assert_eq!(bad(b"+OK\n"), DecodeError::BadTerminator);
        assert_eq!(bad(b":12a\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b":\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b":-\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b":99999999999999999999\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b"$-2\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b"*-5\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b"$3\r\nabcd\r\n"), DecodeError::BadTerminator);
        assert_eq!(bad(b"$?\r\n"), DecodeError::Streamed);
        assert_eq!(bad(b"*?\r\n"), DecodeError::Streamed);
        assert_eq!(bad(b"=2\r\nab\r\n"), DecodeError::BadVerbatim);
        assert_eq!(bad(b"#x\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b"_x\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b"(12x\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b",\r\n"), DecodeError::BadNumber);
        assert_eq!(bad(b"!-1\r\n"), DecodeError::BadNumber);
    }

    #[test]
    fn limits_are_enforced_before_allocation() {
        // A huge declared bulk is refused from its header alone.
        assert_eq!(
            bad(b"$99999999999\r\n"),
            DecodeError::TooLong(99_999_999_999)
        );
        // A huge declared array is refused too, and a large-but-allowed one does not pre-allocate.
        assert!(matches!(bad(b"*999999999999\r\n"), DecodeError::TooLong(_)));
        assert_eq!(parse(b"*60000\r\n:1\r\n", &Limits::default()), Ok(None));
        // The element budget is per frame, not per aggregate.
        assert!(matches!(bad(b"*2\r\n*65535\r\n"), DecodeError::TooLong(_)));
        let mut nested = b"*2\r\n*30000\r\n".to_vec();
        nested.extend_from_slice(&b":1\r\n".repeat(30000));
        nested.extend_from_slice(b"*40000\r\n");
        assert!(matches!(bad(&nested), DecodeError::TooLong(_)));
        // Chained attributes cannot recurse without bound.
        assert_eq!(bad(&b"|0\r\n".repeat(100_000)), DecodeError::TooDeep(16));
        // Nesting.
        let deep = b"*1\r\n".repeat(40);
        assert_eq!(bad(&deep), DecodeError::TooDeep(16));
        // An unterminated line longer than max_line.
        let small = Limits {
            max_line: 8,
            ..Limits::default()
        };
        assert_eq!(parse(b"+0123456789", &small), Err(DecodeError::TooLarge));
        assert_eq!(parse(b"+0123456", &small), Ok(None));
        // Too much buffered for one incomplete frame.
        let tiny = Limits {
            max_buffered: 64,
            ..Limits::default()
        };
        let mut many = b"*100\r\n".to_vec();
        many.extend_from_slice(&b":1\r\n".repeat(20));
        assert_eq!(parse(&many, &tiny), Err(DecodeError::TooLarge));
    }

    /// Deterministic pseudo-random junk and mutated valid frames never panic, and whatever is accepted
    /// consumed a sane number of bytes.
    #[test]
    fn junk_never_panics() {
        let seeds: [&[u8]; 4] = [
            b"*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n$3\r\nabc\r\n",
            b"%2\r\n+a\r\n=8\r\ntxt:abcd\r\n|1\r\n+x\r\n+y\r\n~1\r\n(12\r\n",
            b"*2\r\n!3\r\nERR\r\n,1.5\r\n",
            b"$10\r\n0123456789\r\n",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"+-:$*_,#!=(%~>|?\r\n0123456789-abctxt";
        let limits = Limits::default();
        for i in 0..20_000 {
            let mut data: Vec<u8> = if i % 2 == 0 {
                let s = seeds[(rnd() % seeds.len() as u64) as usize];
                let mut d = s.to_vec();
                for _ in 0..(rnd() % 4) {
                    let p = (rnd() % d.len() as u64) as usize;
                    d[p] = alphabet[(rnd() % alphabet.len() as u64) as usize];
                }
                d
            } else {
                (0..(rnd() % 40))
                    .map(|_| alphabet[(rnd() % alphabet.len() as u64) as usize])
                    .collect()
            };
            if let Ok(Some((_, used))) = parse(&data, &limits) {
                assert!(used <= data.len());
            }
            data.truncate(data.len() / 2);
            let _ = parse(&data, &limits);
        }
    }

    #[test]
    fn encode() {
        let mut out = BytesMut::new();
        encode_command(&mut out, &["CLIENT", "SETNAME", "sentinel-1234-cmd"]);
        assert_eq!(
            &out[..],
            b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$17\r\nsentinel-1234-cmd\r\n"
        );
    }
}
