//! A small raw RESP2/RESP3 client for tests.
//!
//! Tests that care about reply *shape* (bulk vs status, null array vs null bulk, map vs flat array,
//! push frames) cannot use the `redis` crate, which normalises those differences away. This module
//! parses every frame into a typed [`Value`] tree and keeps the distinctions.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// One RESP frame, as typed on the wire (RESP2 and RESP3).
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `+text`
    Status(String),
    /// `-text` (and RESP3 blob error `!`)
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` bulk string.
    Bulk(Vec<u8>),
    /// RESP2 `$-1`.
    NullBulk,
    /// RESP2 `*-1`.
    NullArray,
    /// RESP3 `_`.
    Null,
    /// `*n`
    Array(Vec<Value>),
    /// RESP3 `%n`
    Map(Vec<(Value, Value)>),
    /// RESP3 `~n`
    Set(Vec<Value>),
    /// RESP3 `>n`
    Push(Vec<Value>),
    /// RESP3 `,`
    Double(String),
    /// RESP3 `#t` / `#f`
    Bool(bool),
    /// RESP3 `=n` verbatim string: (format, text).
    Verbatim(String, Vec<u8>),
    /// RESP3 `(`
    BigNum(String),
}

impl Value {
    /// Short type name used in diff messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Status(_) => "status",
            Value::Error(_) => "error",
            Value::Int(_) => "int",
            Value::Bulk(_) => "bulk",
            Value::NullBulk => "null-bulk",
            Value::NullArray => "null-array",
            Value::Null => "null",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Push(_) => "push",
            Value::Double(_) => "double",
            Value::Bool(_) => "bool",
            Value::Verbatim(..) => "verbatim",
            Value::BigNum(_) => "bignum",
        }
    }

    /// Text of a status, error, bulk or verbatim string (lossy UTF-8), else `None`.
    pub fn as_str(&self) -> Option<String> {
        match self {
            Value::Status(s) | Value::Error(s) => Some(s.clone()),
            Value::Bulk(b) | Value::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// Text of a string-like value; panics (test helper) otherwise.
    pub fn text(&self) -> String {
        self.as_str()
            .unwrap_or_else(|| panic!("expected a string reply, got {self:?}"))
    }

    /// Elements of an array, set or push frame.
    pub fn items(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) | Value::Set(v) | Value::Push(v) => Some(v),
            _ => None,
        }
    }

    /// Key/value pairs of a RESP3 map or of a RESP2 flat `[k1, v1, k2, v2, ...]` array.
    pub fn pairs(&self) -> Option<Vec<(String, Value)>> {
        match self {
            Value::Map(m) => Some(
                m.iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default(), v.clone()))
                    .collect(),
            ),
            Value::Array(a) if a.len() % 2 == 0 => a
                .chunks(2)
                .map(|kv| kv[0].as_str().map(|k| (k, kv[1].clone())))
                .collect(),
            _ => None,
        }
    }

    /// Value of `key` in a map or flat key/value array, as text.
    pub fn field(&self, key: &str) -> Option<String> {
        self.pairs()?
            .into_iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
    }

    /// Integer value, or the integer a string holds.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            other => other.as_str()?.parse().ok(),
        }
    }

    /// True for any of the three null encodings.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::NullBulk | Value::NullArray)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Status(s) => write!(f, "+{s:?}"),
            Value::Error(s) => write!(f, "-{s:?}"),
            Value::Int(n) => write!(f, ":{n}"),
            Value::Bulk(b) => write!(f, "${:?}", String::from_utf8_lossy(b)),
            Value::NullBulk => write!(f, "$-1"),
            Value::NullArray => write!(f, "*-1"),
            Value::Null => write!(f, "_"),
            Value::Array(v) => {
                write!(f, "*")?;
                f.debug_list().entries(v).finish()
            }
            Value::Set(v) => {
                write!(f, "~")?;
                f.debug_list().entries(v).finish()
            }
            Value::Push(v) => {
                write!(f, ">")?;
                f.debug_list().entries(v).finish()
            }
            Value::Map(m) => {
                write!(f, "%")?;
                f.debug_map()
                    .entries(m.iter().map(|(k, v)| (k, v)))
                    .finish()
            }
            Value::Double(d) => write!(f, ",{d}"),
            Value::Bool(b) => write!(f, "#{}", if *b { 't' } else { 'f' }),
            Value::Verbatim(fmt, b) => write!(f, "={fmt}:{:?}", String::from_utf8_lossy(b)),
            Value::BigNum(n) => write!(f, "({n}"),
        }
    }
}

