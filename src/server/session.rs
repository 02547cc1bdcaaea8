//! One task per client connection: read, parse, execute, write.
//!
//! * Input is read into one growing buffer and parsed incrementally ([`RequestParser`]); every complete
//!   command in the buffer is executed before the replies are written with a single `write_all`, so a
//!   pipeline of 1000 PINGs costs one read and one write, not 1000 of each. Replies are also flushed
//!   when more than [`FLUSH_AT`] bytes are pending, so a long pipeline of large replies stays bounded.
//! * While a reply is being written the session does not read: a client that sends without reading
//!   gets TCP backpressure instead of growing our buffers.
//! * Every wait also watches the server's shutdown token and this client's kill token, so a stuck
//!   client never delays SHUTDOWN or CLIENT KILL; and each client is its own task, so a slow or idle
//!   client never blocks another.
//! * Pub/sub: a subscribed session also waits on the broadcast receiver. Lagging behind the hub is fatal
//!   (see [`super::pubsub`]); so is a write to a subscriber that does not progress for
//!   [`PUBSUB_WRITE_TIMEOUT`] (Redis's pubsub output-buffer soft limit is 60 s).
//! * `timeout`: a client idle for longer is closed, except subscribers, as in Redis.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use vedette_core::Reply;

use super::clients::{Registration, Stats};
use super::dispatch::{self, ConnState, Outcome};
use super::pubsub::Message;
use super::resp::{encode_frame, Frame, Limits, RequestParser};
use super::ServerContext;

/// Flush pending replies once they exceed this many bytes, even mid-pipeline.
pub const FLUSH_AT: usize = 64 * 1024;
/// Read granularity.
const READ_CHUNK: usize = 16 * 1024;
/// Buffers larger than this are released once empty (after a big request or reply).
const SHRINK_ABOVE: usize = 256 * 1024;
/// A write to a subscribed client must finish within this time.
pub const PUBSUB_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// At most this many queued pub/sub messages are encoded before writing.
const MESSAGE_BATCH: usize = 256;
/// At most about this many pattern matches (messages × patterns) before the session yields.
const DELIVER_WORK: usize = 16 * 1024;

struct Session {
    ctx: Arc<ServerContext>,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    inbuf: BytesMut,
    out: Vec<u8>,
    parser: RequestParser,
    st: ConnState,
    kill: CancellationToken,
    last_read: Instant,
}

/// Why the session ended (for the log).
#[derive(Debug)]
#[allow(dead_code)] // the payloads are read through `Debug` in the log line
enum End {
    Eof,
    Io(std::io::Error),
    Protocol(String),
    Killed,
    Shutdown,
    Timeout,
    Lagged(u64),
    Closed,
}

/// Serve one client until it disconnects, is killed, times out or the server shuts down.
pub(crate) async fn run(
    ctx: Arc<ServerContext>,
    stream: TcpStream,
    reg: Registration,
    shutdown: CancellationToken,
) {
    let entry = reg.entry.clone();
    let authenticated = ctx.config.requirepass.is_none();
    let (reader, writer) = stream.into_split();
    let mut s = Session {
        st: ConnState::new(entry.clone(), authenticated, ctx.hub.clone(), shutdown),
        ctx,
        reader,
        writer,
        inbuf: BytesMut::with_capacity(READ_CHUNK),
        out: Vec::new(),
        parser: RequestParser::new(),
        kill: entry.kill.clone(),
        last_read: Instant::now(),
    };
    let end = s.serve().await;
    match &end {
        End::Eof | End::Closed | End::Shutdown => {
            tracing::debug!(id = entry.id, addr = %entry.addr, ?end, "client closed")
        }
        _ => tracing::info!(id = entry.id, addr = %entry.addr, ?end, "client disconnected"),
    }
    // Dropping the session unsubscribes (ConnState) and unregisters (Registration).
    drop(s);
    drop(reg);
}

