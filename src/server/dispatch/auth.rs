//! The only user, `default`: AUTH, the HELLO handshake (protocol version, credentials, name) and ACL.
//!
//! A Redis sentinel configured with `requirepass` has exactly this user, with every permission and that
//! password; vedette answers the ACL commands as such a sentinel does, and users cannot change at run
//! time. Passwords are compared in constant time.

use vedette_core::reply::errors;
use vedette_core::Reply;

use super::client::{valid_client_attr, BAD_NAME};
use super::{lossy, syntax_error, ConnState, Outcome};
use crate::server::commands;
use crate::server::info::REDIS_VERSION;
use crate::server::resp::{Frame, Proto};
use crate::server::ServerContext;

/// Compare without an early exit, so response time does not reveal how much of a password matched.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Check credentials for the only user, `default` (password = `requirepass`, or none).
fn check_credentials(ctx: &ServerContext, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &ctx.config.requirepass {
        None => true,
        Some(p) => ct_eq(pass, p.as_bytes()),
    }
}

fn set_authenticated(st: &mut ConnState) {
    st.authenticated = true;
    st.entry.state().authenticated = true;
}

pub(super) fn auth(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    if argv.len() > 3 {
        return Outcome::err("ERR syntax error");
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        if ctx.config.requirepass.is_none() {
            return Outcome::err(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            );
        }
        (b"default", &argv[1])
    } else {
        (&argv[1], &argv[2])
    };
    if check_credentials(ctx, user, pass) {
        set_authenticated(st);
        Outcome::reply(Reply::ok())
    } else {
        crate::server::clients::Stats::add(&ctx.stats.auth_failures, 1);
        Outcome::err(WRONGPASS)
    }
}

