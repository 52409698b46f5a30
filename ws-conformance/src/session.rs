//! One WebSocket connection under test: sending any frame, reading and checking the peer's
//! frames, and the expectations cases are written with.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use ws_proto::utf8::Utf8Validator;
use ws_proto::{CloseCode, FrameHeader, Opcode, Role};

use crate::pmd::Codec;
use crate::verdict::{Direction, Outcome, Step, TraceLine};
use crate::wire::{InFrame, OutFrame, op, opcode_name, preview};

/// Something the peer did, as seen by [`Session::recv_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole data message (fragments joined, inflated when compressed).
    Message(Message),
    /// A ping (already answered with a pong).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A valid close frame: its code (none for an empty payload) and reason.
    Close(Option<u16>, String),
    /// The peer closed the TCP connection (or reset it).
    Eof,
}

/// A whole data message from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `op::TEXT` or `op::BINARY`.
    pub opcode: u8,
    /// The payload (inflated).
    pub payload: Vec<u8>,
    /// How many frames carried it.
    pub frames: usize,
    /// Whether it arrived compressed (RSV1).
    pub compressed: bool,
}

/// A connection under test, from our side (client against servers, server against clients).
#[derive(Debug)]
pub struct Session {
    stream: TcpStream,
    role: Role,
    rbuf: Vec<u8>,
    start: Instant,
    deadline: Instant,
    trace: Vec<TraceLine>,
    codec: Option<Codec>,
    rng: u64,
    partial: Option<Message>,
    utf8: Utf8Validator,
    peer_close_code: Option<u16>,
    peer_closed_tcp: bool,
    close_sent: bool,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Session {
    /// Wraps an upgraded connection. `leftover` holds bytes read past the HTTP head.
    pub(crate) fn new(stream: TcpStream, role: Role, leftover: Vec<u8>, start: Instant, deadline: Instant) -> Session {
        let _ = stream.set_nodelay(true);
        let seed = std::collections::hash_map::RandomState::new();
        let rng = std::hash::BuildHasher::hash_one(&seed, start) | 1;
        Session {
            stream,
            role,
            rbuf: leftover,
            start,
            deadline,
            trace: Vec::new(),
            codec: None,
            rng,
            partial: None,
            utf8: Utf8Validator::default(),
            peer_close_code: None,
            peer_closed_tcp: false,
            close_sent: false,
            writer: None,
        }
    }

    /// The same session with another deadline.
    pub(crate) fn new_from(mut session: Session, deadline: Instant) -> Session {
        session.deadline = deadline;
        session
    }

    pub(crate) fn set_codec(&mut self, codec: Option<Codec>) {
        self.codec = codec;
    }

    /// The permessage-deflate codec, when the extension was agreed.
    pub fn codec(&self) -> Option<&Codec> {
        self.codec.as_ref()
    }

    /// The permessage-deflate codec, mutable (to compress by hand).
    pub fn codec_mut(&mut self) -> Option<&mut Codec> {
        self.codec.as_mut()
    }

    /// Our role: `Client` when testing a server, `Server` when testing a client.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The case's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The peer's close code, once received.
    pub fn peer_close_code(&self) -> Option<u16> {
        self.peer_close_code
    }

    /// Whether the peer closed the TCP connection.
    pub fn peer_closed_tcp(&self) -> bool {
        self.peer_closed_tcp
    }

    /// Takes the trace recorded so far.
    pub(crate) fn take_trace(&mut self) -> Vec<TraceLine> {
        std::mem::take(&mut self.trace)
    }

    /// Adds a note to the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.log(Direction::Note, text.into());
    }

