//! CLIENT and its subcommands: the connection's name and library attributes, REPLY ON|OFF|SKIP,
//! INFO / LIST / KILL over the client registry, and TRACKING / CACHING / TRACKINGINFO / GETREDIR.
//!
//! A sentinel has no keys, so tracking never invalidates anything and PAUSE / UNBLOCK / NO-EVICT are
//! accepted without effect; their arguments are still checked as Redis checks them, because clients
//! observe the errors.

use std::time::Instant;

use vedette_core::reply::errors;
use vedette_core::Reply;

use super::{lossy, syntax_error, ConnState, Outcome, Tracking};
use crate::server::clients::{ClientEntry, ClientKind};
use crate::server::commands;
use crate::server::resp::Frame;
use crate::server::ServerContext;

/// Redis's `validateClientName`: printable ASCII without spaces.
pub(super) fn valid_client_attr(v: &[u8]) -> bool {
    v.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

pub(super) const BAD_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

pub(super) fn client(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let sub = argv[1].to_ascii_lowercase();
    let now = Instant::now();
    match sub.as_slice() {
        b"id" => Outcome::reply(Reply::Int(st.entry.id as i64)),
        b"getname" => {
            let name = st.entry.state().name.clone();
            if name.is_empty() {
                Outcome::reply(Reply::Nil)
            } else {
                Outcome::reply(Reply::Bulk(name))
            }
        }
        b"setname" => {
            if !valid_client_attr(&argv[2]) {
                return Outcome::err(BAD_NAME);
            }
            st.entry.state().name = argv[2].clone();
            Outcome::reply(Reply::ok())
        }
        b"setinfo" => {
            let attr = argv[2].to_ascii_lowercase();
            if attr != b"lib-name" && attr != b"lib-ver" {
                return Outcome::err(format!("ERR Unrecognized option '{}'", lossy(&argv[2])));
            }
            if !valid_client_attr(&argv[3]) {
                return Outcome::err(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    lossy(&argv[2])
                ));
            }
            let mut es = st.entry.state();
            if attr == b"lib-name" {
                es.lib_name = argv[3].clone();
            } else {
                es.lib_ver = argv[3].clone();
            }
            Outcome::reply(Reply::ok())
        }
        b"info" => {
            let mut line = st.entry.info_line(now);
            line.push('\n');
            Outcome::Reply(Frame::Verbatim(line.into_bytes()))
        }
        b"list" => client_list(ctx, argv, now),
        b"kill" => client_kill(ctx, st, argv),
        b"tracking" => client_tracking(ctx, st, argv),
        b"trackinginfo" => client_trackinginfo(st),
        b"getredir" => Outcome::reply(Reply::Int(if st.tracking.on {
            st.tracking.redirect as i64
        } else {
            -1
        })),
        b"caching" => client_caching(st, &argv[2]),
        b"no-evict" => match argv[2].to_ascii_lowercase().as_slice() {
            // There is no client eviction in a sentinel: accept the setting, like Redis.
            b"on" | b"off" => Outcome::reply(Reply::ok()),
            _ => syntax_error(),
        },
        b"pause" => {
            if crate::server::resp::string2ll(&argv[2]).is_none_or(|t| t < 0) {
                return Outcome::err("ERR timeout is not an integer or out of range");
            }
            match argv.get(3).map(|m| m.to_ascii_lowercase()) {
                None => {}
                Some(m) if m == b"write" || m == b"all" => {}
                Some(_) => return Outcome::err("ERR CLIENT PAUSE mode must be WRITE or ALL"),
            }
            if argv.len() > 4 {
                return syntax_error();
            }
            // Accepted without effect: a sentinel's clients only read, and its own work must go on.
            Outcome::reply(Reply::ok())
        }
        b"unpause" => Outcome::reply(Reply::ok()),
        b"unblock" => {
            if crate::server::resp::string2ll(&argv[2]).is_none() {
                return Outcome::err("ERR value is not an integer or out of range");
            }
            match argv.get(3).map(|m| m.to_ascii_lowercase()) {
                None => {}
                Some(m) if m == b"timeout" || m == b"error" => {}
                Some(_) => {
                    return Outcome::err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
                }
            }
            if argv.len() > 4 {
                return syntax_error();
            }
            // No sentinel command blocks, so there is never a client to unblock.
            Outcome::reply(Reply::Int(0))
        }
        b"reply" => {
            let mode = argv[2].to_ascii_lowercase();
            match mode.as_slice() {
                b"on" => {
                    st.reply_off = false;
                    st.skip = false;
                    Outcome::reply(Reply::ok())
                }
                b"off" => {
                    st.reply_off = true;
                    Outcome::NoReply
                }
                b"skip" => {
                    if !st.reply_off {
                        st.skip_next = true;
                    }
                    Outcome::NoReply
                }
                _ => syntax_error(),
            }
        }
        b"help" => Outcome::Reply(commands::help(
            "CLIENT",
            &[
                "CACHING (YES|NO)",
                "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
                "GETREDIR",
                "    Return the client ID we are redirecting to when tracking is enabled.",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are:",
                "    * ADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made from the specified address",
                "    * LADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made to specified local address",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Kill connections by type.",
                "    * USER <username>",
                "      Kill connections authenticated by <username>.",
                "    * SKIPME (YES|NO)",
                "      Skip killing current connection (default: yes).",
                "    * ID <client-id>",
                "      Kill connections by client id.",
                "LIST [options ...]",
                "    Return information about client connections. Options:",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Return clients of specified type.",
                "    * ID <client-id> [<client-id> ...]",
                "      Return clients of specified IDs only.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "SETINFO <option> <value>",
                "    Set client meta attr. Options are:",
                "    * LIB-NAME: the client lib name.",
                "    * LIB-VER: the client lib version.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                "         [OPTIN] [OPTOUT] [NOLOOP]",
                "    Control server assisted client side caching.",
                "TRACKINGINFO",
                "    Report tracking status for the current connection.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
            ],
        )),
        _ => Outcome::err(errors::unknown_subcommand("client", &argv[1])),
    }
}

