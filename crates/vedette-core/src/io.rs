//! What goes into the core ([`Input`]) and what comes out ([`Output`]).
//!
//! The shell turns bytes into inputs and outputs into bytes; the core never touches a socket. Outputs are
//! drained in order with [`crate::Sentinel::poll_output`] and executed in that order. "Persist before you
//! speak" is enforced inside the core: a reply that depends on a write (a vote, an acknowledged
//! configuration change) is only released once the shell reported [`Input::Persisted`] for a write that
//! covers it, and what hellos and vote requests reveal is taken from the durable state. Everything else is
//! released at once, whatever the disk does.

use crate::config::PersistedState;
use crate::events::Event;
use crate::reply::Reply;

/// Identifies one logical link (to a master, a replica or a peer sentinel). Allocated by the core, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

/// Identifies one client connection of the shell's RESP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u64);

/// Sequence number of a persist request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersistSeq(pub u64);

/// What is at the other end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A Redis master or replica: a command connection plus a pub/sub connection subscribed to
    /// `__sentinel__:hello` (hellos come back as [`Input::Hello`]).
    Instance,
    /// Another sentinel: a command connection only.
    Sentinel,
}

/// How to open a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSpec {
    /// Host to dial (an IP literal unless resolve-hostnames is on).
    pub host: String,
    /// Port to dial.
    pub port: u16,
    /// Instance (cmd + pubsub) or sentinel (cmd only).
    pub kind: LinkKind,
    /// `AUTH` credentials: (user, password). None = send no AUTH.
    pub auth: Option<(Option<String>, String)>,
    /// Name sent with `CLIENT SETNAME` on the command connection; the pubsub one uses the `-pubsub` twin.
    pub client_name_cmd: String,
    /// `CLIENT SETNAME` for the pubsub connection.
    pub client_name_pubsub: String,
    /// rename-command table in force for this link: lower-case name -> name to send.
    pub renames: std::collections::BTreeMap<String, String>,
}

/// A command the core wants sent on a link's command connection. The shell applies `renames`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutCommand {
    /// `PING`.
    Ping,
    /// `INFO`.
    Info,
    /// `PUBLISH __sentinel__:hello <payload>`. The payload needs our announced IP, which may be the local
    /// address of the connection: the core passes the template with `ip: None` and the shell fills it in.
    PublishHello(HelloTemplate),
    /// `SENTINEL is-master-down-by-addr <ip> <port> <epoch> <runid|*>`.
    AskMasterDown {
        /// Master host as announced.
        ip: String,
        /// Master port.
        port: u16,
        /// Our current epoch; in a vote request, the epoch of our attempt (vedette; Redis sends its current
        /// epoch there too).
        epoch: u64,
        /// Our run id when we want a vote, `*` otherwise.
        runid: String,
    },
    /// The reconfiguration transaction `MULTI / SLAVEOF .. / CONFIG REWRITE / CLIENT KILL TYPE normal /
    /// CLIENT KILL TYPE pubsub / EXEC`. `None` = `SLAVEOF NO ONE`.
    Reconfigure(Option<(String, u16)>),
    /// `SCRIPT KILL` (sent once to a `-BUSY` instance).
    ScriptKill,
}

/// A hello payload waiting for the shell to fill in the announced IP: `ip` is `announce-ip`, or None: use
/// the local IP of the command connection (getsockname).
pub type HelloTemplate = crate::wire::hello::Hello<Option<String>>;

impl HelloTemplate {
    /// The payload with `local_ip` standing in when no announce-ip is set.
    pub fn render(&self, local_ip: &str) -> String {
        self.render_with_ip(self.ip.as_deref().unwrap_or(local_ip))
    }
}

/// A reply to a command the core sent, already reduced by the shell to what the core needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkReply {
    /// Reply to PING, classified by the shell ([`PingReply::classify`]).
    Ping(PingReply),
    /// Reply to INFO: the text, or None if the reply was not a string (an error, say).
    Info(Option<String>),
    /// Reply to PUBLISH: whether it was not an error.
    Publish(bool),
    /// Reply to is-master-down-by-addr: `Some((down, leader, leader_epoch))` when the shape was exactly
    /// `[int, bulk, int]`, None otherwise.
    MasterDown(Option<(i64, String, i64)>),
    /// Any other command's reply (the reconfiguration transaction, SCRIPT KILL): only counts as answered.
    Other,
}

