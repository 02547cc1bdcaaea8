//! Differential comparison of replies: the same command to a reference `redis-sentinel` and to the
//! implementation under test, configured on the same topology.
//!
//! Replies are parsed into typed [`Value`] trees and compared by STRUCTURE: same frame types, same array
//! lengths, same map keys in the same order, identical error and status texts. Volatile values (times,
//! counters, run ids, client ids) are ignored by default; [`Opts`] says per call which values must match.
//! A test is one line per command:
//!
//! ```ignore
//! pair.check(&["SENTINEL", "MASTER", "mymaster"]);                       // RESP2 and RESP3
//! pair.check_with(&["SENTINEL", "MASTER", "mymaster"], Opts::new().equal(&["quorum"]));
//! ```

use std::fmt::Write as _;

use super::resp::{RespConn, Value};

/// How leaf values are compared (types, lengths, map keys and errors are always compared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Compare strings that do not look volatile (not a number, not a 40-hex run id); ignore integers.
    Stable,
    /// Compare only the shape (plus error texts and map keys).
    Structure,
    /// Every value must be equal.
    All,
}

/// How bulk strings are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkAs {
    /// Plain text.
    Text,
    /// INFO text: same section headers in the same order; the `# Sentinel` section must have the same
    /// field names in the same order, and equal non-volatile values.
    Info,
    /// `CLIENT INFO` / `CLIENT LIST` text: same number of lines, same `field=` names in the same order.
    ClientList,
}

/// Per-call comparison options. Start from [`Opts::new`] (stable values) or [`Opts::structure`].
#[derive(Clone, Debug)]
pub struct Opts {
    mode: Mode,
    bulk: BulkAs,
    equal: Vec<String>,
    ignore: Vec<String>,
    ints: bool,
    statuses: bool,
    lengths: bool,
    replies: usize,
    protos: Vec<u8>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts::new()
    }
}

impl Opts {
    /// Stable values compared, integers ignored, RESP2 and RESP3, one reply frame.
    pub fn new() -> Opts {
        Opts {
            mode: Mode::Stable,
            bulk: BulkAs::Text,
            equal: Vec::new(),
            ignore: Vec::new(),
            ints: false,
            statuses: true,
            lengths: true,
            replies: 1,
            protos: vec![2, 3],
        }
    }

    /// Shape only (plus error texts and map keys).
    pub fn structure() -> Opts {
        Opts {
            mode: Mode::Structure,
            statuses: false,
            ..Opts::new()
        }
    }

    /// Everything equal, byte for byte.
    pub fn exact() -> Opts {
        Opts {
            mode: Mode::All,
            ints: true,
            ..Opts::new()
        }
    }

    /// Values stored under these keys (map keys or keys of RESP2 flat key/value arrays) must be equal.
    pub fn equal(mut self, keys: &[&str]) -> Opts {
        self.equal.extend(keys.iter().map(|k| k.to_string()));
        self
    }

    /// Values stored under these keys are ignored.
    pub fn ignore(mut self, keys: &[&str]) -> Opts {
        self.ignore.extend(keys.iter().map(|k| k.to_string()));
        self
    }

    /// Integers must be equal too.
    pub fn ints(mut self) -> Opts {
        self.ints = true;
        self
    }

    /// Don't compare status texts (e.g. HELP lines of different Redis versions).
    pub fn no_statuses(mut self) -> Opts {
        self.statuses = false;
        self
    }

    /// Arrays may differ in length (compared element-wise up to the shorter one).
    pub fn no_length(mut self) -> Opts {
        self.lengths = false;
        self
    }

    /// Read bulk strings as INFO text.
    pub fn info(mut self) -> Opts {
        self.bulk = BulkAs::Info;
        self
    }

    /// Read bulk strings as CLIENT INFO / LIST text.
    pub fn client_list(mut self) -> Opts {
        self.bulk = BulkAs::ClientList;
        self
    }

    /// The command produces `n` reply frames (e.g. `SUBSCRIBE a b` gives two confirmations).
    pub fn replies(mut self, n: usize) -> Opts {
        self.replies = n;
        self
    }

    /// Only RESP2.
    pub fn resp2(mut self) -> Opts {
        self.protos = vec![2];
        self
    }

    /// Only RESP3.
    pub fn resp3(mut self) -> Opts {
        self.protos = vec![3];
        self
    }
}

