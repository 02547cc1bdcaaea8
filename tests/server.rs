//! The RESP server over real sockets on 127.0.0.1: raw-byte assertions where the wire shape matters,
//! `redis-cli` and the `redis` crate as real clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;
use vedette::config::ServerConfig;
use vedette::driver::{CoreHandle, CoreRequest};
use vedette::server::{self, PubSubHub, ServerContext};
use vedette_core::{ClientId, Output, PersistedState, Reply, Sentinel};

const MYID: &str = "0123456789abcdef0123456789abcdef01234567";
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A core task answering like the driver: a real `Sentinel` fed each command, its replies drained.
fn spawn_core() -> CoreHandle {
    let (tx, mut rx) = mpsc::channel::<CoreRequest>(64);
    tokio::spawn(async move {
        let mut s = Sentinel::new(PersistedState::new(MYID), 0, vedette_core::Instant(0));
        while let Some(req) = rx.recv().await {
            match req {
                CoreRequest::Command { cmd, reply } => {
                    s.handle_command(vedette_core::Instant(0), ClientId(1), cmd);
                    let mut answer = Reply::err("ERR core gave no reply");
                    while let Some(out) = s.poll_output() {
                        if let Output::Reply { reply, .. } = out {
                            answer = reply;
                        }
                    }
                    let _ = reply.send(answer);
                }
                CoreRequest::InfoSection { reply } => {
                    let _ = reply.send(s.info_section(0, 0));
                }
            }
        }
    });
    CoreHandle::new(tx)
}

struct TestServer {
    addr: SocketAddr,
    hub: PubSubHub,
    ctx: Arc<ServerContext>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start(cfg: ServerConfig) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hub = PubSubHub::new();
    let ctx = ServerContext::new(spawn_core(), hub.clone(), Arc::new(cfg), None);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server::serve(ctx.clone(), vec![listener], shutdown.clone()));
    TestServer {
        addr,
        hub,
        ctx,
        shutdown,
        task: Some(task),
    }
}

async fn start_default() -> TestServer {
    start(ServerConfig::default()).await
}

/// A raw client.
struct Raw {
    s: TcpStream,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let s = timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timeout")
            .expect("connect");
        Raw { s }
    }
    async fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).await.expect("write");
    }
    /// Read exactly `want.len()` bytes and compare.
    async fn expect(&mut self, want: &[u8]) {
        let mut got = vec![0u8; want.len()];
        timeout(IO_TIMEOUT, self.s.read_exact(&mut got))
            .await
            .expect("read timeout")
            .expect("read");
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    }
    async fn cmd(&mut self, send: &[u8], want: &[u8]) {
        self.send(send).await;
        self.expect(want).await;
    }
    /// Read until the server closes; returns what was read.
    async fn read_to_eof(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        timeout(IO_TIMEOUT, self.s.read_to_end(&mut out))
            .await
            .expect("server did not close")
            .ok();
        out
    }
    /// Read one RESP line-oriented chunk (whatever arrives within a short wait).
    async fn read_some(&mut self) -> Vec<u8> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = timeout(IO_TIMEOUT, self.s.read(&mut buf))
            .await
            .expect("read timeout")
            .expect("read");
        buf.truncate(n);
        buf
    }
}

fn multibulk(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    out
}