fn client_tracking(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let on = match argv[2].to_ascii_lowercase().as_slice() {
        b"on" => true,
        b"off" => false,
        _ => return syntax_error(),
    };
    let mut t = Tracking {
        on,
        ..Tracking::default()
    };
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        match argv[i].to_ascii_lowercase().as_slice() {
            b"redirect" if more => {
                i += 1;
                let Some(id) = crate::server::resp::string2ll(&argv[i]) else {
                    return Outcome::err("ERR value is not an integer or out of range");
                };
                let exists = id > 0 && ctx.clients.snapshot().iter().any(|c| c.id as i64 == id);
                if !exists {
                    return Outcome::err("ERR The client ID you want redirect to does not exist");
                }
                t.redirect = id as u64;
            }
            b"prefix" if more => {
                i += 1;
                t.prefixes.push(argv[i].clone());
            }
            b"bcast" => t.bcast = true,
            b"optin" => t.optin = true,
            b"optout" => t.optout = true,
            b"noloop" => t.noloop = true,
            _ => return syntax_error(),
        }
        i += 1;
    }
    if !on {
        st.tracking = Tracking::default();
        return Outcome::reply(Reply::ok());
    }
    if !t.bcast && !t.prefixes.is_empty() {
        return Outcome::err("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if t.optin && t.optout {
        return Outcome::err("ERR You can't use both OPTIN and OPTOUT");
    }
    if t.bcast && (t.optin || t.optout) {
        return Outcome::err("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    st.tracking = t;
    Outcome::reply(Reply::ok())
}

fn client_caching(st: &mut ConnState, arg: &[u8]) -> Outcome {
    let yes = match arg.to_ascii_lowercase().as_slice() {
        b"yes" => true,
        b"no" => false,
        _ => return syntax_error(),
    };
    let t = &mut st.tracking;
    if !t.on || !(t.optin || t.optout) {
        return Outcome::err(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        );
    }
    if yes && !t.optin {
        return Outcome::err(
            "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
        );
    }
    if !yes && !t.optout {
        return Outcome::err(
            "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
        );
    }
    t.caching = Some(yes);
    Outcome::reply(Reply::ok())
}

/// `CLIENT TRACKINGINFO`: flags (a set), redirect, prefixes, as Redis 7.0.
fn client_trackinginfo(st: &ConnState) -> Outcome {
    let t = &st.tracking;
    let mut flags = Vec::new();
    if !t.on {
        flags.push("off");
    } else {
        flags.push("on");
        for (set, name) in [
            (t.bcast, "bcast"),
            (t.optin, "optin"),
            (t.optout, "optout"),
            (t.caching == Some(true), "caching-yes"),
            (t.caching == Some(false), "caching-no"),
            (t.noloop, "noloop"),
        ] {
            if set {
                flags.push(name);
            }
        }
    }
    let redirect = if t.on { t.redirect as i64 } else { -1 };
    let b = |s: &str| Frame::Reply(Reply::bulk(s));
    Outcome::Reply(Frame::Map(vec![
        (b("flags"), Frame::Set(flags.into_iter().map(b).collect())),
        (b("redirect"), Frame::Reply(Reply::Int(redirect))),
        (
            b("prefixes"),
            Frame::Array(
                t.prefixes
                    .iter()
                    .map(|p| Frame::Reply(Reply::Bulk(p.clone())))
                    .collect(),
            ),
        ),
    ]))
}

fn client_list(ctx: &ServerContext, argv: &[Vec<u8>], now: Instant) -> Outcome {
    let all = ctx.clients.snapshot();
    let mut out = String::new();
    let mut push = |c: &ClientEntry| {
        out.push_str(&c.info_line(now));
        out.push('\n');
    };
    if argv.len() == 4 && argv[2].eq_ignore_ascii_case(b"type") {
        let Some(kind) = ClientKind::parse(&argv[3]) else {
            return Outcome::err(format!("ERR Unknown client type '{}'", lossy(&argv[3])));
        };
        all.iter()
            .filter(|c| c.kind() == kind)
            .for_each(|c| push(c));
    } else if argv.len() > 3 && argv[2].eq_ignore_ascii_case(b"id") {
        let mut ids = Vec::new();
        for a in &argv[3..] {
            match crate::server::resp::string2ll(a) {
                Some(id) => ids.push(id),
                None => return Outcome::err("ERR Invalid client ID"),
            }
        }
        for id in ids {
            if let Some(c) = all.iter().find(|c| c.id as i64 == id) {
                push(c);
            }
        }
    } else if argv.len() != 2 {
        return syntax_error();
    } else {
        all.iter().for_each(|c| push(c));
    }
    Outcome::Reply(Frame::Verbatim(out.into_bytes()))
}

fn client_kill(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let all = ctx.clients.snapshot();
    let me = st.entry.id;
    let kill = |c: &ClientEntry, st: &mut ConnState| {
        if c.id == me {
            st.close_after_reply = true;
        } else {
            c.stop.stop(crate::server::stop::StopReason::Killed);
        }
    };
    if argv.len() == 3 {
        // Old form: CLIENT KILL ip:port (may kill the caller itself).
        let addr = lossy(&argv[2]);
        return match all.iter().find(|c| c.addr.to_string() == addr) {
            Some(c) => {
                kill(c, st);
                Outcome::reply(Reply::ok())
            }
            None => Outcome::err("ERR No such client"),
        };
    }
    let mut id = None;
    let mut kind = None;
    let mut addr = None;
    let mut laddr = None;
    let mut skipme = true;
    let mut i = 2;
    while i < argv.len() {
        let Some(val) = argv.get(i + 1) else {
            return syntax_error();
        };
        match argv[i].to_ascii_lowercase().as_slice() {
            b"id" => match crate::server::resp::string2ll(val) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Outcome::err("ERR client-id should be greater than 0"),
            },
            b"type" => match ClientKind::parse(val) {
                Some(k) => kind = Some(k),
                None => return Outcome::err(format!("ERR Unknown client type '{}'", lossy(val))),
            },
            b"addr" => addr = Some(lossy(val)),
            b"laddr" => laddr = Some(lossy(val)),
            b"user" => {
                // The only user is `default`, whom every client is.
                if val.as_slice() != b"default" {
                    return Outcome::err(format!("ERR No such user '{}'", lossy(val)));
                }
            }
            b"skipme" => match val.to_ascii_lowercase().as_slice() {
                b"yes" => skipme = true,
                b"no" => skipme = false,
                _ => return syntax_error(),
            },
            _ => return syntax_error(),
        }
        i += 2;
    }
    let mut killed = 0;
    for c in &all {
        if id.is_some_and(|id| c.id != id)
            || kind.is_some_and(|k| c.kind() != k)
            || addr.as_ref().is_some_and(|a| c.addr.to_string() != *a)
            || laddr.as_ref().is_some_and(|a| c.laddr.to_string() != *a)
            || (skipme && c.id == me)
        {
            continue;
        }
        kill(c, st);
        killed += 1;
    }
    Outcome::reply(Reply::Int(killed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names() {
        assert!(valid_client_attr(b"redis-rs"));
        assert!(valid_client_attr(b""));
        assert!(!valid_client_attr(b"a b"));
        assert!(!valid_client_attr(b"a\n"));
    }
}
