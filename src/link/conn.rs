//! One link generation: the task that owns a link's sockets from connect to close.
//!
//! A task lives for exactly one generation (`conn`). It dials, pipelines the handshake, reports
//! [`Input::LinkUp`], then multiplexes in one `select!` loop: replies on the command connection,
//! messages on the pub/sub connection, writes of queued commands and new commands from the manager.
//! It ends with exactly one [`Input::LinkDown`] unless it was aborted by the manager (`close`, which the
//! core asked for, so nobody needs to be told) or the driver is gone.
//!
//! Why one task per link and non-blocking writes: a stopped peer (SIGSTOP, a full TCP window) only
//! stalls its own task; the manager hands commands over with `try_send` and never waits.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{self, Instant};
use tracing::{debug, trace};
use vedette_core::{ConnectSpec, Input, LinkId, LinkKind, OutCommand};

use super::codec::{DecodeError, Frame, FrameReader, Limits};
use super::command::{hello_payload, reduce, Encoder, Expect};
use super::InputSink;

/// Give up on a TCP connect (including name resolution) after this long. Redis has no connect timeout and
/// relies on idle-link recycling; a bounded dial gives the core a prompt `LinkDown` instead.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// When the pub/sub connection dies while commands are still unanswered on the command connection, keep
/// reading replies for at most this long before reporting the link down. The reconfiguration transaction
/// ends with `CLIENT KILL TYPE pubsub`, which kills our own pub/sub connection just before the `EXEC` reply
/// is written; without the grace period that reply would always be lost.
pub const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// Stop taking new commands while this many bytes wait to be written (the peer is not reading). Commands
/// then pile up in the manager's queue, and when that is full the link is closed.
const WRITE_HIGH_WATER: usize = 1 << 20;

/// More unanswered commands than this on one connection means the peer reads but never answers: close.
/// (The core caps pending commands at 100 × link refcount, far below.)
const MAX_PENDING: usize = 1 << 20;

/// Hello payloads larger than this are dropped (a real one is ~150 bytes).
pub const MAX_HELLO: usize = 64 * 1024;

/// Spare read-buffer capacity ensured before each read.
const READ_RESERVE: usize = 16 * 1024;

/// Why a generation ended.
#[derive(Debug, thiserror::Error)]
pub enum Down {
    /// The driver dropped its receiver or the manager its handles: nobody to tell.
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

/// Everything a link task needs; built by the manager.
pub(crate) struct Task<S> {
    /// Link.
    pub link: LinkId,
    /// Generation.
    pub conn: u64,
    /// How to connect.
    pub spec: ConnectSpec,
    /// Where inputs go.
    pub sink: S,
    /// Commands from the manager.
    pub commands: mpsc::Receiver<OutCommand>,
    /// Fired by the manager when its queue for this link overflowed.
    pub kill: oneshot::Receiver<()>,
    /// True between LinkUp and the start of shutdown; the manager drops sends while false.
    pub up: Arc<AtomicBool>,
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

/// Read side of a connection.
struct Rd {
    r: OwnedReadHalf,
    frames: FrameReader,
}

/// Write side of a connection.
struct Wr {
    w: OwnedWriteHalf,
    buf: BytesMut,
}

fn split(s: TcpStream) -> (Rd, Wr) {
    let (r, w) = s.into_split();
    (
        Rd {
            r,
            frames: FrameReader::new(Limits::default()),
        },
        Wr {
            w,
            buf: BytesMut::with_capacity(4096),
        },
    )
}

async fn read_some(rd: Option<&mut Rd>) -> io::Result<usize> {
    match rd {
        Some(rd) => {
            rd.frames.buf_mut().reserve(READ_RESERVE);
            rd.r.read_buf(rd.frames.buf_mut()).await
        }
        None => std::future::pending().await,
    }
}

async fn write_some(wr: Option<&mut Wr>) -> io::Result<usize> {
    match wr {
        Some(wr) => wr.w.write(&wr.buf).await,
        None => std::future::pending().await,
    }
}

/// After a write of `n` bytes: drop them from the buffer.
fn wrote(which: &'static str, wr: &mut Wr, n: io::Result<usize>) -> Result<(), Down> {
    match n {
        Ok(0) => Err(Down::Io {
            which,
            source: io::ErrorKind::WriteZero.into(),
        }),
        Ok(n) => {
            wr.buf.advance(n);
            Ok(())
        }
        Err(source) => Err(Down::Io { which, source }),
    }
}

/// After a read of `n` bytes: error on EOF or failure.
fn read(which: &'static str, n: io::Result<usize>) -> Result<(), Down> {
    match n {
        Ok(0) => Err(Down::Eof(which)),
        Ok(_) => Ok(()),
        Err(source) => Err(Down::Io { which, source }),
    }
}

impl<S: InputSink> Task<S> {
    /// Run the generation to its end and report it.
    pub async fn run(mut self) {
        let why = self.session().await;
        self.up.store(false, Ordering::Release);
        if matches!(why, Down::Quiet) {
            return;
        }
        debug!(link = self.link.0, conn = self.conn, reason = %why, "link down");
        let _ = self
            .sink
            .deliver(Input::LinkDown {
                link: self.link,
                conn: self.conn,
            })
            .await;
    }

