//! One task per client connection: read, parse, execute, write.
//!
//! * Input is read into one growing buffer and parsed incrementally ([`RequestParser`]); every complete
//!   command in the buffer is executed before the replies are written, so a pipeline of 1000 PINGs costs
//!   one read and one write, not 1000 of each. Execution pauses once [`FLUSH_AT`] bytes of replies are
//!   pending and resumes when they are written, so a long pipeline of large replies stays bounded.
//! * While replies are pending the session does not read: a client that sends without reading gets TCP
//!   backpressure instead of growing our buffers (so the `normal` output limit rarely matters).
//! * `client-query-buffer-limit`: a client whose unparsed input plus the arguments of the command being
//!   read exceed it is closed without a reply, with Redis's log line — a never-ending bulk cannot grow
//!   memory past the limit.
//! * `client-output-buffer-limit`: pending output is counted per client (bytes produced and not yet
//!   accepted by the socket). Reaching the class's hard limit, or staying at or above its soft limit for
//!   more than its seconds, closes the client, checked whenever output is added, as in Redis. A
//!   subscriber keeps draining the event stream into its own buffer while its socket is full, so a slow
//!   reader is cut off at the pubsub limit (32mb / 8mb for 60 s by default) and never holds more.
//! * Every wait also watches this client's stop signal (CLIENT KILL, shutdown; [`super::stop`]), so a stuck
//!   client never delays SHUTDOWN or CLIENT KILL; and each client is its own task, so a slow or idle
//!   client never blocks another.
//! * Pub/sub: lagging behind the hub's ring ([`super::pubsub`]) is also fatal, so no event is ever
//!   silently skipped.
//! * `timeout`: a client idle for longer (no read and no write) is closed, except subscribers, as in Redis.
//! * Pipelined core commands (`SENTINEL`, `ROLE`, `PUBLISH`) are handed to the driver one after another
//!   without waiting for each answer (at most [`MAX_CORE_IN_FLIGHT`]); the answers are written in request
//!   order. A peer asking for 100 votes in one burst (a failover storm) thus gets them from a few state
//!   writes instead of one write per vote. Any other command first waits for the answers before it.

use std::collections::VecDeque;
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
use super::resp::{encode_frame, Frame, Limits, Proto, RequestParser};
use super::stop::StopReason;
use super::ServerContext;
use crate::config::OutputBufferLimit;
use crate::driver::PendingReply;

/// Stop executing commands once this many bytes of replies are pending; resume when written.
pub const FLUSH_AT: usize = 64 * 1024;
/// Read granularity.
const READ_CHUNK: usize = 16 * 1024;
/// Buffers larger than this are released once empty (after a big request or reply).
const SHRINK_ABOVE: usize = 256 * 1024;
/// At most this many queued pub/sub messages are encoded in one go.
const MESSAGE_BATCH: usize = 256;
/// At most about this many pattern matches (messages × patterns) before the session yields.
const DELIVER_WORK: usize = 16 * 1024;
/// How long the reply explaining a disconnection (a protocol error) may take to be written.
const LAST_WORDS: Duration = Duration::from_secs(1);
/// At most this many core commands of one client are in flight at once.
const MAX_CORE_IN_FLIGHT: usize = 1024;

/// Output waiting behind the answer of a pipelined core command, in request order.
enum Queued {
    /// A core command's answer, encoded as the connection was when the command ran.
    Core {
        reply: PendingReply,
        proto: Proto,
        suppress: bool,
    },
    /// Replies already encoded.
    Bytes(Vec<u8>),
}

