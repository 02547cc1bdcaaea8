//! Command execution for one client: Redis's `processCommand` checks, then the commands the shell
//! answers itself (PING, INFO, AUTH, HELLO, ACL, CLIENT, COMMAND, SHUTDOWN, pub/sub) and routing
//! of `SENTINEL`, `ROLE` and `PUBLISH` to the core.
//!
//! Checks run in Redis's order, because clients observe it: the command exists, then its arity (and a
//! container's subcommand and its arity), then authentication, then the RESP2 subscribe-mode
//! restriction. So before `AUTH` an unknown command is still "unknown command", not `NOAUTH`. The
//! commands the core answers are parsed here once, into a typed [`SentinelCommand`], by the core's
//! parser, which also owns their arity table (`vedette_core::SUBCOMMANDS`; the table in `commands/`
//! serves `COMMAND` only for them).
//!
//! This file holds those checks and the routing; the commands with real bodies live by concern, so
//! each can be read against its Redis counterpart on its own:
//! - `conn`: the per-connection state commands read and change ([`ConnState`]);
//! - `auth`: the one user `default` (AUTH, HELLO's handshake, ACL);
//! - `client`: CLIENT and its subcommands (names, REPLY, KILL, LIST, TRACKING);
//! - `subscribe`: (P)SUBSCRIBE / (P)UNSUBSCRIBE on the connection's side of the pub/sub hub.

use std::time::Instant;

use vedette_core::reply::errors;
use vedette_core::{CommandError, Reply, SentinelCommand};

use super::commands::{self, CommandSpec};
use super::info::{self, Sections};
use super::resp::{Frame, Proto};
use super::ServerContext;

mod auth;
pub(crate) use auth::ct_eq;
mod client;
mod conn;
mod subscribe;

pub(crate) use auth::sha256_hex;
pub(crate) use conn::{ConnState, Tracking};

/// What executing one command produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A normal reply (suppressed by `CLIENT REPLY OFF|SKIP`).
    Reply(Frame),
    /// A normal reply already encoded, the same in RESP2 and RESP3 (the cached
    /// `GET-MASTER-ADDR-BY-NAME` answer: nothing built or encoded per request).
    Encoded(bytes::Bytes),
    /// Pub/sub confirmations: always delivered, like Redis's "pushing" replies.
    Pushes(Vec<Frame>),
    /// Nothing to send (`CLIENT REPLY OFF|SKIP` themselves).
    NoReply,
    /// A reply the core will give (suppressed by `CLIENT REPLY OFF|SKIP`); see [`is_core_command`].
    Core(crate::driver::PendingReply),
    /// Close the connection without replying (SHUTDOWN, HTTP-looking requests).
    Close,
}

impl Outcome {
    fn reply(r: Reply) -> Outcome {
        Outcome::Reply(Frame::Reply(r))
    }
    fn err(msg: impl Into<String>) -> Outcome {
        Outcome::reply(Reply::err(msg))
    }
}

/// `name` or `name|sub`, as CLIENT LIST's `cmd=` and error messages show it; formatted only when needed.
#[derive(Debug, Clone, Copy)]
struct FullName {
    name: &'static str,
    sub: Option<&'static str>,
}

impl std::fmt::Display for FullName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.sub {
            Some(sub) => write!(f, "{}|{sub}", self.name),
            None => f.write_str(self.name),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn syntax_error() -> Outcome {
    Outcome::err("ERR syntax error")
}

/// Whether a table entry is one the core answers (the names [`is_core_command`] accepts).
fn is_core_spec(spec: &CommandSpec) -> bool {
    matches!(spec.name, "sentinel" | "role" | "publish")
}

/// Whether `name` (any case) is answered by the core: the session may then pipeline it (submit it and
/// run the next core command before its answer comes), since such commands never change the connection.
pub(crate) fn is_core_command(name: &[u8]) -> bool {
    [&b"sentinel"[..], b"role", b"publish"]
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c))
}

