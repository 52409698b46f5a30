//! Structured: a client and a server `Connection` in memory, each maybe offering or
//! accepting permessage-deflate with arbitrary parameters, driven by an arbitrary sequence
//! of operations: deliver bytes either way cut at arbitrary points, send whole messages or
//! hand-made fragments (text, binary, continuation, with or without FIN and COMPRESS),
//! pings, pongs, closes, time passing, end of stream. At the end every byte still queued
//! is delivered (time stands still) and the server closing TCP is an EOF for the client.
//!
//! Invariants, on both sides:
//! - no panic; `Closed` at most once and last (no event, no output after it); `Open`
//!   once, before any message; the status never moves back;
//! - the messages a side receives are, in order, a prefix of the messages the other side
//!   sent successfully (same opcode and payload), and arrive compressed exactly when the
//!   sender asked for compression and the agreement lets it compress;
//! - both ends agree on the deflate parameters;
//! - a side fails only with `MessageTooBig` after the peer sent a message over
//!   `max_message_size`, or with a handshake timeout: a well-behaved peer of this crate
//!   never breaks the protocol;
//! - when no side failed, timed out or saw the stream end early, every message sent was
//!   received.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bytes::{Buf, Bytes};
use libfuzzer_sys::fuzz_target;
use ws_proto::connection::{CloseReason, Config, Connection, Entropy, Event, Message, Status};
use ws_proto::deflate::DeflateConfig;
use ws_proto::handshake::ClientRequest;
use ws_proto::{CloseCode, Error, Flags, HandshakeError, Opcode, ProtocolError};

#[derive(Debug, Arbitrary)]
struct DeflateSetup {
    level: u8,
    server_bits: u8,
    client_bits: u8,
    server_nct: bool,
    client_nct: bool,
}

impl DeflateSetup {
    fn config(&self) -> DeflateConfig {
        DeflateConfig {
            level: u32::from(self.level % 10),
            server_max_window_bits: 8 + self.server_bits % 8,
            client_max_window_bits: 8 + self.client_bits % 8,
            server_no_context_takeover: self.server_nct,
            client_no_context_takeover: self.client_nct,
            ..DeflateConfig::default()
        }
    }
}

#[derive(Debug, Arbitrary)]
struct SideSetup {
    deflate: Option<DeflateSetup>,
    auto_pong: bool,
    auto_close_reply: bool,
    max_outgoing_frame_size: Option<u16>,
}

