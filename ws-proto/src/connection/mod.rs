//! The connection state machine: one per TCP connection, server or client role, from the
//! first HTTP byte to the close.
//!
//! Inputs are bytes ([`Connection::receive`]), end of stream
//! ([`Connection::receive_eof`]) and time ([`Connection::handle_timeout`]); commands are
//! verbs ([`Connection::send`], [`Connection::ping`], [`Connection::close`]); outputs are
//! polled: events, then bytes, then the next deadline. `Status` is assigned only in this
//! file.

mod config;
mod message;
mod output;
mod pool;
mod timers;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

pub use config::{Config, Entropy};
pub use message::{CloseReason, Event, Message};
pub use output::Output;
#[cfg(feature = "server")]
pub(crate) use pool::ready_read_buf;

/// The smallest message [`Connection::receive_buf`] splits off its buffer instead of
/// copying (the size from which message buffers come from the pool).
#[cfg(feature = "server")]
pub(crate) const SPLIT_MIN: usize = pool::POOLED_MIN;
pub use timers::Timer;

use crate::Role;
use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
use crate::deflate::{Compressor, Decompressor, DeflateConfig, DeflateParams};
use crate::error::{Error, HandshakeError, ProtocolError, SendError};
use crate::frame::{Flags, FrameHeader, Opcode};
use crate::handshake::{self, ClientRequest, Request, Response};
use crate::mask::apply_mask;
use crate::utf8::Utf8Validator;
use config::Rng;
use timers::Timers;

/// The reference's connection status (`WEBSOCKET_STATUS_*`), plus `Closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    /// Waiting for the opening handshake (server: no complete request yet).
    Connection = 1,
    /// The handshake is under way (server: request received, response not yet sent;
    /// client: request sent).
    Handshake = 2,
    /// Open: messages flow both ways.
    Active = 3,
    /// A close frame was sent or received; the close handshake is finishing.
    Closing = 4,
    /// Finished; nothing more is read. Drain the output, then close the transport.
    Closed = 5,
}

/// One WebSocket connection as a state machine, with no IO of its own.
///
/// # Example
/// A client and a server trading bytes in memory:
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
/// use bytes::Buf;
/// use ws_proto::connection::{Config, Connection, Event, Message};
/// use ws_proto::handshake::ClientRequest;
/// use ws_proto::Flags;
///
/// let now = Instant::now();
/// let config = Arc::new(Config::default());
/// let mut server = Connection::server(config.clone(), now);
/// let mut client = Connection::client(config, ClientRequest::new("localhost", "/", [7; 16]), now);
///
/// // Move every byte one side has queued over to the other.
/// fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
///     while from.output().has_remaining() {
///         let chunk = from.output().chunk().to_vec();
///         from.output().advance(chunk.len());
///         to.receive(&chunk, now).unwrap();
///     }
/// }
///
/// pump(&mut client, &mut server, now);
/// let Some(Event::Request(request)) = server.poll_event() else { panic!() };
/// let response = server.accept_response(&request).unwrap();
/// server.respond(response).unwrap();
/// assert_eq!(server.poll_event(), Some(Event::Open));
/// pump(&mut server, &mut client, now);
/// assert_eq!(client.poll_event(), Some(Event::Open));
///
/// client.send(Message::text("hello"), Flags::FIN).unwrap();
/// pump(&mut client, &mut server, now);
/// assert_eq!(server.poll_event(), Some(Event::Message(Message::text("hello"))));
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Arc<Config>,
    role: Role,
    status: Status,
    http: Http,
    /// An unfinished HTTP head, or bytes that arrived while a response is pending. Empty
    /// (and unallocated) once the connection is open.
    inbuf: Vec<u8>,
    reader: Reader,
    message: Option<Box<Partial>>,
    deflate: Option<Box<Deflate>>,
    /// The outgoing fragmented message in progress: its opcode and whether it is compressed.
    sending: Option<(Opcode, bool)>,
    events: VecDeque<Event>,
    output: Output,
    timers: Timers,
    close_sent: bool,
    close_received: Option<CloseFrame>,
    error: Option<Error>,
    protocol: Option<String>,
    rng: Rng,
    /// When input last arrived (or the connection began): the base of timers that
    /// commands arm.
    last_activity: Instant,
    /// Whether our close frame went out before the peer's arrived.
    locally_initiated: bool,
}

impl Connection {
    /// A server-side connection, just accepted at `now`.
    pub fn server(config: Arc<Config>, now: Instant) -> Connection {
        let mut conn = Connection::new(config, Role::Server, Http::AwaitingHead, now);
        conn.arm_handshake_timer(now);
        conn
    }

    /// A client-side connection that has just connected at `now`; the upgrade request is
    /// queued in the output. The request's key is replaced by one drawn from
    /// `config.entropy`, and the subprotocols and compression offer come from `config`.
    pub fn client(config: Arc<Config>, request: ClientRequest, now: Instant) -> Connection {
        let mut conn = Connection::new(config, Role::Client, Http::Done, now);
        let mut request = request.with_key(conn.rng.key());
        for protocol in &conn.config.subprotocols {
            request = request.protocol(protocol.clone());
        }
        let offer = conn.config.deflate.as_ref().map(DeflateParams::offer);
        conn.output.push_raw(request.encode(offer.as_deref()));
        conn.http = Http::AwaitingUpgrade(Box::new(request));
        conn.status = Status::Handshake;
        conn.arm_handshake_timer(now);
        conn
    }

    fn new(config: Arc<Config>, role: Role, http: Http, now: Instant) -> Connection {
        let rng = Rng::new(config.entropy);
        Connection {
            config,
            role,
            status: Status::Connection,
            http,
            inbuf: Vec::new(),
            reader: Reader::default(),
            message: None,
            deflate: None,
            sending: None,
            events: VecDeque::new(),
            output: Output::default(),
            timers: Timers::default(),
            close_sent: false,
            close_received: None,
            error: None,
            protocol: None,
            rng,
            last_activity: now,
            locally_initiated: false,
        }
    }

    // ---- input: bytes, EOF and time ----

    /// Feeds bytes read from the transport. Partial input is never an error.
    ///
    /// # Errors
    /// The first fatal error: the close frame (or HTTP rejection) is already queued, the
    /// status is `Closed`, and `Event::Closed` is queued after every event decoded before
    /// the fault. The same error is returned by every later call. Bytes received after a
    /// clean close are ignored.
    pub fn receive(&mut self, mut data: &[u8], now: Instant) -> Result<(), Error> {
        self.receive_input(&mut data, now)
    }