async fn assert_alive(addr: SocketAddr) {
    let mut c = Raw::connect(addr).await;
    c.cmd(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n").await;
}

async fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = timeout(
        IO_TIMEOUT,
        tokio::process::Command::new("redis-cli")
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(port.to_string())
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("redis-cli timeout")
    .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_commands() {
    let srv = start_default().await;
    let port = srv.addr.port();
    assert_eq!(redis_cli(port, &["PING"]).await.trim(), "PONG");
    let info = redis_cli(port, &["INFO", "sentinel"]).await;
    assert!(info.starts_with("# Sentinel"), "{info}");
    assert!(!info.contains("# Server"), "{info}");
    let role = redis_cli(port, &["ROLE"]).await;
    assert_eq!(role.trim(), "sentinel");
    let hello = redis_cli(port, &["HELLO", "3"]).await;
    for want in [
        "server", "redis", "version", "7.2.4", "proto", "mode", "sentinel", "modules",
    ] {
        assert!(hello.contains(want), "{want} missing in {hello}");
    }
    let unknown = redis_cli(port, &["SAVE"]).await;
    assert!(unknown.contains("ERR unknown command 'SAVE'"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crate_ping_and_info() {
    let srv = start_default().await;
    let client = redis::Client::open(format!("redis://{}/", srv.addr)).expect("client");
    let mut con = timeout(IO_TIMEOUT, client.get_multiplexed_async_connection())
        .await
        .expect("timeout")
        .expect("connect");
    let pong: String = redis::cmd("PING")
        .query_async(&mut con)
        .await
        .expect("ping");
    assert_eq!(pong, "PONG");
    for arg in [None, Some("all"), Some("default"), Some("everything")] {
        let mut c = redis::cmd("INFO");
        if let Some(a) = arg {
            c.arg(a);
        }
        let info: String = c.query_async(&mut con).await.expect("info");
        for want in [
            "redis_version:7.2.4",
            "redis_mode:sentinel",
            "maxclients:10000",
            "used_cpu_user",
            "# Sentinel",
            "sentinel_tilt:0",
        ] {
            assert!(info.contains(want), "{arg:?}: {want}");
        }
        for absent in [
            "used_memory",
            "rdb_last_bgsave",
            "master_repl_offset",
            "cluster_enabled",
        ] {
            assert!(!info.contains(absent), "{arg:?}: {absent}");
        }
        let order: Vec<usize> = ["# Server", "# Clients", "# Stats", "# CPU", "# Sentinel"]
            .iter()
            .map(|h| info.find(h).expect("section"))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{info}");
    }
    let cpu: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(&mut con)
        .await
        .expect("info");
    assert!(
        cpu.starts_with("# CPU\r\n") && !cpu.contains("# Server"),
        "{cpu}"
    );
    let two: String = redis::cmd("INFO")
        .arg("server")
        .arg("sentinel")
        .arg("replication")
        .query_async(&mut con)
        .await
        .expect("info");
    assert!(two.starts_with("# Server\r\n") && two.contains("\r\n\r\n# Sentinel"));
    assert!(!two.contains("# CPU") && !two.contains("# Clients"));
    let none: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut con)
        .await
        .expect("info");
    assert_eq!(none, "");
    let all: String = redis::cmd("INFO")
        .arg("cpu")
        .arg("all")
        .query_async(&mut con)
        .await
        .expect("info");
    assert!(all.contains("# Server") && all.contains("# Sentinel"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_protocol_basics() {
    let srv = start_default().await;
    let mut c = Raw::connect(srv.addr).await;
    // Inline, typed by hand.
    c.cmd(b"PING\r\n", b"+PONG\r\n").await;
    c.cmd(b"ping hello\n", b"$5\r\nhello\r\n").await;
    c.cmd(b"ping \"a b\"\r\n", b"$3\r\na b\r\n").await;
    c.cmd(&multibulk(&["PING", "x"]), b"$1\r\nx\r\n").await;
    // No Redis sentinel has ECHO (the table is 7.2.4's).
    c.cmd(
        &multibulk(&["ECHO", "x"]),
        b"-ERR unknown command 'ECHO', with args beginning with: 'x' \r\n",
    )
    .await;
    // Empty lines and `*0` are ignored.
    c.cmd(b"\r\n*0\r\nPING\r\n", b"+PONG\r\n").await;
    c.cmd(
        &multibulk(&["FLUSHALL", "a"]),
        b"-ERR unknown command 'FLUSHALL', with args beginning with: 'a' \r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["QUIT"]),
        b"-ERR unknown command 'QUIT', with args beginning with: \r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["ROLE", "x"]),
        b"-ERR wrong number of arguments for 'role' command\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["ping", "a", "b"]),
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["CLIENT", "NO-TOUCH", "on"]),
        b"-ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["client", "setname"]),
        b"-ERR wrong number of arguments for 'client|setname' command\r\n",
    )
    .await;
    c.cmd(&multibulk(&["ROLE"]), b"*2\r\n$8\r\nsentinel\r\n*0\r\n")
        .await;
    c.cmd(
        &multibulk(&["AUTH", "x"]),
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["HELLO", "4"]),
        b"-NOPROTO unsupported protocol version\r\n",
    )
    .await;
    c.cmd(&multibulk(&["COMMAND", "DOCS", "save"]), b"*0\r\n")
        .await;
    // redis-sentinel 7.0's 15 commands plus ECHO.
    c.cmd(&multibulk(&["COMMAND", "COUNT"]), b":15\r\n").await;
    c.cmd(
        &multibulk(&["SHUTDOWN", "ABORT"]),
        b"-ERR No shutdown in progress.\r\n",
    )
    .await;
    c.cmd(&multibulk(&["SHUTDOWN", "BOGUS"]), b"-ERR syntax error\r\n")
        .await;
    // HELLO 3 switches the encoding: maps and nulls change, INFO stays a bulk string.
    c.send(&multibulk(&["HELLO", "3"])).await;
    let hello = c.read_some().await;
    let hello = String::from_utf8_lossy(&hello);
    assert!(hello.starts_with("%6\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:"), "{hello}");
    assert!(
        hello.ends_with("$4\r\nmode\r\n$8\r\nsentinel\r\n$7\r\nmodules\r\n*0\r\n"),
        "{hello}"
    );
    c.cmd(&multibulk(&["CLIENT", "GETNAME"]), b"_\r\n").await;
    c.send(&multibulk(&["INFO", "sentinel"])).await;
    let info = c.read_some().await;
    assert_eq!(info[0], b'$');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelining_1000_pings_in_one_write() {
    let srv = start_default().await;
    let mut c = Raw::connect(srv.addr).await;
    let mut batch = Vec::new();
    for i in 0..1000 {
        if i % 2 == 0 {
            batch.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        } else {
            batch.extend_from_slice(b"PING\r\n");
        }
    }
    c.send(&batch).await;
    c.expect(&b"+PONG\r\n".repeat(1000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_close_the_connection() {
    let srv = start_default().await;
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$1073741824\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*x\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\nx\r\n",
            b"-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"PING \"a\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        // Replies to the commands before the bad one come first.
        (
            b"PING\r\n*1\r\n$-5\r\n",
            b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for (input, want) in cases {
        let mut c = Raw::connect(srv.addr).await;
        c.send(input).await;
        let got = c.read_to_eof().await;
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        assert_alive(srv.addr).await;
    }
    let mut c = Raw::connect(srv.addr).await;
    c.send(&vec![b'A'; 70 * 1024]).await;
    let got = c.read_to_eof().await;
    assert_eq!(got, b"-ERR Protocol error: too big inline request\r\n");
    // An HTTP request is dropped without a reply.
    let mut c = Raw::connect(srv.addr).await;
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(c.read_to_eof().await, b"");
    assert_alive(srv.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_resilience() {
    let srv = start_default().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..50 {
        let mut c = Raw::connect(srv.addr).await;
        let len = rng.gen_range(1..4096);
        let junk: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // The server may close mid-write; that is fine.
        let _ = c.s.write_all(&junk).await;
        if round % 2 == 0 {
            drop(c);
        } else {
            let _ = timeout(Duration::from_millis(200), c.read_some()).await;
        }
        assert_alive(srv.addr).await;
    }
    // Half frames, then close.
    for half in [
        &b"*3\r\n$3\r\nSET\r\n$1"[..],
        b"*2\r\n",
        b"*1\r\n$100\r\nabc",
        b"PIN",
    ] {
        let mut c = Raw::connect(srv.addr).await;
        c.send(half).await;
        drop(c);
        assert_alive(srv.addr).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connections_opened_and_dropped() {
    let srv = start_default().await;
    let mut checker = Raw::connect(srv.addr).await;
    for _batch in 0..20 {
        let mut conns = Vec::with_capacity(500);
        for _ in 0..500 {
            conns.push(Raw::connect(srv.addr).await);
        }
        drop(conns);
        let t0 = Instant::now();
        checker.cmd(b"PING\r\n", b"+PONG\r\n").await;
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "PING took {:?}",
            t0.elapsed()
        );
    }
    assert_alive(srv.addr).await;
    // Everything dropped is eventually unregistered.
    let deadline = Instant::now() + IO_TIMEOUT;
    while srv.ctx.clients.len() > 1 {
        assert!(
            Instant::now() < deadline,
            "{} clients left",
            srv.ctx.clients.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxclients_is_enforced() {
    let srv = start(ServerConfig {
        maxclients: 2,
        ..ServerConfig::default()
    })
    .await;
    let mut a = Raw::connect(srv.addr).await;
    a.cmd(b"PING\r\n", b"+PONG\r\n").await;
    let mut b = Raw::connect(srv.addr).await;
    b.cmd(b"PING\r\n", b"+PONG\r\n").await;
    let mut c = Raw::connect(srv.addr).await;
    assert_eq!(
        c.read_to_eof().await,
        b"-ERR max number of clients reached\r\n"
    );
    drop(b);
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let mut d = Raw::connect(srv.addr).await;
        d.send(b"PING\r\n").await;
        let got = d.read_some().await;
        if got == b"+PONG\r\n" {
            break;
        }
        assert_eq!(got, b"-ERR max number of clients reached\r\n");
        assert!(Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.cmd(b"PING\r\n", b"+PONG\r\n").await;
    assert!(
        vedette::server::Stats::get(&srv.ctx.stats.rejected_connections) >= 1,
        "rejections are counted"
    );
}

/// Wait until `hub.publish` reaches `n` subscriptions (the subscribe has been processed).
async fn publish_when_subscribed(hub: &PubSubHub, channel: &str, payload: &str, n: usize) {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        if hub.publish(channel, payload) == n {
            return;
        }
        assert!(Instant::now() < deadline, "subscription never registered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_resp2() {
    let srv = start_default().await;
    let mut c = Raw::connect(srv.addr).await;
    c.cmd(
        &multibulk(&["SUBSCRIBE", "+switch-master", "+sdown"]),
        b"*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$6\r\n+sdown\r\n:2\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["PSUBSCRIBE", "*"]),
        b"*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:3\r\n",
    )
    .await;
    assert_eq!(
        srv.hub
            .publish("+switch-master", "mymaster 127.0.0.1 6379 127.0.0.1 6380"),
        2
    );
    c.expect(b"*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$38\r\nmymaster 127.0.0.1 6379 127.0.0.1 6380\r\n*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$14\r\n+switch-master\r\n$38\r\nmymaster 127.0.0.1 6379 127.0.0.1 6380\r\n").await;
    c.cmd(b"PING\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n").await;
    c.cmd(
        b"INFO\r\n",
        b"-ERR Can't execute 'info': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:2\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["UNSUBSCRIBE", "+sdown", "nope"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$6\r\n+sdown\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$4\r\nnope\r\n:1\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$14\r\n+switch-master\r\n:0\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    )
    .await;
    // Out of subscribe mode, normal commands work again.
    c.cmd(b"PING\r\n", b"+PONG\r\n").await;
    assert_eq!(srv.hub.publish("+switch-master", "x"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_resp3_uses_push_frames() {
    let srv = start_default().await;
    let mut c = Raw::connect(srv.addr).await;
    c.send(&multibulk(&["HELLO", "3"])).await;
    let _ = c.read_some().await;
    c.cmd(
        &multibulk(&["PSUBSCRIBE", "+*"]),
        b">3\r\n$10\r\npsubscribe\r\n$2\r\n+*\r\n:1\r\n",
    )
    .await;
    publish_when_subscribed(&srv.hub, "+odown", "master m 127.0.0.1 1 #quorum 2/2", 1).await;
    c.expect(b">4\r\n$8\r\npmessage\r\n$2\r\n+*\r\n$6\r\n+odown\r\n$32\r\nmaster m 127.0.0.1 1 #quorum 2/2\r\n")
        .await;
    // RESP3 clients may run any command while subscribed.
    c.cmd(b"PING\r\n", b"+PONG\r\n").await;
    c.cmd(&multibulk(&["CLIENT", "GETNAME"]), b"_\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_with_redis_crate() {
    let srv = start_default().await;
    let client = redis::Client::open(format!("redis://{}/", srv.addr)).expect("client");
    let mut ps = timeout(IO_TIMEOUT, client.get_async_pubsub())
        .await
        .expect("timeout")
        .expect("pubsub");
    ps.subscribe("+switch-master").await.expect("subscribe");
    ps.psubscribe("+s*").await.expect("psubscribe");
    publish_when_subscribed(&srv.hub, "+switch-master", "m 127.0.0.1 1 127.0.0.1 2", 2).await;
    let mut stream = ps.on_message();
    let m1 = timeout(IO_TIMEOUT, stream.next())
        .await
        .expect("timeout")
        .expect("msg");
    assert_eq!(m1.get_channel_name(), "+switch-master");
    assert_eq!(
        m1.get_payload::<String>().expect("payload"),
        "m 127.0.0.1 1 127.0.0.1 2"
    );
    let m2 = timeout(IO_TIMEOUT, stream.next())
        .await
        .expect("timeout")
        .expect("msg");
    assert_eq!(m2.get_pattern::<String>().expect("pattern"), "+s*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_subscriber_is_disconnected() {
    let srv = start_default().await;
    let mut c = Raw::connect(srv.addr).await;
    c.cmd(
        &multibulk(&["SUBSCRIBE", "ev"]),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nev\r\n:1\r\n",
    )
    .await;
    // Don't read: socket buffers fill, the session's buffer reaches the pubsub limit (or the broadcast
    // overruns it): either way it is cut off.
    let payload = "x".repeat(1024);
    let n = server::SUBSCRIBER_BACKLOG * 4;
    for _ in 0..n {
        srv.hub.publish("ev", &payload);
    }
    let got = c.read_to_eof().await;
    let one = format!(
        "*3\r\n$7\r\nmessage\r\n$2\r\nev\r\n${}\r\n{payload}\r\n",
        payload.len()
    );
    assert!(
        got.len() < one.len() * n,
        "a lagging subscriber must not get everything"
    );
    // What did arrive is the stream itself, in order, nothing skipped (it may end mid-message).
    let whole = got.len() / one.len();
    assert!(
        got.chunks(one.len())
            .take(whole)
            .all(|m| m == one.as_bytes()),
        "messages arrive in order and complete"
    );
    assert!(one.as_bytes().starts_with(&got[whole * one.len()..]));
    assert!(vedette::server::Stats::get(&srv.ctx.stats.output_buffer_limit_disconnections) >= 1);
    assert_alive(srv.addr).await;
}

/// A subscriber that never reads is closed once its pending output reaches the pubsub hard limit, so
/// what the server holds for it stays bounded, while the publisher keeps going at a pace the session
/// follows (no lag: the limit, not the ring, cuts it off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_that_never_reads_hits_the_pubsub_hard_limit() {
    const MB: u64 = 1024 * 1024;
    let mut cfg = ServerConfig::default();
    cfg.output_buffer_limits.pubsub = vedette::config::OutputBufferLimit {
        hard: MB,
        soft: 0,
        soft_secs: 0,
    };
    let srv = start(cfg).await;
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(4096).expect("rcvbuf");
    let mut c = Raw {
        s: timeout(IO_TIMEOUT, sock.connect(srv.addr))
            .await
            .expect("connect timeout")
            .expect("connect"),
    };
    c.cmd(
        &multibulk(&["SUBSCRIBE", "ev"]),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nev\r\n:1\r\n",
    )
    .await;
    let payload = "y".repeat(1024);
    let mut published: u64 = 0;
    let deadline = Instant::now() + IO_TIMEOUT;
    // Publish in small batches, yielding so the session drains the ring into its own buffer, until
    // nobody is subscribed any more (the session is gone).
    while srv.hub.publish("ev", &payload) == 1 {
        published += payload.len() as u64;
        if published % (32 * 1024) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            Instant::now() < deadline,
            "never disconnected ({published} bytes published)"
        );
    }
    assert_eq!(
        vedette::server::Stats::get(&srv.ctx.stats.output_buffer_limit_disconnections),
        1
    );
    // Cut off after the hard limit plus what the kernel's socket buffers took (loopback autotuning
    // allows a few MB), not after everything: the session's own buffer never exceeded 1 MB.
    let kernel = 8 * MB;
    assert!(
        published < MB + kernel,
        "published {published} before the cut"
    );
    assert!(published >= MB, "cut before the limit: {published}");
    let got = c.read_to_eof().await;
    eprintln!(
        "pubsub hard limit 1 MiB: cut after {published} bytes published, {} read by the client",
        got.len()
    );
    assert!((got.len() as u64) < published + 4096);
    assert_alive(srv.addr).await;
}

/// A bulk that never ends is cut off at `client-query-buffer-limit`; a bulk longer than
/// `proto-max-bulk-len` is refused at its header. Other clients are served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ending_bulk_hits_the_query_buffer_limit() {
    let srv = start(ServerConfig {
        client_query_buffer_limit: 1024 * 1024,
        ..ServerConfig::default()
    })
    .await;
    let mut other = Raw::connect(srv.addr).await;
    other.cmd(b"PING\r\n", b"+PONG\r\n").await;

    let mut c = Raw::connect(srv.addr).await;
    c.send(b"*2\r\n$4\r\nECHO\r\n$100000000\r\n").await;
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let cut = loop {
        match timeout(IO_TIMEOUT, c.s.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            Ok(Err(_)) => break true,
            Err(_) => break false,
        }
        if sent > 64 * 1024 * 1024 {
            break false;
        }
        if sent % (1024 * 1024) == 0 {
            other.cmd(b"PING\r\n", b"+PONG\r\n").await;
        }
    };
    assert!(
        cut,
        "the server kept reading a never-ending bulk ({sent} bytes)"
    );
    eprintln!("query buffer limit 1 MiB: client cut off after sending {sent} bytes");
    assert!(sent < 16 * 1024 * 1024, "cut only after {sent} bytes");
    assert_eq!(
        vedette::server::Stats::get(&srv.ctx.stats.query_buffer_limit_disconnections),
        1
    );
    other.cmd(b"PING\r\n", b"+PONG\r\n").await;

    let mut big = Raw::connect(srv.addr).await;
    big.send(b"*2\r\n$4\r\nECHO\r\n$536870913\r\n").await;
    assert_eq!(
        big.read_to_eof().await,
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_alive(srv.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirepass_and_auth() {
    let srv = start(ServerConfig {
        requirepass: Some("s3cret".into()),
        ..ServerConfig::default()
    })
    .await;
    let mut c = Raw::connect(srv.addr).await;
    c.cmd(b"PING\r\n", b"-NOAUTH Authentication required.\r\n")
        .await;
    // Existence and arity come before authentication, as in Redis.
    c.cmd(
        b"SAVE\r\n",
        b"-ERR unknown command 'SAVE', with args beginning with: \r\n",
    )
    .await;
    // ... and so do SENTINEL's subcommand and its arity (redis-sentinel 7.0.15 answers these before
    // NOAUTH), while a subcommand's own argument checks come after it.
    c.cmd(
        &multibulk(&["SENTINEL", "bogus"]),
        b"-ERR unknown subcommand 'bogus'. Try SENTINEL HELP.\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["SENTINEL", "masters", "x"]),
        b"-ERR wrong number of arguments for 'sentinel|masters' command\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["ROLE", "x"]),
        b"-ERR wrong number of arguments for 'role' command\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["SENTINEL", "monitor", "m", "127.0.0.1", "70000", "x"]),
        b"-NOAUTH Authentication required.\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["PUBLISH", "a", "b"]),
        b"-NOAUTH Authentication required.\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["HELLO", "3"]),
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["AUTH", "wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["AUTH", "bob", "s3cret"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    )
    .await;
    c.cmd(&multibulk(&["AUTH", "s3cret"]), b"+OK\r\n").await;
    c.cmd(b"PING\r\n", b"+PONG\r\n").await;
    c.cmd(
        &multibulk(&["SENTINEL", "monitor", "m", "127.0.0.1", "70000", "x"]),
        b"-ERR Invalid quorum\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["PUBLISH", "a", "b"]),
        b"-ERR Only HELLO messages are accepted by Sentinel instances.\r\n",
    )
    .await;

    let mut d = Raw::connect(srv.addr).await;
    d.send(&multibulk(&[
        "HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "cli",
    ]))
    .await;
    let hello = d.read_some().await;
    assert!(
        hello.starts_with(b"%6\r\n"),
        "{}",
        String::from_utf8_lossy(&hello)
    );
    d.cmd(&multibulk(&["CLIENT", "GETNAME"]), b"$3\r\ncli\r\n")
        .await;

    // Pre-AUTH request size caps.
    let mut e = Raw::connect(srv.addr).await;
    e.send(b"*11\r\n").await;
    assert_eq!(
        e.read_to_eof().await,
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    );

    assert_eq!(
        redis_cli(srv.addr.port(), &["PING"]).await.trim(),
        "NOAUTH Authentication required."
    );
    let out = tokio::process::Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &srv.addr.port().to_string(),
            "-a",
            "s3cret",
            "--no-auth-warning",
            "PING",
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");

    let client = redis::Client::open(format!("redis://:s3cret@{}/", srv.addr)).expect("client");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let pong: String = redis::cmd("PING")
        .query_async(&mut con)
        .await
        .expect("ping");
    assert_eq!(pong, "PONG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands() {
    let srv = start_default().await;
    let mut a = Raw::connect(srv.addr).await;
    let mut b = Raw::connect(srv.addr).await;
    a.cmd(&multibulk(&["CLIENT", "SETNAME", "alpha"]), b"+OK\r\n")
        .await;
    a.cmd(&multibulk(&["CLIENT", "GETNAME"]), b"$5\r\nalpha\r\n")
        .await;
    a.cmd(
        &multibulk(&["CLIENT", "SETNAME", "a b"]),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    )
    .await;
    a.cmd(
        &multibulk(&["CLIENT", "SETINFO", "LIB-NAME", "tester"]),
        b"+OK\r\n",
    )
    .await;
    a.cmd(
        &multibulk(&["CLIENT", "SETINFO", "color", "red"]),
        b"-ERR Unrecognized option 'color'\r\n",
    )
    .await;
    b.send(&multibulk(&["CLIENT", "ID"])).await;
    let id_b = String::from_utf8_lossy(&b.read_some().await)
        .trim()
        .trim_start_matches(':')
        .to_string();
    a.send(&multibulk(&["CLIENT", "LIST"])).await;
    let list = String::from_utf8_lossy(&a.read_some().await).into_owned();
    assert!(list.contains(" name=alpha "), "{list}");
    assert!(list.contains(" lib-name=tester "), "{list}");
    assert!(list.contains(&format!("id={id_b} addr=")), "{list}");
    assert!(list.contains("cmd=client|list"), "{list}");
    a.send(&multibulk(&["CLIENT", "INFO"])).await;
    let info = String::from_utf8_lossy(&a.read_some().await).into_owned();
    assert!(
        info.contains("name=alpha") && info.ends_with("\n\r\n"),
        "{info}"
    );

    a.cmd(
        &multibulk(&["CLIENT", "KILL", "TYPE", "bogus"]),
        b"-ERR Unknown client type 'bogus'\r\n",
    )
    .await;
    a.cmd(&multibulk(&["CLIENT", "KILL", "ID", &id_b]), b":1\r\n")
        .await;
    assert_eq!(b.read_to_eof().await, b"");
    a.cmd(
        &multibulk(&["CLIENT", "KILL", "127.0.0.1:1"]),
        b"-ERR No such client\r\n",
    )
    .await;
    // TYPE pubsub only hits subscribers; SKIPME defaults to yes.
    let mut s = Raw::connect(srv.addr).await;
    s.cmd(
        &multibulk(&["SUBSCRIBE", "c"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    )
    .await;
    a.cmd(&multibulk(&["CLIENT", "KILL", "TYPE", "pubsub"]), b":1\r\n")
        .await;
    assert_eq!(s.read_to_eof().await, b"");
    a.cmd(&multibulk(&["CLIENT", "KILL", "TYPE", "normal"]), b":0\r\n")
        .await;
    // CLIENT REPLY OFF / SKIP / ON.
    a.send(&multibulk(&["CLIENT", "REPLY", "SKIP"])).await;
    a.send(b"PING\r\n").await;
    a.send(&multibulk(&["CLIENT", "REPLY", "OFF"])).await;
    a.send(b"PING\r\n").await;
    a.cmd(&multibulk(&["CLIENT", "REPLY", "ON"]), b"+OK\r\n")
        .await;
    a.cmd(&multibulk(&["PING", "after"]), b"$5\r\nafter\r\n")
        .await;
    // Old-form kill of ourselves: +OK, then the connection closes.
    let me = a.s.local_addr().expect("addr").to_string();
    a.send(&multibulk(&["CLIENT", "KILL", &me])).await;
    assert_eq!(a.read_to_eof().await, b"+OK\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_spares_subscribers() {
    let srv = start(ServerConfig {
        timeout_secs: 1,
        ..ServerConfig::default()
    })
    .await;
    let mut idle = Raw::connect(srv.addr).await;
    let mut sub = Raw::connect(srv.addr).await;
    sub.cmd(
        &multibulk(&["SUBSCRIBE", "c"]),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    )
    .await;
    let t0 = Instant::now();
    assert_eq!(idle.read_to_eof().await, b"");
    assert!(t0.elapsed() >= Duration::from_millis(900));
    assert_eq!(srv.hub.publish("c", "still here"), 1);
    sub.expect(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$10\r\nstill here\r\n")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_command_stops_the_server() {
    let mut srv = start_default().await;
    let mut other = Raw::connect(srv.addr).await;
    other.cmd(b"PING\r\n", b"+PONG\r\n").await;
    let mut c = Raw::connect(srv.addr).await;
    c.send(&multibulk(&["SHUTDOWN", "NOSAVE"])).await;
    assert_eq!(c.read_to_eof().await, b"");
    assert_eq!(other.read_to_eof().await, b"");
    assert!(srv.shutdown.is_cancelled());
    let task = srv.task.take().expect("task");
    timeout(IO_TIMEOUT, task)
        .await
        .expect("serve returns")
        .expect("no panic");
    assert!(
        TcpStream::connect(srv.addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_uses_configured_addresses() {
    let cfg = ServerConfig {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        ..ServerConfig::default()
    };
    let listeners = server::bind(&cfg).await.expect("bind");
    assert_eq!(listeners.len(), 1);
    let addr = listeners[0].local_addr().expect("addr");
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    let ctx = ServerContext::new(spawn_core(), PubSubHub::new(), Arc::new(cfg), None);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server::serve(ctx.clone(), listeners, shutdown.clone()));
    assert_alive(addr).await;
    let client = redis::Client::open(format!("redis://{addr}/")).expect("client");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut con)
        .await
        .expect("info");
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", addr.port())),
        "{info}"
    );
    shutdown.cancel();
    timeout(IO_TIMEOUT, task)
        .await
        .expect("serve returns")
        .expect("no panic");
    assert!(matches!(
        server::bind(&ServerConfig {
            bind: vec!["not-an-ip".into()],
            ..ServerConfig::default()
        })
        .await,
        Err(server::BindError::InvalidAddress(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_commands_reach_the_core() {
    let srv = start_default().await;
    let mut c = Raw::connect(srv.addr).await;
    c.cmd(
        &multibulk(&["sentinel", "myid"]),
        format!("$40\r\n{MYID}\r\n").as_bytes(),
    )
    .await;
    c.cmd(
        &multibulk(&["SENTINEL"]),
        b"-ERR wrong number of arguments for 'sentinel' command\r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["SENTINEL", "get-master-addr-by-name", "nosuch"]),
        b"*-1\r\n",
    )
    .await;
    // RESP3: the core's maps and null arrays change encoding.
    c.send(&multibulk(&["HELLO", "3"])).await;
    let _ = c.read_some().await;
    c.cmd(
        &multibulk(&["SENTINEL", "get-master-addr-by-name", "nosuch"]),
        b"_\r\n",
    )
    .await;
    c.send(&multibulk(&["SENTINEL", "DEBUG"])).await;
    let debug = c.read_some().await;
    assert!(
        debug.starts_with(b"%13\r\n$11\r\nINFO-PERIOD\r\n"),
        "{}",
        String::from_utf8_lossy(&debug)
    );
}

/// `rename-command` renames this sentinel's own commands, as in Redis: the old name is gone, the new
/// one runs the command (the core still sees `SENTINEL`), an empty name disables it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_command_renames_and_disables() {
    let srv = start(ServerConfig {
        rename_commands: vec![
            ("sentinel".into(), "xsentinel".into()),
            ("ping".into(), String::new()),
        ],
        ..ServerConfig::default()
    })
    .await;
    let mut c = Raw::connect(srv.addr).await;
    c.cmd(
        &multibulk(&["PING"]),
        b"-ERR unknown command 'PING', with args beginning with: \r\n",
    )
    .await;
    c.cmd(
        &multibulk(&["sentinel", "masters"]),
        b"-ERR unknown command 'sentinel', with args beginning with: 'masters' \r\n",
    )
    .await;
    c.cmd(&multibulk(&["XSENTINEL", "MASTERS"]), b"*0\r\n")
        .await;
    c.cmd(
        &multibulk(&["XSentinel", "myid"]),
        format!("$40\r\n{MYID}\r\n").as_bytes(),
    )
    .await;
    c.cmd(&multibulk(&["ROLE"]), b"*2\r\n$8\r\nsentinel\r\n*0\r\n")
        .await;
}