    async fn deliver(&self, input: Input) -> Result<(), Down> {
        if self.sink.deliver(input).await {
            Ok(())
        } else {
            Err(Down::Quiet)
        }
    }

    /// Connect, handshake, then serve until something fails. Always returns why it stopped.
    async fn session(&mut self) -> Down {
        match self.serve().await {
            Ok(never) => match never {},
            Err(why) => why,
        }
    }

    async fn serve(&mut self) -> Result<std::convert::Infallible, Down> {
        let spec = &self.spec;
        let (cmd, pubsub) = match spec.kind {
            LinkKind::Instance => {
                let (c, p) = tokio::join!(
                    dial("cmd", &spec.host, spec.port),
                    dial("pubsub", &spec.host, spec.port)
                );
                (c?, Some(p?))
            }
            LinkKind::Sentinel => (dial("cmd", &spec.host, spec.port).await?, None),
        };
        let local_ip = cmd
            .local_addr()
            .map_err(|source| Down::Io {
                which: "cmd",
                source,
            })?
            .ip()
            .to_canonical()
            .to_string();

        let (mut cmd_rd, mut cmd_wr) = split(cmd);
        let mut expects: VecDeque<Expect> = VecDeque::new();
        {
            let mut enc = Encoder {
                renames: &spec.renames,
                out: &mut cmd_wr.buf,
                expects: &mut expects,
            };
            enc.auth(&spec.auth);
            enc.setname(&spec.client_name_cmd);
        }

        // Replies to AUTH and CLIENT SETNAME on the pub/sub connection are skipped; every later error
        // (starting with a refused SUBSCRIBE) is fatal.
        let mut ps_skip = 0usize;
        let (mut ps_rd, mut ps_wr) = match pubsub {
            Some(p) => {
                let (rd, mut wr) = split(p);
                let mut ps_expects = VecDeque::new();
                let mut enc = Encoder {
                    renames: &spec.renames,
                    out: &mut wr.buf,
                    expects: &mut ps_expects,
                };
                enc.auth(&spec.auth);
                enc.setname(&spec.client_name_pubsub);
                enc.subscribe_hello();
                ps_skip = ps_expects.len() - 1;
                (Some(rd), Some(wr))
            }
            None => (None, None),
        };

        self.up.store(true, Ordering::Release);
        self.deliver(Input::LinkUp {
            link: self.link,
            conn: self.conn,
            local_ip: local_ip.clone(),
        })
        .await?;

        // Set when the pub/sub connection failed and we are collecting outstanding command replies.
        let mut draining: Option<(Instant, Down)> = None;
        loop {
            let accepting = draining.is_none() && cmd_wr.buf.len() < WRITE_HIGH_WATER;
            let deadline = draining.as_ref().map(|(d, _)| *d);
            tokio::select! {
                biased;
                k = &mut self.kill => {
                    return Err(if k.is_ok() { Down::Overflow } else { Down::Quiet });
                }
                _ = time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    let (_, why) = draining.take().ok_or(Down::Quiet)?;
                    debug!(link = self.link.0, pending = expects.len(), "gave up waiting for replies");
                    return Err(why);
                }
                n = read_some(Some(&mut cmd_rd)) => {
                    if let Err(e) = read("cmd", n) {
                        return Err(draining.map_or(e, |(_, why)| why));
                    }
                    if let Err(e) = self.on_cmd_data(&mut cmd_rd, &mut expects).await {
                        return Err(draining.map_or(e, |(_, why)| why));
                    }
                }
                n = write_some(Some(&mut cmd_wr)), if !cmd_wr.buf.is_empty() => {
                    if let Err(e) = wrote("cmd", &mut cmd_wr, n) {
                        return Err(draining.map_or(e, |(_, why)| why));
                    }
                }
                n = read_some(ps_rd.as_mut()), if ps_rd.is_some() => {
                    let res = match read("pubsub", n) {
                        Ok(()) => match ps_rd.as_mut() {
                            Some(rd) => self.on_pubsub_data(rd, &mut ps_skip).await,
                            None => Ok(()),
                        },
                        Err(e) => Err(e),
                    };
                    if let Err(why) = res {
                        if matches!(why, Down::Quiet) || expects.is_empty() {
                            return Err(why);
                        }
                        trace!(link = self.link.0, reason = %why, "pubsub gone, draining cmd replies");
                        self.up.store(false, Ordering::Release);
                        ps_rd = None;
                        ps_wr = None;
                        draining = Some((Instant::now() + DRAIN_GRACE, why));
                    }
                }
                n = write_some(ps_wr.as_mut()), if ps_wr.as_ref().is_some_and(|w| !w.buf.is_empty()) => {
                    if let Some(wr) = ps_wr.as_mut() {
                        wrote("pubsub", wr, n)?;
                    }
                }
                c = self.commands.recv(), if accepting => {
                    let Some(c) = c else { return Err(Down::Quiet) };
                    Encoder {
                        renames: &self.spec.renames,
                        out: &mut cmd_wr.buf,
                        expects: &mut expects,
                    }
                    .command(&c, &local_ip);
                    if expects.len() > MAX_PENDING {
                        return Err(Down::Overflow);
                    }
                }
            }
            if expects.is_empty() {
                if let Some((_, why)) = draining.take() {
                    return Err(why);
                }
            }
        }
    }

