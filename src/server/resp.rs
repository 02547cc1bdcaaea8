//! RESP wire format: a request parser and a reply encoder for RESP2 and RESP3.
//!
//! Why hand-written instead of a protocol crate:
//! * **Redis-exact errors.** Clients and test suites match on the texts of `networking.c`
//!   (`Protocol error: invalid multibulk length`, `expected '$', got 'x'`, ...), including *when* they
//!   fire (a header line is judged as soon as its `\r\n` arrives, before the body).
//! * **Inline commands.** Someone typing `PING` into `nc`/`telnet` sends a plain line; Redis splits it
//!   with `sdssplitargs` (quotes, `\xHH` escapes, unbalanced-quote error). Generic RESP crates only parse
//!   frames.
//! * **Limits without trust.** A header such as `$1073741824` must be refused or waited for, never used
//!   to allocate: this parser only ever holds bytes that actually arrived, keeps the progress of a
//!   half-received command (so a large argument arriving in pieces costs O(n), not O(n²)), and applies
//!   Redis's caps: 1024*1024 arguments, `proto-max-bulk-len` per argument, 64 KiB per inline line or
//!   header line, and the much smaller caps (10 arguments, 16 KiB) for clients that still have to `AUTH`.
//! * Requests are only ever arrays of bulk strings, so a request parser is small; replies come from
//!   [`vedette_core::Reply`], so the encoder is a simple recursive walk.

use bytes::{Buf, BytesMut};
use vedette_core::Reply;

/// Longest inline command line, and longest `*`/`$` header line (Redis `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;
/// Most arguments in one multibulk request.
pub const MULTIBULK_MAX: i64 = 1024 * 1024;
/// Most arguments accepted from a client that must still authenticate (Redis 6.2.6+).
pub const UNAUTH_MULTIBULK_MAX: i64 = 10;
/// Longest argument accepted from a client that must still authenticate (Redis 6.2.6+).
pub const UNAUTH_BULK_MAX: i64 = 16 * 1024;

/// A malformed request. The client gets `-ERR Protocol error: <text>` and is disconnected, as in Redis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Inline line of more than 64 KiB without a newline.
    #[error("too big inline request")]
    TooBigInline,
    /// `*` header line of more than 64 KiB.
    #[error("too big mbulk count string")]
    TooBigMbulkCount,
    /// `$` header line of more than 64 KiB.
    #[error("too big bulk count string")]
    TooBigBulkCount,
    /// Bad quoting in an inline command.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    /// Bad or too large `*` count.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// More than 10 arguments before AUTH.
    #[error("unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// Argument header does not start with `$`.
    #[error("expected '$', got '{0}'")]
    ExpectedDollar(char),
    /// Bad, negative or too large `$` length.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// Argument larger than 16 KiB before AUTH.
    #[error("unauthenticated bulk length")]
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The error reply text, `ERR Protocol error: ...`.
    pub fn reply_text(&self) -> String {
        format!("ERR Protocol error: {self}")
    }
}

/// Limits that apply to the next request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: usize,
    /// The client must still authenticate: the small pre-AUTH caps apply.
    pub unauthenticated: bool,
}

/// Incremental request parser (one per connection): feed it the connection's input buffer.
///
/// It mirrors Redis's `processInlineBuffer`/`processMultibulkBuffer`: the request type is decided by the
/// first byte (`*` = multibulk, anything else = inline), bytes are consumed from the buffer as they are
/// understood, and the partial command is kept here between calls.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still expected in the multibulk request being read (0 = none in progress).
    multibulk_left: usize,
    /// Length of the argument being read, once its `$` header has been seen.
    bulk_len: Option<usize>,
    /// Arguments read so far.
    argv: Vec<Vec<u8>>,
    /// Bytes held by `argv` (lengths plus the per-argument `Vec`), for the query buffer limit.
    argv_bytes: usize,
    /// Bytes at the front of the buffer already searched for a line end without success, so a line
    /// trickling in byte by byte is scanned once overall, not once per read.
    scanned: usize,
}

impl RequestParser {
    /// A parser with no request in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether part of a request has been consumed but the request is not complete.
    pub fn in_progress(&self) -> bool {
        self.multibulk_left > 0
    }

    /// Memory held by the arguments of the request being read (Redis's `argv_len_sum`, plus the
    /// per-argument overhead so a request of a million empty arguments counts too): with the unparsed
    /// bytes this is what `client-query-buffer-limit` bounds.
    pub fn pending_bytes(&self) -> usize {
        self.argv_bytes
    }