    /// Takes every byte of `buf` as [`receive`](Connection::receive) would, and leaves it
    /// empty (its spare capacity kept, for the next read). Unlike `receive`, a whole
    /// unfragmented, uncompressed data message of 8 KiB or more that `buf` holds entirely is
    /// not copied: it is unmasked in place and split off `buf`, so the message's bytes
    /// share `buf`'s allocation.
    ///
    /// A message split off keeps that whole allocation alive for as long as it is held:
    /// read into buffers of at most 64 KiB, so that a held message pins at most eight
    /// times its size (the rule the message buffer pool follows). Smaller messages are
    /// copied out, as `receive` copies them, and pin nothing.
    ///
    /// # Errors
    /// As [`receive`](Connection::receive).
    pub fn receive_buf(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), Error> {
        let result = self.receive_input(&mut SplitInput { buf, at: 0 }, now);
        // What was consumed without a split stays where it was: the next read reuses that
        // memory.
        buf.clear();
        result
    }

    fn receive_input<I: Input>(&mut self, data: &mut I, now: Instant) -> Result<(), Error> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.status == Status::Closed || data.bytes().is_empty() {
            return Ok(());
        }
        if self.reader.appending_from.is_some() {
            // Bytes appended to `payload_buf` come first.
            self.receive_appended(now)?;
        }
        self.arm_activity_timers(now);
        let result = match self.status {
            Status::Connection | Status::Handshake => {
                self.inbuf.extend_from_slice(data.bytes());
                self.process_http(now)
            }
            Status::Active | Status::Closing => self.receive_frames(data, now),
            Status::Closed => Ok(()),
        };
        result.map_err(|error| self.fail(error))
    }

    /// Where the rest of a large payload may go straight from the transport, without the
    /// copy that [`receive`](Connection::receive) makes: while an uncompressed data frame
    /// with at least `min` payload bytes still to come is arriving, the message buffer it
    /// goes to and how many bytes may be appended to it (never more than the frame still
    /// holds). Append what the transport has (`bytes::BufMut`, e.g. tokio's reads into
    /// spare capacity), then call [`receive_appended`](Connection::receive_appended); only
    /// append, never remove. `None` at any other time: then read into a buffer of your own
    /// and call `receive`. The buffer grows as `receive` would make it grow: by what has
    /// arrived, not by what the header claims.
    #[inline]
    pub fn payload_buf(&mut self, min: usize) -> Option<(&mut BytesMut, usize)> {
        // Most reads start between frames (small messages): settled here, inlined.
        if self.reader.frame.is_none() && self.reader.appending_from.is_none() {
            return None;
        }
        self.lend_payload_buf(min)
    }

    fn lend_payload_buf(&mut self, min: usize) -> Option<(&mut BytesMut, usize)> {
        // Bytes appended to an earlier lend and not yet taken come first.
        if self.reader.appending_from.is_some() {
            let _ = self.take_lent();
        }
        // Checked first: most reads start with no payload in progress (small frames).
        let frame = self.reader.frame.as_ref().filter(|f| !f.header.opcode.is_control() && f.remaining >= min)?;
        if self.error.is_some() || self.status == Status::Closed || self.close_received.is_some() {
            return None;
        }
        let message = self.message.as_mut().filter(|m| !m.compressed)?;
        let len = message.data.len();
        grow(&mut message.data, frame.remaining.min(len.max(RESERVE_MIN)), frame.remaining, len);
        let room = (message.data.capacity() - len).min(frame.remaining);
        self.reader.appending_from = Some(len);
        Some((&mut message.data, room))
    }

    /// Takes the bytes appended to the buffer of [`payload_buf`](Connection::payload_buf)
    /// as received payload: unmasks and checks them as `receive` would.
    ///
    /// # Errors
    /// As [`receive`](Connection::receive).
    pub fn receive_appended(&mut self, now: Instant) -> Result<(), Error> {
        if self.take_lent()? {
            self.arm_activity_timers(now);
        }
        Ok(())
    }

    /// Takes what was appended to the lent message buffer; whether there was anything.
    fn take_lent(&mut self) -> Result<bool, Error> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let (Some(start), Some(message), Some(frame)) =
            (self.reader.appending_from.take(), &mut self.message, &self.reader.frame)
        else {
            return Ok(false);
        };
        // Anything past what the frame holds is not this frame's: drop it (a caller error).
        let appended = message.data.len().saturating_sub(start).min(frame.remaining);
        message.data.truncate(start + appended);
        if appended == 0 {
            return Ok(false);
        }
        self.take_appended(start, appended).map_err(|error| self.fail(error.into()))?;
        Ok(true)
    }

    /// The transport reached end of stream.
    pub fn receive_eof(&mut self, _now: Instant) {
        if self.status == Status::Closed {
            return;
        }
        let reason = match (&self.close_received, self.close_sent, &self.http) {
            (Some(peer), true, _) => {
                CloseReason::Handshake { peer: peer.clone(), initiated_locally: self.initiated_locally() }
            }
            (None, _, Http::AwaitingHead) if self.status == Status::Connection && self.inbuf.is_empty() => {
                CloseReason::HttpDone
            }
            _ => CloseReason::Abnormal,
        };
        self.finish(reason);
    }

    /// Handles every timer due at `now`. A spurious call (nothing due) does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.expired(now) {
            self.timers.stop(timer);
            match timer {
                Timer::Handshake => {
                    if self.role == Role::Server && self.status == Status::Connection && self.inbuf.is_empty() {
                        // An idle keep-alive or silent connection: nothing to answer.
                        self.finish(CloseReason::TimedOut(Timer::Handshake));
                    } else {
                        let _ = self.fail(Error::Handshake(HandshakeError::TimedOut));
                    }
                }
                Timer::Close => self.finish(CloseReason::TimedOut(Timer::Close)),
                Timer::Idle => {
                    if !self.close_sent {
                        self.queue_close(&CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout"));
                    }
                    self.finish(CloseReason::TimedOut(Timer::Idle));
                }
                Timer::Ping => {
                    if self.status == Status::Active {
                        self.queue_control(Opcode::Ping, Bytes::new());
                        if let Some(interval) = self.config.ping_interval {
                            self.timers.set(Timer::Ping, now + interval);
                        }
                    }
                }
            }
        }
    }

    // ---- commands ----

    /// Server: builds the `101 Switching Protocols` for a WebSocket upgrade request: the
    /// request is validated (RFC 6455 §4.2.1), a subprotocol is chosen among those the
    /// client offered, and permessage-deflate is negotiated from `config.deflate`. Add
    /// headers to the response if you like, then pass it to [`Connection::respond`].
    ///
    /// # Errors
    /// The [`HandshakeError`] to pass to [`Connection::reject`].
    pub fn accept_response(&self, request: &Request) -> Result<Response, HandshakeError> {
        let upgrade = handshake::validate_upgrade(request)?;
        let protocol = handshake::select_protocol(&upgrade.protocols, &self.config.subprotocols);
        let extensions = self.config.deflate.as_ref().and_then(|config| {
            let offers: Vec<&str> = upgrade.extensions.iter().map(String::as_str).collect();
            DeflateParams::negotiate(&offers, config).map(|(_, header)| header)
        });
        Ok(Response::switching_protocols(&upgrade, protocol.as_deref(), extensions.as_deref()))
    }

    /// Server: answers the pending request. A `101` opens the WebSocket connection, with
    /// the subprotocol and compression its headers state (so a custom handshake may agree
    /// to permessage-deflate too). Any other status is a plain HTTP response: the
    /// connection then waits for the next request when both sides keep it alive, else
    /// finishes once the output is drained.
    ///
    /// # Errors
    /// [`SendError::NotOpen`] when no request is waiting for an answer (nothing queued).
    pub fn respond(&mut self, response: Response) -> Result<(), SendError> {
        let Http::AwaitingResponse { upgrade, keep_alive } = self.http else { return Err(SendError::NotOpen) };
        self.output.push_raw(response.to_bytes());
        if response.status() == 101 && upgrade {
            let values: Vec<&str> = response.header_all("sec-websocket-extensions").collect();
            if let Some(params) = DeflateParams::from_own_response(&values) {
                self.deflate = Some(Box::new(Deflate::new(&params, self.role, self.config.deflate.as_ref())));
            }
            self.protocol = response.header_value("sec-websocket-protocol").map(str::to_owned);
            self.open();
            let pending = std::mem::take(&mut self.inbuf);
            if let Err(error) = self.receive_frames(&mut pending.as_slice(), self.last_activity()) {
                self.fail(error);
            }
            return Ok(());
        }
        let closes = response.header_value("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if upgrade || !keep_alive || closes {
            self.inbuf = Vec::new();
            self.finish(CloseReason::HttpDone);
        } else {
            self.http = Http::AwaitingHead;
            self.status = Status::Connection;
            // Each request on a kept-alive connection gets the full handshake timeout.
            self.arm_handshake_timer(self.last_activity());
            if let Err(error) = self.process_http(self.last_activity()) {
                self.fail(error);
            }
        }
        Ok(())
    }

    /// Server: rejects the pending request with the HTTP status of `error` (400, 426, …)
    /// and finishes the connection.
    pub fn reject(&mut self, error: HandshakeError) {
        if self.status == Status::Closed {
            return;
        }
        self.output.push_raw(Response::reject(&error).to_bytes());
        self.error = Some(Error::Handshake(error.clone()));
        self.finish(CloseReason::Failed(Error::Handshake(error)));
    }

    /// Sends a whole message as one frame (or several, with `max_outgoing_frame_size`).
    /// With [`Flags::COMPRESS`] the message is compressed when permessage-deflate was
    /// agreed, and sent plain otherwise.
    ///
    /// # Errors
    /// [`SendError::NotOpen`] before the handshake or after a close was sent;
    /// [`SendError::FragmentSequence`] while a fragmented message is being sent.
    pub fn send(&mut self, message: Message, flags: Flags) -> Result<(), SendError> {
        // A text `Message` is UTF-8 by construction: not checked again.
        self.send_frame_with(message.opcode(), message.into_data(), flags.with(Flags::FIN, true), |_| true)
    }

    /// Sends one frame, as the reference's `push($fd, $data, $opcode, $flags)`: text,
    /// binary or continuation frames with or without FIN (to fragment a message by hand),
    /// or a ping, pong or close frame. Text is checked to be UTF-8 (across fragments).
    ///
    /// # Errors
    /// [`SendError::NotOpen`], [`SendError::FragmentSequence`] (a continuation with no
    /// message in progress, or a new message while one is), [`SendError::InvalidUtf8`],
    /// [`SendError::ControlTooLong`], and the close errors of [`Connection::close`].
    pub fn send_frame(&mut self, opcode: Opcode, data: Bytes, flags: Flags) -> Result<(), SendError> {
        self.send_frame_with(opcode, data, flags, |_| false)
    }

    /// [`send_frame`](Connection::send_frame), asking `known_utf8`, for a whole text message
    /// only, whether the caller already knows its bytes to be UTF-8 (a received text echoed,
    /// one checked when it was queued): such a text is not checked twice. Fragments are
    /// always checked here, where the state carried across them lives.
    pub(crate) fn send_frame_with(
        &mut self,
        opcode: Opcode,
        data: Bytes,
        flags: Flags,
        known_utf8: impl FnOnce(&[u8]) -> bool,
    ) -> Result<(), SendError> {
        match opcode {
            Opcode::Ping | Opcode::Pong => return self.send_control(opcode, data),
            Opcode::Close => {
                let frame = CloseFrame::parse(&data).map_err(|_| SendError::InvalidCloseCode(0))?;
                return self.close_with(frame);
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {}
        }
        if !self.can_send() {
            return Err(SendError::NotOpen);
        }
        let fin = flags.contains(Flags::FIN);
        let (message_opcode, compressed) = match (opcode, self.sending) {
            (Opcode::Continuation, Some(sending)) => sending,
            (Opcode::Continuation, None) | (_, Some(_)) => return Err(SendError::FragmentSequence),
            (op, None) => {
                let compress = flags.contains(Flags::COMPRESS)
                    && self.deflate.as_ref().is_some_and(|d| d.compressor.can_compress());
                (op, compress)
            }
        };
        if opcode == Opcode::Text && fin {
            if !known_utf8(&data) && !crate::utf8::is_valid(&data) {
                return Err(SendError::InvalidUtf8);
            }
        } else if message_opcode == Opcode::Text {
            self.check_outgoing_fragment(&data, fin, opcode == Opcode::Continuation)?;
        }
        let payload = match (&mut self.deflate, compressed) {
            (Some(deflate), true) => {
                let mut out = BytesMut::new();
                deflate.compressor.compress(&data, fin, &mut out);
                out.freeze()
            }
            _ => data,
        };
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
        let rsv1 = compressed && opcode != Opcode::Continuation;
        self.queue_data(opcode, payload, fin, rsv1);
        self.sending = if fin { None } else { Some((message_opcode, compressed)) };
        Ok(())
    }

    /// Sends a ping with `payload` (at most 125 bytes).
    ///
    /// # Errors
    /// [`SendError::ControlTooLong`], or [`SendError::NotOpen`].
    pub fn ping(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(Opcode::Ping, payload)
    }

    /// Sends a pong with `payload` (at most 125 bytes), e.g. to answer a ping by hand.
    ///
    /// # Errors
    /// [`SendError::ControlTooLong`], or [`SendError::NotOpen`].
    pub fn pong(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(Opcode::Pong, payload)
    }

    /// Starts the close handshake (or answers the peer's close) with `code` and `reason`.
    ///
    /// # Errors
    /// [`SendError::InvalidCloseCode`] for a code that may not be sent (1005, 1006, 1015),
    /// [`SendError::ReasonTooLong`] over 123 bytes, [`SendError::NotOpen`] when a close
    /// was already sent or the connection is not open.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::ReasonTooLong(reason.len()));
        }
        self.close_with(CloseFrame::new(code, reason))
    }

    /// Queues a frame encoded once for many connections (a broadcast). The compressed
    /// form is used when this connection agreed to compression without server context
    /// takeover and with a window at least as large as the one it was compressed with;
    /// otherwise the plain form.
    ///
    /// # Errors
    /// [`SendError::NotOpen`] before the handshake, after a close was sent, or while a
    /// fragmented message is being sent.
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), SendError> {
        if !self.can_send() || self.sending.is_some() {
            return Err(SendError::NotOpen);
        }
        if self.role != Role::Server {
            // Client frames must be masked with a fresh key each: encode anew.
            return self.send_frame(prepared.opcode, prepared.plain.payload(), Flags::FIN);
        }
        let (framed, compressed) = match (&prepared.compressed, &self.deflate) {
            (Some((framed, bits)), Some(deflate)) if deflate.accepts_shared(*bits) => (framed, true),
            _ => (&prepared.plain, false),
        };
        if framed.payload_len() <= self.max_outgoing_frame() {
            // Framed once for every receiver: a small frame is copied as it is, a large one
            // queued by reference.
            self.output.push_raw_ref(&framed.bytes);
        } else {
            self.queue_data(prepared.opcode, framed.payload(), true, compressed);
        }
        Ok(())
    }

    // ---- output ----

    /// The next event, in order. Call after every input or command until `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`poll_event`](Connection::poll_event) has an event to give.
    #[must_use]
    #[inline]
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The earliest deadline at which [`Connection::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// The bytes to write to the transport: write, then `advance` by what was written.
    pub fn output(&mut self) -> &mut Output {
        &mut self.output
    }

    // ---- getters ----

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the connection is open for messages (the reference's `isEstablished`).
    pub fn is_established(&self) -> bool {
        self.status == Status::Active
    }

    /// The agreed subprotocol, once open.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The agreed permessage-deflate parameters, once open.
    pub fn deflate_params(&self) -> Option<DeflateParams> {
        self.deflate.as_ref().map(|d| d.params)
    }

    /// The error that failed the connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Bytes waiting in the output.
    pub fn output_len(&self) -> usize {
        self.output.len()
    }

    /// Whether the transport should be closed now: the connection is closed and its output
    /// drained.
    pub fn is_finished(&self) -> bool {
        self.status == Status::Closed && self.output.is_empty()
    }
}

// ---- HTTP phase ----

impl Connection {
    /// Works through `inbuf` in the HTTP phase (server requests, client response).
    fn process_http(&mut self, now: Instant) -> Result<(), Error> {
        loop {
            match &mut self.http {
                Http::AwaitingHead => {
                    let Some(head) = handshake::parse_request(&self.inbuf, &self.config.http)? else {
                        return Ok(());
                    };
                    self.inbuf.drain(..head.head_len);
                    let request = Box::new(head.request);
                    if head.body_len == 0 {
                        self.emit_request(request);
                        return Ok(());
                    }
                    self.http = Http::ReadingBody { request, body: BytesMut::new(), remaining: head.body_len };
                    self.status = Status::Handshake;
                }
                Http::ReadingBody { body, remaining, .. } => {
                    let take = (*remaining).min(self.inbuf.len());
                    grow(body, take, *remaining, body.len() + take);
                    body.extend_from_slice(self.inbuf.get(..take).unwrap_or_default());
                    *remaining -= take;
                    self.inbuf.drain(..take);
                    if *remaining > 0 {
                        return Ok(());
                    }
                    if let Http::ReadingBody { mut request, body, .. } = std::mem::replace(&mut self.http, Http::Done) {
                        request.body = body.freeze();
                        self.emit_request(request);
                    }
                    return Ok(());
                }
                Http::AwaitingResponse { .. } => {
                    // Bytes pipelined behind a request wait for the response, bounded.
                    let limit = self.config.http.max_head_size;
                    if self.inbuf.len() > limit {
                        return Err(HandshakeError::HeadTooLarge { limit }.into());
                    }
                    return Ok(());
                }
                Http::AwaitingUpgrade(request) => {
                    let Some((response, head_len)) = handshake::parse_response(&self.inbuf, &self.config.http)? else {
                        return Ok(());
                    };
                    let protocol = handshake::verify_response(&response, request)?;
                    let values: Vec<&str> = response.header_all("sec-websocket-extensions").collect();
                    let offered = self.config.deflate.clone();
                    let params = match &offered {
                        Some(config) => DeflateParams::from_response(&values, config)?,
                        None if values.is_empty() => None,
                        None => return Err(HandshakeError::InvalidExtension.into()),
                    };
                    self.inbuf.drain(..head_len);
                    self.http = Http::Done;
                    self.protocol = protocol;
                    self.deflate = params.map(|p| Box::new(Deflate::new(&p, Role::Client, offered.as_ref())));
                    self.open();
                    let pending = std::mem::take(&mut self.inbuf);
                    return self.receive_frames(&mut pending.as_slice(), now);
                }
                Http::Done => return Ok(()),
            }
        }
    }

    fn emit_request(&mut self, request: Box<Request>) {
        self.http =
            Http::AwaitingResponse { upgrade: request.is_websocket_upgrade(), keep_alive: request.keep_alive() };
        self.status = Status::Handshake;
        self.events.push_back(Event::Request(request));
    }

    fn open(&mut self) {
        self.http = Http::Done;
        self.inbuf.shrink_to_fit();
        self.status = Status::Active;
        self.timers.stop(Timer::Handshake);
        self.arm_activity_timers(self.last_activity);
        self.events.push_back(Event::Open);
    }
}

// ---- frames in ----

impl Connection {
    fn receive_frames<I: Input>(&mut self, data: &mut I, now: Instant) -> Result<(), Error> {
        while !data.bytes().is_empty() {
            if self.close_received.is_some() {
                // RFC 6455 §5.5.1: nothing after a close frame is data.
                return Ok(());
            }
            let consumed = match self.reader.frame {
                None => {
                    if I::SPLITS && self.take_split_message(data)? {
                        continue;
                    }
                    self.read_header(data.bytes())?
                }
                Some(_) => self.read_payload(data.bytes(), now)?,
            };
            data.consume(consumed);
            if self.status == Status::Closed {
                return Ok(());
            }
        }
        Ok(())
    }

    /// At a frame boundary: if `data` holds a whole message large enough to be split off
    /// it (see [`receive_buf`](Connection::receive_buf)), takes it; whether it did.
    fn take_split_message<I: Input>(&mut self, data: &mut I) -> Result<bool, ProtocolError> {
        if self.reader.head_len != 0 || data.bytes().len() < pool::POOLED_MIN {
            return Ok(false);
        }
        let Some((header, header_len)) = FrameHeader::decode(data.bytes())? else { return Ok(false) };
        let len = self.check_header(&header)?;
        if len < pool::POOLED_MIN || !self.is_whole_message(&header, len) {
            return Ok(false);
        }
        let Some(mut payload) = data.split_frame(header_len, len) else { return Ok(false) };
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        if header.opcode == Opcode::Text && !crate::utf8::is_valid(&payload) {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.events.push_back(Event::Message(Message::received(header.opcode, payload.freeze(), false)));
        Ok(true)
    }

    /// Gathers header bytes; returns how many of `data` it consumed.
    fn read_header(&mut self, data: &[u8]) -> Result<usize, ProtocolError> {
        let had = usize::from(self.reader.head_len);
        let (decoded, consumed) = if had == 0 {
            match FrameHeader::decode(data)? {
                Some((header, len)) => (Some(header), len),
                None => {
                    self.stash_header_bytes(data);
                    return Ok(data.len());
                }
            }
        } else {
            let take = (FrameHeader::MAX_LEN - had).min(data.len());
            let mut head = self.reader.head;
            if let (Some(dst), Some(src)) = (head.get_mut(had..had + take), data.get(..take)) {
                dst.copy_from_slice(src);
            }
            match FrameHeader::decode(head.get(..had + take).unwrap_or_default())? {
                Some((header, len)) => (Some(header), len - had),
                None => {
                    self.stash_header_bytes(data.get(..take).unwrap_or_default());
                    return Ok(take);
                }
            }
        };
        self.reader.head_len = 0;
        if let Some(header) = decoded {
            let len = self.check_header(&header)?;
            if had == 0
                && len < pool::POOLED_MIN
                && let Some(payload) = consumed.checked_add(len).and_then(|end| data.get(consumed..end))
                && self.is_whole_message(&header, len)
            {
                self.whole_message(&header, payload)?;
                return Ok(consumed + len);
            }
            self.start_frame(header, len)?;
        }
        Ok(consumed)
    }

    /// Whether a frame is a whole message that may be taken in one step: one
    /// unfragmented, uncompressed data frame, within the message limit, with no message in
    /// progress. Small ones are copied ([`whole_message`](Self::whole_message)), large
    /// ones split off the caller's buffer where it allows
    /// ([`take_split_message`](Self::take_split_message)).
    fn is_whole_message(&self, header: &FrameHeader, len: usize) -> bool {
        header.fin
            && header.rsv == 0
            && matches!(header.opcode, Opcode::Text | Opcode::Binary)
            && self.message.is_none()
            && len <= self.config.max_message_size
    }

    /// The common case in one step, with the same outcome as the general path (header,
    /// payload pieces, end of frame): one allocation of the exact size, unmasked in place,
    /// text checked whole.
    fn whole_message(&mut self, header: &FrameHeader, payload: &[u8]) -> Result<(), ProtocolError> {
        let mut data = payload.to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut data, key, 0);
        }
        if header.opcode == Opcode::Text && !crate::utf8::is_valid(&data) {
            return Err(ProtocolError::InvalidUtf8);
        }
        self.events.push_back(Event::Message(Message::received(header.opcode, Bytes::from(data), false)));
        Ok(())
    }

    fn stash_header_bytes(&mut self, bytes: &[u8]) {
        let had = usize::from(self.reader.head_len);
        if let Some(dst) = self.reader.head.get_mut(had..had + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.reader.head_len += bytes.len() as u8; // at most 14 in all
        }
    }

    /// Checks a decoded header against the role, the extensions and the frame limit;
    /// returns its payload length.
    fn check_header(&self, header: &FrameHeader) -> Result<usize, ProtocolError> {
        // RFC 6455 §5.1: clients mask, servers don't.
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        // RFC 6455 §5.2 and RFC 7692 §6: only RSV1, only with permessage-deflate, only on
        // the first frame of a data message.
        let allowed_rsv = if self.deflate.is_some() && header.opcode.is_data() { 0x40 } else { 0 };
        if header.rsv & !allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv));
        }
        let limit = self.config.max_frame_size;
        if header.payload_len > limit as u64 {
            return Err(ProtocolError::FrameTooBig { limit });
        }
        // The frame size limit keeps this within usize.
        Ok(header.payload_len as usize)
    }

    /// Sets up the payload of a checked header (`len` bytes).
    fn start_frame(&mut self, header: FrameHeader, len: usize) -> Result<(), ProtocolError> {
        if !header.opcode.is_control() {
            self.start_data_frame(&header, len)?;
        }
        self.reader.frame = Some(FrameState { header, remaining: len, offset: 0, control: Vec::new() });
        if let Some(frame) = &mut self.reader.frame
            && header.opcode.is_control()
        {
            frame.control.reserve_exact(len);
        }
        if len == 0 {
            self.end_frame()?;
        }
        Ok(())
    }

    fn start_data_frame(&mut self, header: &FrameHeader, len: usize) -> Result<(), ProtocolError> {
        let limit = self.config.max_message_size;
        match (header.opcode, &mut self.message) {
            // Control frames have no message of their own.
            (Opcode::Close | Opcode::Ping | Opcode::Pong, _) => Ok(()),
            (Opcode::Continuation, None) => Err(ProtocolError::UnexpectedContinuation),
            (Opcode::Text | Opcode::Binary, Some(_)) => Err(ProtocolError::ExpectedContinuation),
            (Opcode::Continuation, Some(message)) => {
                if !message.compressed && message.data.len() + len > limit {
                    return Err(ProtocolError::MessageTooBig { limit });
                }
                Ok(())
            }
            (opcode @ (Opcode::Text | Opcode::Binary), None) => {
                let compressed = header.rsv & 0x40 != 0;
                if !compressed && len > limit {
                    return Err(ProtocolError::MessageTooBig { limit });
                }
                // Buffers grow with what arrives (see `grow`), not with what a header claims.
                self.message = Some(Box::new(Partial {
                    opcode,
                    data: BytesMut::new(),
                    compressed,
                    utf8: (opcode == Opcode::Text).then(Utf8Validator::default),
                }));
                Ok(())
            }
        }
    }

    /// Takes payload bytes of the current frame; returns how many of `data` it consumed.
    fn read_payload(&mut self, data: &[u8], _now: Instant) -> Result<usize, ProtocolError> {
        let Some(frame) = &mut self.reader.frame else { return Ok(0) };
        let take = frame.remaining.min(data.len());
        let piece = data.get(..take).unwrap_or_default();
        let Taken { key, offset, last, fin } = frame.take(take);
        if frame.header.opcode.is_control() {
            let start = frame.control.len();
            frame.control.extend_from_slice(piece);
            if let (Some(key), Some(new)) = (key, frame.control.get_mut(start..)) {
                apply_mask(new, key, offset);
            }
        } else {
            let frame_rest = take + frame.remaining;
            self.take_data(piece, key, offset, fin, frame_rest)?;
        }
        if last {
            self.end_frame()?;
        }
        Ok(take)
    }

    /// Adds a piece of a data frame's payload to the message in progress.
    fn take_data(
        &mut self,
        piece: &[u8],
        key: Option<[u8; 4]>,
        offset: usize,
        fin: bool,
        frame_rest: usize,
    ) -> Result<(), ProtocolError> {
        let Some(message) = &mut self.message else { return Ok(()) };
        let start = message.data.len();
        if message.compressed {
            let limit = self.config.max_message_size;
            let Some(deflate) = &mut self.deflate else { return Err(ProtocolError::ReservedBits(0x40)) };
            // Unmask through a small stack buffer: compressed input is never stored.
            let mut scratch = [0u8; 4096];
            let mut at = 0;
            for chunk in piece.chunks(scratch.len()) {
                let buf = scratch.get_mut(..chunk.len()).unwrap_or_default();
                buf.copy_from_slice(chunk);
                if let Some(key) = key {
                    apply_mask(buf, key, offset + at);
                }
                at += chunk.len();
                // The decompressor counts the whole message against the limit.
                deflate.decompressor.decompress(buf, false, &mut message.data, limit)?;
            }
            if fin {
                deflate.decompressor.decompress(&[], true, &mut message.data, limit)?;
            }
        } else {
            grow(&mut message.data, piece.len(), frame_rest, start + piece.len());
            message.data.extend_from_slice(piece);
            if let (Some(key), Some(new)) = (key, message.data.get_mut(start..)) {
                apply_mask(new, key, offset);
            }
        }
        message.check_utf8(start, fin)
    }

    /// Takes `len` payload bytes that [`Connection::payload_buf`]'s caller appended to the
    /// message at `start`.
    fn take_appended(&mut self, start: usize, len: usize) -> Result<(), ProtocolError> {
        let (Some(frame), Some(message)) = (&mut self.reader.frame, &mut self.message) else { return Ok(()) };
        let Taken { key, offset, last, fin } = frame.take(len);
        if let (Some(key), Some(new)) = (key, message.data.get_mut(start..)) {
            apply_mask(new, key, offset);
        }
        message.check_utf8(start, fin)?;
        if last {
            self.end_frame()?;
        }
        Ok(())
    }

    /// The current frame's payload is complete.
    fn end_frame(&mut self) -> Result<(), ProtocolError> {
        let Some(frame) = self.reader.frame.take() else { return Ok(()) };
        match frame.header.opcode {
            Opcode::Ping => {
                let payload = Bytes::from(frame.control);
                if self.config.auto_pong && !self.close_sent {
                    self.queue_control(Opcode::Pong, payload.clone());
                }
                self.events.push_back(Event::Ping(payload));
            }
            Opcode::Pong => self.events.push_back(Event::Pong(Bytes::from(frame.control))),
            Opcode::Close => {
                let peer = CloseFrame::parse(&frame.control)?;
                self.receive_close(peer);
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                if frame.header.payload_len == 0 && frame.header.fin {
                    // An empty final frame: `take_data` was not called; finish here.
                    self.take_data(&[], None, 0, true, 0)?;
                }
                if frame.header.fin
                    && let Some(message) = self.message.take()
                {
                    let Partial { opcode, data, compressed, .. } = *message;
                    self.events.push_back(Event::Message(Message::received(opcode, pool::finish(data), compressed)));
                }
            }
        }
        Ok(())
    }

    fn receive_close(&mut self, peer: CloseFrame) {
        self.events.push_back(Event::CloseReceived(peer.clone()));
        self.close_received = Some(peer.clone());
        self.message = None;
        if self.close_sent {
            self.close_handshake_done();
        } else if self.config.auto_close_reply {
            // RFC 6455 §5.5.1: echo the status code.
            let reply = match peer.code {
                Some(code) => CloseFrame::new(code, ""),
                None => CloseFrame { code: None, reason: String::new() },
            };
            self.queue_close(&reply);
            self.close_handshake_done();
        } else {
            self.status = Status::Closing;
        }
    }

    /// Both close frames are exchanged: a server closes TCP now (RFC 6455 §7.1.1), a
    /// client waits for the server to do it.
    fn close_handshake_done(&mut self) {
        let Some(peer) = self.close_received.clone() else { return };
        match self.role {
            Role::Server => {
                self.finish(CloseReason::Handshake { peer, initiated_locally: self.initiated_locally() });
            }
            Role::Client => {
                self.status = Status::Closing;
                self.timers.stop_all();
                self.timers.set(Timer::Close, self.last_activity() + self.config.close_timeout);
            }
        }
    }
}

// ---- frames out ----

impl Connection {
    fn can_send(&self) -> bool {
        self.status == Status::Active || (self.status == Status::Closing && !self.close_sent)
    }

    fn send_control(&mut self, opcode: Opcode, payload: Bytes) -> Result<(), SendError> {
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong(payload.len()));
        }
        if !self.can_send() {
            return Err(SendError::NotOpen);
        }
        self.queue_control(opcode, payload);
        Ok(())
    }

    fn close_with(&mut self, frame: CloseFrame) -> Result<(), SendError> {
        if self.close_sent || !matches!(self.status, Status::Active | Status::Closing) {
            return Err(SendError::NotOpen);
        }
        self.queue_close(&frame);
        if self.close_received.is_some() {
            self.close_handshake_done();
        } else {
            self.status = Status::Closing;
            self.timers.stop(Timer::Idle);
            self.timers.stop(Timer::Ping);
            self.timers.set(Timer::Close, self.last_activity() + self.config.close_timeout);
        }
        Ok(())
    }

    /// Checks a fragment of a text message being sent, carrying the UTF-8 state across.
    fn check_outgoing_fragment(&mut self, data: &[u8], fin: bool, continuation: bool) -> Result<(), SendError> {
        let validator = self.reader.send_utf8.get_or_insert_with(Utf8Validator::default);
        if !continuation {
            *validator = Utf8Validator::default();
        }
        let mut probe = validator.clone();
        probe.feed(data).map_err(|_| SendError::InvalidUtf8)?;
        if fin {
            probe.finish().map_err(|_| SendError::InvalidUtf8)?;
            self.reader.send_utf8 = None;
        } else {
            *validator = probe;
        }
        Ok(())
    }

    fn queue_close(&mut self, frame: &CloseFrame) {
        self.queue_control(Opcode::Close, frame.encode());
        self.close_sent = true;
        self.locally_initiated = self.close_received.is_none();
    }

    fn queue_control(&mut self, opcode: Opcode, payload: Bytes) {
        self.queue_frame(opcode, payload, true, false);
    }

    /// Queues a data message's payload, split into frames when
    /// `max_outgoing_frame_size` says so.
    #[inline]
    fn queue_data(&mut self, opcode: Opcode, payload: Bytes, fin: bool, rsv1: bool) {
        let max = self.max_outgoing_frame();
        if payload.len() <= max {
            self.queue_frame(opcode, payload, fin, rsv1);
            return;
        }
        let mut rest = payload;
        let mut first = true;
        while !rest.is_empty() {
            let piece = rest.split_to(max.min(rest.len()));
            let op = if first { opcode } else { Opcode::Continuation };
            self.queue_frame(op, piece, fin && rest.is_empty(), rsv1 && first);
            first = false;
        }
    }

    /// The largest payload sent as one frame.
    fn max_outgoing_frame(&self) -> usize {
        self.config.max_outgoing_frame_size.unwrap_or(usize::MAX).max(1)
    }

    fn queue_frame(&mut self, opcode: Opcode, payload: Bytes, fin: bool, rsv1: bool) {
        let mask = (self.role == Role::Client).then(|| self.rng.mask());
        let payload = match mask {
            Some(key) => {
                let mut masked = BytesMut::from(&payload[..]);
                apply_mask(&mut masked, key, 0);
                masked.freeze()
            }
            None => payload,
        };
        let header =
            FrameHeader { fin, rsv: if rsv1 { 0x40 } else { 0 }, opcode, mask, payload_len: payload.len() as u64 };
        self.output.push_frame(&header, payload);
    }
}

// ---- status and timers ----

impl Connection {
    /// Fails the connection with `error`: queues the close frame (or HTTP rejection),
    /// finishes, and remembers the error.
    fn fail(&mut self, error: Error) -> Error {
        if self.status == Status::Closed {
            return self.error.clone().unwrap_or(error);
        }
        tracing::debug!(%error, "failing connection");
        match &error {
            Error::Protocol(e) if !self.close_sent && matches!(self.status, Status::Active | Status::Closing) => {
                self.queue_close(&CloseFrame::new(e.close_code(), ""));
            }
            Error::Handshake(e) if self.role == Role::Server => {
                self.output.push_raw(Response::reject(e).to_bytes());
            }
            _ => {}
        }
        self.error = Some(error.clone());
        self.finish(CloseReason::Failed(error.clone()));
        error
    }

    fn finish(&mut self, reason: CloseReason) {
        if self.status == Status::Closed {
            return;
        }
        self.status = Status::Closed;
        self.timers.stop_all();
        self.message = None;
        self.reader = Reader::default();
        self.inbuf = Vec::new();
        self.deflate = None;
        self.events.push_back(Event::Closed(reason));
    }

    fn initiated_locally(&self) -> bool {
        self.locally_initiated
    }

    fn arm_handshake_timer(&mut self, now: Instant) {
        self.last_activity = now;
        if let Some(timeout) = self.config.handshake_timeout {
            self.timers.set(Timer::Handshake, now + timeout);
        }
    }

    fn arm_activity_timers(&mut self, now: Instant) {
        self.last_activity = now;
        if self.status != Status::Active {
            return;
        }
        if let Some(idle) = self.config.idle_timeout {
            self.timers.set(Timer::Idle, now + idle);
        }
        if let Some(interval) = self.config.ping_interval {
            self.timers.set(Timer::Ping, now + interval);
        }
    }

    fn last_activity(&self) -> Instant {
        self.last_activity
    }
}

/// Makes room in `buf` for `piece` more bytes of a frame that holds `frame_rest` more (the
/// piece included); `buf` holds `arrived` bytes of the message once the piece is in.
/// Reserves ahead, but never more than the frame still claims nor more than `buf` already
/// holds: a peer that announces a large frame and sends it slowly holds memory in
/// proportion to what it actually sent, while a fast one costs only a few doublings. A
/// buffer the thread's pool already holds may take the whole frame at once (see
/// [`pool::reserve_for_frame`]): no doubling then, and no copy of what came so far.
fn grow(buf: &mut BytesMut, piece: usize, frame_rest: usize, arrived: usize) {
    if buf.capacity() - buf.len() >= piece {
        return;
    }
    let ahead = frame_rest.min(buf.len().max(RESERVE_MIN));
    let frame_end = buf.len().saturating_add(frame_rest);
    pool::reserve_for_frame(buf, piece.max(ahead), frame_end, arrived);
}

/// The smallest reservation for a message buffer.
const RESERVE_MIN: usize = 16 * 1024;

/// Received bytes as the frame reader takes them: a borrowed slice (anything kept is
/// copied) or the caller's buffer, off which a whole large message can be split.
trait Input {
    /// Whether [`split_frame`](Input::split_frame) can succeed.
    const SPLITS: bool;
    fn bytes(&self) -> &[u8];
    /// Drops the first `n` bytes (at most all of them).
    fn consume(&mut self, n: usize);
    /// Drops `header` bytes and splits off the `len` after them, if all are here.
    fn split_frame(&mut self, header: usize, len: usize) -> Option<BytesMut>;
}

impl Input for &[u8] {
    const SPLITS: bool = false;

    fn bytes(&self) -> &[u8] {
        self
    }

    fn consume(&mut self, n: usize) {
        *self = self.get(n..).unwrap_or_default();
    }

    fn split_frame(&mut self, _header: usize, _len: usize) -> Option<BytesMut> {
        None
    }
}

/// The caller's buffer, read from `at`: the buffer itself moves on only when a message is
/// split off it.
struct SplitInput<'a> {
    buf: &'a mut BytesMut,
    at: usize,
}

impl Input for SplitInput<'_> {
    const SPLITS: bool = true;

    fn bytes(&self) -> &[u8] {
        self.buf.get(self.at..).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.at = self.at.saturating_add(n).min(self.buf.len());
    }

    fn split_frame(&mut self, header: usize, len: usize) -> Option<BytesMut> {
        let start = self.at.checked_add(header)?;
        if start.checked_add(len)? > self.buf.len() {
            return None;
        }
        bytes::Buf::advance(self.buf, start);
        self.at = 0;
        Some(self.buf.split_to(len))
    }
}

/// A message framed once for many receivers (a broadcast); see
/// [`Connection::send_prepared`].
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    opcode: Opcode,
    plain: Framed,
    /// Compressed, and the window it was compressed for.
    compressed: Option<(Framed, u8)>,
}

impl PreparedMessage {
    /// A message sent as it is to every receiver.
    pub fn new(message: Message) -> PreparedMessage {
        let opcode = message.opcode();
        PreparedMessage { opcode, plain: Framed::new(opcode, message.data(), false), compressed: None }
    }

    /// A message compressed once (with no context, `window_bits` 9–15) for receivers whose
    /// agreement allows it, and sent plain to the others.
    pub fn compressed(message: Message, window_bits: u8, level: u32) -> PreparedMessage {
        let bits = window_bits.clamp(9, 15);
        let opcode = message.opcode();
        let compressed = crate::deflate::compress_once(message.data(), bits, level);
        PreparedMessage {
            opcode,
            plain: Framed::new(opcode, message.data(), false),
            compressed: Some((Framed::new(opcode, &compressed, true), bits)),
        }
    }
}

/// A whole message framed as a server sends it (FIN, unmasked; RSV1 when compressed):
/// header and payload in one buffer, so that each receiver copies or references one slice.
#[derive(Debug, Clone)]
struct Framed {
    bytes: Bytes,
    head_len: usize,
}

impl Framed {
    fn new(opcode: Opcode, payload: &[u8], compressed: bool) -> Framed {
        let header = FrameHeader {
            fin: true,
            rsv: if compressed { 0x40 } else { 0 },
            opcode,
            mask: None,
            payload_len: payload.len() as u64,
        };
        let mut head = [0; FrameHeader::MAX_LEN];
        let head_len = header.encode(&mut head);
        let mut bytes = BytesMut::with_capacity(head_len + payload.len());
        bytes.extend_from_slice(head.get(..head_len).unwrap_or_default());
        bytes.extend_from_slice(payload);
        Framed { bytes: bytes.freeze(), head_len }
    }

    fn payload_len(&self) -> usize {
        self.bytes.len() - self.head_len
    }

    /// The payload alone (no copy), to frame it anew: for a client, or in fragments.
    fn payload(&self) -> Bytes {
        self.bytes.slice(self.head_len..)
    }
}

// ---- private state ----

#[derive(Debug)]
enum Http {
    /// Server: waiting for a request head.
    AwaitingHead,
    /// Server: reading a request body; `remaining` bytes are still to come.
    ReadingBody { request: Box<Request>, body: BytesMut, remaining: usize },
    /// Server: a request was handed out; waiting for `respond`.
    AwaitingResponse { upgrade: bool, keep_alive: bool },
    /// Client: the request is sent; waiting for the 101.
    AwaitingUpgrade(Box<ClientRequest>),
    /// The HTTP phase is over.
    Done,
}

#[derive(Debug, Default)]
struct Reader {
    /// Header bytes of a frame whose header has not fully arrived.
    head: [u8; FrameHeader::MAX_LEN],
    head_len: u8,
    frame: Option<FrameState>,
    /// The message length when [`Connection::payload_buf`] lent the message buffer.
    appending_from: Option<usize>,
    /// The UTF-8 state of an outgoing fragmented text message.
    send_utf8: Option<Utf8Validator>,
}

#[derive(Debug)]
struct FrameState {
    header: FrameHeader,
    remaining: usize,
    /// Payload bytes already taken, for the mask phase.
    offset: usize,
    /// A control frame's payload (at most 125 bytes).
    control: Vec<u8>,
}

impl FrameState {
    /// Counts `n` more payload bytes (at most `remaining`) as taken.
    fn take(&mut self, n: usize) -> Taken {
        let taken = Taken { key: self.header.mask, offset: self.offset, last: false, fin: false };
        self.remaining -= n;
        self.offset += n;
        let last = self.remaining == 0;
        Taken { last, fin: self.header.fin && last, ..taken }
    }
}

/// What [`FrameState::take`] tells about the bytes just taken.
struct Taken {
    /// The frame's masking key.
    key: Option<[u8; 4]>,
    /// Where the bytes start in the payload (the mask phase).
    offset: usize,
    /// They end the frame.
    last: bool,
    /// They end the message.
    fin: bool,
}

#[derive(Debug)]
struct Partial {
    opcode: Opcode,
    data: BytesMut,
    compressed: bool,
    utf8: Option<Utf8Validator>,
}

impl Partial {
    /// Checks the text received from `start` on; RFC 6455 §8.1: fail as soon as the text
    /// cannot be valid.
    fn check_utf8(&mut self, start: usize, fin: bool) -> Result<(), ProtocolError> {
        if let Some(utf8) = &mut self.utf8 {
            utf8.feed(self.data.get(start..).unwrap_or_default()).map_err(|_| ProtocolError::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Deflate {
    params: DeflateParams,
    compressor: Compressor,
    decompressor: Decompressor,
}

impl Deflate {
    fn new(params: &DeflateParams, role: Role, config: Option<&DeflateConfig>) -> Deflate {
        let defaults = DeflateConfig::default();
        let config = config.unwrap_or(&defaults);
        Deflate {
            params: *params,
            compressor: Compressor::new(params, role, config.level, config.mem_level),
            decompressor: Decompressor::new(params, role),
        }
    }

    /// Whether a message compressed once with no context and `bits` of window may be sent
    /// on this (server-side) connection.
    fn accepts_shared(&self, bits: u8) -> bool {
        self.params.server_no_context_takeover() && self.params.server_max_window_bits() >= bits
    }
}
