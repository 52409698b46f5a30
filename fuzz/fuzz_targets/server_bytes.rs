//! A server `Connection` fed a valid upgrade and then arbitrary bytes in arbitrary chunks
//! (or, in HTTP mode, arbitrary bytes from the first byte), with time passing; in client
//! mode the same for a client `Connection` fed a valid 101 (the frame decoder's other role).
//!
//! Input: a flags byte, a chunking byte, then the stream. Flags: bit 0 permessage-deflate,
//! 1 auto_pong, 2 auto_close_reply, 3 EOF at the end, 4 an hour passes at the end, 5 HTTP
//! mode, 6 time passes between chunks, 7 client mode. The chunking byte: bits 0-5 the
//! chunk size less one; bit 7 payloads go into the buffer `payload_buf` lends, wherever it
//! does (as ws-tokio reads large payloads); else bit 6: each chunk, 256 times as large,
//! goes through `receive_buf` (as ws-tokio reads after a large read), where whole large
//! messages are split off the buffer.
//!
//! Invariants:
//! - `Event::Closed` at most once, and last: no event after it, no output after it;
//! - `Open` at most once, and no message before it;
//! - the status never moves back once the connection is open (and only from `Handshake`
//!   to `Connection` between keep-alive HTTP requests before that);
//! - a failure is sticky: once `error()` is set (by `receive` or a timeout), every later
//!   `receive` returns it;
//! - total output ≤ 2 × total input + 4 KiB (3 × for a client, whose pong to an empty
//!   ping is 6 bytes for 2) (no amplification: a pong or close echoes at most what came
//!   in);
//! - received text is UTF-8, messages are within `max_message_size`, control payloads
//!   within 125 bytes.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use libfuzzer_sys::fuzz_target;
use ws_proto::connection::{Config, Connection, Entropy, Event, Status};
use ws_proto::deflate::{DeflateConfig, DeflateParams};
use ws_proto::handshake::{ClientRequest, HttpLimits, Response, parse_request, validate_upgrade};

const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const UPGRADE_DEFLATE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

const MAX_MESSAGE: usize = 1 << 15;

struct Check {
    server: Connection,
    now: Instant,
    input: usize,
    output: usize,
    closed: bool,
    opened: bool,
    status: Status,
    http_mode: bool,
    output_drained_at_close: bool,
    /// Allowed output per input byte.
    factor: usize,
}

impl Check {
    fn feed(&mut self, chunk: &[u8]) {
        self.input += chunk.len();
        let before = self.server.error().cloned();
        let result = self.server.receive(chunk, self.now);
        self.check_result(before, result);
    }

    /// As `feed`, through `receive_buf`: the chunk in a buffer of its own, all of it taken.
    fn feed_buf(&mut self, chunk: &[u8]) {
        self.input += chunk.len();
        let before = self.server.error().cloned();
        let mut buf = bytes::BytesMut::from(chunk);
        let result = self.server.receive_buf(&mut buf, self.now);
        assert!(buf.is_empty(), "receive_buf left {} bytes", buf.len());
        self.check_result(before, result);
    }

    /// As `feed`, with payload bytes appended to the lent message buffer where it is lent.
    fn feed_appending(&mut self, mut chunk: &[u8]) {
        loop {
            let before = self.server.error().cloned();
            let Some((buf, max)) = self.server.payload_buf(1) else { break };
            assert!(before.is_none(), "payload_buf lent after an error");
            let take = max.min(chunk.len());
            if take == 0 {
                return;
            }
            self.input += take;
            buf.extend_from_slice(&chunk[..take]);
            let result = self.server.receive_appended(self.now);
            self.check_result(before, result);
            chunk = &chunk[take..];
        }
        if !chunk.is_empty() {
            self.feed(chunk);
        }
    }

    fn check_result(&mut self, before: Option<ws_proto::Error>, result: Result<(), ws_proto::Error>) {
        match (before, result) {
            (Some(sticky), result) => assert_eq!(result, Err(sticky), "error not sticky"),
            (None, Err(error)) => assert_eq!(self.server.error(), Some(&error)),
            (None, Ok(())) => {}
        }
        self.after();
    }

