//! `LinkManager` against real `redis-server` / `redis-sentinel` processes and fake TCP peers, all on
//! 127.0.0.1. Every process is killed by PID in `Drop`, also when a test fails.

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use vedette::link::codec::{parse, Frame, Limits};
use vedette::link::LinkManager;
use vedette_core::{ConnectSpec, HelloTemplate, Input, LinkId, LinkKind, LinkReply, OutCommand};

/// Deadline for anything that should happen.
const WAIT: Duration = Duration::from_secs(10);
/// How long we watch for something that must *not* happen (only used for negative checks).
const QUIET: Duration = Duration::from_millis(300);

/// A free port on 127.0.0.1 outside the ephemeral range ([`vedette_fixture::free_port`]).
fn free_port() -> u16 {
    vedette_fixture::free_port().expect("free port")
}

/// One command over a fresh blocking connection; the decoded reply.
fn raw(port: u16, args: &[&str]) -> std::io::Result<Frame> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut out = bytes::BytesMut::new();
    vedette::link::codec::encode_command(&mut out, args);
    s.write_all(&out)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Ok(Some((f, _))) = parse(&buf, &Limits::default()) {
            return Ok(f);
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn raw_text(port: u16, args: &[&str]) -> String {
    match raw(port, args) {
        Ok(f) => String::from_utf8_lossy(f.as_str_bytes().unwrap_or_default()).into_owned(),
        Err(e) => panic!("raw {args:?} on {port}: {e}"),
    }
}

/// A redis-server (or redis-sentinel) process, killed in Drop.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn redis(extra: &[&str]) -> Server {
        Self::start(|port, dir| {
            let mut c = Command::new("redis-server");
            c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--dir", dir])
                .args(extra);
            c
        })
    }

    fn sentinel(master_port: u16) -> Server {
        Self::start(|port, dir| {
            let conf = std::path::Path::new(dir).join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor m 127.0.0.1 {master_port} 1\n"
                ),
            )
            .expect("write sentinel.conf");
            let mut c = Command::new("redis-sentinel");
            c.arg(conf);
            c
        })
    }

    fn start(mut cmd: impl FnMut(u16, &str) -> Command) -> Server {
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let dir_s = dir.path().to_str().expect("utf8 tempdir").to_string();
            let child = cmd(port, &dir_s)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis");
            let mut s = Server {
                child,
                port,
                _dir: dir,
            };
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = s.child.try_wait() {
                    break; // port taken? try another
                }
                if raw(port, &["PING"]).is_ok() {
                    return s;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("could not start server");
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the PID of a child we own and have not reaped.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spec(port: u16, kind: LinkKind) -> ConnectSpec {
    ConnectSpec {
        host: "127.0.0.1".into(),
        port,
        kind,
        auth: None,
        client_name_cmd: "sentinel-test0000-cmd".into(),
        client_name_pubsub: "sentinel-test0000-pubsub".into(),
        renames: BTreeMap::new(),
    }
}

fn hello(master_port: u16) -> HelloTemplate {
    HelloTemplate {
        ip: None,
        port: 26379,
        runid: "0123456789012345678901234567890123456789".into(),
        current_epoch: 3,
        master_name: "mymaster".into(),
        master_ip: "127.0.0.1".into(),
        master_port,
        master_config_epoch: 2,
    }
}

fn link_of(i: &Input) -> Option<LinkId> {
    match i {
        Input::LinkUp { link, .. }
        | Input::LinkDown { link, .. }
        | Input::Reply { link, .. }
        | Input::Hello { link, .. } => Some(*link),
        _ => None,
    }
}

/// The driver side: polls the manager, with a stash so tests can wait for one link's inputs while others
/// keep arriving.
struct Inputs {
    stash: VecDeque<Input>,
}

impl Inputs {
    async fn wait(
        &mut self,
        links: &mut LinkManager,
        what: &str,
        pred: impl Fn(&Input) -> bool,
    ) -> Input {
        if let Some(i) = self.stash.iter().position(&pred) {
            if let Some(found) = self.stash.remove(i) {
                return found;
            }
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, links.next_input()).await {
                Ok(i) if pred(&i) => return i,
                Ok(i) => self.stash.push_back(i),
                Err(_) => panic!(
                    "timed out waiting for {what}; other inputs: {:?}",
                    self.stash
                ),
            }
        }
    }

    /// The next input of `link` that is not a hello.
    async fn next_of(&mut self, links: &mut LinkManager, link: LinkId) -> Input {
        self.wait(links, &format!("input of {link:?}"), |i| {
            link_of(i) == Some(link) && !matches!(i, Input::Hello { .. })
        })
        .await
    }

    async fn up(&mut self, links: &mut LinkManager, link: LinkId) -> (u64, String) {
        match self.next_of(links, link).await {
            Input::LinkUp { conn, local_ip, .. } => (conn, local_ip),
            other => panic!("expected LinkUp for {link:?}, got {other:?}"),
        }
    }

    async fn reply(&mut self, links: &mut LinkManager, link: LinkId, conn: u64) -> LinkReply {
        match self.next_of(links, link).await {
            Input::Reply { conn: c, reply, .. } if c == conn => reply,
            other => panic!("expected a reply on {link:?}/{conn}, got {other:?}"),
        }
    }

    async fn down(&mut self, links: &mut LinkManager, link: LinkId, conn: u64) {
        match self.next_of(links, link).await {
            Input::LinkDown { conn: c, .. } if c == conn => {}
            other => panic!("expected LinkDown on {link:?}/{conn}, got {other:?}"),
        }
    }

    /// Everything that arrives for `link` (hellos excluded) during a short quiet period.
    async fn quiet(&mut self, links: &mut LinkManager, link: LinkId) -> Vec<Input> {
        let deadline = tokio::time::Instant::now() + QUIET;
        while let Ok(i) = tokio::time::timeout_at(deadline, links.next_input()).await {
            self.stash.push_back(i);
        }
        let (mine, rest): (Vec<_>, Vec<_>) = self
            .stash
            .drain(..)
            .partition(|i| link_of(i) == Some(link) && !matches!(i, Input::Hello { .. }));
        self.stash = rest.into();
        mine
    }
}

fn manager() -> (LinkManager, Inputs) {
    (
        LinkManager::new(),
        Inputs {
            stash: VecDeque::new(),
        },
    )
}

#[tokio::test]
async fn connect_ping_info_and_client_names() {
    let srv = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let l = LinkId(1);
    let conn = links.connect(l, spec(srv.port, LinkKind::Instance));
    let (up_conn, local_ip) = inputs.up(&mut links, l).await;
    assert_eq!(up_conn, conn);
    assert_eq!(local_ip, "127.0.0.1");
    assert!(links.is_up(l));

    links.send(l, conn, OutCommand::Ping);
    links.send(l, conn, OutCommand::Info);
    links.send(l, conn, OutCommand::Ping);
    assert_eq!(
        inputs.reply(&mut links, l, conn).await,
        LinkReply::Ping(vedette_core::PingReply::Pong)
    );
    match inputs.reply(&mut links, l, conn).await {
        LinkReply::Info(Some(text)) => assert!(text.contains("role:master"), "{text}"),
        other => panic!("INFO reply {other:?}"),
    }
    assert_eq!(
        inputs.reply(&mut links, l, conn).await,
        LinkReply::Ping(vedette_core::PingReply::Pong)
    );

    // Both connections named as asked; the pub/sub one subscribed.
    let clients = raw_text(srv.port, &["CLIENT", "LIST"]);
    assert!(clients.contains("name=sentinel-test0000-cmd"), "{clients}");
    assert!(
        clients
            .lines()
            .any(|c| c.contains("name=sentinel-test0000-pubsub") && c.contains("sub=1")),
        "{clients}"
    );

    // A stale generation's send is dropped; a fresh connect gets a new generation.
    links.send(l, conn + 1_000_000, OutCommand::Ping);
    let conn2 = links.connect(l, spec(srv.port, LinkKind::Sentinel));
    assert!(conn2 > conn);
    assert_eq!(inputs.up(&mut links, l).await.0, conn2);
    links.send(l, conn, OutCommand::Ping); // old generation: dropped
    links.send(l, conn2, OutCommand::Ping);
    assert_eq!(
        inputs.reply(&mut links, l, conn2).await,
        LinkReply::Ping(vedette_core::PingReply::Pong)
    );
    // The first generation was closed by us: no LinkDown for it, no stray reply.
    assert_eq!(inputs.quiet(&mut links, l).await, vec![]);

    // close(): the sockets go away, nothing is reported.
    links.close(l);
    assert!(!links.is_up(l));
    assert_eq!(inputs.quiet(&mut links, l).await, vec![]);
    let deadline = Instant::now() + WAIT;
    while raw_text(srv.port, &["CLIENT", "LIST"]).contains("sentinel-test0000") {
        assert!(Instant::now() < deadline, "connections not closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn hello_published_on_one_link_reaches_another() {
    let srv = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let (a, b) = (LinkId(1), LinkId(2));
    let ca = links.connect(a, spec(srv.port, LinkKind::Instance));
    links.connect(b, spec(srv.port, LinkKind::Instance));
    inputs.up(&mut links, a).await;
    inputs.up(&mut links, b).await;
    // LinkUp comes before the SUBSCRIBE is processed, so publish until b hears one (bounded).
    let mut got = None;
    for _ in 0..50 {
        links.send(a, ca, OutCommand::PublishHello(hello(srv.port)));
        assert_eq!(
            inputs.reply(&mut links, a, ca).await,
            LinkReply::Publish(true)
        );
        let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
        while let Ok(i) = tokio::time::timeout_at(deadline, links.next_input()).await {
            match i {
                Input::Hello { link, payload } if link == b => {
                    got = Some(payload);
                    break;
                }
                other => inputs.stash.push_back(other),
            }
        }
        if got.is_some() {
            break;
        }
    }
    let payload = got.expect("hello received on the second link");
    assert_eq!(
        String::from_utf8_lossy(&payload),
        format!(
            "127.0.0.1,26379,0123456789012345678901234567890123456789,3,mymaster,127.0.0.1,{},2",
            srv.port
        )
    );
    // An oversized payload is dropped; the next one still arrives.
    let big = "x".repeat(vedette::link::conn::MAX_HELLO + 1);
    raw(srv.port, &["PUBLISH", "__sentinel__:hello", &big]).expect("publish big");
    raw(srv.port, &["PUBLISH", "__sentinel__:hello", "after"]).expect("publish small");
    inputs
        .wait(
            &mut links,
            "hello after the oversized one",
            |i| matches!(i, Input::Hello { link, payload } if *link == b && payload == b"after"),
        )
        .await;
    assert!(
        !inputs
            .stash
            .iter()
            .any(|i| matches!(i, Input::Hello { payload, .. } if payload.len() > 1000)),
        "oversized hello delivered"
    );
    assert!(links.is_up(b));

    // announce-ip wins over the local address.
    let mut t = hello(srv.port);
    t.ip = Some("192.0.2.7".into());
    links.send(a, ca, OutCommand::PublishHello(t));
    assert_eq!(
        inputs.reply(&mut links, a, ca).await,
        LinkReply::Publish(true)
    );
    let i = inputs
        .wait(&mut links, "announced hello", |i| {
            matches!(i, Input::Hello { link, payload } if *link == b && payload.starts_with(b"192.0.2.7,"))
        })
        .await;
    assert!(matches!(i, Input::Hello { .. }));
}

#[tokio::test]
async fn auth_required() {
    let srv = Server::redis(&["--requirepass", "s3cret"]);
    let (mut links, mut inputs) = manager();

    // Without credentials: PING answers NOAUTH (command-only link)...
    let s = LinkId(1);
    let cs = links.connect(s, spec(srv.port, LinkKind::Sentinel));
    inputs.up(&mut links, s).await;
    links.send(s, cs, OutCommand::Ping);
    match inputs.reply(&mut links, s, cs).await {
        // NOAUTH: an error that is no valid PING reply.
        LinkReply::Ping(vedette_core::PingReply::Error) => {}
        other => panic!("{other:?}"),
    }
    links.send(s, cs, OutCommand::Info);
    assert_eq!(inputs.reply(&mut links, s, cs).await, LinkReply::Info(None));

    // ...and an instance link goes down at once because SUBSCRIBE is refused.
    let i = LinkId(2);
    let ci = links.connect(i, spec(srv.port, LinkKind::Instance));
    inputs.up(&mut links, i).await;
    inputs.down(&mut links, i, ci).await;
    assert!(!links.is_up(i));
    links.send(i, ci, OutCommand::Ping); // dropped: the link is down
    assert_eq!(inputs.quiet(&mut links, i).await, vec![]);

    // With credentials (password only, then user + password) everything works, including pub/sub.
    for (n, auth) in [(None, "s3cret"), (Some("default".to_string()), "s3cret")]
        .into_iter()
        .enumerate()
    {
        let l = LinkId(10 + n as u64);
        let mut sp = spec(srv.port, LinkKind::Instance);
        sp.auth = Some((auth.0, auth.1.to_string()));
        let c = links.connect(l, sp);
        inputs.up(&mut links, l).await;
        links.send(l, c, OutCommand::Ping);
        assert_eq!(
            inputs.reply(&mut links, l, c).await,
            LinkReply::Ping(vedette_core::PingReply::Pong)
        );
        // Our own hello comes back on our own pub/sub connection once subscribed.
        let mut heard = false;
        for _ in 0..50 {
            links.send(l, c, OutCommand::PublishHello(hello(1)));
            assert_eq!(
                inputs.reply(&mut links, l, c).await,
                LinkReply::Publish(true)
            );
            let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
            while let Ok(x) = tokio::time::timeout_at(deadline, links.next_input()).await {
                if matches!(&x, Input::Hello { link, .. } if *link == l) {
                    heard = true;
                    break;
                }
                inputs.stash.push_back(x);
            }
            if heard {
                break;
            }
        }
        assert!(heard, "authenticated pub/sub works");
        assert!(links.is_up(l));
    }
}

#[tokio::test]
async fn rename_command() {
    let srv = Server::redis(&["--rename-command", "PING", "PONG2"]);
    let (mut links, mut inputs) = manager();
    let (plain, renamed) = (LinkId(1), LinkId(2));
    let cp = links.connect(plain, spec(srv.port, LinkKind::Instance));
    let mut sp = spec(srv.port, LinkKind::Instance);
    sp.renames.insert("ping".into(), "PONG2".into());
    let cr = links.connect(renamed, sp);
    inputs.up(&mut links, plain).await;
    inputs.up(&mut links, renamed).await;

    links.send(renamed, cr, OutCommand::Ping);
    assert_eq!(
        inputs.reply(&mut links, renamed, cr).await,
        LinkReply::Ping(vedette_core::PingReply::Pong)
    );
    links.send(plain, cp, OutCommand::Ping);
    match inputs.reply(&mut links, plain, cp).await {
        // ERR unknown command: no valid PING reply.
        LinkReply::Ping(vedette_core::PingReply::Error) => {}
        other => panic!("{other:?}"),
    }
}

/// Send a reconfiguration and return the inputs it produced for the link (until LinkDown, since the
/// transaction kills our own pub/sub connection).
async fn reconfigure(
    links: &mut LinkManager,
    inputs: &mut Inputs,
    l: LinkId,
    port: u16,
    target: Option<(String, u16)>,
) {
    let c = links.connect(l, spec(port, LinkKind::Instance));
    inputs.up(links, l).await;
    links.send(l, c, OutCommand::Reconfigure(target));
    // Exactly one reply (for EXEC), then the link drops because CLIENT KILL TYPE pubsub closed our own
    // pub/sub connection.
    assert_eq!(inputs.reply(links, l, c).await, LinkReply::Other);
    inputs.down(links, l, c).await;
    assert_eq!(inputs.quiet(links, l).await, vec![]);
}

#[tokio::test]
async fn reconfigure_transaction() {
    let master = Server::redis(&[]);
    let replica = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let l = LinkId(7);

    reconfigure(
        &mut links,
        &mut inputs,
        l,
        replica.port,
        Some(("127.0.0.1".into(), master.port)),
    )
    .await;
    let info = raw_text(replica.port, &["INFO", "replication"]);
    assert!(info.contains("role:slave"), "{info}");
    assert!(
        info.contains(&format!("master_port:{}", master.port)),
        "{info}"
    );

    // Through the link too (reconnect, INFO).
    let c = links.connect(l, spec(replica.port, LinkKind::Sentinel));
    inputs.up(&mut links, l).await;
    links.send(l, c, OutCommand::Info);
    match inputs.reply(&mut links, l, c).await {
        LinkReply::Info(Some(t)) => assert!(t.contains("role:slave"), "{t}"),
        other => panic!("{other:?}"),
    }

    reconfigure(&mut links, &mut inputs, l, replica.port, None).await;
    let info = raw_text(replica.port, &["INFO", "replication"]);
    assert!(info.contains("role:master"), "{info}");
}

#[tokio::test]
async fn stopped_server_does_not_stall_other_links() {
    let stopped = Server::redis(&[]);
    let live = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let (a, b) = (LinkId(1), LinkId(2));
    let ca = links.connect(a, spec(stopped.port, LinkKind::Instance));
    let cb = links.connect(b, spec(live.port, LinkKind::Instance));
    inputs.up(&mut links, a).await;
    inputs.up(&mut links, b).await;

    stopped.signal(libc::SIGSTOP);
    let t0 = Instant::now();
    for _ in 0..100 {
        links.send(a, ca, OutCommand::Ping);
        links.send(a, ca, OutCommand::PublishHello(hello(1)));
    }
    assert!(t0.elapsed() < Duration::from_secs(1), "send never blocks");
    for _ in 0..5 {
        links.send(b, cb, OutCommand::Ping);
        assert_eq!(
            inputs.reply(&mut links, b, cb).await,
            LinkReply::Ping(vedette_core::PingReply::Pong)
        );
    }
    assert_eq!(
        inputs.quiet(&mut links, a).await,
        vec![],
        "a stopped server answers nothing"
    );

    // Resumed, it answers everything in order.
    stopped.signal(libc::SIGCONT);
    for _ in 0..100 {
        assert_eq!(
            inputs.reply(&mut links, a, ca).await,
            LinkReply::Ping(vedette_core::PingReply::Pong)
        );
        assert_eq!(
            inputs.reply(&mut links, a, ca).await,
            LinkReply::Publish(true)
        );
    }
}

#[tokio::test]
async fn killed_server_means_link_down() {
    let srv = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let l = LinkId(1);
    let c = links.connect(l, spec(srv.port, LinkKind::Instance));
    inputs.up(&mut links, l).await;
    srv.signal(libc::SIGKILL);
    inputs.down(&mut links, l, c).await;
    // A failed dial of the next generation says so (no LinkUp). The dead server's port could be taken by
    // another test's process at any moment, so dial 127.0.0.1:1, where nothing listens.
    let c2 = links.connect(l, spec(1, LinkKind::Instance));
    inputs.down(&mut links, l, c2).await;
    assert_eq!(inputs.quiet(&mut links, l).await, vec![]);
}

/// A fake peer: accepts connections and writes `junk` to each, then keeps them open without reading.
async fn fake_peer(junk: &'static [u8]) -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake peer");
    let port = l.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(junk).await;
            held.push(s);
        }
    });
    (port, task)
}