    /// Parse the next complete request out of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed. An empty request (blank inline line, `*0`, `*-1`) yields
    /// `Ok(Some(vec![]))`, which callers skip, as Redis does.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: Limits,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        if self.multibulk_left == 0 {
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {}
                Some(_) => return self.parse_inline(buf),
            }
            let Some(cr) = self.take_line(buf, ProtocolError::TooBigMbulkCount)? else {
                return Ok(None);
            };
            let count = string2ll(&buf[1..cr]);
            buf.advance(cr + 2);
            let count = match count {
                Some(n) if n <= MULTIBULK_MAX => n,
                _ => return Err(ProtocolError::InvalidMultibulkLength),
            };
            if count > UNAUTH_MULTIBULK_MAX && limits.unauthenticated {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            if count <= 0 {
                return Ok(Some(Vec::new()));
            }
            // `count` is bounded by MULTIBULK_MAX; still, reserve only what is cheap, like Redis (1024).
            let count =
                usize::try_from(count).map_err(|_| ProtocolError::InvalidMultibulkLength)?;
            self.multibulk_left = count;
            self.argv = Vec::with_capacity(count.min(1024));
        }
        while self.multibulk_left > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    let Some(cr) = self.take_line(buf, ProtocolError::TooBigBulkCount)? else {
                        return Ok(None);
                    };
                    if first != b'$' {
                        return Err(ProtocolError::ExpectedDollar(printable(first)));
                    }
                    let len = string2ll(&buf[1..cr]);
                    buf.advance(cr + 2);
                    let len = match len {
                        Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len as u64 => n,
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    if len > UNAUTH_BULK_MAX && limits.unauthenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
                    self.bulk_len = Some(len);
                    len
                }
            };
            // Body plus its CRLF. Like Redis, the two trailing bytes are skipped, not checked.
            if buf.len() < len + 2 {
                return Ok(None);
            }
            // Copied out of the buffer (not `split_to`, which would turn the buffer into a shared one and
            // cost an allocation and an atomic per argument).
            let arg = buf[..len].to_vec();
            buf.advance(len + 2);
            self.argv_bytes += arg.len() + std::mem::size_of::<Vec<u8>>();
            self.argv.push(arg);
            self.bulk_len = None;
            self.multibulk_left -= 1;
        }
        self.argv_bytes = 0;
        Ok(Some(std::mem::take(&mut self.argv)))
    }
}

/// The character Redis prints in `expected '$', got '%c'` (newlines become spaces in error replies).
fn printable(b: u8) -> char {
    match b {
        b'\r' | b'\n' => ' ',
        0x20..=0x7e => b as char,
        _ => '?',
    }
}

