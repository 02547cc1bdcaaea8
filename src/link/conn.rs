//! One link generation: its sockets and protocol state, polled by the [`LinkManager`](super::LinkManager).
//!
//! A [`Link`] lives for exactly one generation (`conn`). It dials (one boxed future), pipelines the
//! handshake, reports [`Input::LinkUp`], then on every poll writes what is queued and decodes what the
//! command and pub/sub connections have to say. It is not a task: the manager polls it, from the driver's
//! task, only when one of its sockets or timers woke its [`Waker`], so an idle sentinel does one wake-up
//! per batch of ready sockets instead of one task switch plus one channel hop per message.
//!
//! Every operation is non-blocking: a stopped peer (SIGSTOP, a full TCP window) only leaves bytes in its
//! own link's bounded write buffer ([`WRITE_LIMIT`](super::WRITE_LIMIT)); it never stalls the driver or
//! another link.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::net::TcpStream;
use tokio::time::{self, Sleep};
use tracing::{debug, trace};
use vedette_core::{ConnectSpec, Input, LinkId, LinkKind, OutCommand};

use super::codec::{DecodeError, Frame, FrameReader, Limits, KEEP_CAPACITY};
use super::command::{hello_payload, reduce, Encoder, Expect};

/// Give up on a TCP connect (including name resolution) after this long. Redis has no connect timeout and
/// relies on idle-link recycling; a bounded dial gives the core a prompt `LinkDown` instead.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// When the pub/sub connection dies while commands are still unanswered on the command connection, keep
/// reading replies for at most this long before reporting the link down. The reconfiguration transaction
/// ends with `CLIENT KILL TYPE pubsub`, which kills our own pub/sub connection just before the `EXEC` reply
/// is written; without the grace period that reply would always be lost.
pub const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// More unanswered commands than this on one connection means the peer reads but never answers: close.
/// (The core caps pending commands at 100 × link refcount, far below.)
const MAX_PENDING: usize = 1 << 20;

/// Hello payloads larger than this are dropped (a real one is ~150 bytes).
pub const MAX_HELLO: usize = 64 * 1024;

/// Most bytes read from one connection per poll; a peer flooding us then yields to the other links (the
/// link re-queues itself).
const READ_BUDGET: usize = 256 * 1024;