struct Session {
    ctx: Arc<ServerContext>,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    inbuf: BytesMut,
    /// Replies and messages being produced (appended by the encoder).
    out: Vec<u8>,
    /// Produced output waiting for the socket, oldest first; `sent` bytes of the front are written.
    queue: VecDeque<Vec<u8>>,
    sent: usize,
    /// Bytes in `queue` not yet written.
    queued: usize,
    /// An emptied buffer kept for reuse, so the steady state allocates nothing.
    spare: Vec<u8>,
    /// Since when pending output is at or above the class's soft limit.
    soft_since: Option<Instant>,
    parser: RequestParser,
    st: ConnState,
    last_interaction: Instant,
    /// Answers of pipelined core commands still to come, and what follows them.
    core_queue: VecDeque<Queued>,
}

impl From<StopReason> for End {
    fn from(why: StopReason) -> Self {
        match why {
            StopReason::Killed => End::Killed,
            StopReason::Shutdown => End::Shutdown,
        }
    }
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
    QueryBufferLimit,
    OutputBufferLimit,
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
    // Shutdown trips every registered session's signal; one registered after that sees the token.
    if shutdown.is_cancelled() {
        entry.stop.stop(StopReason::Shutdown);
    }
    let mut s = Session {
        st: ConnState::new(entry.clone(), authenticated, ctx.hub.clone(), shutdown),
        ctx,
        reader,
        writer,
        inbuf: BytesMut::with_capacity(READ_CHUNK),
        out: Vec::new(),
        queue: VecDeque::new(),
        sent: 0,
        queued: 0,
        spare: Vec::new(),
        soft_since: None,
        parser: RequestParser::new(),
        last_interaction: Instant::now(),
        core_queue: VecDeque::new(),
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
    /// Output produced and not yet written.
    fn pending(&self) -> usize {
        self.out.len() + self.queued
    }

    async fn serve(&mut self) -> End {
        let timeout = match self.ctx.config.timeout_secs {
            0 => None,
            s => Some(Duration::from_secs(s)),
        };
        loop {
            if self.pending() < FLUSH_AT {
                if let Some(end) = self.process_input().await {
                    // Best effort: the reply explaining the end (protocol error) goes out first.
                    self.last_words().await;
                    return end;
                }
            }
            if let Err(end) = self.check_output_limit() {
                return end;
            }
            self.stage();
            if self.queued == 0 && self.st.close_after_reply {
                return End::Killed;
            }
            let idle_deadline = match timeout {
                Some(t) if self.st.subscriptions() == 0 => Some(self.last_interaction + t),
                _ => None,
            };
            if self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK / 4 {
                self.inbuf.reserve(READ_CHUNK);
            }
            let writing = self.queued > 0;
            let front: &[u8] = self.queue.front().map_or(&[], |c| &c[self.sent..]);
            let stop = &self.st.entry.stop;
            tokio::select! {
                biased;
                why = stop.stopped() => return End::from(why),
                r = self.writer.write(front), if writing => match r {
                    Ok(0) => return End::Io(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.wrote(n),
                    Err(e) => return End::Io(e),
                },
                r = self.reader.read_buf(&mut self.inbuf), if !writing => match r {
                    Ok(0) => return End::Eof,
                    Ok(n) => {
                        Stats::add(&self.ctx.stats.net_input_bytes, n as u64);
                        Stats::add(&self.ctx.stats.reads_processed, 1);
                        self.last_interaction = Instant::now();
                        self.st.entry.state().last_interaction = std::time::Instant::now();
                        if let Err(end) = self.check_query_limit() {
                            return end;
                        }
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

    /// Move produced output to the write queue (reusing a spare buffer, so no allocation per batch).
    fn stage(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let next = std::mem::take(&mut self.spare);
        let full = std::mem::replace(&mut self.out, next);
        self.queued += full.len();
        self.queue.push_back(full);
    }

    /// `n` bytes of the queue's front were written.
    fn wrote(&mut self, n: usize) {
        Stats::add(&self.ctx.stats.net_output_bytes, n as u64);
        Stats::add(&self.ctx.stats.writes_processed, 1);
        self.last_interaction = Instant::now();
        self.sent += n;
        self.queued -= n;
        if self.queue.front().is_some_and(|c| self.sent == c.len()) {
            self.sent = 0;
            if let Some(mut done) = self.queue.pop_front() {
                if done.capacity() <= SHRINK_ABOVE && self.spare.capacity() == 0 {
                    done.clear();
                    self.spare = done;
                }
            }
        }
        if self.queued == 0 {
            self.soft_since = None;
        }
    }

    /// Write what is pending, for at most [`LAST_WORDS`], before the connection is dropped.
    async fn last_words(&mut self) {
        self.stage();
        let deadline = Instant::now() + LAST_WORDS;
        while let Some(front) = self.queue.front() {
            let chunk = &front[self.sent..];
            let stop = &self.st.entry.stop;
            let r = tokio::select! {
                biased;
                _ = stop.stopped() => return,
                _ = tokio::time::sleep_until(deadline) => return,
                r = self.writer.write(chunk) => r,
            };
            match r {
                Ok(n) if n > 0 => self.wrote(n),
                _ => return,
            }
        }
    }

    /// `client-query-buffer-limit`: unparsed input plus the arguments of the command being read.
    fn check_query_limit(&self) -> Result<(), End> {
        let used = self.inbuf.len() + self.parser.pending_bytes();
        if used <= self.ctx.config.client_query_buffer_limit {
            return Ok(());
        }
        let head = &self.inbuf[..self.inbuf.len().min(64)];
        tracing::warn!(
            "Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})",
            self.st.entry.info_line(std::time::Instant::now()),
            String::from_utf8_lossy(head)
        );
        Stats::add(&self.ctx.stats.query_buffer_limit_disconnections, 1);
        Err(End::QueryBufferLimit)
    }

    /// `client-output-buffer-limit` of the client's class, checked whenever output was added (Redis
    /// `checkClientOutputBufferLimits`).
    fn check_output_limit(&mut self) -> Result<(), End> {
        let limits = &self.ctx.config.output_buffer_limits;
        let limit: OutputBufferLimit = if self.st.subscriptions() > 0 {
            limits.pubsub
        } else {
            limits.normal
        };
        let used = self.pending() as u64;
        let hard = limit.hard != 0 && used >= limit.hard;
        let mut soft = false;
        if limit.soft != 0 && used >= limit.soft {
            match self.soft_since {
                None => self.soft_since = Some(Instant::now()),
                Some(since) => soft = since.elapsed() > Duration::from_secs(limit.soft_secs),
            }
        } else {
            self.soft_since = None;
        }
        if hard || soft {
            tracing::warn!(
                "Client {} closed for overcoming of output buffer limits.",
                self.st.entry.info_line(std::time::Instant::now())
            );
            Stats::add(&self.ctx.stats.output_buffer_limit_disconnections, 1);
            return Err(End::OutputBufferLimit);
        }
        Ok(())
    }

    /// Encode a received message and whatever else is already queued (bounded by messages and by pattern
    /// matches). `Ok(true)`: a bound was hit with more possibly queued; yield before the rest.
    fn deliver(
        &mut self,
        first: Result<Message, broadcast::error::RecvError>,
    ) -> Result<bool, End> {
        let mut next = first;
        let mut work = 0usize;
        let mut delivered = 0usize;
        loop {
            match next {
                Ok(msg) => {
                    for f in self.st.message_frames(&msg) {
                        encode_frame(&f, self.st.proto, &mut self.out);
                    }
                    self.check_output_limit()?;
                    work += 1 + self.st.patterns.len();
                    delivered += 1;
                    // Stop before taking the next message off the queue (taken and not encoded, it
                    // would be lost for this subscriber).
                    if work > DELIVER_WORK || delivered >= MESSAGE_BATCH {
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
                    Stats::add(&self.ctx.stats.output_buffer_limit_disconnections, 1);
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
    }

    /// Execute every complete command in the input buffer, until [`FLUSH_AT`] bytes of output are
    /// pending. `Some(end)` closes the connection.
    async fn process_input(&mut self) -> Option<End> {
        let end = self.process_commands().await;
        self.drain_core_queue().await;
        end
    }

    /// Encode a reply after everything before it.
    fn emit(&mut self, frame: &Frame) {
        if self.core_queue.is_empty() {
            encode_frame(frame, self.st.proto, &mut self.out);
            return;
        }
        if !matches!(self.core_queue.back(), Some(Queued::Bytes(_))) {
            self.core_queue.push_back(Queued::Bytes(Vec::new()));
        }
        if let Some(Queued::Bytes(b)) = self.core_queue.back_mut() {
            encode_frame(frame, self.st.proto, b);
        }
    }

    /// Append an already encoded reply after everything before it.
    fn emit_encoded(&mut self, bytes: &[u8]) {
        if self.core_queue.is_empty() {
            self.out.extend_from_slice(bytes);
            return;
        }
        if !matches!(self.core_queue.back(), Some(Queued::Bytes(_))) {
            self.core_queue.push_back(Queued::Bytes(Vec::new()));
        }
        if let Some(Queued::Bytes(b)) = self.core_queue.back_mut() {
            b.extend_from_slice(bytes);
        }
    }

    /// Wait for the answers of pipelined core commands and encode everything queued, in order.
    async fn drain_core_queue(&mut self) {
        while let Some(q) = self.core_queue.pop_front() {
            match q {
                Queued::Bytes(b) => self.out.extend_from_slice(&b),
                Queued::Core {
                    reply,
                    proto,
                    suppress,
                } => {
                    let r = reply.wait().await;
                    if r.is_error() {
                        Stats::add(&self.ctx.stats.error_replies, 1);
                    }
                    if !suppress {
                        encode_frame(&Frame::Reply(r), proto, &mut self.out);
                    }
                }
            }
        }
        self.st.core_pending = false;
    }

    async fn process_commands(&mut self) -> Option<End> {
        loop {
            if self.st.close_after_reply || self.pending() >= FLUSH_AT {
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
                    self.drain_core_queue().await;
                    let frame = Frame::Reply(Reply::err(e.reply_text()));
                    Stats::add(&self.ctx.stats.error_replies, 1);
                    encode_frame(&frame, self.st.proto, &mut self.out);
                    return Some(End::Protocol(e.to_string()));
                }
            };
            if argv.is_empty() {
                continue;
            }
            // Only core commands overtake unanswered core commands: anything else may read or change
            // what they change (connection state, INFO), so it waits for their answers first.
            if !self.core_queue.is_empty()
                && (!dispatch::is_core_command(&argv[0])
                    || self.core_queue.len() >= MAX_CORE_IN_FLIGHT)
            {
                self.drain_core_queue().await;
            }
            self.st.core_pending = !self.core_queue.is_empty();
            let outcome = dispatch::execute(&self.ctx, &mut self.st, argv).await;
            match outcome {
                Outcome::Reply(frame) => {
                    if matches!(frame, Frame::Reply(Reply::Error(_))) {
                        Stats::add(&self.ctx.stats.error_replies, 1);
                    }
                    if !(self.st.reply_off || self.st.skip) {
                        self.emit(&frame);
                    }
                }
                Outcome::Encoded(bytes) => {
                    if !(self.st.reply_off || self.st.skip) {
                        self.emit_encoded(&bytes);
                    }
                }
                Outcome::Core(reply) => self.core_queue.push_back(Queued::Core {
                    reply,
                    proto: self.st.proto,
                    suppress: self.st.reply_off || self.st.skip,
                }),
                Outcome::Pushes(frames) => {
                    for f in &frames {
                        self.emit(f);
                    }
                }
                Outcome::NoReply => {}
                Outcome::Close => return Some(End::Closed),
            }
            self.st.command_done();
        }
        if self.inbuf.is_empty() && self.inbuf.capacity() > SHRINK_ABOVE {
            self.inbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        None
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