impl RequestParser {
    /// Find a complete `\r\n`-terminated header line: the position of its `\r` (the caller reads
    /// `buf[..cr]` and advances past `cr + 2`).
    ///
    /// Like Redis, the line ends at the first `\r`, which must be followed by one more byte.
    fn take_line(
        &mut self,
        buf: &BytesMut,
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        match buf[from..]
            .iter()
            .position(|&b| b == b'\r')
            .map(|i| i + from)
        {
            Some(cr) if cr + 1 < buf.len() => {
                self.scanned = 0;
                Ok(Some(cr))
            }
            found => {
                self.scanned = found.unwrap_or(buf.len());
                if buf.len() > INLINE_MAX {
                    Err(too_big)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// An inline command: one line split like `sdssplitargs`.
    fn parse_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        let Some(nl) = buf[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| i + from)
        else {
            self.scanned = buf.len();
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        self.scanned = 0;
        let mut line = buf.split_to(nl + 1);
        line.truncate(nl);
        if line.last() == Some(&b'\r') {
            line.truncate(nl - 1);
        }
        split_args(&line)
            .map(Some)
            .ok_or(ProtocolError::UnbalancedQuotes)
    }
}

/// Redis `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, no overflow. The core's parser
/// (it reads command arguments the same way), so the workspace has one implementation.
pub use vedette_core::config::parse_redis_i64 as string2ll;

/// Redis `sdssplitargs` for inline commands: the config tokenizer, which is the same function in Redis.
pub use crate::config::tokenize::split_args;

/// A reply as sent on the wire: [`Reply`] plus the RESP3 types only the server itself produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A core reply (or one built from the same vocabulary).
    Reply(Reply),
    /// Verbatim text (`=` in RESP3, a bulk string in RESP2): CLIENT LIST / CLIENT INFO.
    Verbatim(Vec<u8>),
    /// A set (`~` in RESP3, an array in RESP2): flags in COMMAND INFO.
    Set(Vec<Frame>),
    /// An array that may hold sets.
    Array(Vec<Frame>),
    /// A map that may hold sets.
    Map(Vec<(Frame, Frame)>),
    /// Out-of-band data (`>` in RESP3, an array in RESP2): pub/sub messages and confirmations.
    Push(Vec<Reply>),
}

impl From<Reply> for Frame {
    fn from(r: Reply) -> Self {
        Frame::Reply(r)
    }
}

/// Protocol version negotiated by `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// RESP2 (default).
    Resp2,
    /// RESP3.
    Resp3,
}

impl Proto {
    /// 2 or 3.
    pub fn number(self) -> i64 {
        match self {
            Proto::Resp2 => 2,
            Proto::Resp3 => 3,
        }
    }
}

fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    push_decimal(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

/// Append `n` in decimal without going through a `String` (this runs for every reply header).
fn push_decimal(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// Append the encoding of `frame` to `out`.
pub fn encode_frame(frame: &Frame, proto: Proto, out: &mut Vec<u8>) {
    match frame {
        Frame::Reply(r) => encode(r, proto, out),
        Frame::Verbatim(text) => match proto {
            Proto::Resp2 => encode(&Reply::Bulk(text.clone()), proto, out),
            Proto::Resp3 => {
                push_header(out, b'=', text.len() + 4);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        },
        Frame::Set(items) | Frame::Array(items) => {
            let kind = match (frame, proto) {
                (Frame::Set(_), Proto::Resp3) => b'~',
                _ => b'*',
            };
            push_header(out, kind, items.len());
            for it in items {
                encode_frame(it, proto, out);
            }
        }
        Frame::Map(pairs) => {
            match proto {
                Proto::Resp2 => push_header(out, b'*', pairs.len() * 2),
                Proto::Resp3 => push_header(out, b'%', pairs.len()),
            }
            for (k, v) in pairs {
                encode_frame(k, proto, out);
                encode_frame(v, proto, out);
            }
        }
        Frame::Push(items) => {
            let kind = match proto {
                Proto::Resp2 => b'*',
                Proto::Resp3 => b'>',
            };
            push_header(out, kind, items.len());
            for it in items {
                encode(it, proto, out);
            }
        }
    }
}

/// Append the encoding of `reply` to `out`.
pub fn encode(reply: &Reply, proto: Proto, out: &mut Vec<u8>) {
    match reply {
        Reply::Status(s) => {
            out.push(b'+');
            push_line_text(out, s.as_bytes());
        }
        Reply::Error(s) => {
            out.push(b'-');
            // Redis's addReplyError strips a leading '-' the caller may have put there.
            let s = s.strip_prefix('-').unwrap_or(s);
            push_line_text(out, s.as_bytes());
        }
        Reply::Int(n) => {
            out.push(b':');
            push_decimal(out, *n);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(b) => {
            push_header(out, b'$', b.len());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Nil => match proto {
            Proto::Resp2 => out.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => out.extend_from_slice(b"_\r\n"),
        },
        Reply::NilArray => match proto {
            Proto::Resp2 => out.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => out.extend_from_slice(b"_\r\n"),
        },
        Reply::Array(items) => {
            push_header(out, b'*', items.len());
            for it in items {
                encode(it, proto, out);
            }
        }
        Reply::Map(pairs) => {
            match proto {
                Proto::Resp2 => push_header(out, b'*', pairs.len() * 2),
                Proto::Resp3 => push_header(out, b'%', pairs.len()),
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
    }
}

/// A status or error line: CR and LF would break framing, so they become spaces (as in Redis).
fn push_line_text(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: false,
    };

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>, usize) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut cmds = Vec::new();
        loop {
            match p.parse(&mut buf, LIM) {
                Ok(Some(c)) => cmds.push(c),
                Ok(None) => return (cmds, None, buf.len()),
                Err(e) => return (cmds, Some(e), buf.len()),
            }
        }
    }

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn decimals() {
        for n in [0, 1, 9, 10, 12345, -1, -10, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn multibulk_and_pipelining() {
        let (cmds, err, rest) =
            parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$4");
        assert_eq!(err, None);
        assert_eq!(cmds, vec![args(&["PING"]), args(&["ECHO", "hi"])]);
        assert_eq!(
            rest, 2,
            "the `*1` header is consumed into parser state, `$4` waits"
        );
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let input = b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\nhello\r\nPING \"a b\" 'c'\r\n*0\r\n";
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut cmds = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(c) = p.parse(&mut buf, LIM).unwrap() {
                cmds.push(c);
            }
        }
        assert_eq!(
            cmds,
            vec![
                args(&["SET", "", "hello"]),
                args(&["PING", "a b", "c"]),
                vec![]
            ]
        );
    }

    #[test]
    fn inline() {
        let (cmds, err, _) = parse_all(b"PING\r\nping hello\n\r\n   \r\n");
        assert_eq!(err, None);
        assert_eq!(
            cmds,
            vec![args(&["PING"]), args(&["ping", "hello"]), vec![], vec![]]
        );
    }

    #[test]
    fn protocol_errors() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*x\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1048577\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*+1\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$01\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$1073741824\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\nx\r\n", ProtocolError::ExpectedDollar('x')),
            (b"PING \"abc\r\n", ProtocolError::UnbalancedQuotes),
            (b"PING \"abc\"x\r\n", ProtocolError::UnbalancedQuotes),
            (b"PING 'a\r\n", ProtocolError::UnbalancedQuotes),
        ];
        for (input, want) in cases {
            let (_, err, _) = parse_all(input);
            assert_eq!(
                err.as_ref(),
                Some(want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            ProtocolError::ExpectedDollar('x').reply_text(),
            "ERR Protocol error: expected '$', got 'x'"
        );
    }

    #[test]
    fn too_big_lines() {
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(parse_all(&big).1, Some(ProtocolError::TooBigInline));
        let mut mb = b"*".to_vec();
        mb.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
        assert_eq!(parse_all(&mb).1, Some(ProtocolError::TooBigMbulkCount));
        let mut b = b"*1\r\n$".to_vec();
        b.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
        assert_eq!(parse_all(&b).1, Some(ProtocolError::TooBigBulkCount));
    }

    #[test]
    fn huge_declared_bulk_waits_without_allocating() {
        let lim = Limits {
            max_bulk_len: usize::MAX,
            unauthenticated: false,
        };
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$1073741824\r\nabc"[..]);
        assert_eq!(p.parse(&mut buf, lim), Ok(None));
        assert!(buf.capacity() < 1024);
        assert!(p.in_progress());
    }

    #[test]
    fn unauthenticated_caps() {
        let lim = Limits {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: true,
        };
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            p.parse(&mut buf, lim),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$16385\r\n"[..]);
        assert_eq!(
            p.parse(&mut buf, lim),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        for bad in [&b""[..], b"-", b"+1", b"01", b" 1", b"1 ", b"-0", b"1a"] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn split_args_escapes() {
        assert_eq!(
            split_args(b"set \"a\\x41\\n\" 'it\\'s'").unwrap(),
            args(&["set", "aA\n", "it's"])
        );
        assert_eq!(split_args(b"").unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(split_args(b"\"\"").unwrap(), args(&[""]));
    }

    fn enc(r: &Reply, p: Proto) -> String {
        let mut out = Vec::new();
        encode(r, p, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encoder_resp2_resp3() {
        let m = Reply::bulk_map([("a", "1")]);
        assert_eq!(enc(&m, Proto::Resp2), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert_eq!(enc(&m, Proto::Resp3), "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert_eq!(enc(&Reply::Nil, Proto::Resp2), "$-1\r\n");
        assert_eq!(enc(&Reply::NilArray, Proto::Resp2), "*-1\r\n");
        assert_eq!(enc(&Reply::Nil, Proto::Resp3), "_\r\n");
        assert_eq!(enc(&Reply::NilArray, Proto::Resp3), "_\r\n");
        assert_eq!(enc(&Reply::Int(-3), Proto::Resp3), ":-3\r\n");
        assert_eq!(
            enc(&Reply::err("ERR a\r\nb"), Proto::Resp2),
            "-ERR a  b\r\n"
        );
        assert_eq!(
            enc(&Reply::err("-NOPROTO x"), Proto::Resp2),
            "-NOPROTO x\r\n"
        );
        let mut out = Vec::new();
        encode_frame(
            &Frame::Push(vec![
                Reply::bulk("message"),
                Reply::bulk("c"),
                Reply::bulk("p"),
            ]),
            Proto::Resp3,
            &mut out,
        );
        assert_eq!(out, b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n");
        out.clear();
        encode_frame(&Frame::Verbatim(b"id=1\n".to_vec()), Proto::Resp3, &mut out);
        assert_eq!(out, b"=9\r\ntxt:id=1\n\r\n");
    }
}
