//! The per-connection driver: one future per connection that reads everything the socket
//! has into one of the thread's buffers (a scratch buffer for small messages, a read
//! buffer off which large ones are split with no copy), feeds it to the `Connection`, runs
//! the callbacks for the events, applies pushes from other tasks, and writes all ready
//! output in one write (a plain one when it is one slice, else vectored). Model:
//! `ConnectionDriver` in quinn.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Buf;

use super::current::{CheckedText, Parked, with_parked, with_read_buf, with_scratch};
use super::runtime::{Runtime, Sleep, Stream};
use super::table::{Command, Slot, recycle_commands};
use super::{Callbacks, Policy, Server};
use crate::close::{CloseCode, CloseFrame};
use crate::connection::{Connection, Event, Output, Status};
use crate::error::HandshakeError;
use crate::frame::{Fd, Flags, Frame, Opcode};
use crate::handshake::{Request, Response};

/// Drives one connection to its end. Small on purpose (the `Connection` is boxed and no
/// buffer lives here): an idle connection costs this, its `Connection`, its slot and the
/// runtime's socket.
pub(crate) struct Driver<R: Runtime, S: Stream> {
    server: Server<R>,
    slot: Arc<Slot>,
    callbacks: Arc<Callbacks<R>>,
    conn: Option<Box<Connection>>,
    stream: S,
    sleep: Option<(R::Sleep, Instant)>,
    /// The waker the slot holds, so that re-registering is needed only when it changes.
    registered: Option<Waker>,
    /// The upgrade request, kept from the 101 until `on_open` has seen it.
    open_request: Option<Box<Request>>,
    policy: Policy,
    messages_in: u32,
    flags: u16,
    /// Writes put off in a row to gather more pushes (see `defer_pushed_write`).
    deferrals: u8,
}

impl<R: Runtime, S: Stream> Driver<R, S> {
    pub(crate) fn new(
        server: Server<R>,
        slot: Arc<Slot>,
        callbacks: Arc<Callbacks<R>>,
        conn: Box<Connection>,
        stream: S,
        policy: Policy,
    ) -> Self {
        let flags = if server.inner.runtime.runs_woken_tasks_in_order() { IN_ORDER } else { 0 };
        Driver {
            server,
            slot,
            callbacks,
            conn: Some(conn),
            stream,
            sleep: None,
            registered: None,
            open_request: None,
            policy,
            messages_in: 0,
            flags,
            deferrals: 0,
        }
    }

    /// Marks the connection as already open through another HTTP stack's upgrade: the
    /// request is kept for `on_open`.
    pub(crate) fn upgraded(mut self, request: Box<Request>) -> Self {
        self.open_request = Some(request);
        self
    }

    fn fd(&self) -> Fd {
        self.slot.fd
    }

    fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    /// One wake-up: mailbox, reads, timers, writes, until nothing more can be done now.
    /// `None` when the connection is finished.
    fn drive(&mut self, mut conn: Box<Connection>, cx: &mut Context<'_>) -> Option<Box<Connection>> {
        if !self.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.slot.register(cx.waker());
            self.registered = Some(cx.waker().clone());
        }
        // Reading pauses while this much output waits, until it is written: the socket's
        // pace holds back a fast sender, and large messages are echoed a few at a time,
        // while their buffers are still in cache and can go back to the pool.
        let limit = self.policy.buffer_output_size.min(READ_PAUSE_OUTPUT);
        // Whether other tasks pushed, and whether the socket brought anything, this wake-up.
        let (mut pushed, mut read_any) = (false, false);
        loop {
            if let Some(mut commands) = self.slot.take_commands() {
                pushed = true;
                for command in commands.drain(..) {
                    self.apply(&mut conn, command);
                }
                recycle_commands(commands);
            }
            conn = self.dispatch(conn)?;
            if self.has(ABORT) {
                return None;
            }
            let mut exhausted = false;
            if !self.has(READ_CLOSED | CLOSE_NOW) && conn.status() != Status::Closed && conn.output_len() < limit {
                for round in 1..=READ_ROUNDS {
                    let outcome = self.read(&mut conn, cx);
                    if let Read::Pending = outcome {
                        // Nothing came, so nothing new to dispatch.
                        break;
                    }
                    read_any = true;
                    conn = self.dispatch(conn)?;
                    if let Read::Eof = outcome {
                        self.flags |= READ_CLOSED;
                        break;
                    }
                    if conn.output_len() >= limit || conn.status() == Status::Closed {
                        break;
                    }
                    exhausted = round == READ_ROUNDS;
                }
            }
            conn = self.timers(conn, cx)?;
            if pushed && !read_any && self.defer_pushed_write(&conn) {
                self.publish(&conn);
                cx.waker().wake_by_ref();
                return Some(conn);
            }
            self.deferrals = 0;
            let was_full = conn.output_len() >= limit;
            if let Err(error) = self.flush(&mut conn, cx) {
                tracing::debug!(fd = %self.fd(), %error, "write failed; dropping connection");
                self.flags |= READ_CLOSED;
                conn.output().clear();
                conn.receive_eof(self.server.inner.runtime.now());
                conn = self.dispatch(conn)?;
            }
            self.publish(&conn);
            if conn.is_finished() || (self.has(CLOSE_NOW) && conn.output_len() == 0) {
                let _ = self.stream.poll_shutdown(cx);
                return None;
            }
            if exhausted {
                // Let other tasks run; come back at once.
                cx.waker().wake_by_ref();
                return Some(conn);
            }
            let resume = was_full && conn.output_len() < limit && !self.has(READ_CLOSED);
            if !resume && !self.slot.has_commands() {
                return Some(conn);
            }
        }
    }

    /// Reads once and feeds the connection: the rest of a large payload straight into its
    /// message buffer when the stream can, anything else through one of the thread's
    /// buffers.
    fn read(&mut self, conn: &mut Connection, cx: &mut Context<'_>) -> Read {
        // The clock is read only once bytes came: most wake-ups end in a read that finds
        // nothing, and a clock read costs as much as a small frame's parsing.
        let runtime = &self.server.inner.runtime;
        let stream = &mut self.stream;
        if let Some((buf, max)) = conn.payload_buf(DIRECT_READ_MIN)
            && max > 0
            && let Some(poll) = stream.poll_read_buf(cx, buf, max)
        {
            // A fatal error is also an event (Closed) and output (the close frame).
            let _ = conn.receive_appended(runtime.now());
            return read_outcome(poll, conn, runtime, |_, _, _| {});
        }
        // Large messages come through the read buffer, off which they are split with no
        // copy; small ones through the scratch buffer, whose plain read costs less. What the
        // last read brought decides which.
        let outcome = if self.flags & (LARGE_READS | SCRATCH_READS) == LARGE_READS {
            self.read_buf(conn, cx)
        } else {
            self.read_scratch(conn, cx)
        };
        match outcome {
            Some(Read::Data(n)) if n >= LARGE_READ_MIN => self.flags |= LARGE_READS,
            Some(Read::Data(_)) => self.flags &= !LARGE_READS,
            _ => {}
        }
        outcome.unwrap_or_else(|| {
            // The buffer is in use further up this thread's stack: try again soon.
            cx.waker().wake_by_ref();
            Read::Pending
        })
    }

    /// Reads once into the spare capacity of the thread's read buffer, off which large
    /// messages are split with no copy; through the scratch buffer if the stream cannot.
    /// `None` while the buffer is in use further up this thread's stack.
    fn read_buf(&mut self, conn: &mut Connection, cx: &mut Context<'_>) -> Option<Read> {
        let runtime = &self.server.inner.runtime;
        let stream = &mut self.stream;
        let outcome = with_read_buf(|buf| {
            let max = buf.capacity() - buf.len();
            let poll = stream.poll_read_buf(cx, buf, max)?;
            Some(read_outcome(poll, conn, runtime, |conn, _, now| {
                // A fatal error is also an event (Closed) and output (the close frame).
                let _ = conn.receive_buf(buf, now);
            }))
        })?;
        outcome.or_else(|| {
            self.flags |= SCRATCH_READS;
            self.read_scratch(conn, cx)
        })
    }

    /// Reads once through the thread's scratch buffer, for streams that read only into
    /// initialised memory. `None` while the buffer is in use further up this thread's stack.
    fn read_scratch(&mut self, conn: &mut Connection, cx: &mut Context<'_>) -> Option<Read> {
        let runtime = &self.server.inner.runtime;
        let stream = &mut self.stream;
        with_scratch(|buf| {
            let poll = stream.poll_read(cx, buf);
            read_outcome(poll, conn, runtime, |conn, n, now| {
                let _ = conn.receive(buf.get(..n).unwrap_or_default(), now);
            })
        })
    }

    /// Handles expired timers and arms the sleep for the next deadline.
    fn timers(&mut self, mut conn: Box<Connection>, cx: &mut Context<'_>) -> Option<Box<Connection>> {
        loop {
            let Some(at) = conn.poll_timeout() else {
                self.sleep = None;
                return Some(conn);
            };
            let runtime = &self.server.inner.runtime;
            let now = runtime.now();
            let fired = if at <= now {
                true
            } else {
                let (sleep, armed) = self.sleep.get_or_insert_with(|| (runtime.sleep(at), at));
                if *armed != at {
                    sleep.reset(at);
                    *armed = at;
                }
                sleep.poll_elapsed(cx).is_ready()
            };
            if !fired {
                return Some(conn);
            }
            // The timer may round the deadline; it has passed.
            conn.handle_timeout(now.max(at));
            conn = self.dispatch(conn)?;
        }
    }

    /// Whether to put off writing what pushes from other tasks queued, to gather more: on
    /// executors that run woken tasks in order (`Runtime::runs_woken_tasks_in_order`), a
    /// connection woken by a push runs before the task that pushed can push again (the
    /// next message of a broadcast, once its sender has read it), and would make one write
    /// per push. So, at most `PUSH_DEFERRALS` times in a row, an open connection with a
    /// little output and nothing else to do yields instead, woken again at once: a pass
    /// over the executor's queue, in which the pushing tasks run first.
    fn defer_pushed_write(&mut self, conn: &Connection) -> bool {
        let defer = self.has(IN_ORDER)
            && self.deferrals < PUSH_DEFERRALS
            && !self.has(READ_CLOSED | CLOSE_NOW | ABORT)
            && conn.status() == Status::Active
            && (1..PUSH_DEFER_MAX).contains(&conn.output_len());
        if defer {
            self.deferrals += 1;
        }
        defer
    }

    /// Writes everything ready; stops when the socket is full.
    fn flush(&mut self, conn: &mut Connection, cx: &mut Context<'_>) -> io::Result<()> {
        let output = conn.output();
        if poll_write_output(&mut self.stream, output, cx)?.is_ready() {
            // Free the queue: an idle connection holds no output memory.
            output.clear();
        }
        Ok(())
    }

    fn publish(&mut self, conn: &Connection) {
        let status = if self.has(HTTP) && !self.has(WEBSOCKET) { None } else { Some(conn.status()) };
        self.slot.publish_status(status);
        self.slot.publish_out_len(conn.output_len());
        if self.messages_in > 0 {
            self.server.inner.counters.message_in.add(self.slot.fd, u64::from(self.messages_in));
            self.messages_in = 0;
        }
    }

    /// Carries out a command from another task.
    fn apply(&mut self, conn: &mut Connection, command: Command) {
        let result = match command {
            // `push` checked a whole text when it queued it (`check_frame`).
            Command::Frame { opcode, data, flags } => conn.send_frame_with(opcode, data, flags, |_| true),
            Command::Prepared(message, _) => conn.send_prepared(&message),
            Command::Raw(bytes) => {
                conn.output().push_raw(bytes);
                Ok(())
            }
            Command::Disconnect(code, reason) => conn.close(code, &reason),
            Command::Close => {
                self.flags |= CLOSE_NOW;
                Ok(())
            }
            Command::Shutdown => {
                if conn.is_established() {
                    conn.close(CloseCode::GOING_AWAY, "server shutdown")
                } else {
                    if conn.status() != Status::Closing {
                        self.flags |= CLOSE_NOW;
                    }
                    Ok(())
                }
            }
            Command::Abort => {
                self.flags |= ABORT;
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::debug!(fd = %self.fd(), %error, "queued command dropped");
        }
    }

    /// Runs the callbacks for every pending event, in order.
    /// Handles every event the connection has queued (most calls find none: settled here,
    /// inlined).
    #[inline]
    fn dispatch(&mut self, conn: Box<Connection>) -> Option<Box<Connection>> {
        if conn.has_events() { self.dispatch_events(conn) } else { Some(conn) }
    }

    fn dispatch_events(&mut self, mut conn: Box<Connection>) -> Option<Box<Connection>> {
        while let Some(event) = conn.poll_event() {
            conn = self.handle(conn, event)?;
        }
        Some(conn)
    }

    fn handle(&mut self, mut conn: Box<Connection>, event: Event) -> Option<Box<Connection>> {
        let fd = self.fd();
        let frame = |opcode, data| Frame { fd, data, opcode, finish: true, flags: Flags::FIN };
        match event {
            Event::Request(mut request) => {
                request.fd = fd;
                return self.request(conn, request);
            }
            Event::Open => {
                self.flags |= WEBSOCKET;
                self.slot.publish_status(Some(Status::Active));
                self.server.inner.counters.websocket_count.fetch_add(1, Ordering::Relaxed);
                self.server.connection_opened(fd);
                let request = self.open_request.take();
                if let (Some(on_open), Some(request), false) =
                    (self.callbacks.on_open.clone(), request, self.has(CUSTOM_HANDSHAKE))
                {
                    conn = self.call(conn, |server| on_open(server, &request), |_, ()| {})?;
                }
            }
            Event::Message(message) => {
                self.messages_in += 1;
                conn = self.deliver(conn, message.into_frame(fd))?;
            }
            Event::Ping(data) if self.policy.ping_frames => {
                self.messages_in += 1;
                conn = self.deliver(conn, frame(Opcode::Ping, data))?;
            }
            Event::Pong(data) if self.policy.pong_frames => {
                self.messages_in += 1;
                conn = self.deliver(conn, frame(Opcode::Pong, data))?;
            }
            Event::CloseReceived(close) if self.policy.close_frames => {
                self.messages_in += 1;
                conn = self.deliver(conn, frame(Opcode::Close, close.encode()))?;
                if conn.status() == Status::Closing {
                    // The callback did not disconnect: complete the close handshake, echoing
                    // the code (RFC 6455 §5.5.1).
                    let reply = CloseFrame { code: close.code, reason: String::new() };
                    let _ = conn.send_frame(Opcode::Close, reply.encode(), Flags::FIN);
                }
            }
            Event::Closed(reason) => {
                tracing::debug!(%fd, ?reason, "connection closed");
                self.slot.publish_status(Some(Status::Closed));
                if !self.has(FIRED) {
                    self.flags |= FIRED;
                    let callback = self.close_callback();
                    if let Some(callback) = callback {
                        conn = self.call(conn, |server| callback(server, fd), |_, ()| {})?;
                    }
                }
            }
            Event::Ping(_) | Event::Pong(_) | Event::CloseReceived(_) => {}
        }
        Some(conn)
    }

    /// Answers an HTTP request: the built-in or custom WebSocket handshake, `on_request`,
    /// or 400.
    fn request(&mut self, mut conn: Box<Connection>, request: Box<Request>) -> Option<Box<Connection>> {
        let callbacks = self.callbacks.clone();
        if request.is_websocket_upgrade() {
            self.slot.publish_status(Some(Status::Handshake));
            if let Some(on_handshake) = &callbacks.on_handshake {
                self.flags |= CUSTOM_HANDSHAKE;
                let handshake = |_: &Server<R>| {
                    let mut response = Response::new(400);
                    let accepted = on_handshake(&request, &mut response);
                    (accepted, response)
                };
                return self.call(conn, handshake, |conn, (accepted, mut response)| {
                    if !accepted && response.status() == 101 {
                        response.set_status(400);
                    }
                    let _ = conn.respond(response);
                });
            }
            match conn.accept_response(&request) {
                Ok(mut response) => {
                    if let Some(before) = &callbacks.on_before_handshake_response {
                        conn = self.call(conn, |_| before(&request, &mut response), |_, ()| {})?;
                    }
                    self.open_request = Some(request);
                    let _ = conn.respond(response);
                }
                Err(error) => {
                    tracing::debug!(fd = %self.fd(), %error, "upgrade rejected");
                    conn.reject(error);
                }
            }
            return Some(conn);
        }
        self.flags |= HTTP;
        self.slot.publish_status(None);
        self.server.inner.counters.request_count.fetch_add(1, Ordering::Relaxed);
        match &callbacks.on_request {
            Some(on_request) => {
                let serve = |_: &Server<R>| {
                    let mut response = Response::new(200);
                    on_request(&request, &mut response);
                    response
                };
                self.flags |= SERVED;
                self.call(conn, serve, |conn, response| {
                    let _ = conn.respond(response);
                })
            }
            None => {
                // The reference answers plain HTTP with 400 when there is no onRequest.
                conn.reject(HandshakeError::MissingUpgrade);
                Some(conn)
            }
        }
    }

    /// Hands a frame to `on_message`. The hot path: the callback is borrowed, not cloned,
    /// so no reference count shared between threads is touched per message.
    fn deliver(&mut self, conn: Box<Connection>, frame: Frame) -> Option<Box<Connection>> {
        let Some(on_message) = &self.callbacks.on_message else { return Some(conn) };
        let _checked = if frame.opcode == Opcode::Text { CheckedText::mark(&frame.data) } else { None };
        let (conn, close_now) = call(&self.server, self.slot.fd, conn, |server| on_message(server, frame), |_, ()| {})?;
        if close_now {
            self.flags |= CLOSE_NOW;
        }
        Some(conn)
    }

    /// [`call`] for the callbacks off the hot path.
    fn call<T>(
        &mut self,
        conn: Box<Connection>,
        f: impl FnOnce(&Server<R>) -> T,
        after: impl FnOnce(&mut Connection, T),
    ) -> Option<Box<Connection>> {
        let (conn, close_now) = call(&self.server, self.slot.fd, conn, f, after)?;
        if close_now {
            self.flags |= CLOSE_NOW;
        }
        Some(conn)
    }

    fn close_callback(&self) -> Option<super::FdCallback<R>> {
        if self.has(WEBSOCKET) {
            self.callbacks.on_close.clone()
        } else if self.has(SERVED) {
            None
        } else {
            self.callbacks.on_disconnect.clone()
        }
    }

    /// The connection is gone: fire its last callback if the `Closed` event did not, and
    /// take it out of the table.
    fn finish(&mut self) {
        if self.has(FINISHED) {
            return;
        }
        self.flags |= FINISHED;
        let fd = self.fd();
        if !self.has(FIRED) {
            self.flags |= FIRED;
            if let Some(callback) = self.close_callback() {
                callback(&self.server, fd);
            }
        }
        self.slot.publish_status(Some(Status::Closed));
        self.server.inner.table.remove(fd);
        // After the table: a racing `subscribe` then sees the fd gone (see topics.rs).
        self.server.connection_removed(fd, self.has(WEBSOCKET));
        let counters = &self.server.inner.counters;
        counters.close_count.fetch_add(1, Ordering::Relaxed);
        counters.message_in.add(fd, u64::from(self.messages_in));
        self.messages_in = 0;
    }
}