/// Why a generation ended.
#[derive(Debug, thiserror::Error)]
pub enum Down {
    /// The manager is shutting down: nobody to tell.
    #[error("manager gone")]
    Quiet,
    /// TCP connect failed.
    #[error("{which} connect failed: {source}")]
    Connect {
        /// `cmd` or `pubsub`.
        which: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// TCP connect did not finish within [`CONNECT_TIMEOUT`].
    #[error("{0} connect timed out")]
    ConnectTimeout(&'static str),
    /// Read or write error.
    #[error("{which} I/O error: {source}")]
    Io {
        /// `cmd` or `pubsub`.
        which: &'static str,
        /// Cause.
        source: io::Error,
    },
    /// The peer closed the connection.
    #[error("{0} connection closed by peer")]
    Eof(&'static str),
    /// The peer sent something that is not RESP.
    #[error("{which} protocol error: {source}")]
    Protocol {
        /// `cmd` or `pubsub`.
        which: &'static str,
        /// Cause.
        source: DecodeError,
    },
    /// A reply arrived with no command waiting for it.
    #[error("cmd reply without a pending command")]
    Unsolicited,
    /// An error reply on the pub/sub connection (SUBSCRIBE refused: -NOAUTH, -NOPERM...). Redis (hiredis)
    /// treats it as fatal, and tests rely on the resulting flapping.
    #[error("pubsub error reply: {0}")]
    PubsubError(String),
    /// Too many commands queued or unanswered.
    #[error("command queue overflow")]
    Overflow,
}

type Dial = Pin<Box<dyn Future<Output = Result<(TcpStream, Option<TcpStream>), Down>> + Send>>;

/// One generation of one link.
pub(crate) struct Link {
    /// Link.
    pub link: LinkId,
    /// Generation.
    pub conn: u64,
    spec: ConnectSpec,
    /// Wakes the manager with this link's token; registered with every socket and timer of the link.
    waker: Waker,
    state: State,
}

enum State {
    Dialing(Dial),
    Up(Box<Up>),
}

/// A connected generation.
struct Up {
    local_ip: String,
    cmd: Sock,
    expects: VecDeque<Expect>,
    pubsub: Option<Sock>,
    /// Replies to AUTH and CLIENT SETNAME on the pub/sub connection still to skip; every later error
    /// (starting with a refused SUBSCRIBE) is fatal.
    ps_skip: usize,
    /// Set when the pub/sub connection failed and outstanding command replies are being collected.
    draining: Option<(Pin<Box<Sleep>>, Down)>,
}

/// One TCP connection with its decoder and unwritten output.
struct Sock {
    s: TcpStream,
    frames: FrameReader,
    wbuf: BytesMut,
}

impl Sock {
    fn new(s: TcpStream) -> Self {
        Sock {
            s,
            frames: FrameReader::new(Limits::default()),
            wbuf: BytesMut::new(),
        }
    }

    /// A fresh connection with its handshake queued: AUTH (when the spec has credentials), CLIENT SETNAME
    /// `name`, then whatever `then` adds; with the replies the queued commands expect, in wire order.
    fn greeted(
        s: TcpStream,
        spec: &ConnectSpec,
        name: &str,
        then: impl FnOnce(&mut Encoder<'_>),
    ) -> (Sock, VecDeque<Expect>) {
        let mut sock = Sock::new(s);
        let mut expects = VecDeque::new();
        let mut enc = Encoder {
            renames: &spec.renames,
            out: &mut sock.wbuf,
            expects: &mut expects,
        };
        enc.auth(&spec.auth);
        enc.setname(name);
        then(&mut enc);
        (sock, expects)
    }

    /// Write as much of the buffer as the socket takes; registers for writability when it is full.
    fn flush(&mut self, which: &'static str, cx: &mut Context<'_>) -> Result<(), Down> {
        while !self.wbuf.is_empty() {
            match self.s.try_write(&self.wbuf) {
                Ok(0) => {
                    return Err(Down::Io {
                        which,
                        source: io::ErrorKind::WriteZero.into(),
                    })
                }
                Ok(n) => self.wbuf.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.s.poll_write_ready(cx) {
                        Poll::Pending => return Ok(()),
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(source)) => return Err(Down::Io { which, source }),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Down::Io { which, source }),
            }
        }
        if self.wbuf.capacity() > KEEP_CAPACITY {
            self.wbuf = BytesMut::new();
        }
        Ok(())
    }

    /// Read what is available (at most [`READ_BUDGET`] bytes) through `scratch`, appending complete frames
    /// to `frames`. `Ok(true)`: the budget ran out, more may be waiting. Frames decoded before an error are
    /// still in `frames`.
    fn read(
        &mut self,
        which: &'static str,
        cx: &mut Context<'_>,
        scratch: &mut [u8],
        frames: &mut Vec<Frame>,
    ) -> Result<bool, Down> {
        let mut total = 0;
        loop {
            // Not readable: the waker is registered for the next data.
            match self.s.poll_read_ready(cx) {
                Poll::Pending => return Ok(false),
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(source)) => return Err(Down::Io { which, source }),
            }
            match self.s.try_read(scratch) {
                Ok(0) => return Err(Down::Eof(which)),
                Ok(n) => {
                    self.frames
                        .feed(&scratch[..n], frames)
                        .map_err(|source| Down::Protocol { which, source })?;
                    total += n;
                    if total >= READ_BUDGET {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Down::Io { which, source }),
            }
        }
    }
}

async fn dial(which: &'static str, host: &str, port: u16) -> Result<TcpStream, Down> {
    let stream = match time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Err(_) => return Err(Down::ConnectTimeout(which)),
        Ok(Err(source)) => return Err(Down::Connect { which, source }),
        Ok(Ok(s)) => s,
    };
    if let Err(e) = stream.set_nodelay(true) {
        debug!(which, error = %e, "cannot set TCP_NODELAY");
    }
    Ok(stream)
}

/// Scratch space of one poll, shared by all links.
pub(crate) struct Scratch {
    /// Socket reads land here; only incomplete frames are copied into a link's own buffer.
    pub read: Box<[u8]>,
    /// Frames decoded from one read.
    pub frames: Vec<Frame>,
}

impl Scratch {
    pub fn new(read_size: usize) -> Self {
        Scratch {
            read: vec![0; read_size].into_boxed_slice(),
            frames: Vec::new(),
        }
    }
}

impl Link {
    /// A new generation, dialling as soon as it is first polled.
    pub fn new(link: LinkId, conn: u64, spec: ConnectSpec, waker: Waker) -> Self {
        let host = spec.host.clone();
        let port = spec.port;
        let kind = spec.kind;
        let dial: Dial = Box::pin(async move {
            match kind {
                LinkKind::Instance => {
                    let (c, p) =
                        tokio::join!(dial("cmd", &host, port), dial("pubsub", &host, port));
                    Ok((c?, Some(p?)))
                }
                LinkKind::Sentinel => Ok((dial("cmd", &host, port).await?, None)),
            }
        });
        Link {
            link,
            conn,
            spec,
            waker,
            state: State::Dialing(dial),
        }
    }

    /// Queue this link for the manager's next poll.
    pub fn wake(&self) {
        self.waker.wake_by_ref();
    }

    /// Connected and taking commands (not dialling, not draining after the pub/sub connection died).
    pub fn is_up(&self) -> bool {
        matches!(&self.state, State::Up(u) if u.draining.is_none())
    }

    /// Encode a command for the command connection (written on the next poll). `Err` closes the link:
    /// more than `write_limit` bytes are waiting for a peer that does not read, or too many unanswered.
    pub fn send(&mut self, cmd: &OutCommand, write_limit: usize) -> Result<(), Down> {
        let State::Up(up) = &mut self.state else {
            return Ok(());
        };
        Encoder {
            renames: &self.spec.renames,
            out: &mut up.cmd.wbuf,
            expects: &mut up.expects,
        }
        .command(cmd, &up.local_ip);
        if up.cmd.wbuf.len() > write_limit || up.expects.len() > MAX_PENDING {
            return Err(Down::Overflow);
        }
        Ok(())
    }

    /// Make progress on everything that is ready: the dial, writes, reads, the drain timer. Inputs go to
    /// `out` in order. `Err` ends the generation (the caller reports `LinkDown`).
    pub fn poll(&mut self, scratch: &mut Scratch, out: &mut VecDeque<Input>) -> Result<(), Down> {
        let mut cx = Context::from_waker(&self.waker);
        if let State::Dialing(dial) = &mut self.state {
            let (cmd, pubsub) = match dial.as_mut().poll(&mut cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(r) => r?,
            };
            let up = Up::start(cmd, pubsub, &self.spec)?;
            out.push_back(Input::LinkUp {
                link: self.link,
                conn: self.conn,
                local_ip: up.local_ip.clone(),
            });
            self.state = State::Up(Box::new(up));
        }
        let State::Up(up) = &mut self.state else {
            return Ok(());
        };
        let more = up.poll(self.link, self.conn, &mut cx, scratch, out)?;
        if more {
            self.waker.wake_by_ref();
        }
        Ok(())
    }
}

impl Up {
    /// Pipeline the handshake on freshly connected sockets.
    fn start(cmd: TcpStream, pubsub: Option<TcpStream>, spec: &ConnectSpec) -> Result<Up, Down> {
        let local_ip = cmd
            .local_addr()
            .map_err(|source| Down::Io {
                which: "cmd",
                source,
            })?
            .ip()
            .to_canonical()
            .to_string();
        let (cmd, expects) = Sock::greeted(cmd, spec, &spec.client_name_cmd, |_| {});
        let mut ps_skip = 0;
        let pubsub = pubsub.map(|p| {
            let (p, ps_expects) = Sock::greeted(p, spec, &spec.client_name_pubsub, |enc| {
                enc.subscribe_hello()
            });
            ps_skip = ps_expects.len() - 1;
            p
        });
        Ok(Up {
            local_ip,
            cmd,
            expects,
            pubsub,
            ps_skip,
            draining: None,
        })
    }

    /// One round of I/O. `Ok(true)`: a read budget ran out, poll again soon.
    fn poll(
        &mut self,
        link: LinkId,
        conn: u64,
        cx: &mut Context<'_>,
        scratch: &mut Scratch,
        out: &mut VecDeque<Input>,
    ) -> Result<bool, Down> {
        // While draining, a failure of the command connection reports why the pub/sub one failed.
        let mut more = match self.poll_cmd(link, conn, cx, scratch, out) {
            Ok(more) => more,
            Err(e) => return Err(self.draining.take().map_or(e, |(_, why)| why)),
        };
        if let Some(ps) = self.pubsub.as_mut() {
            let res = poll_pubsub(ps, link, &mut self.ps_skip, cx, scratch, out);
            match res {
                Ok(m) => more |= m,
                Err(why) => {
                    if matches!(why, Down::Quiet) || self.expects.is_empty() {
                        return Err(why);
                    }
                    trace!(link = link.0, reason = %why, "pubsub gone, draining cmd replies");
                    self.pubsub = None;
                    self.draining = Some((Box::pin(time::sleep(DRAIN_GRACE)), why));
                }
            }
        }
        if let Some((sleep, _)) = self.draining.as_mut() {
            if self.expects.is_empty() || sleep.as_mut().poll(cx).is_ready() {
                let (_, why) = self.draining.take().ok_or(Down::Quiet)?;
                if !self.expects.is_empty() {
                    debug!(
                        link = link.0,
                        pending = self.expects.len(),
                        "gave up waiting for replies"
                    );
                }
                return Err(why);
            }
        }
        Ok(more)
    }

    /// Write and read the command connection; replies go to `out`.
    fn poll_cmd(
        &mut self,
        link: LinkId,
        conn: u64,
        cx: &mut Context<'_>,
        scratch: &mut Scratch,
        out: &mut VecDeque<Input>,
    ) -> Result<bool, Down> {
        self.cmd.flush("cmd", cx)?;
        scratch.frames.clear();
        let r = self
            .cmd
            .read("cmd", cx, &mut scratch.read, &mut scratch.frames);
        for frame in scratch.frames.drain(..) {
            // RESP3 out-of-band data is not a reply to anything.
            if matches!(frame, Frame::Push(_)) {
                continue;
            }
            let expect = self.expects.pop_front().ok_or(Down::Unsolicited)?;
            if expect == Expect::Swallow {
                if let Frame::Error(e) | Frame::BlobError(e) = &frame {
                    debug!(link = link.0, error = %String::from_utf8_lossy(e), "handshake/transaction command failed");
                }
            }
            if let Some(reply) = reduce(expect, frame) {
                out.push_back(Input::Reply { link, conn, reply });
            }
        }
        r
    }
}

/// Write and read the pub/sub connection; hellos go to `out`.
fn poll_pubsub(
    ps: &mut Sock,
    link: LinkId,
    skip: &mut usize,
    cx: &mut Context<'_>,
    scratch: &mut Scratch,
    out: &mut VecDeque<Input>,
) -> Result<bool, Down> {
    ps.flush("pubsub", cx)?;
    scratch.frames.clear();
    let r = ps.read("pubsub", cx, &mut scratch.read, &mut scratch.frames);
    for frame in scratch.frames.drain(..) {
        on_pubsub_frame(link, frame, skip, out)?;
    }
    r
}

/// One message on the pub/sub connection.
fn on_pubsub_frame(
    link: LinkId,
    frame: Frame,
    skip: &mut usize,
    out: &mut VecDeque<Input>,
) -> Result<(), Down> {
    if *skip > 0 {
        *skip -= 1;
        return Ok(());
    }
    if let Frame::Error(e) | Frame::BlobError(e) = &frame {
        return Err(Down::PubsubError(String::from_utf8_lossy(e).into_owned()));
    }
    if let Some(payload) = hello_payload(frame) {
        if payload.len() > MAX_HELLO {
            debug!(
                link = link.0,
                len = payload.len(),
                "oversized hello dropped"
            );
            return Ok(());
        }
        out.push_back(Input::Hello { link, payload });
    }
    Ok(())
}