#[tokio::test]
async fn replaced_generation_reports_nothing() {
    let srv = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let l = LinkId(1);
    let c1 = links.connect(l, spec(srv.port, LinkKind::Instance));
    let (up1, _) = inputs.up(&mut links, l).await;
    assert_eq!(up1, c1);
    // A command of the first generation is in flight when the core replaces it: its reply, and the
    // first generation's end, are never reported.
    links.send(l, c1, OutCommand::Ping);
    let c2 = links.connect(l, spec(srv.port, LinkKind::Instance));
    assert_eq!(links.generation(l), Some(c2));
    let (up2, _) = inputs.up(&mut links, l).await;
    assert_eq!(up2, c2);
    links.send(l, c2, OutCommand::Ping);
    assert_eq!(
        inputs.reply(&mut links, l, c2).await,
        LinkReply::Ping(vedette_core::PingReply::Pong)
    );
    srv.signal(libc::SIGKILL);
    inputs.down(&mut links, l, c2).await;
    assert_eq!(links.generation(l), None);
    assert_eq!(
        inputs.quiet(&mut links, l).await,
        vec![],
        "one LinkDown only"
    );
}

#[tokio::test]
async fn garbage_from_peer_closes_the_link() {
    let (mut links, mut inputs) = manager();
    let cases: [&'static [u8]; 5] = [
        b"\x00\x01\x02garbage\r\n",
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"$99999999999\r\n",
        b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n",
        // More replies than commands (two handshake replies expected on the command connection).
        b"+OK\r\n+OK\r\n+OK\r\n",
    ];
    let mut fakes = Vec::new();
    for (n, junk) in cases.into_iter().enumerate() {
        let (port, task) = fake_peer(junk).await;
        fakes.push(task);
        for kind in [LinkKind::Sentinel, LinkKind::Instance] {
            let l = LinkId(100 * n as u64 + kind as u64);
            let c = links.connect(l, spec(port, kind));
            inputs.up(&mut links, l).await;
            inputs.down(&mut links, l, c).await;
        }
    }
    for f in fakes {
        f.abort();
    }
}