impl<R: Runtime, S: Stream> Future for Driver<R, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(conn) = this.conn.take() else { return Poll::Ready(()) };
        match this.drive(conn, cx) {
            Some(conn) => {
                this.conn = Some(conn);
                Poll::Pending
            }
            None => {
                this.finish();
                Poll::Ready(())
            }
        }
    }
}

impl<R: Runtime, S: Stream> Drop for Driver<R, S> {
    fn drop(&mut self) {
        // A runtime shutting down drops its tasks: keep `on_close` exactly once anyway.
        self.finish();
    }
}

/// Runs a callback with the connection parked in the thread (so pushes to it go straight
/// in), then `after` on the connection, then any `defer`red closures. Returns the connection
/// and whether `close(fd)` was called.
fn call<R: Runtime, T>(
    server: &Server<R>,
    fd: Fd,
    conn: Box<Connection>,
    f: impl FnOnce(&Server<R>) -> T,
    after: impl FnOnce(&mut Connection, T),
) -> Option<(Box<Connection>, bool)> {
    let parked = Parked { server: server.key(), fd, conn, deferred: Vec::new(), close_now: false };
    let mut value = None;
    let mut parked = with_parked(parked, || value = Some(f(server)))?;
    if let Some(value) = value {
        after(&mut parked.conn, value);
    }
    while !parked.deferred.is_empty() {
        for deferred in std::mem::take(&mut parked.deferred) {
            parked = with_parked(parked, deferred)?;
        }
    }
    Some((parked.conn, parked.close_now))
}

