//! Command execution for one client: Redis's `processCommand` checks, then the commands the shell
//! answers itself (PING, ECHO, INFO, AUTH, HELLO, ACL, CLIENT, COMMAND, SHUTDOWN, pub/sub) and routing
//! of `SENTINEL`, `ROLE` and `PUBLISH` to the core.
//!
//! Checks run in Redis's order, because clients observe it: the command exists, then its arity (and a
//! container's subcommand and its arity), then authentication, then the RESP2 subscribe-mode
//! restriction. So before `AUTH` an unknown command is still "unknown command", not `NOAUTH`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use vedette_core::reply::errors;
use vedette_core::Reply;

use super::clients::{ClientEntry, ClientKind};
use super::commands::{self, CommandSpec};
use super::info::{self, Sections, REDIS_VERSION};
use super::pubsub::{Message, PubSubHub};
use super::resp::{Frame, Proto};
use super::ServerContext;

/// What executing one command produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A normal reply (suppressed by `CLIENT REPLY OFF|SKIP`).
    Reply(Frame),
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

/// Per-connection state the commands read and change.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Our entry in the client registry.
    pub entry: Arc<ClientEntry>,
    /// Negotiated protocol.
    pub proto: Proto,
    /// Passed AUTH (or no password is configured).
    pub authenticated: bool,
    /// Subscribed channels.
    pub channels: BTreeSet<Vec<u8>>,
    /// Subscribed patterns, each compiled once when subscribed (matched against every message).
    pub patterns: BTreeMap<Vec<u8>, Arc<vedette_core::Pattern>>,
    /// Receiver of published messages while subscribed to anything.
    pub rx: Option<broadcast::Receiver<Message>>,
    /// CLIENT REPLY OFF.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP is in effect for the current command.
    pub skip: bool,
    /// CLIENT REPLY SKIP was just issued: skip the next command's reply.
    pub skip_next: bool,
    /// Close once the pending replies are written (CLIENT KILL of ourselves).
    pub close_after_reply: bool,
    /// The server's shutdown token (SHUTDOWN trips it).
    pub shutdown: CancellationToken,
    /// Earlier core commands of this client are still unanswered (pipelining): answers that bypass the
    /// core (the address cache) must not overtake them.
    pub core_pending: bool,
    /// CLIENT TRACKING state. A sentinel has no keys, so tracking never sends an invalidation; the
    /// state exists so that CLIENT TRACKINGINFO, GETREDIR and CACHING answer as Redis does.
    pub tracking: Tracking,
    hub: PubSubHub,
}

/// CLIENT TRACKING options in effect.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Tracking {
    /// Tracking is on.
    pub on: bool,
    /// BCAST mode.
    pub bcast: bool,
    /// OPTIN mode.
    pub optin: bool,
    /// OPTOUT mode.
    pub optout: bool,
    /// NOLOOP.
    pub noloop: bool,
    /// CLIENT CACHING YES/NO given for the next command.
    pub caching: Option<bool>,
    /// REDIRECT client id (0: none).
    pub redirect: u64,
    /// BCAST prefixes.
    pub prefixes: Vec<Vec<u8>>,
}

impl ConnState {
    pub(crate) fn new(
        entry: Arc<ClientEntry>,
        authenticated: bool,
        hub: PubSubHub,
        shutdown: CancellationToken,
    ) -> Self {
        ConnState {
            entry,
            proto: Proto::Resp2,
            authenticated,
            channels: BTreeSet::new(),
            patterns: BTreeMap::new(),
            rx: None,
            reply_off: false,
            skip: false,
            skip_next: false,
            close_after_reply: false,
            shutdown,
            core_pending: false,
            tracking: Tracking::default(),
            hub,
        }
    }

    /// Subscriptions (channels + patterns), the count in (un)subscribe confirmations.
    pub(crate) fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Called after each command, as Redis's `resetClient`.
    pub(crate) fn command_done(&mut self) {
        self.skip = self.skip_next;
        self.skip_next = false;
    }

    fn sync_sub_counts(&mut self) {
        let (sub, psub) = (self.channels.len(), self.patterns.len());
        {
            let mut st = self.entry.state();
            st.sub = sub;
            st.psub = psub;
        }
        if sub + psub == 0 {
            // Not subscribed: hold no receiver, so nothing can lag.
            self.rx = None;
        }
    }