/// A PING reply as sentinel.c's `sentinelPingReplyCallback` reads it: a status or error reply, by the
/// prefix of its text. Classified once by the shell, so the core never prefix-matches strings and no
/// reply text is copied per PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingReply {
    /// `PONG`: up (and not rebooting: clears the master-reboot state).
    Pong,
    /// `LOADING`: up, loading its dataset.
    Loading,
    /// `MASTERDOWN`: a replica whose link to its master is down; up.
    MasterDown,
    /// `BUSY`: stuck in a script; not a valid reply (an SDOWN instance gets `SCRIPT KILL`).
    Busy,
    /// Anything else, including replies that are neither status nor error: not a valid reply.
    Error,
}

impl PingReply {
    /// Classify the text of a status or error reply (without the `+`/`-`), as Redis does (`strncmp` of
    /// the prefix, so `PONG extra` is a PONG).
    pub fn classify(text: &[u8]) -> Self {
        if text.starts_with(b"PONG") {
            PingReply::Pong
        } else if text.starts_with(b"LOADING") {
            PingReply::Loading
        } else if text.starts_with(b"MASTERDOWN") {
            PingReply::MasterDown
        } else if text.starts_with(b"BUSY") {
            PingReply::Busy
        } else {
            PingReply::Error
        }
    }

    /// Whether it counts as a valid reply (the instance is available).
    pub fn is_valid(self) -> bool {
        matches!(
            self,
            PingReply::Pong | PingReply::Loading | PingReply::MasterDown
        )
    }
}

/// Everything that can happen to a sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The link's connections exist (`conn` is a new generation number chosen by the shell; replies carry it).
    /// `local_ip` is the local address of the command connection (for hellos without announce-ip).
    LinkUp {
        /// Link.
        link: LinkId,
        /// Connection generation.
        conn: u64,
        /// Local IP of the command connection.
        local_ip: String,
    },
    /// A connection of the link failed or closed; the shell will not reconnect by itself.
    LinkDown {
        /// Link.
        link: LinkId,
        /// Connection generation that went down.
        conn: u64,
    },
    /// A reply to a command sent on the link, in send order.
    Reply {
        /// Link.
        link: LinkId,
        /// Connection generation it arrived on.
        conn: u64,
        /// The reply.
        reply: LinkReply,
    },
    /// A message on `__sentinel__:hello` received on an instance's pub/sub connection.
    Hello {
        /// Link it arrived on.
        link: LinkId,
        /// Raw payload.
        payload: Vec<u8>,
    },
    /// The persist with this sequence number is durable.
    Persisted(PersistSeq),
    /// The persist with this sequence number failed (the old state is still on disk).
    PersistFailed(PersistSeq),
}

/// A script the core wants run (the shell owns the queue, limits and retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptJob {
    /// Executable path.
    pub path: String,
    /// Arguments after the path.
    pub args: Vec<String>,
}

/// Work for the shell, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open (or re-open) a link. Any previous connection of it must be closed first.
    Connect {
        /// Link.
        link: LinkId,
        /// Where and how.
        spec: ConnectSpec,
    },
    /// Close a link's connections (for good, or to be re-opened by a later `Connect`).
    Close {
        /// Link.
        link: LinkId,
    },
    /// Send a command on a link's command connection. A reply (or `LinkDown`) always follows.
    Send {
        /// Link.
        link: LinkId,
        /// Connection generation the core believes is current; the shell drops the send if it is stale.
        conn: u64,
        /// Command.
        cmd: OutCommand,
    },
    /// Answer a client command.
    Reply {
        /// Client.
        client: ClientId,
        /// Answer.
        reply: Reply,
    },
    /// Publish on our own pub/sub (channel = event type), log it, run the notification script if configured.
    Event(Event),
    /// Write this state durably (temp file, fsync, rename, fsync dir) and report `Persisted(seq)` or
    /// `PersistFailed(seq)`. At most one is outstanding: the next comes only after that report. Must not
    /// block the caller (a disk can hang).
    Persist {
        /// Sequence number.
        seq: PersistSeq,
        /// Full state snapshot.
        state: Box<PersistedState>,
    },
    /// Run a script.
    RunScript(ScriptJob),
    /// `SENTINEL SIMULATE-FAILURE` asked for a crash here: exit the process with status 99.
    Crash,
}