async fn recv_message(
    rx: &mut Option<broadcast::Receiver<Message>>,
) -> Result<Message, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Session {
    async fn serve(&mut self) -> End {
        let timeout = match self.ctx.config.timeout_secs {
            0 => None,
            s => Some(Duration::from_secs(s)),
        };
        loop {
            if let Some(end) = self.process_input().await {
                // Best effort: the reply explaining the end (protocol error) goes out first.
                let _ = self.flush().await;
                return end;
            }
            if let Err(end) = self.flush().await {
                return end;
            }
            if self.st.close_after_reply {
                return End::Killed;
            }
            let idle_deadline = match timeout {
                Some(t) if self.st.subscriptions() == 0 => Some(self.last_read + t),
                _ => None,
            };
            if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK / 4 {
                self.inbuf.reserve(READ_CHUNK);
            }
            tokio::select! {
                biased;
                _ = self.st.shutdown.cancelled() => return End::Shutdown,
                _ = self.kill.cancelled() => return End::Killed,
                r = self.reader.read_buf(&mut self.inbuf) => match r {
                    Ok(0) => return End::Eof,
                    Ok(n) => {
                        Stats::add(&self.ctx.stats.net_input_bytes, n as u64);
                        Stats::add(&self.ctx.stats.reads_processed, 1);
                        self.last_read = Instant::now();
                        self.st.entry.state().last_interaction = std::time::Instant::now();
                    }
                    Err(e) => return End::Io(e),
                },
                m = recv_message(&mut self.st.rx) => {
                    match self.deliver(m) {
                        Err(end) => return end,
                        // Many patterns: let other sessions run before the next batch.
                        Ok(true) => tokio::task::yield_now().await,
                        Ok(false) => {}
                    }
                }
                _ = sleep_until_opt(idle_deadline) => return End::Timeout,
            }
        }
    }

    /// Encode a received message and whatever else is already queued (bounded by messages and by pattern
    /// matches). `Ok(true)`: the work bound was hit, yield before more.
    fn deliver(
        &mut self,
        first: Result<Message, broadcast::error::RecvError>,
    ) -> Result<bool, End> {
        let mut next = first;
        let mut work = 0usize;
        for _ in 0..MESSAGE_BATCH {
            match next {
                Ok(msg) => {
                    for f in self.st.message_frames(&msg) {
                        encode_frame(&f, self.st.proto, &mut self.out);
                    }
                    work += 1 + self.st.patterns.len();
                    if work > DELIVER_WORK {
                        return Ok(true);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        id = self.st.entry.id,
                        addr = %self.st.entry.addr,
                        missed = n,
                        "subscriber fell behind the event stream; disconnecting it so it re-reads state \
                         instead of missing events (output buffer limit)"
                    );
                    return Err(End::Lagged(n));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.st.rx = None;
                    return Ok(false);
                }
            }
            let Some(rx) = self.st.rx.as_mut() else {
                return Ok(false);
            };
            next = match rx.try_recv() {
                Ok(m) => Ok(m),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    Err(broadcast::error::RecvError::Lagged(n))
                }
                Err(broadcast::error::TryRecvError::Empty) => return Ok(false),
                Err(broadcast::error::TryRecvError::Closed) => {
                    Err(broadcast::error::RecvError::Closed)
                }
            };
        }
        Ok(false)
    }

    /// Execute every complete command in the input buffer. `Some(end)` closes the connection.
    async fn process_input(&mut self) -> Option<End> {
        loop {
            if self.st.close_after_reply {
                return None;
            }
            let limits = Limits {
                max_bulk_len: self.ctx.config.proto_max_bulk_len,
                unauthenticated: !self.st.authenticated,
            };
            let argv = match self.parser.parse(&mut self.inbuf, limits) {
                Ok(Some(argv)) => argv,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(id = self.st.entry.id, addr = %self.st.entry.addr, error = %e, "protocol error");
                    let frame = Frame::Reply(Reply::err(e.reply_text()));
                    Stats::add(&self.ctx.stats.error_replies, 1);
                    encode_frame(&frame, self.st.proto, &mut self.out);
                    return Some(End::Protocol(e.to_string()));
                }
            };
            if argv.is_empty() {
                continue;
            }
            let outcome = dispatch::execute(&self.ctx, &mut self.st, argv).await;
            match outcome {
                Outcome::Reply(frame) => {
                    if matches!(frame, Frame::Reply(Reply::Error(_))) {
                        Stats::add(&self.ctx.stats.error_replies, 1);
                    }
                    if !(self.st.reply_off || self.st.skip) {
                        encode_frame(&frame, self.st.proto, &mut self.out);
                    }
                }
                Outcome::Pushes(frames) => {
                    for f in &frames {
                        encode_frame(f, self.st.proto, &mut self.out);
                    }
                }
                Outcome::NoReply => {}
                Outcome::Close => return Some(End::Closed),
            }
            self.st.command_done();
            if self.out.len() >= FLUSH_AT {
                if let Err(end) = self.flush().await {
                    return Some(end);
                }
            }
        }
        if self.inbuf.is_empty() && self.inbuf.capacity() > SHRINK_ABOVE {
            self.inbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        None
    }

    /// Write pending replies, unless the client is killed or the server stops first.
    async fn flush(&mut self) -> Result<(), End> {
        if self.out.is_empty() {
            return Ok(());
        }
        let subscribed = self.st.subscriptions() > 0;
        let write = self.writer.write_all(&self.out);
        let result = tokio::select! {
            biased;
            _ = self.st.shutdown.cancelled() => return Err(End::Shutdown),
            _ = self.kill.cancelled() => return Err(End::Killed),
            r = async {
                if subscribed {
                    tokio::time::timeout(PUBSUB_WRITE_TIMEOUT, write).await
                        .unwrap_or_else(|_| Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "subscriber is not reading (output buffer limit)",
                        )))
                } else {
                    write.await
                }
            } => r,
        };
        match result {
            Ok(()) => {
                Stats::add(&self.ctx.stats.net_output_bytes, self.out.len() as u64);
                Stats::add(&self.ctx.stats.writes_processed, 1);
                if self.out.capacity() > SHRINK_ABOVE {
                    self.out = Vec::new();
                } else {
                    self.out.clear();
                }
                Ok(())
            }
            Err(e) => Err(End::Io(e)),
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