/// Run one command (non-empty argv).
pub(crate) async fn execute(
    ctx: &ServerContext,
    st: &mut ConnState,
    argv: Vec<Vec<u8>>,
) -> Outcome {
    if argv[0].eq_ignore_ascii_case(b"host:") || argv[0].eq_ignore_ascii_case(b"post") {
        // Redis's defence against cross-protocol scripting: an HTTP request is dropped without a reply.
        tracing::warn!(
            client = %st.entry.addr,
            "possible SECURITY ATTACK detected: a client sent an HTTP request to the sentinel port; connection aborted"
        );
        return Outcome::Close;
    }
    let Some(spec) = ctx.commands.lookup(&argv[0]) else {
        return Outcome::err(errors::unknown_command(&argv));
    };
    let mut argv = argv;
    if !argv[0].eq_ignore_ascii_case(spec.name.as_bytes()) {
        // Reached through `rename-command`: the rest of the server and the core see the real name.
        argv[0] = spec.name.as_bytes().to_vec();
    }
    // Core commands are parsed here, once, by the core's parser (which holds their arity table); its
    // dispatcher errors are answered now, its argument errors after authentication, as Redis orders them.
    let mut fullname = FullName {
        name: spec.name,
        sub: None,
    };
    let core_cmd = if is_core_spec(spec) {
        let parsed = match SentinelCommand::parse(&argv) {
            Err(CommandError::Dispatch(r)) => return Outcome::reply(r),
            parsed => parsed,
        };
        fullname.sub = match &parsed {
            Ok(cmd) => cmd.name(),
            Err(e) => e.sub(),
        };
        Some(parsed)
    } else {
        if !spec.arity_ok(argv.len()) {
            return Outcome::err(errors::wrong_arity(spec.name));
        }
        // Containers we execute here check their subcommand like Redis's dispatcher.
        if spec.is_container() && argv.len() >= 2 {
            let Some(sub) = spec.subcommand(&argv[1]) else {
                return Outcome::err(errors::unknown_subcommand(spec.name, &argv[1]));
            };
            fullname.sub = Some(sub.name);
            if !sub.arity_ok(argv.len()) {
                return Outcome::err(errors::wrong_arity(&fullname.to_string()));
            }
        }
        None
    };
    {
        let mut es = st.entry.state();
        // Rewritten in place: no allocation once the string has grown to its longest name.
        es.last_cmd.clear();
        es.last_cmd.push_str(fullname.name);
        if let Some(sub) = fullname.sub {
            es.last_cmd.push('|');
            es.last_cmd.push_str(sub);
        }
        es.last_interaction = Instant::now();
    }
    if !st.authenticated && !spec.no_auth() {
        return Outcome::err("NOAUTH Authentication required.");
    }
    if st.subscriptions() > 0
        && st.proto == Proto::Resp2
        && !matches!(
            spec.name,
            "ping" | "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe"
        )
    {
        return Outcome::err(format!(
            "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ));
    }
    super::clients::Stats::add(&ctx.stats.commands_processed, 1);
    let out = match core_cmd {
        Some(Ok(cmd)) => core(ctx, st, cmd).await,
        Some(Err(e)) => Outcome::reply(e.into_reply()),
        None => run(ctx, st, spec, argv).await,
    };
    // CLIENT CACHING applies to the next command only.
    if !(fullname.name == "client" && fullname.sub == Some("caching")) {
        st.tracking.caching = None;
    }
    out
}

async fn run(
    ctx: &ServerContext,
    st: &mut ConnState,
    spec: &CommandSpec,
    argv: Vec<Vec<u8>>,
) -> Outcome {
    match spec.name {
        "ping" => ping(st, &argv),
        "info" => {
            let text = info::generate(ctx, Sections::parse(&argv[1..])).await;
            Outcome::reply(Reply::Bulk(text.into_bytes()))
        }
        "auth" => auth::auth(ctx, st, &argv),
        "acl" => auth::acl(ctx, st, &argv),
        "hello" => auth::hello(ctx, st, &argv),
        "client" => client::client(ctx, st, &argv),
        "command" => Outcome::Reply(commands::command(&argv)),
        "shutdown" => shutdown(st, &argv),
        "subscribe" => subscribe::subscribe(st, false, &argv[1..]).await,
        "psubscribe" => subscribe::subscribe(st, true, &argv[1..]).await,
        "unsubscribe" => subscribe::unsubscribe(st, false, &argv[1..]).await,
        "punsubscribe" => subscribe::unsubscribe(st, true, &argv[1..]).await,
        _ => Outcome::err(errors::unknown_command(&argv)),
    }
}

/// A parsed core command: `GET-MASTER-ADDR-BY-NAME` from the driver's address snapshot when nothing of
/// this client's is still waiting in the core (its answer would overtake theirs), everything else by the
/// core.
async fn core(ctx: &ServerContext, st: &ConnState, cmd: SentinelCommand) -> Outcome {
    if let SentinelCommand::GetMasterAddrByName(name) = &cmd {
        if !st.core_pending {
            match ctx.core.cached_master_addr_encoded(name.as_bytes()) {
                Some(Ok(encoded)) => return Outcome::Encoded(encoded),
                Some(Err(r)) => return Outcome::reply(r),
                None => {}
            }
        }
    }
    Outcome::Core(ctx.core.submit(cmd).await)
}

fn ping(st: &ConnState, argv: &[Vec<u8>]) -> Outcome {
    if argv.len() > 2 {
        return Outcome::err(errors::wrong_arity("ping"));
    }
    if st.subscriptions() > 0 && st.proto == Proto::Resp2 {
        let msg = argv.get(1).cloned().unwrap_or_default();
        return Outcome::reply(Reply::Array(vec![Reply::bulk("pong"), Reply::Bulk(msg)]));
    }
    match argv.get(1) {
        None => Outcome::reply(Reply::Status("PONG".into())),
        Some(m) => Outcome::reply(Reply::Bulk(m.clone())),
    }
}

fn shutdown(st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let (mut nosave, mut save, mut flags, mut abort) = (false, false, false, false);
    for a in &argv[1..] {
        match a.to_ascii_lowercase().as_slice() {
            b"nosave" => (nosave, flags) = (true, true),
            b"save" => (save, flags) = (true, true),
            b"now" | b"force" => flags = true,
            b"abort" => abort = true,
            _ => return syntax_error(),
        }
    }
    if (abort && flags) || (nosave && save) {
        return syntax_error();
    }
    if abort {
        // A sentinel shuts down at once, so there is never a shutdown to abort.
        return Outcome::err("ERR No shutdown in progress.");
    }
    tracing::warn!(client = %st.entry.addr, "user requested shutdown");
    st.shutdown.cancel();
    Outcome::Close
}