/// Longest frame a test expects; guards against a garbage length prefix allocating gigabytes.
const MAX_LEN: i64 = 64 * 1024 * 1024;
/// Deepest nesting a test expects; guards against unbounded recursion on garbage.
const MAX_DEPTH: usize = 32;

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(bad(format!(
            "line not terminated by CRLF: {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|e| bad(format!("non UTF-8 line: {e}")))
}

fn parse_len(s: &str) -> io::Result<i64> {
    let n: i64 = s.parse().map_err(|_| bad(format!("bad length {s:?}")))?;
    if n > MAX_LEN {
        return Err(bad(format!("length {n} too large")));
    }
    Ok(n)
}

fn read_blob(r: &mut impl BufRead, len: i64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| bad("negative blob length"))?;
    let mut buf = vec![0u8; len + 2];
    r.read_exact(&mut buf)?;
    if &buf[len..] != b"\r\n" {
        return Err(bad("blob not terminated by CRLF"));
    }
    buf.truncate(len);
    Ok(buf)
}

/// Read one complete frame (RESP2 or RESP3). Attribute frames (`|`) are read and dropped.
pub fn read_value(r: &mut impl BufRead) -> io::Result<Value> {
    read_value_depth(r, 0)
}

fn read_value_depth(r: &mut impl BufRead, depth: usize) -> io::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(bad("frame nested too deeply"));
    }
    let line = read_line(r)?;
    let Some(tag) = line.chars().next() else {
        return Err(bad("empty line"));
    };
    let rest = &line[1..];
    let items = |r: &mut _, n: i64| -> io::Result<Vec<Value>> {
        (0..n).map(|_| read_value_depth(r, depth + 1)).collect()
    };
    Ok(match tag {
        '+' => Value::Status(rest.to_string()),
        '-' => Value::Error(rest.to_string()),
        ':' => Value::Int(rest.parse().map_err(|_| bad(format!("bad int {rest:?}")))?),
        '$' => match parse_len(rest)? {
            -1 => Value::NullBulk,
            n => Value::Bulk(read_blob(r, n)?),
        },
        '*' => match parse_len(rest)? {
            -1 => Value::NullArray,
            n => Value::Array(items(r, n)?),
        },
        '~' => Value::Set(items(r, parse_len(rest)?)?),
        '>' => Value::Push(items(r, parse_len(rest)?)?),
        '%' => {
            let n = parse_len(rest)?;
            let mut m = Vec::new();
            for _ in 0..n {
                let k = read_value_depth(r, depth + 1)?;
                let v = read_value_depth(r, depth + 1)?;
                m.push((k, v));
            }
            Value::Map(m)
        }
        '|' => {
            // Attribute: a map that precedes the real reply. Skip it.
            let n = parse_len(rest)?;
            for _ in 0..2 * n {
                read_value_depth(r, depth + 1)?;
            }
            return read_value_depth(r, depth);
        }
        '_' => Value::Null,
        ',' => Value::Double(rest.to_string()),
        '#' => Value::Bool(rest == "t"),
        '(' => Value::BigNum(rest.to_string()),
        '!' => {
            let b = read_blob(r, parse_len(rest)?)?;
            Value::Error(String::from_utf8_lossy(&b).into_owned())
        }
        '=' => {
            let b = read_blob(r, parse_len(rest)?)?;
            if b.len() < 4 || b[3] != b':' {
                return Err(bad("verbatim string without format prefix"));
            }
            Value::Verbatim(
                String::from_utf8_lossy(&b[..3]).into_owned(),
                b[4..].to_vec(),
            )
        }
        other => return Err(bad(format!("unknown frame type {other:?} in {line:?}"))),
    })
}