/// Writes `output` to `stream`, one write at a time (a plain one when what is left is one
/// slice: small frames packed together; else vectored), until it is empty (`Ready`) or the
/// socket is full (`Pending`). The server's driver and the client both write this way.
pub(super) fn poll_write_output<S: Stream>(
    stream: &mut S,
    output: &mut Output,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while output.has_remaining() {
        let poll = if output.chunk().len() == output.remaining() {
            stream.poll_write(cx, output.chunk())
        } else {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = output.chunks_vectored(&mut slices);
            stream.poll_write_vectored(cx, slices.get(..n).unwrap_or_default())
        };
        match poll {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(written)) => output.advance(written),
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        }
    }
    Poll::Ready(Ok(()))
}

enum Read {
    /// This many bytes came.
    Data(usize),
    Eof,
    Pending,
}

/// What a read came to: bytes, which `feed` gives the connection (with how many came and
/// the time), the end of the stream (or an error, which ends it too), or nothing yet.
#[inline]
fn read_outcome<R: Runtime>(
    poll: Poll<io::Result<usize>>,
    conn: &mut Connection,
    runtime: &R,
    feed: impl FnOnce(&mut Connection, usize, Instant),
) -> Read {
    match poll {
        Poll::Ready(Ok(0)) => {
            conn.receive_eof(runtime.now());
            Read::Eof
        }
        Poll::Ready(Ok(n)) => {
            feed(conn, n, runtime.now());
            Read::Data(n)
        }
        Poll::Ready(Err(error)) => {
            tracing::debug!(%error, "read failed");
            conn.receive_eof(runtime.now());
            Read::Eof
        }
        Poll::Pending => Read::Pending,
    }
}

