//! The redis-server config tokenizer (`sdssplitargs`) and its inverse (`sdscatrepr`).
//!
//! Redis splits inline commands (`processInlineBuffer`) with the same function, so the RESP parser
//! ([`crate::server::resp`]) uses this one too: the workspace has a single `sdssplitargs`.
//!
//! Mirrors `sds.c`: arguments are separated by blanks; `"double quotes"` understand `\xHH`, `\n`, `\r`,
//! `\t`, `\b`, `\a` and `\<any>`; `'single quotes'` only understand `\'`; a closing quote must be followed
//! by a blank or the end of the line; a quote may start in the middle of a token (`ab"c d"` is `abc d`).
//!
//! Differences from Redis: arguments are returned as bytes and the caller requires UTF-8 (Redis keeps raw
//! bytes); a NUL byte is an ordinary byte here (C stops at it; Redis 7.0 does not even answer an inline
//! command holding one, as its search for the end of the line stops there).

/// Split one config line (or inline command) into arguments. `None` means unbalanced quotes (Redis:
/// "Unbalanced quotes in configuration line", or the inline protocol error).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut p = 0usize;
    let at = |i: usize| line.get(i).copied();
    loop {
        while at(p).is_some_and(is_c_space) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        // The open quote, `"` or `'`, while inside one.
        let mut quote: Option<u8> = None;
        loop {
            let c = at(p);
            if let Some(q) = quote {
                match c {
                    None => return None,
                    Some(b'\\')
                        if q == b'"'
                            && at(p + 1) == Some(b'x')
                            && at(p + 2).is_some_and(|b| b.is_ascii_hexdigit())
                            && at(p + 3).is_some_and(|b| b.is_ascii_hexdigit()) =>
                    {
                        let hi = hex_value(line[p + 2]);
                        let lo = hex_value(line[p + 3]);
                        current.push(hi * 16 + lo);
                        p += 4;
                    }
                    Some(b'\\') if q == b'"' && at(p + 1).is_some() => {
                        let e = line[p + 1];
                        current.push(match e {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        p += 2;
                    }
                    Some(b'\\') if q == b'\'' && at(p + 1) == Some(b'\'') => {
                        current.push(b'\'');
                        p += 2;
                    }
                    // The closing quote must end the token.
                    Some(b) if b == q => {
                        if at(p + 1).is_some_and(|b| !is_c_space(b)) {
                            return None;
                        }
                        p += 1;
                        break;
                    }
                    Some(b) => {
                        current.push(b);
                        p += 1;
                    }
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(q @ (b'"' | b'\'')) => {
                        quote = Some(q);
                        p += 1;
                    }
                    Some(b) => {
                        current.push(b);
                        p += 1;
                    }
                }
            }
        }
        args.push(current);
    }
}

/// `sdstrim(line, " \t\r\n")`: what Redis strips from each config line before splitting it (and what
/// the rewrite strips before comparing lines).
pub fn trim(mut s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while s.first().is_some_and(ws) {
        s = &s[1..];
    }
    while s.last().is_some_and(ws) {
        s = &s[..s.len() - 1];
    }
    s
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// `sdscatrepr`: always quoted, with C escapes; what Redis uses for string options and command-line values.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// An argument as it should appear in a generated line: bare when the tokenizer reads it back unchanged,
/// quoted otherwise (empty, blanks, quotes, backslashes, non-printable or non-ASCII bytes). Redis writes
/// most sentinel arguments bare with `%s`, which breaks on such values; quoting them is the safe superset.
pub fn arg(s: &str) -> String {
    let bare = !s.is_empty()
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\'' && b != b'\\');
    if bare {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Join arguments into one config line with [`arg`] quoting.
pub fn join_line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| arg(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8(a).expect("utf8"))
                .collect()
        })
    }

    #[test]
    fn plain_words() {
        assert_eq!(
            split("  port   26379 \t").unwrap(),
            vec!["port".to_string(), "26379".into()]
        );
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(
            split(r#"a "\x41\x62 c\n\t\"\\" d"#).unwrap(),
            vec!["a".to_string(), "Ab c\n\t\"\\".into(), "d".into()]
        );
        assert_eq!(split(r#""""#).unwrap(), vec![String::new()]);
        // A quote may open in the middle of a token.
        assert_eq!(split(r#"ab"c d""#).unwrap(), vec!["abc d".to_string()]);
        // Unknown escapes keep the character; \x needs two hex digits.
        assert_eq!(split(r#""\q\xZ""#).unwrap(), vec!["qxZ".to_string()]);
    }

    #[test]
    fn single_quotes() {
        assert_eq!(
            split(r"'it\'s \n' x").unwrap(),
            vec!["it's \\n".to_string(), "x".into()]
        );
    }

    #[test]
    fn unbalanced_or_glued_quotes_fail() {
        assert_eq!(split(r#"a "b"#), None);
        assert_eq!(split("a 'b"), None);
        assert_eq!(split(r#""a"b"#), None);
        assert_eq!(split("'a'b"), None);
    }

    #[test]
    fn quote_round_trips() {
        for s in [
            "",
            "plain",
            "with space",
            "q\"uote",
            "it's",
            "back\\slash",
            "nl\n\r\t",
            "é ü",
            "\x01\x7f",
        ] {
            let line = format!("x {}", quote(s));
            assert_eq!(split(&line).unwrap()[1], s, "{line}");
            let line = format!("x {}", arg(s));
            assert_eq!(split(&line).unwrap()[1], s, "{line}");
        }
        assert_eq!(arg("127.0.0.1"), "127.0.0.1");
        assert_eq!(arg(""), "\"\"");
    }
}
