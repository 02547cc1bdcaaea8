//! A RESP-agnostic reply tree.
//!
//! The core answers commands with values, never bytes, so replies can be asserted in unit tests and
//! encoded by the shell as RESP2 or RESP3 depending on what each client negotiated with `HELLO`.

/// One reply, shaped like Redis's: the shell turns it into RESP2 or RESP3 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+text` (a status reply such as `OK`).
    Status(String),
    /// `-text`; the text carries its own code (`ERR ...`, `INPROG ...`, `NOGOODSLAVE ...`).
    Error(String),
    /// `:n`.
    Int(i64),
    /// `$n` bulk string (binary safe).
    Bulk(Vec<u8>),
    /// Null bulk string: `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// Null array: `*-1` in RESP2, `_` in RESP3.
    NilArray,
    /// `*n`.
    Array(Vec<Reply>),
    /// A map: a flat `*2n` array in RESP2, `%n` in RESP3. Order is kept: Redis's field order is part of the contract.
    Map(Vec<(Reply, Reply)>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Self {
        Reply::Status("OK".into())
    }
    /// A bulk string from text.
    pub fn bulk(s: impl AsRef<str>) -> Self {
        Reply::Bulk(s.as_ref().as_bytes().to_vec())
    }
    /// An error reply; `msg` must start with its code (e.g. `ERR ...`).
    pub fn err(msg: impl Into<String>) -> Self {
        Reply::Error(msg.into())
    }
    /// A map whose keys and values are bulk strings (the instance maps of `SENTINEL MASTER`). Owned
    /// strings are moved, not copied (`SENTINEL MASTERS` builds 25 pairs per master).
    pub fn bulk_map<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Reply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    (
                        Reply::Bulk(k.into().into_bytes()),
                        Reply::Bulk(v.into().into_bytes()),
                    )
                })
                .collect(),
        )
    }
    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Redis's exact error texts, kept in one place because clients parse them.
pub mod errors {
    /// Every subcommand taking a master name.
    pub const NO_SUCH_MASTER: &str = "ERR No such master with that name";
    /// A flush that failed.
    pub const FLUSH_FAILED: &str = "ERR Failed to save config file. Check server logs.";
    /// Integer parse failure.
    pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

    /// `-ERR wrong number of arguments for '<fullname>' command`.
    pub fn wrong_arity(fullname: &str) -> String {
        format!("ERR wrong number of arguments for '{fullname}' command")
    }
    /// `-ERR unknown subcommand '<sub>'. Try <CONTAINER> HELP.`
    pub fn unknown_subcommand(container: &str, sub: &[u8]) -> String {
        let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
        format!(
            "ERR unknown subcommand '{sub}'. Try {} HELP.",
            container.to_ascii_uppercase()
        )
    }
    /// `-ERR unknown command '<name>', with args beginning with: '<a1>' ...`
    pub fn unknown_command(argv: &[Vec<u8>]) -> String {
        let name = argv
            .first()
            .map(|n| String::from_utf8_lossy(&n[..n.len().min(128)]).into_owned())
            .unwrap_or_default();
        // Redis: `for (i=1; i<argc && sdslen(args) < 128; i++) sdscatprintf(args, "'%.*s' ", 128-sdslen(args), ...)`:
        // the quotes count towards the 128, so a million empty arguments still make a short message.
        let mut args = String::new();
        for a in argv.iter().skip(1) {
            if args.len() >= 128 {
                break;
            }
            let take = a.len().min(128 - args.len());
            args.push('\'');
            args.push_str(&String::from_utf8_lossy(&a[..take]));
            args.push_str("' ");
        }
        format!("ERR unknown command '{name}', with args beginning with: {args}")
    }
}