/// The connection opened as a WebSocket.
const WEBSOCKET: u16 = 1;
/// `on_handshake` answered the upgrade: no `on_open`.
const CUSTOM_HANDSHAKE: u16 = 2;
/// A plain HTTP request came in.
const HTTP: u16 = 4;
/// `on_close` / `on_disconnect` ran.
const FIRED: u16 = 8;
/// The read side ended (EOF or error).
const READ_CLOSED: u16 = 16;
/// `close(fd)` or a shutdown of a non-WebSocket connection: drop once written.
const CLOSE_NOW: u16 = 32;
/// The shutdown grace period ended: drop now.
const ABORT: u16 = 64;
/// `finish` ran.
const FINISHED: u16 = 128;
/// `on_request` answered a request: as in the reference, a plain HTTP connection that
/// `on_request` served ends with neither `on_close` nor `on_disconnect`.
const SERVED: u16 = 256;
/// The stream cannot read into spare capacity (`Stream::poll_read_buf` said so): reads go
/// through the thread's scratch buffer.
const SCRATCH_READS: u16 = 512;
/// The last read brought at least `LARGE_READ_MIN` bytes: the next goes to the read buffer.
const LARGE_READS: u16 = 1024;
/// The executor runs woken tasks in order (`Runtime::runs_woken_tasks_in_order`).
const IN_ORDER: u16 = 2048;