    /// A random 32-bit masking key (xorshift; masks need not be cryptographic for a test).
    fn next_key(&mut self) -> [u8; 4] {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng as u32).to_be_bytes()
    }

    /// Sends a frame in one write.
    ///
    /// A write error is noted, not returned: a peer that fails the connection early may
    /// reset it while we write, and the case judges what the peer sent.
    pub fn send(&mut self, frame: &OutFrame) {
        let wire = self.encode(frame);
        self.write(wire, frame.payload.len() > BACKGROUND_WRITE);
    }

    /// Sends a frame in writes of at most `chunk` bytes each.
    pub fn send_chopped(&mut self, frame: &OutFrame, chunk: usize) {
        let wire = self.encode(frame);
        self.join_writer();
        self.note(format!("(written in pieces of {chunk} bytes)"));
        for piece in wire.chunks(chunk.max(1)) {
            if !self.write_now(piece) {
                break;
            }
        }
    }

    /// Sends many frames in one background write (so a peer that echoes while we write
    /// cannot deadlock us); the trace shows the first few.
    pub fn send_batch(&mut self, frames: &[OutFrame]) {
        let mut wire = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let masked = frame.mask.unwrap_or(self.role == Role::Client);
            let key = masked.then(|| self.next_key());
            if i < 3 {
                self.log(Direction::Out, frame.describe(masked));
            }
            wire.extend_from_slice(&frame.encode(key));
        }
        if frames.len() > 3 {
            self.note(format!("… {} frames, {} bytes in all, written as one batch", frames.len(), wire.len()));
        }
        self.write(wire, true);
    }

    /// Sends raw bytes (already framed).
    pub fn send_raw(&mut self, bytes: &[u8], what: &str) {
        self.log(Direction::Out, format!("raw {} bytes: {what}", bytes.len()));
        self.join_writer();
        self.write_now(bytes);
    }

    /// Sends a whole message compressed with the agreed permessage-deflate (RSV1 on the first
    /// frame), split into frames of `frame_size` bytes of compressed data when given.
    pub fn send_compressed(&mut self, opcode: u8, data: &[u8], frame_size: Option<usize>) {
        let Some(codec) = self.codec.as_mut() else {
            self.note("cannot compress: permessage-deflate not agreed");
            return;
        };
        let packed = codec.compress(data);
        self.note(format!("compressed {} bytes into {}", data.len(), packed.len()));
        let size = frame_size.unwrap_or(usize::MAX).max(1);
        let chunks: Vec<&[u8]> = if packed.is_empty() { vec![&[][..]] } else { packed.chunks(size).collect() };
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.iter().enumerate() {
            let opcode = if i == 0 { opcode } else { op::CONTINUATION };
            let rsv = if i == 0 { crate::wire::rsv::RSV1 } else { 0 };
            self.send(&OutFrame::new(opcode, chunk.to_vec()).fin(i == last).rsv(rsv));
        }
    }

    /// Reads the next thing the peer does, before `until`.
    ///
    /// Pings are answered with a pong here (RFC 6455 §5.5.2); fragments are joined; a
    /// compressed message is inflated; text is checked for UTF-8.
    ///
    /// # Errors
    /// `Ok(None)` on timeout; `Err` (FAILED) when the peer breaks the protocol.
    pub fn recv_event_until(&mut self, until: Instant) -> Step<Option<Event>> {
        loop {
            let Some(frame) = self.recv_frame(until)? else {
                return Ok(if self.peer_closed_tcp { Some(Event::Eof) } else { None });
            };
            match frame.opcode {
                Opcode::Ping => {
                    if !self.close_sent {
                        self.send(&OutFrame::pong(frame.payload.clone()));
                    }
                    return Ok(Some(Event::Ping(frame.payload)));
                }
                Opcode::Pong => return Ok(Some(Event::Pong(frame.payload))),
                Opcode::Close => return self.on_close(&frame.payload).map(Some),
                Opcode::Text | Opcode::Binary => {
                    if let Some(partial) = &self.partial {
                        return Err(Outcome::failed(format!(
                            "peer started a new {} message inside a fragmented {} one (RFC 6455 §5.4)",
                            opcode_name(u8::from(frame.opcode)),
                            opcode_name(partial.opcode)
                        )));
                    }
                    self.utf8 = Utf8Validator::default();
                    let compressed = frame.rsv & crate::wire::rsv::RSV1 != 0;
                    let msg = Message { opcode: u8::from(frame.opcode), payload: Vec::new(), frames: 0, compressed };
                    self.partial = Some(msg);
                }
                Opcode::Continuation => {
                    if self.partial.is_none() {
                        return Err(Outcome::failed("peer sent a continuation frame with no message to continue"));
                    }
                }
                _ => return Err(Outcome::failed("peer sent an unknown opcode")),
            }
            if let Some(msg) = self.add_fragment(frame)? {
                return Ok(Some(Event::Message(msg)));
            }
        }
    }

    /// [`Session::recv_event_until`] with the case's deadline; a timeout is `Ok(None)`.
    ///
    /// # Errors
    /// FAILED when the peer breaks the protocol.
    pub fn recv_event(&mut self) -> Step<Option<Event>> {
        self.recv_event_until(self.deadline)
    }

    /// Expects the peer to echo a message: its opcode and payload. Pings, pongs and how
    /// the peer fragments its echo do not matter (RFC 6455 §5.4 lets it fragment).
    ///
    /// # Errors
    /// FAILED on another message, a close, a timeout or a protocol error.
    pub fn expect_message(&mut self, opcode: u8, payload: &[u8]) -> Step<Message> {
        loop {
            match self.recv_event()? {
                Some(Event::Message(msg)) => {
                    if msg.opcode != opcode || msg.payload != payload {
                        return Err(Outcome::failed(format!(
                            "expected {} len={} {}, got {} len={} {}",
                            opcode_name(opcode),
                            payload.len(),
                            preview(payload),
                            opcode_name(msg.opcode),
                            msg.payload.len(),
                            preview(&msg.payload)
                        )));
                    }
                    return Ok(msg);
                }
                Some(Event::Ping(_) | Event::Pong(_)) => {}
                Some(Event::Close(code, _)) => {
                    return Err(Outcome::failed(format!("peer closed with {code:?} instead of echoing")));
                }
                Some(Event::Eof) => return Err(Outcome::failed("peer closed TCP instead of echoing")),
                None => {
                    return Err(self.timed_out(&format!("the echo of {} len={}", opcode_name(opcode), payload.len())));
                }
            }
        }
    }

    /// Expects a pong with this payload; other pongs are noted and skipped.
    ///
    /// # Errors
    /// FAILED on a message, a close, a timeout or a protocol error.
    pub fn expect_pong(&mut self, payload: &[u8]) -> Step<()> {
        loop {
            match self.recv_event()? {
                Some(Event::Pong(p)) if p == payload => return Ok(()),
                Some(Event::Pong(p)) => self.note(format!("skipped pong {} (not the one awaited)", preview(&p))),
                Some(Event::Ping(_)) => {}
                Some(Event::Message(m)) => {
                    return Err(Outcome::failed(format!("expected a pong, got a {} message", opcode_name(m.opcode))));
                }
                Some(Event::Close(code, _)) => return Err(Outcome::failed(format!("peer closed with {code:?}"))),
                Some(Event::Eof) => return Err(Outcome::failed("peer closed TCP instead of answering the ping")),
                None => return Err(self.timed_out("a pong")),
            }
        }
    }

    /// Expects nothing but pings and pongs for `quiet`, e.g. no reply to an unsolicited pong.
    ///
    /// # Errors
    /// FAILED on a message, a close or a protocol error.
    pub fn expect_quiet(&mut self, quiet: Duration) -> Step<()> {
        let until = (Instant::now() + quiet).min(self.deadline);
        loop {
            match self.recv_event_until(until)? {
                None => return Ok(()),
                Some(Event::Ping(_) | Event::Pong(_)) => {}
                Some(Event::Message(m)) => {
                    return Err(Outcome::failed(format!("unexpected {} message", opcode_name(m.opcode))));
                }
                Some(Event::Close(code, _)) => return Err(Outcome::failed(format!("peer closed with {code:?}"))),
                Some(Event::Eof) => return Err(Outcome::failed("peer closed TCP")),
            }
        }
    }

    /// Expects the peer to fail the connection with one of `codes` (RFC 6455 §7.1.7): a close
    /// frame with the code, then (for a server) the TCP close after our reply.
    ///
    /// OK with a listed code; NON-STRICT when the peer drops TCP without a close frame (the
    /// RFC allows it, but the peer then gives no reason); FAILED on another code, on a data
    /// message, or when nothing happens before the deadline.
    ///
    /// # Errors
    /// Never: the outcome is the verdict; `Err` only for protocol errors seen on the way.
    pub fn expect_failure(&mut self, codes: &[u16]) -> Step<Outcome> {
        match self.expect_failure_until(codes, self.deadline)? {
            Some(outcome) => Ok(outcome),
            None => Err(self.timed_out(&format!("the peer to fail the connection with {codes:?}"))),
        }
    }

    /// [`Session::expect_failure`] that returns `Ok(None)` on reaching `until`.
    ///
    /// # Errors
    /// FAILED when the peer breaks the protocol otherwise.
    pub fn expect_failure_until(&mut self, codes: &[u16], until: Instant) -> Step<Option<Outcome>> {
        loop {
            match self.recv_event_until(until)? {
                None => return Ok(None),
                Some(Event::Ping(_) | Event::Pong(_)) => {}
                Some(Event::Message(m)) => {
                    return Err(Outcome::failed(format!(
                        "peer delivered a {} message (len={} {}) instead of failing the connection",
                        opcode_name(m.opcode),
                        m.payload.len(),
                        preview(&m.payload)
                    )));
                }
                Some(Event::Close(code, _)) => {
                    let Some(code) = code.filter(|c| codes.contains(c)) else {
                        return Err(Outcome::failed(format!("peer closed with {code:?}, expected one of {codes:?}")));
                    };
                    return Ok(Some(self.answer_close(code)));
                }
                Some(Event::Eof) => {
                    return Ok(Some(Outcome::non_strict(format!(
                        "peer dropped TCP without a close frame (RFC 6455 §7.1.7 allows it; strict peers send {codes:?})"
                    ))));
                }
            }
        }
    }

    /// Closes normally with 1000 and expects the peer to echo 1000, then the TCP close.
    ///
    /// # Errors
    /// FAILED when the peer does not answer the close properly.
    pub fn close_normally(&mut self) -> Step<Outcome> {
        self.close_with(&OutFrame::close(1000, b""), Some(1000))
    }

    /// Sends `close` and expects the peer's close frame with `echo` (any valid code when
    /// `None`), then the TCP close. Another valid code than the one sent is NON-STRICT
    /// (RFC 6455 §5.5.1: "typically echos").
    ///
    /// # Errors
    /// FAILED on data after our close, a timeout, or an invalid close from the peer.
    pub fn close_with(&mut self, close: &OutFrame, echo: Option<u16>) -> Step<Outcome> {
        self.send(close);
        self.await_close_reply(echo)
    }

    /// The second half of [`Session::close_with`], for a close already sent by hand (e.g.
    /// with [`Session::send_raw`]).
    ///
    /// # Errors
    /// FAILED on data after our close, a timeout, or an invalid close from the peer.
    pub fn await_close_reply(&mut self, echo: Option<u16>) -> Step<Outcome> {
        self.close_sent = true;
        loop {
            match self.recv_event()? {
                Some(Event::Ping(_) | Event::Pong(_)) => {}
                Some(Event::Message(m)) => {
                    return Err(Outcome::failed(format!(
                        "peer sent a {} message after our close frame",
                        opcode_name(m.opcode)
                    )));
                }
                Some(Event::Close(code, _)) => {
                    let verdict = match (echo, code) {
                        (None, _) => Outcome::ok(),
                        (Some(want), Some(got)) if want == got => Outcome::ok(),
                        (Some(1000), None) => Outcome::ok(),
                        (Some(want), got) => Outcome::non_strict(format!(
                            "peer answered close {want} with {got:?} instead of echoing it"
                        )),
                    };
                    return Ok(self.finish_tcp(verdict));
                }
                Some(Event::Eof) => return Err(Outcome::failed("peer closed TCP without answering our close frame")),
                None => return Err(self.timed_out("the peer's close frame")),
            }
        }
    }

    /// Sends a close frame with `code` and waits at most `wait` for the peer's close frame or
    /// TCP close, judging nothing: for ending a case whose verdict is already known.
    pub fn close_quietly(&mut self, code: u16, wait: Duration) {
        self.send(&OutFrame::close(code, b""));
        self.close_sent = true;
        let until = Instant::now() + wait;
        while let Ok(Some(event)) = self.recv_event_until(until) {
            if matches!(event, Event::Close(..) | Event::Eof) {
                break;
            }
        }
        self.join_writer();
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Answers the peer's close frame with `code` and finishes the closing handshake: OK, or
    /// NON-STRICT when a server does not close TCP.
    pub fn answer_close(&mut self, code: u16) -> Outcome {
        self.send(&OutFrame::close(code, b""));
        self.close_sent = true;
        self.finish_tcp(Outcome::ok())
    }

    /// After the close handshake: a server must close TCP first (RFC 6455 §7.1.1); against
    /// a client we close it ourselves.
    fn finish_tcp(&mut self, outcome: Outcome) -> Outcome {
        if self.role == Role::Server {
            self.join_writer();
            let _ = self.stream.shutdown(Shutdown::Both);
            self.note("we closed TCP");
            return outcome;
        }
        let until = (Instant::now() + TCP_CLOSE_WAIT).min(self.deadline.max(Instant::now() + Duration::from_secs(1)));
        match self.recv_frame(until) {
            Ok(None) if self.peer_closed_tcp => outcome,
            Ok(None) => {
                let _ = self.stream.shutdown(Shutdown::Both);
                outcome.worst(Outcome::non_strict(format!(
                    "server did not close TCP within {} s of the close handshake (RFC 6455 §7.1.1)",
                    TCP_CLOSE_WAIT.as_secs()
                )))
            }
            Ok(Some(frame)) => Outcome::failed(format!("peer sent {} after its close frame", frame.describe())),
            Err(e) => e,
        }
    }

    fn on_close(&mut self, payload: &[u8]) -> Step<Event> {
        let (code, reason) = match payload {
            [] => (None, String::new()),
            [_] => return Err(Outcome::failed("peer sent a one-byte close payload (RFC 6455 §5.5.1)")),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                self.peer_close_code = Some(code);
                if CloseCode::try_from(code).is_err() {
                    return Err(Outcome::failed(format!("peer sent invalid close code {code} (RFC 6455 §7.4)")));
                }
                let Ok(reason) = std::str::from_utf8(reason) else {
                    return Err(Outcome::failed("peer sent a close reason that is not UTF-8 (RFC 6455 §5.5.1)"));
                };
                (Some(code), reason.to_string())
            }
        };
        Ok(Event::Close(code, reason))
    }

    fn add_fragment(&mut self, frame: InFrame) -> Step<Option<Message>> {
        let Some(msg) = self.partial.as_mut() else { return Ok(None) };
        if msg.payload.len() + frame.payload.len() > MAX_MESSAGE {
            return Err(Outcome::failed(format!("peer's message exceeds the suite's {MAX_MESSAGE} byte limit")));
        }
        let text_plain = msg.opcode == op::TEXT && !msg.compressed;
        msg.payload.extend_from_slice(&frame.payload);
        msg.frames += 1;
        if text_plain && self.utf8.feed(&frame.payload).is_err() {
            return Err(Outcome::failed("peer sent invalid UTF-8 in a text message (RFC 6455 §8.1)"));
        }
        if !frame.fin {
            return Ok(None);
        }
        let Some(mut msg) = self.partial.take() else { return Ok(None) };
        if msg.compressed {
            let Some(codec) = self.codec.as_mut() else {
                return Err(Outcome::failed("peer set RSV1 without negotiating permessage-deflate (RFC 6455 §5.2)"));
            };
            msg.payload = codec
                .decompress(&msg.payload, MAX_MESSAGE)
                .map_err(|e| Outcome::failed(format!("peer's compressed message: {e}")))?;
            self.note(format!("inflated to {} bytes", msg.payload.len()));
            if msg.opcode == op::TEXT && std::str::from_utf8(&msg.payload).is_err() {
                return Err(Outcome::failed("peer sent invalid UTF-8 in a compressed text message"));
            }
        } else if msg.opcode == op::TEXT && self.utf8.finish().is_err() {
            return Err(Outcome::failed("peer's text message ends inside a UTF-8 sequence"));
        }
        Ok(Some(msg))
    }

    /// Reads one frame before `until`: `Ok(None)` on timeout or EOF (then
    /// `peer_closed_tcp` is set).
    fn recv_frame(&mut self, until: Instant) -> Step<Option<InFrame>> {
        loop {
            match FrameHeader::decode(&self.rbuf) {
                Err(e) => {
                    let head = preview(self.rbuf.get(..self.rbuf.len().min(14)).unwrap_or_default());
                    self.log(Direction::In, format!("invalid header {head}"));
                    return Err(Outcome::failed(format!("peer sent an invalid frame header: {e}")));
                }
                Ok(Some((header, n))) => {
                    let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
                    if len > MAX_MESSAGE {
                        return Err(Outcome::failed(format!(
                            "peer sent a frame of {len} bytes, over the suite's limit"
                        )));
                    }
                    if self.rbuf.len() - n >= len {
                        let mut payload: Vec<u8> = self.rbuf.drain(..n + len).skip(n).collect();
                        if let Some(key) = header.mask {
                            ws_proto::mask::apply_mask(&mut payload, key, 0);
                        }
                        let frame = InFrame {
                            fin: header.fin,
                            rsv: header.rsv,
                            opcode: header.opcode,
                            masked: header.mask.is_some(),
                            payload,
                        };
                        self.log(Direction::In, frame.describe());
                        self.check_frame(&frame)?;
                        return Ok(Some(frame));
                    }
                }
                Ok(None) => {}
            }
            if self.peer_closed_tcp || !self.fill(until) {
                return Ok(None);
            }
        }
    }

    fn check_frame(&mut self, frame: &InFrame) -> Step<()> {
        match (self.role, frame.masked) {
            (Role::Client, true) => {
                return Err(Outcome::failed("server sent a masked frame (RFC 6455 §5.1)"));
            }
            (Role::Server, false) => {
                return Err(Outcome::failed("client sent an unmasked frame (RFC 6455 §5.1)"));
            }
            _ => {}
        }
        let rsv1 = frame.rsv & crate::wire::rsv::RSV1 != 0;
        if rsv1 && self.codec.is_some() && !frame.opcode.is_data() {
            let what = if frame.opcode == Opcode::Continuation { "a continuation" } else { "a control" };
            return Err(Outcome::failed(format!(
                "peer set RSV1 on {what} frame (RFC 7692 §6.1: only on the first frame of a data message)"
            )));
        }
        let rsv1_ok = self.codec.is_some() && frame.opcode.is_data();
        let bad_rsv = frame.rsv & !(if rsv1_ok { crate::wire::rsv::RSV1 } else { 0 });
        if bad_rsv != 0 {
            return Err(Outcome::failed(format!(
                "peer set RSV bits {:#x} without an extension that defines them (RFC 6455 §5.2)",
                bad_rsv >> 4
            )));
        }
        Ok(())
    }

    /// Reads more bytes; false on timeout or EOF.
    fn fill(&mut self, until: Instant) -> bool {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.peer_closed_tcp = true;
                    let extra = if self.rbuf.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} bytes of a partial frame left)", self.rbuf.len())
                    };
                    self.log(Direction::Note, format!("peer closed TCP{extra}"));
                    return false;
                }
                Ok(n) => {
                    self.rbuf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    return true;
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.peer_closed_tcp = true;
                    self.log(Direction::Note, format!("TCP error, taken as closed: {e}"));
                    return false;
                }
            }
        }
    }

    /// Encodes a frame as [`Session::send`] would (masked by role) and logs it as sent; for
    /// cases that then write the bytes in parts with [`Session::send_raw`].
    pub fn encode(&mut self, frame: &OutFrame) -> Vec<u8> {
        let masked = frame.mask.unwrap_or(self.role == Role::Client);
        let key = masked.then(|| self.next_key());
        self.log(Direction::Out, frame.describe(masked));
        frame.encode(key)
    }

    fn write(&mut self, wire: Vec<u8>, background: bool) {
        self.join_writer();
        if !background {
            self.write_now(&wire);
            return;
        }
        // A big frame is written from a thread, so a peer that echoes while still reading
        // cannot deadlock us both on full TCP buffers.
        match self.stream.try_clone() {
            Ok(mut stream) => {
                let _ = stream
                    .set_write_timeout(Some(self.deadline.saturating_duration_since(Instant::now()).max(MIN_WRITE)));
                self.writer = Some(std::thread::spawn(move || stream.write_all(&wire)));
            }
            Err(e) => self.note(format!("cannot clone the socket: {e}")),
        }
    }

    fn write_now(&mut self, bytes: &[u8]) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now()).max(MIN_WRITE);
        let _ = self.stream.set_write_timeout(Some(left));
        match self.stream.write_all(bytes) {
            Ok(()) => true,
            Err(e) => {
                self.note(format!("write failed: {e}"));
                false
            }
        }
    }

    /// Waits for a background write to finish.
    pub(crate) fn join_writer(&mut self) {
        if let Some(writer) = self.writer.take() {
            match writer.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => self.note(format!("write failed: {e}")),
                Err(_) => self.note("writer thread panicked"),
            }
        }
    }

    fn timed_out(&mut self, what: &str) -> Outcome {
        self.note(format!("timed out waiting for {what}"));
        Outcome::failed(format!("timed out waiting for {what}"))
    }

    fn log(&mut self, dir: Direction, text: String) {
        let at_ms = self.start.elapsed().as_millis() as u64;
        if self.trace.len() < MAX_TRACE {
            self.trace.push(TraceLine { at_ms, dir, text });
        } else if self.trace.len() == MAX_TRACE {
            self.trace.push(TraceLine { at_ms, dir: Direction::Note, text: "(trace truncated)".into() });
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.join_writer();
    }
}

/// Payloads above this are written from a background thread.
const BACKGROUND_WRITE: usize = 256 * 1024;
/// The largest message the suite accepts from a peer.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// How long a server gets to close TCP after the close handshake.
const TCP_CLOSE_WAIT: Duration = Duration::from_secs(3);
/// A floor for write timeouts, so a write after the deadline still gets a chance to fail.
const MIN_WRITE: Duration = Duration::from_millis(200);
/// Trace lines kept per case.
const MAX_TRACE: usize = 400;