/// A string that differs between two sentinels on the same topology: numbers (times, counters, ids,
/// epochs) and 40-hex run ids.
pub fn is_volatile(s: &str) -> bool {
    s.parse::<i64>().is_ok()
        || s.parse::<f64>().is_ok()
        || (s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Differences between `a` (reference) and `b` (subject), one human-readable line each; empty if equal.
pub fn compare(a: &Value, b: &Value, opts: &Opts) -> Vec<String> {
    let mut out = Vec::new();
    cmp(a, b, "$", None, opts, &mut out);
    out
}

fn cmp(a: &Value, b: &Value, path: &str, key: Option<&str>, o: &Opts, out: &mut Vec<String>) {
    if a.kind() != b.kind() {
        out.push(format!(
            "{path}: type {} vs {} ({a:?} vs {b:?})",
            a.kind(),
            b.kind()
        ));
        return;
    }
    let forced = key.is_some_and(|k| o.equal.iter().any(|e| e == k));
    let ignored = !forced && key.is_some_and(|k| o.ignore.iter().any(|e| e == k));
    let leaf = |ta: &str, tb: &str, volatile_ok: bool, out: &mut Vec<String>| {
        let must = forced
            || (!ignored
                && match o.mode {
                    Mode::All => true,
                    Mode::Structure => false,
                    Mode::Stable => !(volatile_ok && is_volatile(ta) && is_volatile(tb)),
                });
        if must && ta != tb {
            out.push(format!("{path}: {ta:?} vs {tb:?}"));
        }
    };
    match (a, b) {
        (Value::Error(x), Value::Error(y)) if x != y => {
            out.push(format!("{path}: error {x:?} vs {y:?}"));
        }
        (Value::Status(x), Value::Status(y)) if (forced || (!ignored && o.statuses)) && x != y => {
            out.push(format!("{path}: status {x:?} vs {y:?}"));
        }
        (Value::Int(x), Value::Int(y))
            if (forced || (!ignored && (o.ints || o.mode == Mode::All))) && x != y =>
        {
            out.push(format!("{path}: int {x} vs {y}"));
        }
        (Value::Bulk(x), Value::Bulk(y)) | (Value::Verbatim(_, x), Value::Verbatim(_, y)) => {
            let (ta, tb) = (String::from_utf8_lossy(x), String::from_utf8_lossy(y));
            match o.bulk {
                BulkAs::Info if ta.starts_with('#') || tb.starts_with('#') => {
                    cmp_info(&ta, &tb, path, o, out)
                }
                BulkAs::ClientList if ta.contains("id=") => cmp_client_list(&ta, &tb, path, out),
                _ => leaf(&ta, &tb, true, out),
            }
        }
        (Value::Double(x), Value::Double(y)) | (Value::BigNum(x), Value::BigNum(y)) => {
            leaf(x, y, true, out)
        }
        (Value::Bool(x), Value::Bool(y)) if !ignored && x != y => {
            out.push(format!("{path}: bool {x} vs {y}"));
        }
        (Value::Array(x), Value::Array(y))
        | (Value::Set(x), Value::Set(y))
        | (Value::Push(x), Value::Push(y)) => {
            if o.lengths && x.len() != y.len() {
                out.push(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            // A RESP2 flat key/value array: element 2i names element 2i+1.
            let flat_kv = x.len() % 2 == 0 && x.iter().step_by(2).all(|k| k.as_str().is_some());
            for (i, (ea, eb)) in x.iter().zip(y).enumerate() {
                let k = if flat_kv && i % 2 == 1 {
                    x[i - 1].as_str()
                } else {
                    None
                };
                let p = match &k {
                    Some(k) => format!("{path}.{k}"),
                    None => format!("{path}[{i}]"),
                };
                cmp(ea, eb, &p, k.as_deref(), o, out);
            }
        }
        (Value::Map(x), Value::Map(y)) => {
            let ka: Vec<String> = x.iter().map(|(k, _)| key_text(k)).collect();
            let kb: Vec<String> = y.iter().map(|(k, _)| key_text(k)).collect();
            if ka != kb {
                out.push(format!("{path}: map keys {ka:?} vs {kb:?}"));
            }
            for ((kx, va), (ky, vb)) in x.iter().zip(y) {
                let (kx, ky) = (key_text(kx), key_text(ky));
                if kx == ky {
                    cmp(va, vb, &format!("{path}.{kx}"), Some(&kx), o, out);
                }
            }
        }
        // Nulls of the same kind: equal.
        _ => {}
    }
}

fn key_text(k: &Value) -> String {
    k.as_str().unwrap_or_else(|| format!("{k:?}"))
}

/// Sections of INFO text: (header, [(field, value)]).
pub fn info_sections(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(h) = line.strip_prefix("# ") {
            out.push((h.to_string(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            if let Some((_, fields)) = out.last_mut() {
                fields.push((k.to_string(), v.to_string()));
            }
        }
    }
    out
}

/// `# Sentinel` fields vedette adds on purpose (documented in the README); left out of comparisons.
pub const VEDETTE_ONLY_INFO_FIELDS: &[&str] = &[
    "sentinel_state_write_failing",
    "sentinel_state_write_failing_since_seconds",
    "sentinel_state_write_error",
    "sentinel_state_writes",
    "sentinel_state_write_failures",
];

fn cmp_info(a: &str, b: &str, path: &str, o: &Opts, out: &mut Vec<String>) {
    let strip = |mut s: Vec<(String, Vec<(String, String)>)>| {
        for (h, fields) in &mut s {
            if h == "Sentinel" {
                fields.retain(|(k, _)| !VEDETTE_ONLY_INFO_FIELDS.contains(&k.as_str()));
            }
        }
        s
    };
    let (sa, sb) = (strip(info_sections(a)), strip(info_sections(b)));
    let ha: Vec<&str> = sa.iter().map(|(h, _)| h.as_str()).collect();
    let hb: Vec<&str> = sb.iter().map(|(h, _)| h.as_str()).collect();
    if ha != hb {
        out.push(format!("{path}: INFO sections {ha:?} vs {hb:?}"));
    }
    let find = |s: &[(String, Vec<(String, String)>)]| {
        s.iter()
            .find(|(h, _)| h == "Sentinel")
            .map(|(_, f)| f.clone())
    };
    if let (Some(fa), Some(fb)) = (find(&sa), find(&sb)) {
        let na: Vec<&str> = fa.iter().map(|(k, _)| k.as_str()).collect();
        let nb: Vec<&str> = fb.iter().map(|(k, _)| k.as_str()).collect();
        if na != nb {
            out.push(format!("{path}: # Sentinel fields {na:?} vs {nb:?}"));
        }
        for ((k, va), (_, vb)) in fa.iter().zip(&fb) {
            let ignored = o.ignore.iter().any(|i| i == k);
            let forced = o.equal.iter().any(|e| e == k);
            let must = forced || (!ignored && o.mode != Mode::Structure && !is_volatile(va));
            if must && va != vb {
                out.push(format!("{path}# Sentinel.{k}: {va:?} vs {vb:?}"));
            }
        }
    }
}

fn cmp_client_list(a: &str, b: &str, path: &str, out: &mut Vec<String>) {
    let names = |t: &str| -> Vec<Vec<String>> {
        t.lines()
            .map(|l| {
                l.split(' ')
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string()))
                    .collect()
            })
            .collect()
    };
    let (na, nb) = (names(a), names(b));
    if na.len() != nb.len() {
        out.push(format!("{path}: {} client lines vs {}", na.len(), nb.len()));
    }
    for (i, (x, y)) in na.iter().zip(&nb).enumerate() {
        if x != y {
            out.push(format!("{path} line {i}: fields {x:?} vs {y:?}"));
        }
    }
}

/// Two sentinels to compare: `reference` (redis-sentinel) and `subject` (vedette).
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// Port of the reference implementation.
    pub reference: u16,
    /// Port of the implementation under test.
    pub subject: u16,
}

impl Pair {
    /// A pair of ports.
    pub fn new(reference: u16, subject: u16) -> Pair {
        Pair { reference, subject }
    }

    /// Compare `args` in RESP2 and RESP3 with default options; panics on any difference.
    #[track_caller]
    pub fn check(&self, args: &[&str]) {
        self.check_with(args, Opts::new());
    }

    /// Compare `args` with `opts` on fresh connections (one per protocol); panics on any difference.
    /// Returns the replies of the last protocol compared (reference, subject) for extra assertions.
    #[track_caller]
    pub fn check_with(&self, args: &[&str], opts: Opts) -> (Value, Value) {
        let mut last = None;
        for &proto in &opts.protos {
            let mut s = self.session(proto);
            last = Some(s.check_with(args, opts.clone()));
        }
        last.expect("Opts with no protocol")
    }

    /// Both replies to `args` in `proto`, uncompared.
    pub fn replies(&self, args: &[&str], proto: u8) -> (Value, Value) {
        self.session(proto).call(args)
    }

    /// Persistent connections to both sides in `proto` (after `HELLO 3` for RESP3, whose replies are
    /// compared too), for command sequences that depend on connection state.
    #[track_caller]
    pub fn session(&self, proto: u8) -> Session {
        let open = |port: u16| {
            RespConn::connect_proto(port, proto)
                .unwrap_or_else(|e| panic!("connect to {port} (RESP{proto}): {e}"))
        };
        let (a, ha) = open(self.reference);
        let (b, hb) = open(self.subject);
        if let (Some(ha), Some(hb)) = (ha, hb) {
            let diffs = compare(&ha, &hb, &Opts::new().ignore(&["version", "id"]));
            report(&["HELLO", "3"], proto, &ha, &hb, &diffs);
        }
        Session { a, b, proto }
    }
}

/// Persistent connections to both sides of a [`Pair`].
pub struct Session {
    /// Connection to the reference.
    pub a: RespConn,
    /// Connection to the subject.
    pub b: RespConn,
    /// Protocol in use (2 or 3).
    pub proto: u8,
}

impl Session {
    /// Send `args` to both sides and read one reply from each.
    pub fn call(&mut self, args: &[&str]) -> (Value, Value) {
        (self.a.cmd(args), self.b.cmd(args))
    }

    /// Compare with default options.
    #[track_caller]
    pub fn check(&mut self, args: &[&str]) -> (Value, Value) {
        self.check_with(args, Opts::new())
    }

    /// Send `args` to both, read `opts.replies` frames from each, compare; panics on any difference.
    #[track_caller]
    pub fn check_with(&mut self, args: &[&str], opts: Opts) -> (Value, Value) {
        let (mut ra, mut rb) = self.call(args);
        let mut diffs = compare(&ra, &rb, &opts);
        for _ in 1..opts.replies {
            ra = self
                .a
                .read()
                .unwrap_or_else(|e| panic!("reference: {args:?}: {e}"));
            rb = self
                .b
                .read()
                .unwrap_or_else(|e| panic!("subject: {args:?}: {e}"));
            diffs.extend(compare(&ra, &rb, &opts));
        }
        report(args, self.proto, &ra, &rb, &diffs);
        (ra, rb)
    }
}

#[track_caller]
fn report(args: &[&str], proto: u8, a: &Value, b: &Value, diffs: &[String]) {
    if diffs.is_empty() {
        return;
    }
    let mut msg = format!("{args:?} (RESP{proto}) differs from redis-sentinel:\n");
    for d in diffs {
        let _ = writeln!(msg, "  {d}");
    }
    let _ = write!(msg, "redis-sentinel: {a:#?}\nsubject:        {b:#?}");
    panic!("{msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn volatile_values_are_ignored_but_names_are_not() {
        let a = Value::Array(vec![
            bulk("name"),
            bulk("mymaster"),
            bulk("last-ping-sent"),
            bulk("0"),
        ]);
        let b = Value::Array(vec![
            bulk("name"),
            bulk("mymaster"),
            bulk("last-ping-sent"),
            bulk("17"),
        ]);
        assert!(compare(&a, &b, &Opts::new()).is_empty());
        assert_eq!(
            compare(&a, &b, &Opts::new().equal(&["last-ping-sent"])).len(),
            1
        );
        let c = Value::Array(vec![
            bulk("name"),
            bulk("other"),
            bulk("last-ping-sent"),
            bulk("0"),
        ]);
        assert_eq!(compare(&a, &c, &Opts::new()).len(), 1);
        assert!(compare(&a, &c, &Opts::new().ignore(&["name"])).is_empty());
    }

    #[test]
    fn types_lengths_keys_and_errors_always_count() {
        assert_eq!(
            compare(&Value::NullBulk, &Value::NullArray, &Opts::structure()).len(),
            1
        );
        assert_eq!(
            compare(&bulk("OK"), &Value::Status("OK".into()), &Opts::structure()).len(),
            1
        );
        let e1 = Value::Error("ERR a".into());
        let e2 = Value::Error("ERR b".into());
        assert_eq!(compare(&e1, &e2, &Opts::structure()).len(), 1);
        let m1 = Value::Map(vec![(bulk("a"), bulk("1"))]);
        let m2 = Value::Map(vec![(bulk("b"), bulk("1"))]);
        assert_eq!(compare(&m1, &m2, &Opts::structure()).len(), 1);
        let l1 = Value::Array(vec![Value::Int(1)]);
        let l2 = Value::Array(vec![Value::Int(1), Value::Int(2)]);
        assert!(!compare(&l1, &l2, &Opts::structure()).is_empty());
    }

    #[test]
    fn info_compares_sections_and_sentinel_fields() {
        let a = "# Server\r\nredis_version:7.0.15\r\n\r\n# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\nmaster0:name=m,status=ok\r\n";
        let b = "# Server\r\nredis_version:0.1.0\r\n\r\n# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\nmaster0:name=m,status=ok\r\n";
        assert!(compare(&bulk(a), &bulk(b), &Opts::new().info()).is_empty());
        let c = b.replace("status=ok", "status=sdown");
        assert_eq!(compare(&bulk(a), &bulk(&c), &Opts::new().info()).len(), 1);
        let d = b.replace("sentinel_tilt:0\r\n", "");
        assert!(!compare(&bulk(a), &bulk(&d), &Opts::new().info()).is_empty());
    }
}