/// Encode a command as a RESP array of bulk strings (what every client sends).
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A blocking RESP connection to 127.0.0.1 with read/write timeouts.
pub struct RespConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Port this connection talks to (for messages).
    pub port: u16,
}

/// Default I/O timeout: long enough for a loaded CI box, short enough that a hung server fails a test.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

impl RespConn {
    /// Connect to `127.0.0.1:port`.
    pub fn connect(port: u16) -> io::Result<RespConn> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        Ok(RespConn {
            reader: BufReader::new(stream),
            writer,
            port,
        })
    }

    /// Connect and switch to `proto` (2 or 3) with `HELLO`; returns the connection and the HELLO reply
    /// (`None` for protocol 2, where no HELLO is sent).
    pub fn connect_proto(port: u16, proto: u8) -> io::Result<(RespConn, Option<Value>)> {
        let mut c = RespConn::connect(port)?;
        if proto == 3 {
            let hello = c.call(&["HELLO", "3"])?;
            if let Value::Error(e) = &hello {
                return Err(io::Error::other(format!("HELLO 3 failed: {e}")));
            }
            Ok((c, Some(hello)))
        } else {
            Ok((c, None))
        }
    }

    /// Change the read timeout (e.g. short polls for pub/sub).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.writer.set_read_timeout(t)
    }

    /// Send raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Send a command without reading the reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        self.send_raw(&encode_command(args))
    }

    /// Read one frame.
    pub fn read(&mut self) -> io::Result<Value> {
        read_value(&mut self.reader)
    }

    /// Send a command and read one reply frame.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Value> {
        self.send(args)?;
        self.read()
    }

    /// Test helper: `call` that panics with context on I/O failure.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Value {
        let port = self.port;
        self.call(args).unwrap_or_else(|e| {
            let shown: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                .collect();
            panic!("port {port}: {shown:?} failed: {e}")
        })
    }

    /// Close both directions (unblocks a reader thread).
    pub fn shutdown(&self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }

    /// A handle that can shut the socket down from another thread.
    pub fn shutdown_handle(&self) -> io::Result<TcpStream> {
        self.writer.try_clone()
    }
}

/// One-shot: connect to `port`, run `args`, return the reply.
pub fn call<A: AsRef<[u8]>>(port: u16, args: &[A]) -> io::Result<Value> {
    RespConn::connect(port)?.call(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        read_value(&mut io::Cursor::new(bytes.to_vec())).expect("parse")
    }

    #[test]
    fn parses_resp2_and_resp3_frames() {
        assert_eq!(parse(b"+OK\r\n"), Value::Status("OK".into()));
        assert_eq!(parse(b"$-1\r\n"), Value::NullBulk);
        assert_eq!(parse(b"*-1\r\n"), Value::NullArray);
        assert_eq!(parse(b"_\r\n"), Value::Null);
        assert_eq!(
            parse(b"*2\r\n$1\r\na\r\n:5\r\n"),
            Value::Array(vec![Value::Bulk(b"a".to_vec()), Value::Int(5)])
        );
        assert_eq!(
            parse(b"%1\r\n+k\r\n#t\r\n"),
            Value::Map(vec![(Value::Status("k".into()), Value::Bool(true))])
        );
        assert_eq!(
            parse(b"=8\r\ntxt:abcd\r\n"),
            Value::Verbatim("txt".into(), b"abcd".to_vec())
        );
        assert_eq!(
            parse(b"|1\r\n+a\r\n+b\r\n:1\r\n"),
            Value::Int(1),
            "attributes are skipped"
        );
        assert!(read_value(&mut io::Cursor::new(b"$3\r\nab\r\n".to_vec())).is_err());
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(
            encode_command(&["PING", "hi"]),
            b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"
        );
    }
}
