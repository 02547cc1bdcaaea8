//! What goes on the wire for each [`OutCommand`], and how its reply is reduced to a [`LinkReply`].
//!
//! Replies are matched to commands strictly first-in first-out (Redis answers every command exactly once,
//! in order, on a connection that is not in pub/sub mode), so encoding a command also queues one
//! [`Expect`] per wire command. Handshake commands and the inner commands of the reconfiguration
//! transaction queue [`Expect::Swallow`]: their replies are read but never reported, so the core sees
//! exactly one reply per command it asked for.

use std::collections::{BTreeMap, VecDeque};

use bytes::BytesMut;
use vedette_core::{LinkReply, OutCommand, PingReply};

use super::codec::{encode_command, Frame};

/// Channel the hello messages travel on.
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";

/// What to do with the next reply on a command connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Read and forget (AUTH, CLIENT SETNAME, the first five commands of the transaction).
    Swallow,
    /// Report as [`LinkReply::Ping`].
    Ping,
    /// Report as [`LinkReply::Info`].
    Info,
    /// Report as [`LinkReply::Publish`].
    Publish,
    /// Report as [`LinkReply::MasterDown`].
    MasterDown,
    /// Report as [`LinkReply::Other`].
    Other,
}

/// The name to send for command word `word` under a rename-command table. Keys compare case-insensitively
/// (the core stores them lower-cased; a mixed-case key must not silently disable the rename).
pub fn command_name<'a>(renames: &'a BTreeMap<String, String>, word: &'a str) -> &'a str {
    renames
        .get(word.to_ascii_lowercase().as_str())
        .or_else(|| {
            renames
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(word))
                .map(|(_, v)| v)
        })
        .map_or(word, String::as_str)
}

/// Writes commands with renames applied, queueing one [`Expect`] per wire command.
pub struct Encoder<'a> {
    /// Rename table of the link.
    pub renames: &'a BTreeMap<String, String>,
    /// Output buffer.
    pub out: &'a mut BytesMut,
    /// Reply expectations, in wire order.
    pub expects: &'a mut VecDeque<Expect>,
}