#[tokio::test]
async fn queue_overflow_closes_the_link() {
    // A peer that never reads: the task's write buffer and then the manager's queue fill up.
    let (port, fake) = fake_peer(b"").await;
    let (mut links, mut inputs) = manager();
    let l = LinkId(1);
    let c = links.connect(l, spec(port, LinkKind::Sentinel));
    inputs.up(&mut links, l).await;
    // Nothing polls the manager meanwhile, so every command stays in the link's write buffer (a PING is
    // 14 bytes) until it passes the limit.
    for _ in 0..vedette::link::WRITE_LIMIT / 14 + 10 {
        links.send(l, c, OutCommand::Ping);
    }
    assert!(
        !links.is_up(l),
        "closed as soon as the buffer passed the limit"
    );
    inputs.down(&mut links, l, c).await;
    assert!(!links.is_up(l));
    links.send(l, c, OutCommand::Ping);
    assert_eq!(inputs.quiet(&mut links, l).await, vec![]);
    fake.abort();
}

#[tokio::test]
async fn talks_to_a_real_sentinel() {
    let master = Server::redis(&[]);
    let sentinel = Server::sentinel(master.port);
    let (mut links, mut inputs) = manager();
    let l = LinkId(1);
    let c = links.connect(l, spec(sentinel.port, LinkKind::Sentinel));
    inputs.up(&mut links, l).await;
    links.send(l, c, OutCommand::Ping);
    links.send(
        l,
        c,
        OutCommand::AskMasterDown {
            ip: "127.0.0.1".into(),
            port: master.port,
            epoch: 0,
            runid: "*".into(),
        },
    );
    links.send(l, c, OutCommand::PublishHello(hello(master.port)));
    assert_eq!(
        inputs.reply(&mut links, l, c).await,
        LinkReply::Ping(vedette_core::PingReply::Pong)
    );
    assert_eq!(
        inputs.reply(&mut links, l, c).await,
        LinkReply::MasterDown(Some((0, "*".into(), 0)))
    );
    assert_eq!(
        inputs.reply(&mut links, l, c).await,
        LinkReply::Publish(true)
    );

    // The same question to a plain Redis is an error reply: not the expected shape.
    let m = LinkId(2);
    let cm = links.connect(m, spec(master.port, LinkKind::Sentinel));
    inputs.up(&mut links, m).await;
    links.send(
        m,
        cm,
        OutCommand::AskMasterDown {
            ip: "127.0.0.1".into(),
            port: master.port,
            epoch: 0,
            runid: "*".into(),
        },
    );
    assert_eq!(
        inputs.reply(&mut links, m, cm).await,
        LinkReply::MasterDown(None)
    );
    links.send(m, cm, OutCommand::ScriptKill);
    assert_eq!(inputs.reply(&mut links, m, cm).await, LinkReply::Other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_links_one_poll_loop() {
    // 50 links to one server, 20 pipelined PINGs each: every reply arrives, in order per link.
    let srv = Server::redis(&[]);
    let (mut links, mut inputs) = manager();
    let mut conns = Vec::new();
    for n in 0..50 {
        let l = LinkId(n);
        conns.push((l, links.connect(l, spec(srv.port, LinkKind::Sentinel))));
    }
    for &(l, c) in &conns {
        assert_eq!(inputs.up(&mut links, l).await.0, c);
    }
    for &(l, c) in &conns {
        for _ in 0..20 {
            links.send(l, c, OutCommand::Ping);
        }
    }
    for &(l, c) in &conns {
        for _ in 0..20 {
            assert_eq!(
                inputs.reply(&mut links, l, c).await,
                LinkReply::Ping(vedette_core::PingReply::Pong)
            );
        }
    }
}