pub(super) fn hello(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let mut ver = None;
    let mut i = 1;
    if let Some(v) = argv.get(1) {
        match crate::server::resp::string2ll(v) {
            Some(v @ 2..=3) => ver = Some(v),
            Some(_) => return Outcome::err("NOPROTO unsupported protocol version"),
            None => return Outcome::err("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut creds = None;
    let mut name = None;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i];
        if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
            creds = Some((&argv[i + 1], &argv[i + 2]));
            i += 3;
        } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
            if !valid_client_attr(&argv[i + 1]) {
                return Outcome::err(BAD_NAME);
            }
            name = Some(argv[i + 1].clone());
            i += 2;
        } else {
            return Outcome::err(format!("ERR Syntax error in HELLO option '{}'", lossy(opt)));
        }
    }
    if let Some((user, pass)) = creds {
        if check_credentials(ctx, user, pass) {
            set_authenticated(st);
        } else {
            crate::server::clients::Stats::add(&ctx.stats.auth_failures, 1);
            return Outcome::err(WRONGPASS);
        }
    }
    if !st.authenticated {
        return Outcome::err(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    if let Some(n) = name {
        st.entry.state().name = n;
    }
    if let Some(v) = ver {
        st.proto = if v == 3 { Proto::Resp3 } else { Proto::Resp2 };
        st.entry.state().resp = v;
    }
    Outcome::reply(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Int(st.proto.number())),
        (Reply::bulk("id"), Reply::Int(st.entry.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("sentinel")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

/// The ACL categories, in Redis's order (`ACL CAT`).
const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// `ACL`: vedette has exactly one user, `default`, with all permissions and the password `requirepass`
/// (as a Redis sentinel with only `requirepass` configured). Users cannot be changed at run time.
pub(super) fn acl(ctx: &ServerContext, _st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let b = |s: &str| Reply::bulk(s);
    let sub = argv[1].to_ascii_lowercase();
    let pass_hash = ctx
        .config
        .requirepass
        .as_ref()
        .map(|p| sha256_hex(p.as_bytes()));
    match sub.as_slice() {
        b"whoami" => Outcome::reply(b("default")),
        b"users" => Outcome::reply(Reply::Array(vec![b("default")])),
        b"list" => {
            let pass = match &pass_hash {
                Some(h) => format!("#{h}"),
                None => "nopass".into(),
            };
            Outcome::reply(Reply::Array(vec![b(&format!(
                "user default on {pass} ~* &* +@all"
            ))]))
        }
        b"getuser" => {
            if argv[2].as_slice() != b"default" {
                return Outcome::reply(Reply::Nil);
            }
            let bs = |s: &str| Frame::Reply(Reply::bulk(s));
            let mut flags = vec![bs("on")];
            let mut passwords = Vec::new();
            match &pass_hash {
                Some(h) => passwords.push(bs(h)),
                None => flags.push(bs("nopass")),
            }
            Outcome::Reply(Frame::Map(vec![
                (bs("flags"), Frame::Set(flags)),
                (bs("passwords"), Frame::Array(passwords)),
                (bs("commands"), bs("+@all")),
                (bs("keys"), bs("~*")),
                (bs("channels"), bs("&*")),
                (bs("selectors"), Frame::Array(Vec::new())),
            ]))
        }
        b"cat" => match argv.get(2) {
            None => Outcome::reply(Reply::Array(
                ACL_CATEGORIES.iter().map(|c| b(c)).collect(),
            )),
            Some(_) if argv.len() > 3 => syntax_error(),
            Some(cat) => {
                let cat = lossy(cat).to_ascii_lowercase();
                if !ACL_CATEGORIES.contains(&cat.as_str()) {
                    return Outcome::err(format!("ERR Unknown category '{}'", lossy(&argv[2])));
                }
                Outcome::reply(Reply::Array(
                    commands::names_in_category(&cat)
                        .iter()
                        .map(|n| b(n))
                        .collect(),
                ))
            }
        },
        b"log" => match argv.get(2) {
            None => Outcome::reply(Reply::Array(Vec::new())),
            Some(_) if argv.len() > 3 => syntax_error(),
            Some(a) if a.eq_ignore_ascii_case(b"reset") => Outcome::reply(Reply::ok()),
            // Nothing is ever denied (one all-powerful user), so the log is always empty.
            Some(a) => match crate::server::resp::string2ll(a) {
                Some(_) => Outcome::reply(Reply::Array(Vec::new())),
                None => Outcome::err("ERR value is not an integer or out of range"),
            },
        },
        b"genpass" => {
            let bits = match argv.get(2) {
                None => 256,
                Some(a) => match crate::server::resp::string2ll(a) {
                    Some(n @ 1..=4096) => n as usize,
                    _ => return Outcome::err(
                        "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                    ),
                },
            };
            let chars = bits.div_ceil(4);
            let bytes: Vec<u8> = (0..chars.div_ceil(2)).map(|_| rand::random()).collect();
            let mut pass = hex(&bytes);
            pass.truncate(chars);
            Outcome::reply(Reply::Bulk(pass.into_bytes()))
        }
        b"dryrun" => {
            if argv[2].as_slice() != b"default" {
                return Outcome::err(format!("ERR User '{}' not found", lossy(&argv[2])));
            }
            let target = &argv[3..];
            match commands::lookup(&target[0]) {
                None => Outcome::err(format!("ERR Command '{}' not found", lossy(&target[0]))),
                Some(spec) if !spec.arity_ok(target.len()) => {
                    Outcome::err(errors::wrong_arity(spec.name))
                }
                // The default user may run everything.
                Some(_) => Outcome::reply(Reply::ok()),
            }
        }
        b"save" | b"load" => Outcome::err(NO_ACL_FILE),
        b"setuser" => Outcome::err(
            "ERR ACL SETUSER is not supported: the only user is 'default', whose password is requirepass",
        ),
        b"deluser" => {
            if argv[2..].iter().any(|u| u.as_slice() == b"default") {
                return Outcome::err("ERR The 'default' user cannot be removed");
            }
            Outcome::reply(Reply::Int(0))
        }
        b"help" => Outcome::Reply(commands::help(
            "ACL",
            &[
                "CAT [<category>]",
                "    List all commands that belong to <category>, or all command categories",
                "    when no category is specified.",
                "DELUSER <username> [<username> ...]",
                "    Delete a list of users.",
                "DRYRUN <username> <command> [<arg> ...]",
                "    Returns whether the user can execute the given command without executing the command.",
                "GETUSER <username>",
                "    Get the user's details.",
                "GENPASS [<bits>]",
                "    Generate a secure 256-bit user password. The optional `bits` argument can",
                "    be used to specify a different size.",
                "LIST",
                "    Show users details in config file format.",
                "LOAD",
                "    Reload users from the ACL file.",
                "LOG [<count> | RESET]",
                "    Show the ACL log entries.",
                "SAVE",
                "    Save the current config to the ACL file.",
                "SETUSER <username> <attribute> [<attribute> ...]",
                "    Create or modify a user with the specified attributes.",
                "USERS",
                "    List all the registered usernames.",
                "WHOAMI",
                "    Return the current connection username.",
            ],
        )),
        _ => Outcome::err(errors::unknown_subcommand("acl", &argv[1])),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `data` as lowercase hex: the password hash Redis shows in `ACL LIST` / `ACL GETUSER` and
/// writes into `user default ... #<hash>` lines.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn sha256_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = [b'a'; 1000];
        assert_eq!(
            sha256_hex(&long),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }
}