    fn after(&mut self) {
        while let Some(event) = self.server.poll_event() {
            assert!(!self.closed, "event {event:?} after Closed");
            match &event {
                Event::Request(request) => {
                    if !self.http_mode || request.is_websocket_upgrade() {
                        match self.server.accept_response(request) {
                            Ok(response) => self.server.respond(response).expect("respond to a pending request"),
                            Err(error) => self.server.reject(error),
                        }
                    } else {
                        self.server.respond(Response::new(204)).expect("respond to a pending request");
                    }
                }
                Event::Open => {
                    assert!(!self.opened, "opened twice");
                    self.opened = true;
                }
                Event::Message(message) => {
                    assert!(self.opened, "message before Open");
                    assert!(message.data().len() <= MAX_MESSAGE, "message of {} bytes", message.data().len());
                    if message.is_text() {
                        assert!(std::str::from_utf8(message.data()).is_ok(), "text message not UTF-8");
                    }
                }
                Event::Ping(payload) | Event::Pong(payload) => {
                    assert!(self.opened);
                    assert!(payload.len() <= 125);
                }
                Event::CloseReceived(frame) => {
                    assert!(self.opened);
                    assert!(frame.reason.len() <= 123);
                }
                Event::Closed(_) => {
                    self.closed = true;
                    assert_eq!(self.server.status(), Status::Closed);
                }
                _ => {}
            }
        }
        let status = self.server.status();
        let keep_alive_reset = self.http_mode && self.status == Status::Handshake && status == Status::Connection;
        assert!(status >= self.status || keep_alive_reset, "status moved back: {:?} -> {status:?}", self.status);
        self.status = status;
        let out = self.server.output_len();
        if self.closed && self.output_drained_at_close {
            assert_eq!(out, 0, "output after Closed");
        }
        self.output += out;
        self.server.output().advance(out);
        if self.closed {
            self.output_drained_at_close = true;
        }
        assert!(self.output <= self.factor * self.input + 4096, "{} bytes out for {} in", self.output, self.input);
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, chunking, stream @ ..] = data else { return };
    let deflate = flags & 1 != 0;
    let client_mode = flags & 0x80 != 0;
    let http_mode = flags & 0x20 != 0 && !client_mode;
    let config = Config {
        max_frame_size: 1 << 14,
        max_message_size: MAX_MESSAGE,
        http: HttpLimits { max_head_size: 1024, max_headers: 16, max_body_size: 256 },
        handshake_timeout: Some(Duration::from_secs(10)),
        close_timeout: Duration::from_secs(5),
        idle_timeout: Some(Duration::from_secs(30)),
        ping_interval: Some(Duration::from_secs(7)),
        auto_pong: flags & 2 != 0,
        auto_close_reply: flags & 4 != 0,
        deflate: deflate.then(|| DeflateConfig { level: 1, ..DeflateConfig::default() }),
        ..Config::default()
    };
    let now = Instant::now();
    let mut check = Check {
        server: if client_mode {
            let config = Config { entropy: Entropy::Seeded(u64::from(*chunking)), ..config };
            Connection::client(Arc::new(config), ClientRequest::new("server.example.com", "/chat", [0; 16]), now)
        } else {
            Connection::server(Arc::new(config), now)
        },
        now,
        input: 0,
        output: 0,
        closed: false,
        opened: false,
        status: Status::Connection,
        http_mode,
        output_drained_at_close: false,
        factor: if client_mode { 3 } else { 2 },
    };
    if client_mode {
        // Answer the client's own request as a server would, then stream at it.
        let len = check.server.output_len();
        let request = check.server.output().copy_to_bytes(len);
        check.output += request.len();
        let head = parse_request(&request, &HttpLimits::default()).expect("our request").expect("complete");
        let upgrade = validate_upgrade(&head.request).expect("our request is an upgrade");
        let offers: Vec<&str> = upgrade.extensions.iter().map(String::as_str).collect();
        let agreed = DeflateParams::negotiate(&offers, &DeflateConfig::default());
        let response = Response::switching_protocols(&upgrade, None, agreed.as_ref().map(|(_, h)| h.as_str()));
        check.feed(&response.to_bytes());
        assert!(check.opened, "the 101 did not open");
        assert_eq!(check.server.deflate_params().is_some(), deflate);
    } else if !http_mode {
        check.feed(if deflate { UPGRADE_DEFLATE } else { UPGRADE });
        assert!(check.opened, "the upgrade did not open");
        assert_eq!(check.server.deflate_params().is_some(), deflate);
    }
    let append = chunking & 0x80 != 0;
    let in_buf = !append && chunking & 0x40 != 0;
    let chunk = (usize::from(*chunking & 0x3f) + 1) * if in_buf { 256 } else { 1 };
    let tick = flags & 0x40 != 0;
    for piece in stream.chunks(chunk) {
        if append {
            check.feed_appending(piece);
        } else if in_buf {
            check.feed_buf(piece);
        } else {
            check.feed(piece);
        }
        if tick {
            check.now += Duration::from_millis(u64::from(*chunking) * 40);
            check.server.handle_timeout(check.now);
            check.after();
        }
    }
    if flags & 8 != 0 {
        check.server.receive_eof(check.now);
        check.after();
        assert!(check.closed, "EOF did not close");
    }
    if flags & 0x10 != 0 {
        check.now += Duration::from_secs(3600);
        check.server.handle_timeout(check.now);
        check.after();
    }
    // Whatever happened, a closed connection stays closed and silent.
    if check.closed {
        check.feed(b"\x81\x80\0\0\0\0");
        assert_eq!(check.server.status(), Status::Closed);
    }
});