/// How many times in a row a write of pushed output may be put off (`defer_pushed_write`):
/// in the broadcast benchmark on ws-smol, one cut the server's CPU per delivery by about a
/// third, two by about 45% (a write per ~50 deliveries instead of ~16), four no further.
const PUSH_DEFERRALS: u8 = 2;
/// Output from which pushes are written at once: a write this large already costs more per
/// byte than per call.
const PUSH_DEFER_MAX: usize = 16 * 1024;
/// Output waiting that pauses reading (unless `buffer_output_size` is smaller).
const READ_PAUSE_OUTPUT: usize = 1024 * 1024;
/// Reads per wake-up before yielding to other tasks (each up to the scratch size).
const READ_ROUNDS: usize = 16;
/// A payload with at least this much still to come is read straight into its message
/// buffer, where the stream supports it: half the scratch buffer, so that small frames
/// still arrive many per read.
const DIRECT_READ_MIN: usize = 32 * 1024;
/// A read of this much suggests large messages (see `Driver::read`): the smallest message
/// split off the read buffer.
const LARGE_READ_MIN: usize = crate::connection::SPLIT_MIN;
/// Slices per vectored write (Linux's `IOV_MAX` is 1024; 64 covers many small frames, which
/// `Output` packs together anyway).
const MAX_SLICES: usize = 64;