#[derive(Debug, Arbitrary)]
struct Setup {
    client: SideSetup,
    server: SideSetup,
    max_message_size: u16,
    idle_timeout: Option<u8>,
    ping_interval: Option<u8>,
    seed: u64,
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum Who {
    Client,
    Server,
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Move up to `max` bytes (0: all) of `from`'s output to the other side, cut at `cuts`;
    /// with `append`, payloads go into the buffer `payload_buf` lends wherever it does.
    Deliver {
        from: Who,
        max: u16,
        cuts: Vec<u16>,
        append: bool,
    },
    /// A whole message; text is made UTF-8 lossily.
    Send {
        who: Who,
        text: bool,
        data: Vec<u8>,
        repeat: u8,
        compress: bool,
    },
    /// One frame by hand: 0 continuation, 1 text (raw bytes, may be invalid), 2 binary.
    Frame {
        who: Who,
        opcode: u8,
        data: Vec<u8>,
        fin: bool,
        compress: bool,
    },
    Ping {
        who: Who,
        data: Vec<u8>,
    },
    Pong {
        who: Who,
        data: Vec<u8>,
    },
    Close {
        who: Who,
        code: u16,
        reason: String,
    },
    Advance {
        millis: u16,
    },
    Eof {
        who: Who,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    setup: Setup,
    ops: Vec<Op>,
}

/// One endpoint and what it has seen.
struct Peer {
    conn: Connection,
    status: Status,
    opened: bool,
    closed: Option<CloseReason>,
    /// Output must stay empty once the `Closed` event was seen and the output drained.
    silent: bool,
    error: Option<Error>,
    received: Vec<Message>,
    /// Messages this side sent successfully: opcode, payload, compressed.
    sent: Vec<(Opcode, Vec<u8>, bool)>,
    /// The fragmented message being sent.
    partial: Option<(Opcode, Vec<u8>, bool)>,
    /// This side sent a message over the peer's limit.
    oversized: bool,
    config: Arc<Config>,
}

impl Peer {
    fn new(conn: Connection, config: Arc<Config>) -> Peer {
        Peer {
            status: conn.status(),
            conn,
            opened: false,
            closed: None,
            silent: false,
            error: None,
            received: Vec::new(),
            sent: Vec::new(),
            partial: None,
            oversized: false,
            config,
        }
    }

    /// Feeds bytes; a failure (by `receive` or a timer) is sticky.
    fn receive(&mut self, bytes: &[u8], now: Instant) {
        let before = self.conn.error().cloned();
        let result = self.conn.receive(bytes, now);
        match (before, result) {
            (Some(sticky), result) => assert_eq!(result, Err(sticky), "receive error not sticky"),
            (None, Err(error)) => assert_eq!(self.conn.error(), Some(&error)),
            (None, Ok(())) => {}
        }
        self.error = self.conn.error().cloned();
    }

    /// As `receive`, but as an adapter that reads large payloads into the message buffer:
    /// wherever `payload_buf` lends it, the bytes are appended there.
    fn receive_appending(&mut self, mut bytes: &[u8], now: Instant) {
        while !bytes.is_empty() {
            let before = self.conn.error().cloned();
            let (take, result) = match self.conn.payload_buf(1) {
                Some((buf, max)) => {
                    assert!(before.is_none(), "payload_buf lent after an error");
                    let take = max.min(bytes.len());
                    assert!(take > 0, "payload_buf lent no room");
                    buf.extend_from_slice(&bytes[..take]);
                    (take, self.conn.receive_appended(now))
                }
                // At most a frame header, so that the next payload can be lent again.
                None => {
                    let take = bytes.len().min(14);
                    (take, self.conn.receive(&bytes[..take], now))
                }
            };
            match (before, result) {
                (Some(sticky), result) => assert_eq!(result, Err(sticky), "receive error not sticky"),
                (None, Err(error)) => assert_eq!(self.conn.error(), Some(&error)),
                (None, Ok(())) => {}
            }
            self.error = self.conn.error().cloned();
            bytes = &bytes[take..];
        }
    }

    /// Drains events, answering requests; checks the event and status invariants.
    fn poll(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            assert!(self.closed.is_none(), "event {event:?} after Closed");
            match event {
                Event::Request(request) => match self.conn.accept_response(&request) {
                    Ok(response) => self.conn.respond(response).expect("respond"),
                    Err(error) => panic!("our own client's request refused: {error:?}"),
                },
                Event::Open => {
                    assert!(!self.opened, "Open twice");
                    self.opened = true;
                }
                Event::Message(message) => {
                    assert!(self.opened, "message before Open");
                    self.received.push(message);
                }
                Event::Ping(p) | Event::Pong(p) => assert!(self.opened && p.len() <= 125),
                Event::CloseReceived(_) => assert!(self.opened),
                Event::Closed(reason) => {
                    assert_eq!(self.conn.status(), Status::Closed);
                    self.closed = Some(reason);
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        self.error = self.conn.error().cloned();
        let status = self.conn.status();
        assert!(status >= self.status, "status moved back: {:?} -> {status:?}", self.status);
        self.status = status;
        if self.silent {
            assert_eq!(self.conn.output_len(), 0, "output after Closed");
        }
    }

    fn compresses(&self, compress: bool) -> bool {
        let Some(params) = self.conn.deflate_params() else { return false };
        let level = self.config.deflate.as_ref().map_or(6, |d| d.level);
        let bits = match self.conn.role() {
            ws_proto::Role::Client => params.client_max_window_bits(),
            ws_proto::Role::Server => params.server_max_window_bits(),
        };
        compress && level > 0 && bits > 8
    }

    fn frame(&mut self, opcode: Opcode, data: Vec<u8>, fin: bool, compress: bool, peer_limit: usize) {
        let flags = Flags::NONE.with(Flags::FIN, fin).with(Flags::COMPRESS, compress);
        let compressed = self.compresses(compress);
        let result = self.conn.send_frame(opcode, Bytes::from(data.clone()), flags);
        if result.is_err() {
            return;
        }
        let message = match (opcode, self.partial.take()) {
            (Opcode::Continuation, Some((op, mut so_far, c))) => {
                so_far.extend_from_slice(&data);
                (op, so_far, c)
            }
            (Opcode::Continuation, None) => panic!("a continuation without a message was accepted"),
            (op, None) => (op, data, compressed),
            (_, Some(_)) => panic!("a new message inside a fragmented one was accepted"),
        };
        if message.1.len() > peer_limit {
            self.oversized = true;
        }
        if fin {
            self.sent.push(message);
        } else {
            self.partial = Some(message);
        }
    }
}

struct World {
    client: Peer,
    server: Peer,
    now: Instant,
    eof: bool,
}

impl World {
    fn pair(&mut self, who: Who) -> (&mut Peer, &mut Peer) {
        match who {
            Who::Client => (&mut self.client, &mut self.server),
            Who::Server => (&mut self.server, &mut self.client),
        }
    }

    fn poll(&mut self) {
        self.server.poll();
        self.client.poll();
    }

    fn deliver(&mut self, from: Who, max: usize, cuts: &[u16], append: bool) -> bool {
        let now = self.now;
        let (src, dst) = self.pair(from);
        let available = src.conn.output_len();
        let n = if max == 0 { available } else { max.min(available) };
        if n == 0 {
            return false;
        }
        let bytes = src.conn.output().copy_to_bytes(n);
        let mut points: Vec<usize> = cuts.iter().map(|c| usize::from(*c) % (n + 1)).collect();
        points.sort_unstable();
        points.push(n);
        let mut at = 0;
        for point in points {
            if append {
                dst.receive_appending(&bytes[at..point], now);
            } else {
                dst.receive(&bytes[at..point], now);
            }
            at = point;
        }
        true
    }

    /// Everything after a side closes for good: the output is drained and stays so.
    fn mark_silent(&mut self) {
        for peer in [&mut self.client, &mut self.server] {
            if peer.closed.is_some() && peer.conn.output_len() == 0 {
                peer.silent = true;
            }
        }
    }

    fn check_messages(&self) {
        for (sender, receiver) in [(&self.client, &self.server), (&self.server, &self.client)] {
            assert!(
                receiver.received.len() <= sender.sent.len(),
                "{} messages received, {} sent",
                receiver.received.len(),
                sender.sent.len()
            );
            for (i, (got, (opcode, data, compressed))) in receiver.received.iter().zip(&sender.sent).enumerate() {
                assert_eq!(got.opcode(), *opcode, "message {i}");
                assert!(
                    got.data()[..] == data[..],
                    "message {i}: {} bytes sent, {} received",
                    data.len(),
                    got.data().len()
                );
                assert_eq!(got.was_compressed(), *compressed, "message {i}: compression");
            }
        }
    }

    fn check_errors(&self) {
        for (peer, other) in [(&self.client, &self.server), (&self.server, &self.client)] {
            match &peer.error {
                None | Some(Error::Handshake(HandshakeError::TimedOut)) => {}
                Some(Error::Protocol(ProtocolError::MessageTooBig { .. })) if other.oversized => {}
                Some(error) => panic!(
                    "{:?} failed with {error:?} on bytes from its peer (peer sent {} messages, oversized: {})",
                    peer.conn.role(),
                    other.sent.len(),
                    other.oversized
                ),
            }
            if let Some(CloseReason::Failed(error)) = &peer.closed {
                assert!(
                    matches!(error, Error::Handshake(HandshakeError::TimedOut))
                        || matches!(error, Error::Protocol(ProtocolError::MessageTooBig { .. }) if other.oversized),
                    "{:?} failed with {error:?}",
                    peer.conn.role()
                );
            }
        }
    }
}

fn config(side: &SideSetup, setup: &Setup, max_message_size: usize) -> Config {
    Config {
        max_frame_size: 1 << 20,
        max_message_size,
        idle_timeout: setup.idle_timeout.map(|s| Duration::from_secs(u64::from(s % 60) + 1)),
        ping_interval: setup.ping_interval.map(|s| Duration::from_secs(u64::from(s % 60) + 1)),
        auto_pong: side.auto_pong,
        auto_close_reply: side.auto_close_reply,
        deflate: side.deflate.as_ref().map(DeflateSetup::config),
        max_outgoing_frame_size: side.max_outgoing_frame_size.map(|n| usize::from(n % 512) + 1),
        entropy: Entropy::Seeded(setup.seed),
        ..Config::default()
    }
}

fuzz_target!(|input: Input| {
    let setup = &input.setup;
    let max_message_size = usize::from(setup.max_message_size % 4096) + 1;
    let client_config = Arc::new(config(&setup.client, setup, max_message_size));
    let server_config = Arc::new(config(&setup.server, setup, max_message_size));
    let now = Instant::now();
    let client = Connection::client(client_config.clone(), ClientRequest::new("localhost", "/chat", [0; 16]), now);
    let server = Connection::server(server_config.clone(), now);
    let mut world =
        World { client: Peer::new(client, client_config), server: Peer::new(server, server_config), now, eof: false };

    for op in input.ops.iter().take(64) {
        match op {
            Op::Deliver { from, max, cuts, append } => {
                let cuts: Vec<u16> = cuts.iter().take(8).copied().collect();
                world.deliver(*from, usize::from(*max), &cuts, *append);
            }
            Op::Send { who, text, data, repeat, compress } => {
                let mut data = data.clone();
                let unit = data.clone();
                for _ in 0..*repeat % 64 {
                    data.extend_from_slice(&unit);
                }
                let (me, _) = world.pair(*who);
                if *text {
                    let text = String::from_utf8_lossy(&data).into_owned().into_bytes();
                    me.frame(Opcode::Text, text, true, *compress, max_message_size);
                } else {
                    me.frame(Opcode::Binary, data, true, *compress, max_message_size);
                }
            }
            Op::Frame { who, opcode, data, fin, compress } => {
                let opcode = [Opcode::Continuation, Opcode::Text, Opcode::Binary][usize::from(opcode % 3)];
                let (me, _) = world.pair(*who);
                me.frame(opcode, data.clone(), *fin, *compress, max_message_size);
            }
            Op::Ping { who, data } => {
                let (me, _) = world.pair(*who);
                let _ = me.conn.ping(Bytes::from(data.clone()));
            }
            Op::Pong { who, data } => {
                let (me, _) = world.pair(*who);
                let _ = me.conn.pong(Bytes::from(data.clone()));
            }
            Op::Close { who, code, reason } => {
                let (me, _) = world.pair(*who);
                let code = CloseCode::try_from(*code).unwrap_or(CloseCode::NORMAL);
                if me.conn.close(code, reason).is_ok() {
                    me.partial = None;
                }
            }
            Op::Advance { millis } => {
                world.now += Duration::from_millis(u64::from(*millis) * 4);
                let now = world.now;
                world.client.conn.handle_timeout(now);
                world.server.conn.handle_timeout(now);
            }
            Op::Eof { who } => {
                let now = world.now;
                let (me, _) = world.pair(*who);
                let open = me.conn.status() != Status::Closed;
                me.conn.receive_eof(now);
                world.eof |= open;
            }
        }
        world.poll();
        world.check_messages();
        world.check_errors();
        world.mark_silent();
    }

    // Deliver everything, time standing still; a finished side closes TCP.
    for _ in 0..1000 {
        let mut moved = world.deliver(Who::Client, 0, &[], false);
        moved |= world.deliver(Who::Server, 0, &[], true);
        world.poll();
        for who in [Who::Client, Who::Server] {
            let now = world.now;
            let (me, other) = world.pair(who);
            if me.conn.is_finished() && other.conn.status() != Status::Closed {
                other.conn.receive_eof(now);
                moved = true;
            }
        }
        world.poll();
        world.check_messages();
        world.check_errors();
        world.mark_silent();
        if !moved {
            break;
        }
    }

    // Both ends agree on compression once both are open.
    if world.client.opened && world.server.opened {
        let offered = world.client.config.deflate.is_some() && world.server.config.deflate.is_some();
        let (c, s) = (world.client.conn.deflate_params(), world.server.conn.deflate_params());
        if world.client.closed.is_none() && world.server.closed.is_none() {
            assert_eq!(c, s, "deflate parameters differ");
            assert_eq!(c.is_some(), offered);
        }
    }

    // Nothing lost when nothing went wrong.
    let clean = |p: &Peer| p.error.is_none() && matches!(p.closed, None | Some(CloseReason::Handshake { .. }));
    if !world.eof && clean(&world.client) && clean(&world.server) {
        assert_eq!(world.server.received.len(), world.client.sent.len(), "client messages lost");
        assert_eq!(world.client.received.len(), world.server.sent.len(), "server messages lost");
    }
});