    fn ensure_receiver(&mut self) {
        if self.rx.is_none() {
            // Take the receiver before counting the subscription in the hub, so that nothing published
            // after the count includes us can be missed.
            self.rx = Some(self.hub.receiver());
        }
    }

    /// Frames for a published message, as Redis delivers them: the channel match first, then each
    /// matching pattern.
    pub(crate) fn message_frames(&self, msg: &Message) -> Vec<Frame> {
        let mut out = Vec::new();
        if self.channels.contains(&*msg.channel) {
            out.push(Frame::Push(vec![
                Reply::bulk("message"),
                Reply::Bulk(msg.channel.to_vec()),
                Reply::Bulk(msg.payload.to_vec()),
            ]));
        }
        for (p, compiled) in &self.patterns {
            if compiled.matches(&msg.channel) {
                out.push(Frame::Push(vec![
                    Reply::bulk("pmessage"),
                    Reply::Bulk(p.clone()),
                    Reply::Bulk(msg.channel.to_vec()),
                    Reply::Bulk(msg.payload.to_vec()),
                ]));
            }
        }
        out
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        for c in &self.channels {
            self.hub.remove(false, c);
        }
        for p in self.patterns.keys() {
            self.hub.remove(true, p);
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    if name == "host:" || name == "post" {
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
    if !spec.arity_ok(argv.len()) {
        return Outcome::err(errors::wrong_arity(spec.name));
    }
    // Containers we execute here check their subcommand like Redis's dispatcher; SENTINEL's are the core's.
    let mut fullname = spec.name.to_string();
    if spec.is_container() && argv.len() >= 2 {
        let sub = spec.subcommand(&argv[1]);
        if spec.name != "sentinel" {
            let Some(sub) = sub else {
                return Outcome::err(errors::unknown_subcommand(spec.name, &argv[1]));
            };
            fullname = format!("{}|{}", spec.name, sub.name);
            if !sub.arity_ok(argv.len()) {
                return Outcome::err(errors::wrong_arity(&fullname));
            }
        } else if let Some(sub) = sub {
            fullname = format!("sentinel|{}", sub.name);
        }
    }
    {
        let mut es = st.entry.state();
        es.last_cmd.clone_from(&fullname);
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
    let out = run(ctx, st, spec, argv).await;
    // CLIENT CACHING applies to the next command only.
    if fullname != "client|caching" {
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
        "echo" => Outcome::reply(Reply::Bulk(argv[1].clone())),
        "info" => {
            let text = info::generate(ctx, Sections::parse(&argv[1..])).await;
            Outcome::reply(Reply::Bulk(text.into_bytes()))
        }
        "sentinel"
            if argv.len() == 3
                && (argv[1].eq_ignore_ascii_case(b"get-master-addr-by-name")
                    || argv[1].eq_ignore_ascii_case(b"get-primary-addr-by-name")) =>
        {
            let cached = if st.core_pending {
                None
            } else {
                ctx.core.cached_master_addr(&argv[2])
            };
            match cached {
                Some(r) => Outcome::reply(r),
                None => Outcome::Core(ctx.core.submit(argv).await),
            }
        }
        "role" | "publish" | "sentinel" => Outcome::Core(ctx.core.submit(argv).await),
        "auth" => auth(ctx, st, &argv),
        "acl" => acl(ctx, st, &argv),
        "hello" => hello(ctx, st, &argv),
        "client" => client(ctx, st, &argv),
        "command" => Outcome::Reply(commands::command(&argv)),
        "shutdown" => shutdown(st, &argv),
        "subscribe" => subscribe(st, false, &argv[1..]).await,
        "psubscribe" => subscribe(st, true, &argv[1..]).await,
        "unsubscribe" => unsubscribe(st, false, &argv[1..]).await,
        "punsubscribe" => unsubscribe(st, true, &argv[1..]).await,
        _ => Outcome::err(errors::unknown_command(&argv)),
    }
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

/// Compare without an early exit, so response time does not reveal how much of a password matched.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
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

fn auth(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
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
        super::clients::Stats::add(&ctx.stats.auth_failures, 1);
        Outcome::err(WRONGPASS)
    }
}

/// Redis's `validateClientName`: printable ASCII without spaces.
fn valid_client_attr(v: &[u8]) -> bool {
    v.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

fn hello(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
    let mut ver = None;
    let mut i = 1;
    if let Some(v) = argv.get(1) {
        match super::resp::string2ll(v) {
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
            super::clients::Stats::add(&ctx.stats.auth_failures, 1);
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

fn syntax_error() -> Outcome {
    Outcome::err("ERR syntax error")
}

fn client(ctx: &ServerContext, st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
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
            if super::resp::string2ll(&argv[2]).is_none_or(|t| t < 0) {
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
            if super::resp::string2ll(&argv[2]).is_none() {
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
                let Some(id) = super::resp::string2ll(&argv[i]) else {
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
            match super::resp::string2ll(a) {
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
            c.kill.cancel();
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
            b"id" => match super::resp::string2ll(val) {
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
fn acl(ctx: &ServerContext, _st: &mut ConnState, argv: &[Vec<u8>]) -> Outcome {
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
            Some(a) => match super::resp::string2ll(a) {
                Some(_) => Outcome::reply(Reply::Array(Vec::new())),
                None => Outcome::err("ERR value is not an integer or out of range"),
            },
        },
        b"genpass" => {
            let bits = match argv.get(2) {
                None => 256,
                Some(a) => match super::resp::string2ll(a) {
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

/// (Un)subscriptions handled between two yields to the scheduler: a command naming 10,000 patterns must
/// not hold a runtime worker (and the sessions queued on it) for its whole length.
const SUBSCRIBE_CHUNK: usize = 256;

async fn subscribe(st: &mut ConnState, pattern: bool, names: &[Vec<u8>]) -> Outcome {
    st.ensure_receiver();
    let kind = if pattern { "psubscribe" } else { "subscribe" };
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if i % SUBSCRIBE_CHUNK == SUBSCRIBE_CHUNK - 1 {
            tokio::task::yield_now().await;
        }
        if pattern {
            if !st.patterns.contains_key(n) {
                let compiled = Arc::new(vedette_core::Pattern::new(n, false));
                st.hub.add(n, Some(&compiled));
                st.patterns.insert(n.clone(), compiled);
            }
        } else if st.channels.insert(n.clone()) {
            st.hub.add(n, None);
        }
        out.push(Frame::Push(vec![
            Reply::bulk(kind),
            Reply::Bulk(n.clone()),
            Reply::Int(st.subscriptions() as i64),
        ]));
    }
    st.sync_sub_counts();
    Outcome::Pushes(out)
}

async fn unsubscribe(st: &mut ConnState, pattern: bool, names: &[Vec<u8>]) -> Outcome {
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Vec<u8>> = if names.is_empty() {
        if pattern {
            st.patterns.keys().cloned().collect()
        } else {
            st.channels.iter().cloned().collect()
        }
    } else {
        names.to_vec()
    };
    let mut out = Vec::with_capacity(names.len().max(1));
    for (i, n) in names.iter().enumerate() {
        if i % SUBSCRIBE_CHUNK == SUBSCRIBE_CHUNK - 1 {
            tokio::task::yield_now().await;
        }
        let removed = if pattern {
            st.patterns.remove(n).is_some()
        } else {
            st.channels.remove(n)
        };
        if removed {
            st.hub.remove(pattern, n);
        }
        out.push(Frame::Push(vec![
            Reply::bulk(kind),
            Reply::Bulk(n.clone()),
            Reply::Int(st.subscriptions() as i64),
        ]));
    }
    if names.is_empty() {
        out.push(Frame::Push(vec![
            Reply::bulk(kind),
            Reply::Nil,
            Reply::Int(st.subscriptions() as i64),
        ]));
    }
    st.sync_sub_counts();
    Outcome::Pushes(out)
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

    #[test]
    fn client_names() {
        assert!(valid_client_attr(b"redis-rs"));
        assert!(valid_client_attr(b""));
        assert!(!valid_client_attr(b"a b"));
        assert!(!valid_client_attr(b"a\n"));
    }
}