impl Encoder<'_> {
    /// Encode `word args...` (only `word` is renamed) and expect `expect`.
    pub fn push(&mut self, expect: Expect, word: &str, args: &[&str]) {
        let mut argv: Vec<&str> = Vec::with_capacity(args.len() + 1);
        argv.push(command_name(self.renames, word));
        argv.extend_from_slice(args);
        encode_command(self.out, &argv);
        self.expects.push_back(expect);
    }

    /// `AUTH [user] pass`, reply swallowed.
    pub fn auth(&mut self, auth: &Option<(Option<String>, String)>) {
        match auth {
            Some((Some(user), pass)) => self.push(Expect::Swallow, "AUTH", &[user, pass]),
            Some((None, pass)) => self.push(Expect::Swallow, "AUTH", &[pass]),
            None => {}
        }
    }

    /// `CLIENT SETNAME name`, reply swallowed.
    pub fn setname(&mut self, name: &str) {
        self.push(Expect::Swallow, "CLIENT", &["SETNAME", name]);
    }

    /// `SUBSCRIBE __sentinel__:hello`. On a pub/sub connection its reply is handled specially; the
    /// expectation is queued as Swallow for symmetry (the pub/sub reader counts handshake replies).
    pub fn subscribe_hello(&mut self) {
        self.push(Expect::Swallow, "SUBSCRIBE", &[HELLO_CHANNEL]);
    }

    /// Encode a core command. `local_ip` fills the hello template when no announce-ip is set.
    pub fn command(&mut self, cmd: &OutCommand, local_ip: &str) {
        match cmd {
            OutCommand::Ping => self.push(Expect::Ping, "PING", &[]),
            OutCommand::Info => self.push(Expect::Info, "INFO", &[]),
            OutCommand::PublishHello(t) => {
                let payload = t.render(local_ip);
                self.push(Expect::Publish, "PUBLISH", &[HELLO_CHANNEL, &payload]);
            }
            OutCommand::AskMasterDown {
                ip,
                port,
                epoch,
                runid,
            } => {
                let (port, epoch) = (port.to_string(), epoch.to_string());
                self.push(
                    Expect::MasterDown,
                    "SENTINEL",
                    &["is-master-down-by-addr", ip, &port, &epoch, runid],
                );
            }
            OutCommand::Reconfigure(target) => {
                self.push(Expect::Swallow, "MULTI", &[]);
                match target {
                    Some((host, port)) => {
                        let port = port.to_string();
                        self.push(Expect::Swallow, "SLAVEOF", &[host, &port]);
                    }
                    None => self.push(Expect::Swallow, "SLAVEOF", &["NO", "ONE"]),
                }
                self.push(Expect::Swallow, "CONFIG", &["REWRITE"]);
                self.push(Expect::Swallow, "CLIENT", &["KILL", "TYPE", "normal"]);
                self.push(Expect::Swallow, "CLIENT", &["KILL", "TYPE", "pubsub"]);
                self.push(Expect::Other, "EXEC", &[]);
            }
            OutCommand::ScriptKill => self.push(Expect::Other, "SCRIPT", &["KILL"]),
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Reduce a reply to what the core needs; None for swallowed replies.
pub fn reduce(expect: Expect, frame: Frame) -> Option<LinkReply> {
    Some(match expect {
        Expect::Swallow => return None,
        Expect::Ping => LinkReply::Ping(match frame {
            Frame::Simple(t) | Frame::Error(t) | Frame::BlobError(t) => PingReply::classify(&t),
            _ => PingReply::Error,
        }),
        Expect::Info => LinkReply::Info(match frame {
            Frame::Bulk(s) | Frame::Verbatim { text: s, .. } => Some(text(&s)),
            _ => None,
        }),
        Expect::Publish => LinkReply::Publish(!frame.is_error()),
        Expect::MasterDown => LinkReply::MasterDown(match frame {
            Frame::Array(items) => match items.as_slice() {
                [Frame::Integer(down), Frame::Bulk(leader) | Frame::Simple(leader), Frame::Integer(epoch)] => {
                    Some((*down, text(leader), *epoch))
                }
                _ => None,
            },
            _ => None,
        }),
        Expect::Other => LinkReply::Other,
    })
}

/// A hello carried by a pub/sub message frame: `["message", channel, payload]` (RESP2 array or RESP3 push)
/// with three string elements. Subscribe confirmations and anything else give None.
pub fn hello_payload(frame: Frame) -> Option<Vec<u8>> {
    let items = match frame {
        Frame::Array(v) | Frame::Push(v) => v,
        _ => return None,
    };
    let [kind, channel, payload]: [Frame; 3] = items.try_into().ok()?;
    if kind.as_str_bytes()? != b"message" || channel.as_str_bytes().is_none() {
        return None;
    }
    match payload {
        Frame::Simple(p) | Frame::Bulk(p) | Frame::Verbatim { text: p, .. } => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::codec::{parse, Limits};
    use vedette_core::HelloTemplate;

    fn wire(renames: &[(&str, &str)], cmd: &OutCommand) -> (Vec<Vec<String>>, Vec<Expect>) {
        let renames: BTreeMap<String, String> = renames
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut out = BytesMut::new();
        let mut expects = VecDeque::new();
        Encoder {
            renames: &renames,
            out: &mut out,
            expects: &mut expects,
        }
        .command(cmd, "10.1.2.3");
        // Decode what we wrote with our own reply parser (a command is a RESP array of bulks).
        let mut cmds = Vec::new();
        let mut buf = &out[..];
        while !buf.is_empty() {
            let Ok(Some((Frame::Array(items), used))) = parse(buf, &Limits::default()) else {
                panic!("bad encoding");
            };
            cmds.push(
                items
                    .iter()
                    .map(|f| text(f.as_str_bytes().unwrap_or_default()))
                    .collect(),
            );
            buf = &buf[used..];
        }
        (cmds, expects.into_iter().collect())
    }

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn renames_apply_to_command_words_only() {
        let r = [
            ("ping", "PONG2"),
            ("client", "CL"),
            ("exec", "EX"),
            ("config", "CFG"),
        ];
        assert_eq!(
            wire(&r, &OutCommand::Ping),
            (vec![argv("PONG2")], vec![Expect::Ping])
        );
        let (cmds, expects) = wire(&r, &OutCommand::Reconfigure(Some(("h".into(), 7)))).clone();
        assert_eq!(
            cmds,
            vec![
                argv("MULTI"),
                argv("SLAVEOF h 7"),
                argv("CFG REWRITE"),
                argv("CL KILL TYPE normal"),
                argv("CL KILL TYPE pubsub"),
                argv("EX"),
            ]
        );
        assert_eq!(
            expects,
            [[Expect::Swallow; 5].as_slice(), &[Expect::Other]].concat()
        );
        let (cmds, _) = wire(&[], &OutCommand::Reconfigure(None));
        assert_eq!(cmds[1], argv("SLAVEOF NO ONE"));
        // Mixed-case keys still match.
        let m: BTreeMap<String, String> = [("Info".to_string(), "I2".to_string())].into();
        assert_eq!(command_name(&m, "INFO"), "I2");
        assert_eq!(command_name(&m, "PING"), "PING");
    }

    #[test]
    fn other_commands() {
        assert_eq!(
            wire(
                &[("sentinel", "S")],
                &OutCommand::AskMasterDown {
                    ip: "127.0.0.1".into(),
                    port: 6379,
                    epoch: 5,
                    runid: "*".into()
                }
            ),
            (
                vec![argv("S is-master-down-by-addr 127.0.0.1 6379 5 *")],
                vec![Expect::MasterDown]
            )
        );
        assert_eq!(
            wire(&[], &OutCommand::ScriptKill),
            (vec![argv("SCRIPT KILL")], vec![Expect::Other])
        );
        let t = HelloTemplate {
            ip: None,
            port: 26379,
            runid: "r".into(),
            current_epoch: 1,
            master_name: "m".into(),
            master_ip: "127.0.0.1".into(),
            master_port: 6379,
            master_config_epoch: 2,
        };
        assert_eq!(
            wire(&[("publish", "P")], &OutCommand::PublishHello(t)),
            (
                vec![argv(
                    "P __sentinel__:hello 10.1.2.3,26379,r,1,m,127.0.0.1,6379,2"
                )],
                vec![Expect::Publish]
            )
        );
    }

    #[test]
    fn reductions() {
        let b = |s: &str| Frame::Bulk(s.as_bytes().to_vec());
        assert_eq!(
            reduce(Expect::Ping, Frame::Simple(b"PONG".to_vec())),
            Some(LinkReply::Ping(PingReply::Pong))
        );
        assert_eq!(
            reduce(Expect::Ping, Frame::Error(b"LOADING x".to_vec())),
            Some(LinkReply::Ping(PingReply::Loading))
        );
        assert_eq!(
            reduce(Expect::Ping, b("PONG")),
            Some(LinkReply::Ping(PingReply::Error))
        );
        assert_eq!(
            reduce(Expect::Info, b("role:master")),
            Some(LinkReply::Info(Some("role:master".into())))
        );
        assert_eq!(
            reduce(
                Expect::Info,
                Frame::Verbatim {
                    format: *b"txt",
                    text: b"role:slave".to_vec()
                }
            ),
            Some(LinkReply::Info(Some("role:slave".into())))
        );
        assert_eq!(
            reduce(Expect::Info, Frame::Error(b"NOAUTH".to_vec())),
            Some(LinkReply::Info(None))
        );
        assert_eq!(
            reduce(Expect::Publish, Frame::Integer(2)),
            Some(LinkReply::Publish(true))
        );
        assert_eq!(
            reduce(Expect::Publish, Frame::Error(b"NOPERM".to_vec())),
            Some(LinkReply::Publish(false))
        );
        let md = |v| reduce(Expect::MasterDown, Frame::Array(v));
        assert_eq!(
            md(vec![Frame::Integer(1), b("abc"), Frame::Integer(3)]),
            Some(LinkReply::MasterDown(Some((1, "abc".into(), 3))))
        );
        assert_eq!(
            md(vec![
                Frame::Integer(0),
                Frame::Simple(b"*".to_vec()),
                Frame::Integer(0)
            ]),
            Some(LinkReply::MasterDown(Some((0, "*".into(), 0))))
        );
        assert_eq!(
            md(vec![Frame::Integer(0), b("*")]),
            Some(LinkReply::MasterDown(None))
        );
        assert_eq!(
            md(vec![b("0"), b("*"), Frame::Integer(0)]),
            Some(LinkReply::MasterDown(None))
        );
        assert_eq!(
            reduce(Expect::MasterDown, Frame::Error(b"ERR".to_vec())),
            Some(LinkReply::MasterDown(None))
        );
        assert_eq!(reduce(Expect::Swallow, Frame::Null), None);
        assert_eq!(reduce(Expect::Other, Frame::Null), Some(LinkReply::Other));
    }

    #[test]
    fn hello_messages() {
        let b = |s: &str| Frame::Bulk(s.as_bytes().to_vec());
        assert_eq!(
            hello_payload(Frame::Array(vec![b("message"), b(HELLO_CHANNEL), b("p")])),
            Some(b"p".to_vec())
        );
        assert_eq!(
            hello_payload(Frame::Push(vec![b("message"), b(HELLO_CHANNEL), b("p")])),
            Some(b"p".to_vec())
        );
        assert_eq!(
            hello_payload(Frame::Array(vec![
                b("subscribe"),
                b(HELLO_CHANNEL),
                Frame::Integer(1)
            ])),
            None
        );
        assert_eq!(
            hello_payload(Frame::Array(vec![b("message"), b(HELLO_CHANNEL)])),
            None
        );
        assert_eq!(
            hello_payload(Frame::Array(vec![b("message"), Frame::Integer(1), b("p")])),
            None
        );
    }
}