    /// Decode and dispatch every complete reply buffered on the command connection.
    async fn on_cmd_data(&self, rd: &mut Rd, expects: &mut VecDeque<Expect>) -> Result<(), Down> {
        loop {
            let frame = match rd.frames.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(source) => {
                    return Err(Down::Protocol {
                        which: "cmd",
                        source,
                    })
                }
            };
            // RESP3 out-of-band data is not a reply to anything.
            if matches!(frame, Frame::Push(_)) {
                continue;
            }
            let expect = expects.pop_front().ok_or(Down::Unsolicited)?;
            if expect == Expect::Swallow {
                if let Frame::Error(e) | Frame::BlobError(e) = &frame {
                    debug!(link = self.link.0, error = %String::from_utf8_lossy(e), "handshake/transaction command failed");
                }
            }
            if let Some(reply) = reduce(expect, frame) {
                self.deliver(Input::Reply {
                    link: self.link,
                    conn: self.conn,
                    reply,
                })
                .await?;
            }
        }
    }

    /// Decode and dispatch every complete message buffered on the pub/sub connection.
    async fn on_pubsub_data(&self, rd: &mut Rd, skip: &mut usize) -> Result<(), Down> {
        loop {
            let frame = match rd.frames.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(source) => {
                    return Err(Down::Protocol {
                        which: "pubsub",
                        source,
                    })
                }
            };
            if *skip > 0 {
                *skip -= 1;
                continue;
            }
            if let Frame::Error(e) | Frame::BlobError(e) = &frame {
                return Err(Down::PubsubError(String::from_utf8_lossy(e).into_owned()));
            }
            if let Some(payload) = hello_payload(frame) {
                if payload.len() > MAX_HELLO {
                    debug!(
                        link = self.link.0,
                        len = payload.len(),
                        "oversized hello dropped"
                    );
                    continue;
                }
                self.deliver(Input::Hello {
                    link: self.link,
                    payload,
                })
                .await?;
            }
        }
    }
}
