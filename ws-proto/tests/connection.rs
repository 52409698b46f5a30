//! The connection state machine, driven in memory: a client and a server `Connection`
//! trading bytes with simulated time, and raw hostile bytes against each role.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use proptest::prelude::*;
use ws_proto::connection::{CloseReason, Config, Connection, Entropy, Event, Message, Status, Timer};
use ws_proto::handshake::{ClientRequest, Response};
use ws_proto::{CloseCode, CloseFrame, Error, Flags, Frame, Opcode, ProtocolError, Role, SendError};

/// A client and a server connected in memory.
struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
}

impl Pair {
    fn new(config: Config) -> Pair {
        Pair::with_configs(config.clone(), config)
    }

    fn with_configs(client: Config, server: Config) -> Pair {
        let now = Instant::now();
        let client_config = Arc::new(Config { entropy: Entropy::Seeded(7), ..client });
        let server = Connection::server(Arc::new(server), now);
        let client = Connection::client(client_config, ClientRequest::new("localhost", "/chat", [0; 16]), now);
        let mut pair = Pair { client, server, now, client_events: Vec::new(), server_events: Vec::new() };
        pair.drive();
        pair
    }

    fn open(config: Config) -> Pair {
        let pair = Pair::new(config);
        assert_eq!(pair.client.status(), Status::Active);
        assert_eq!(pair.server.status(), Status::Active);
        pair
    }

    /// Moves bytes both ways and answers requests, until nothing moves.
    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(event) = self.server.poll_event() {
                if let Event::Request(request) = &event {
                    match self.server.accept_response(request) {
                        Ok(response) => self.server.respond(response).unwrap(),
                        Err(e) => self.server.reject(e),
                    }
                }
                self.server_events.push(event);
                moved = true;
            }
            while let Some(event) = self.client.poll_event() {
                self.client_events.push(event);
                moved = true;
            }
            moved |= transfer(&mut self.client, &mut self.server, self.now);
            moved |= transfer(&mut self.server, &mut self.client, self.now);
            if !moved {
                return;
            }
        }
    }

    fn side(&mut self, role: Role) -> (&mut Connection, &mut Connection) {
        match role {
            Role::Client => (&mut self.client, &mut self.server),
            Role::Server => (&mut self.server, &mut self.client),
        }
    }

    fn events(&self, role: Role) -> &[Event] {
        match role {
            Role::Client => &self.client_events,
            Role::Server => &self.server_events,
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drive();
    }
}

fn transfer(from: &mut Connection, to: &mut Connection, now: Instant) -> bool {
    let mut moved = false;
    while from.output().has_remaining() {
        let chunk = from.output().chunk().to_vec();
        from.output().advance(chunk.len());
        let _ = to.receive(&chunk, now);
        moved = true;
    }
    if from.is_finished() && to.status() != Status::Closed && from.role() == Role::Server {
        // The server closes TCP once finished.
        to.receive_eof(now);
        moved = true;
    }
    moved
}

fn messages(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn closed(events: &[Event]) -> Vec<&CloseReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Closed(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn drain(conn: &mut Connection) -> Bytes {
    let len = conn.output_len();
    conn.output().copy_to_bytes(len)
}

const ROLES: [Role; 2] = [Role::Client, Role::Server];

#[test]
fn handshake_opens_both_sides() {
    let pair = Pair::open(Config::default());
    assert_eq!(pair.server_events.iter().filter(|e| **e == Event::Open).count(), 1);
    assert_eq!(pair.client_events, vec![Event::Open]);
}

#[test]
fn has_events_says_whether_poll_event_has_one() {
    let mut pair = Pair::open(Config::default());
    let _ = drain(&mut pair.server);
    assert!(!pair.server.has_events());
    pair.server.receive(&masked(0x1, b"one"), pair.now).unwrap();
    pair.server.receive(&masked(0x2, b"two"), pair.now).unwrap();
    for _ in 0..2 {
        assert!(pair.server.has_events());
        assert!(matches!(pair.server.poll_event(), Some(Event::Message(_))));
    }
    assert!(!pair.server.has_events());
    assert_eq!(pair.server.poll_event(), None);
}

#[test]
fn messages_of_every_length_form_both_ways() {
    for role in ROLES {
        let mut pair = Pair::open(Config::default());
        let sizes = [0usize, 1, 125, 126, 127, 65535, 65536, 100_000];
        for &n in &sizes {
            let (tx, _) = pair.side(role);
            tx.send(Message::binary(vec![n as u8; n]), Flags::FIN).unwrap();
            tx.send(Message::text("é".repeat(n / 2)), Flags::FIN).unwrap();
        }
        pair.drive();
        let got = messages(pair.events(match role {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }));
        assert_eq!(got.len(), sizes.len() * 2, "{role:?}");
        for (i, &n) in sizes.iter().enumerate() {
            assert_eq!(got[2 * i].data().len(), n);
            assert_eq!(got[2 * i + 1].as_text().unwrap(), "é".repeat(n / 2));
        }
    }
}

#[test]
fn fragmented_message_arrives_whole_with_ping_between() {
    for role in ROLES {
        let mut pair = Pair::open(Config::default());
        let (tx, _) = pair.side(role);
        tx.send_frame(Opcode::Text, Bytes::from_static("héllo ".as_bytes()), Flags::NONE).unwrap();
        tx.ping(Bytes::from_static(b"p")).unwrap();
        // A code point split across fragments is valid.
        tx.send_frame(Opcode::Continuation, Bytes::from_static(&[0xe2, 0x82]), Flags::NONE).unwrap();
        tx.send_frame(Opcode::Continuation, Bytes::from_static(&[0xac]), Flags::FIN).unwrap();
        pair.drive();
        let peer = if role == Role::Client { Role::Server } else { Role::Client };
        assert_eq!(messages(pair.events(peer)), vec![Message::text("héllo €")]);
        assert!(pair.events(peer).contains(&Event::Ping(Bytes::from_static(b"p"))));
        // The auto-pong came back.
        assert!(pair.events(role).contains(&Event::Pong(Bytes::from_static(b"p"))));
    }
}

#[test]
fn outgoing_fragment_sequence_is_checked() {
    let mut pair = Pair::open(Config::default());
    let c = &mut pair.client;
    assert_eq!(c.send_frame(Opcode::Continuation, Bytes::new(), Flags::FIN), Err(SendError::FragmentSequence));
    c.send_frame(Opcode::Binary, Bytes::from_static(b"a"), Flags::NONE).unwrap();
    assert_eq!(c.send(Message::binary("b"), Flags::FIN), Err(SendError::FragmentSequence));
    assert_eq!(c.send_frame(Opcode::Text, Bytes::from_static(&[0xff]), Flags::FIN), Err(SendError::FragmentSequence));
    c.send_frame(Opcode::Continuation, Bytes::from_static(b"b"), Flags::FIN).unwrap();
    assert_eq!(c.send_frame(Opcode::Text, Bytes::from_static(&[0xff]), Flags::FIN), Err(SendError::InvalidUtf8));
    assert_eq!(c.ping(Bytes::from(vec![0; 126])), Err(SendError::ControlTooLong(126)));
    pair.drive();
    assert_eq!(messages(&pair.server_events), vec![Message::binary("ab")]);
}

#[test]
fn close_handshake_in_both_roles() {
    for initiator in ROLES {
        let mut pair = Pair::open(Config::default());
        let (tx, _) = pair.side(initiator);
        tx.close(CloseCode::try_from(4000).unwrap(), "bye").unwrap();
        assert_eq!(tx.status(), Status::Closing);
        assert_eq!(tx.send(Message::text("late"), Flags::FIN), Err(SendError::NotOpen));
        pair.drive();
        assert_eq!(pair.client.status(), Status::Closed, "{initiator:?}");
        assert_eq!(pair.server.status(), Status::Closed);
        for role in ROLES {
            let events = pair.events(role);
            let reasons = closed(events);
            assert_eq!(reasons.len(), 1, "exactly one Closed for {role:?}");
            assert!(matches!(events.last(), Some(Event::Closed(_))), "Closed comes last");
            match reasons[0] {
                CloseReason::Handshake { peer, initiated_locally } => {
                    assert_eq!(*initiated_locally, role == initiator);
                    assert_eq!(peer.code, Some(CloseCode::try_from(4000).unwrap()), "the code is echoed");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn manual_close_reply_when_auto_close_reply_is_off() {
    let server_config = Config { auto_close_reply: false, ..Config::default() };
    let mut pair = Pair::with_configs(Config::default(), server_config);
    pair.client.close(CloseCode::NORMAL, "done").unwrap();
    pair.drive();
    assert!(pair.server_events.contains(&Event::CloseReceived(CloseFrame::new(CloseCode::NORMAL, "done"))));
    assert_eq!(pair.server.status(), Status::Closing);
    pair.server.close(CloseCode::NORMAL, "").unwrap();
    pair.drive();
    assert_eq!(pair.server.status(), Status::Closed);
    assert_eq!(pair.client.status(), Status::Closed);
}

#[test]
fn auto_pong_off_leaves_the_answer_to_the_application() {
    let server_config = Config { auto_pong: false, ..Config::default() };
    let mut pair = Pair::with_configs(Config::default(), server_config);
    pair.client.ping(Bytes::from_static(b"x")).unwrap();
    pair.drive();
    assert!(pair.server_events.contains(&Event::Ping(Bytes::from_static(b"x"))));
    assert!(!pair.client_events.iter().any(|e| matches!(e, Event::Pong(_))));
    pair.server.pong(Bytes::from_static(b"x")).unwrap();
    pair.drive();
    assert!(pair.client_events.contains(&Event::Pong(Bytes::from_static(b"x"))));
}

#[test]
fn outgoing_auto_fragmentation() {
    let config = Config { max_outgoing_frame_size: Some(10), ..Config::default() };
    let mut pair = Pair::open(config);
    pair.server.send(Message::text("0123456789abcdefghijXYZ"), Flags::FIN).unwrap();
    // 3 frames: 10 + 10 + 3 bytes of payload, 2-byte headers each.
    assert_eq!(pair.server.output_len(), 23 + 3 * 2);
    pair.drive();
    assert_eq!(messages(&pair.client_events), vec![Message::text("0123456789abcdefghijXYZ")]);
}

#[test]
fn timeouts() {
    // Handshake: a client that never sends its request.
    let now = Instant::now();
    let mut server = Connection::server(Arc::new(Config::default()), now);
    assert_eq!(server.poll_timeout(), Some(now + Duration::from_secs(10)));
    server.handle_timeout(now + Duration::from_secs(9)); // spurious: nothing happens
    assert_eq!(server.status(), Status::Connection);
    server.receive(b"GET / HTTP/1.1\r\n", now).unwrap();
    server.handle_timeout(now + Duration::from_secs(10));
    assert_eq!(server.status(), Status::Closed);
    assert!(matches!(server.poll_event(), Some(Event::Closed(CloseReason::Failed(_)))));

    // Idle and keepalive ping.
    let config = Config {
        idle_timeout: Some(Duration::from_secs(60)),
        ping_interval: Some(Duration::from_secs(20)),
        ..Config::default()
    };
    let mut pair = Pair::with_configs(Config::default(), config);
    pair.advance(Duration::from_secs(20));
    assert!(pair.client_events.contains(&Event::Ping(Bytes::new())), "keepalive ping sent");
    // The client's auto-pong counts as activity: the server stays open.
    pair.advance(Duration::from_secs(50));
    assert_eq!(pair.server.status(), Status::Active);

    // A silent peer is cut at the idle limit.
    let config = Config { idle_timeout: Some(Duration::from_secs(60)), ..Config::default() };
    let mut pair = Pair::with_configs(Config::default(), config);
    pair.advance(Duration::from_secs(61));
    assert_eq!(closed(&pair.server_events), vec![&CloseReason::TimedOut(Timer::Idle)]);

    // Close: a peer that never answers our close frame.
    let mut pair = Pair::open(Config::default());
    pair.server.close(CloseCode::NORMAL, "").unwrap();
    drain(&mut pair.server); // lost on the way
    pair.now += Duration::from_secs(5);
    pair.server.handle_timeout(pair.now);
    assert_eq!(pair.server.status(), Status::Closed);
}

#[test]
fn eof_without_close_is_abnormal() {
    let mut pair = Pair::open(Config::default());
    pair.server.receive_eof(pair.now);
    let reasons: Vec<_> =
        closed(&pair.server.poll_event().into_iter().collect::<Vec<_>>()).into_iter().cloned().collect();
    assert_eq!(reasons, vec![CloseReason::Abnormal]);
    assert_eq!(CloseReason::Abnormal.code(), CloseCode::ABNORMAL);
}

/// Bytes a raw client sends after a valid upgrade; the server must fail with `code`.
fn server_fails_with(frames: &[u8], expected: ProtocolError) {
    let now = Instant::now();
    let config = Config { max_frame_size: 1 << 16, max_message_size: 1 << 17, ..Config::default() };
    let mut server = Connection::server(Arc::new(config), now);
    server.receive(UPGRADE, now).unwrap();
    let Some(Event::Request(request)) = server.poll_event() else { panic!("no request") };
    let response = server.accept_response(&request).unwrap();
    server.respond(response).unwrap();
    assert_eq!(server.poll_event(), Some(Event::Open));
    let _ = drain(&mut server);
    let result = server.receive(frames, now);
    assert_eq!(result, Err(Error::Protocol(expected.clone())), "{frames:02x?}");
    // Sticky.
    assert_eq!(server.receive(b"more", now), Err(Error::Protocol(expected.clone())));
    // The close frame with the mapped code is queued.
    let out = drain(&mut server);
    let close = Frame::unpack(&out).unwrap();
    assert_eq!(close.opcode, Opcode::Close);
    assert_eq!(close.code(), Some(expected.close_code()));
    assert_eq!(server.status(), Status::Closed);
}

const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw(0x80 | opcode, payload, true)
}

fn raw(b0: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![b0];
    let m = if mask { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=65535 => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if mask {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

macro_rules! rejects {
    ($($name:ident: $bytes:expr => $err:expr;)*) => {
        $(#[test] fn $name() { server_fails_with(&$bytes, $err); })*
    };
}

rejects! {
    reserved_opcode_3: masked(0x3, b"") => ProtocolError::ReservedOpcode(3);
    reserved_opcode_b: masked(0xb, b"") => ProtocolError::ReservedOpcode(0xb);
    rsv1_without_extension: raw(0x80 | 0x40 | 1, b"a", true) => ProtocolError::ReservedBits(0x40);
    rsv2: raw(0x80 | 0x20 | 2, b"a", true) => ProtocolError::ReservedBits(0x20);
    rsv3_on_ping: raw(0x80 | 0x10 | 9, b"", true) => ProtocolError::ReservedBits(0x10);
    ping_of_126_bytes: masked(0x9, &[0; 126]) => ProtocolError::ControlTooLong(126);
    fragmented_ping: raw(0x9, b"", true) => ProtocolError::FragmentedControl;
    unmasked_from_client: raw(0x81, b"hi", false) => ProtocolError::UnmaskedFrame;
    continuation_without_start: masked(0x0, b"x") => ProtocolError::UnexpectedContinuation;
    new_message_inside_fragmented: [raw(0x01, b"a", true), masked(0x1, b"b")].concat() => ProtocolError::ExpectedContinuation;
    invalid_utf8_text: masked(0x1, &[0xce, 0xba, 0xff]) => ProtocolError::InvalidUtf8;
    invalid_utf8_fails_before_the_end: [raw(0x01, &[b'a', 0xc0], true)].concat() => ProtocolError::InvalidUtf8;
    close_one_byte: masked(0x8, &[3]) => ProtocolError::InvalidClosePayload;
    close_code_1005: masked(0x8, &[0x03, 0xed]) => ProtocolError::InvalidCloseCode(1005);
    close_code_999: masked(0x8, &[0x03, 0xe7]) => ProtocolError::InvalidCloseCode(999);
    close_code_2999: masked(0x8, &[0x0b, 0xb7]) => ProtocolError::InvalidCloseCode(2999);
    close_reason_not_utf8: masked(0x8, &[0x03, 0xe8, 0xff]) => ProtocolError::InvalidUtf8;
    frame_over_max_frame_size: [0x82, 0xff, 0, 0, 0, 0, 0, 2, 0, 0, 1, 2, 3, 4] => ProtocolError::FrameTooBig { limit: 1 << 16 };
    length_with_top_bit: [0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4] => ProtocolError::LengthTopBit;
    message_over_max_message_size: [raw(0x02, &[0; 65536], true), raw(0x00, &[0; 65536], true), raw(0x80, &[0; 10], true)].concat()
        => ProtocolError::MessageTooBig { limit: 1 << 17 };
}

#[test]
fn client_rejects_masked_server_frames() {
    let mut pair = Pair::open(Config::default());
    let result = pair.client.receive(&masked(0x1, b"hi"), pair.now);
    assert_eq!(result, Err(Error::Protocol(ProtocolError::MaskedFrame)));
}

#[test]
fn http_keep_alive_then_upgrade_rejected() {
    let now = Instant::now();
    let mut server = Connection::server(Arc::new(Config::default()), now);
    server
        .receive(
            b"GET /?message=hi HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            now,
        )
        .unwrap();
    let Some(Event::Request(first)) = server.poll_event() else { panic!() };
    assert_eq!(first.get("message").as_deref(), Some("hi"));
    assert!(!first.is_websocket_upgrade());
    let mut ok = Response::new(200);
    ok.set_body("hello");
    server.respond(ok).unwrap();
    let Some(Event::Request(second)) = server.poll_event() else { panic!() };
    assert_eq!(&second.body[..], b"abc");
    server.respond(Response::new(204)).unwrap();
    let out = drain(&mut server);
    assert!(out.starts_with(b"HTTP/1.1 200"));
    // An upgrade with version 8 gets 426.
    server.receive(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", now).unwrap();
    let Some(Event::Request(req)) = server.poll_event() else { panic!() };
    let err = server.accept_response(&req).unwrap_err();
    server.reject(err);
    let out = drain(&mut server);
    assert!(out.starts_with(b"HTTP/1.1 426"), "{out:?}");
    assert!(server.is_finished());
}

fn server_events_for(input: &[u8], cuts: &[usize]) -> Vec<Event> {
    server_run(Config::default(), input, cuts).0
}

/// The events and the bytes written of a server fed `input` in the pieces `cuts` make.
fn server_run(config: Config, input: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>) {
    server_run_with(config, input, cuts, false)
}

/// As `server_run`, each piece given through `receive_buf` (in a buffer of its own) when
/// `in_buf`, else through `receive`.
fn server_run_with(config: Config, input: &[u8], cuts: &[usize], in_buf: bool) -> (Vec<Event>, Vec<u8>) {
    let now = Instant::now();
    let mut server = Connection::server(Arc::new(config), now);
    let mut written = Vec::new();
    let mut events = Vec::new();
    let mut at = 0;
    let mut pieces: Vec<&[u8]> = Vec::new();
    for &cut in cuts {
        let cut = cut.clamp(at, input.len());
        pieces.push(&input[at..cut]);
        at = cut;
    }
    pieces.push(&input[at..]);
    for piece in pieces {
        if in_buf {
            let mut buf = BytesMut::from(piece);
            let _ = server.receive_buf(&mut buf, now);
            assert!(buf.is_empty(), "receive_buf takes every byte");
        } else {
            let _ = server.receive(piece, now);
        }
        while let Some(event) = server.poll_event() {
            if let Event::Request(request) = &event {
                let response = server.accept_response(request).unwrap();
                server.respond(response).unwrap();
            }
            events.push(event);
        }
        written.extend_from_slice(&drain(&mut server));
    }
    (events, written)
}

/// A masked client frame (or frames) of kind `kind` and about `len` payload bytes, for the
/// proptests: 0 text, 1 binary, 2 text cut inside a character, 3 text with a byte that is
/// never UTF-8, 4 a fragmented text with a ping between its fragments, 5 a reserved bit
/// set, 6 an unmasked frame, 7 a ping, 8 a small binary message, 9 a binary message 100 KB
/// larger.
fn test_frame(kind: u8, len: usize) -> Vec<u8> {
    let text = "é".repeat(len / 2);
    match kind {
        0 => masked(0x1, text.as_bytes()),
        1 => masked(0x2, &vec![7; len]),
        2 => masked(0x1, &text.as_bytes()[..len / 2 * 2 - usize::from(len >= 2)]),
        3 => masked(0x1, &[b"ok".as_slice(), &[0xff], &vec![b'a'; len]].concat()),
        4 => [raw(0x01, text.as_bytes(), true), masked(0x9, b"p"), masked(0x0, b"!")].concat(),
        5 => raw(0xC2, &vec![1; len], true),
        6 => raw(0x82, &vec![2; len], false),
        7 => masked(0x9, &vec![3; len.min(125)]),
        8 => masked(0x2, &vec![4; len % 100]),
        _ => masked(0x2, &vec![5; len + 100_000]),
    }
}

fn sample_stream() -> Vec<u8> {
    [
        UPGRADE.to_vec(),
        masked(0x1, "héllo".as_bytes()),
        raw(0x02, &[1, 2, 3], true),
        masked(0x9, b"ping"),
        raw(0x00, &[4; 300], true),
        masked(0x0, &[5]),
        masked(0x2, &vec![6; 70000]),
        masked(0x8, &[0x03, 0xe8]),
    ]
    .concat()
}

#[test]
fn one_byte_at_a_time_gives_the_same_events() {
    let input = sample_stream();
    let whole = server_events_for(&input, &[]);
    assert_eq!(messages(&whole).len(), 3);
    let cuts: Vec<usize> = (1..input.len()).collect();
    assert_eq!(server_events_for(&input, &cuts), whole);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_split_gives_the_same_events(mut cuts in proptest::collection::vec(0usize..71000, 0..20)) {
        let input = sample_stream();
        cuts.sort_unstable();
        prop_assert_eq!(server_events_for(&input, &cuts), server_events_for(&input, &[]));
    }

    /// A frame that arrives whole in one read takes a shorter path than one that arrives in
    /// pieces (see `Connection::whole_message`): both must end the same way, whatever the
    /// frames, limits, bad text, reserved bits or fragments.
    #[test]
    fn whole_frames_and_frames_in_pieces_end_alike(
        frames in proptest::collection::vec((0u8..9, 0usize..300), 1..12),
    ) {
        let frames: Vec<u8> = frames.into_iter().flat_map(|(kind, len)| test_frame(kind, len)).collect();
        let input = [UPGRADE, &frames].concat();
        let config = || Config { max_message_size: 200, ..Config::default() };
        let cuts: Vec<usize> = (UPGRADE.len()..input.len()).collect();
        prop_assert_eq!(server_run(config(), &input, &cuts), server_run(config(), &input, &[]));
    }

    /// `receive_buf` splits a whole large message off the caller's buffer instead of
    /// copying it (`Connection::take_split_message`): whatever the frames around the 8 KiB
    /// threshold, bad text, reserved bits, fragments, limits and pieces, it must end as
    /// `receive` does, events and bytes written.
    #[test]
    fn receive_buf_ends_as_receive_does(
        frames in proptest::collection::vec((0u8..10, 8100usize..8300), 1..8),
        mut cuts in proptest::collection::vec(0usize..70_000, 0..6),
    ) {
        let frames: Vec<u8> = frames.into_iter().flat_map(|(kind, len)| test_frame(kind, len)).collect();
        let input = [UPGRADE, &frames].concat();
        cuts.push(UPGRADE.len());
        cuts.sort_unstable();
        // A message limit inside the sizes generated, so that some fit and some do not.
        let config = || Config { max_message_size: 8200, max_frame_size: 1 << 20, ..Config::default() };
        prop_assert_eq!(
            server_run_with(config(), &input, &cuts, true),
            server_run_with(config(), &input, &cuts, false)
        );
        let config = || Config::default();
        prop_assert_eq!(
            server_run_with(config(), &input, &cuts, true),
            server_run_with(config(), &input, &cuts, false)
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_close_last(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let input = [UPGRADE, &bytes].concat();
        let events = server_events_for(&input, &[UPGRADE.len() + bytes.len() / 2]);
        let closes = events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
        prop_assert!(closes <= 1);
        if closes == 1 {
            prop_assert!(matches!(events.last(), Some(Event::Closed(_))));
        }
    }
}

// ---- permessage-deflate through the connection ----

use ws_proto::connection::PreparedMessage;
use ws_proto::deflate::DeflateConfig;

fn deflate(config: DeflateConfig) -> Config {
    Config { deflate: Some(config), ..Config::default() }
}

/// Captures the next frame a connection queues, without sending it.
fn next_wire_frame(conn: &mut Connection) -> Frame {
    let bytes = drain(conn);
    Frame::unpack(&bytes).unwrap()
}

#[test]
fn compression_negotiated_and_used_both_ways() {
    let mut pair = Pair::open(deflate(DeflateConfig::default()));
    assert!(pair.client.deflate_params().is_some());
    assert_eq!(pair.client.deflate_params(), pair.server.deflate_params());
    let text = "a compressible message, a compressible message, a compressible message";
    pair.client.send(Message::text(text), Flags::FIN | Flags::COMPRESS).unwrap();
    pair.drive();
    let got = messages(&pair.server_events);
    assert_eq!(got[0].as_text(), Some(text));
    assert!(got[0].was_compressed());
    // The received frame pushed back as-is keeps its compression flag.
    let frame = got[0].clone().into_frame(ws_proto::Fd(1));
    assert!(frame.flags.contains(Flags::COMPRESS));
    pair.server.send_frame(frame.opcode, frame.data.clone(), frame.flags).unwrap();
    let wire = next_wire_frame(&mut pair.server);
    assert!(wire.flags.contains(Flags::RSV1), "RSV1 marks a compressed message");
    assert!(wire.data.len() < text.len());
}

#[test]
fn compress_flag_without_negotiation_sends_plain() {
    let mut pair = Pair::with_configs(deflate(DeflateConfig::default()), Config::default());
    assert_eq!(pair.server.deflate_params(), None);
    assert_eq!(pair.client.deflate_params(), None);
    pair.server.send(Message::text("plain"), Flags::FIN | Flags::COMPRESS).unwrap();
    let wire = next_wire_frame(&mut pair.server);
    assert!(!wire.flags.contains(Flags::RSV1));
    assert_eq!(&wire.data[..], b"plain");
}

#[test]
fn every_parameter_combination_round_trips_through_connections() {
    let texts = ["Hello", "Hello", "", "Hello, Hello, Hello!", &"xyz".repeat(5000)];
    for server_nct in [false, true] {
        for client_nct in [false, true] {
            for bits in [9u8, 12, 15] {
                let config = DeflateConfig {
                    server_no_context_takeover: server_nct,
                    client_no_context_takeover: client_nct,
                    server_max_window_bits: bits,
                    client_max_window_bits: bits,
                    ..DeflateConfig::default()
                };
                let mut pair = Pair::with_configs(deflate(DeflateConfig::default()), deflate(config.clone()));
                let params = pair.server.deflate_params().expect("agreed");
                assert_eq!(params.server_no_context_takeover(), server_nct);
                for text in texts {
                    pair.client.send(Message::text(text), Flags::FIN | Flags::COMPRESS).unwrap();
                    pair.server.send(Message::text(text), Flags::FIN | Flags::COMPRESS).unwrap();
                    // Fragmented compressed message, by hand.
                    pair.client.send_frame(Opcode::Binary, Bytes::from(text.to_owned()), Flags::COMPRESS).unwrap();
                    pair.client.send_frame(Opcode::Continuation, Bytes::from_static(b"!"), Flags::FIN).unwrap();
                }
                pair.drive();
                let at_server = messages(&pair.server_events);
                let at_client = messages(&pair.client_events);
                assert_eq!(at_server.len(), texts.len() * 2, "{config:?}");
                assert_eq!(at_client.len(), texts.len());
                for (i, text) in texts.iter().enumerate() {
                    assert_eq!(at_server[2 * i].as_text(), Some(*text));
                    assert_eq!(&at_server[2 * i + 1].data()[..], format!("{text}!").as_bytes());
                    assert_eq!(at_client[i].as_text(), Some(*text));
                }
            }
        }
    }
}

#[test]
fn rsv1_on_a_continuation_frame_is_a_protocol_error() {
    let mut pair = Pair::open(deflate(DeflateConfig::default()));
    let bytes = [raw(0x01, b"a", true), raw(0x80 | 0x40, b"b", true)].concat();
    let result = pair.server.receive(&bytes, pair.now);
    assert_eq!(result, Err(Error::Protocol(ProtocolError::ReservedBits(0x40))));
}

#[test]
fn rsv1_on_a_control_frame_is_a_protocol_error_even_with_deflate() {
    // RFC 7692 §6.1: control frames are never compressed; RSV1 on one is RFC 6455's
    // "reserved bit without meaning" (1002), whatever was negotiated.
    for opcode in [0x8, 0x9, 0xA] {
        let mut pair = Pair::open(deflate(DeflateConfig::default()));
        let result = pair.server.receive(&raw(0x80 | 0x40 | opcode, b"", true), pair.now);
        assert_eq!(result, Err(Error::Protocol(ProtocolError::ReservedBits(0x40))), "opcode {opcode:#x}");
        assert_eq!(drain(&mut pair.server).get(..4), Some(&[0x88, 0x02, 0x03, 0xea][..]), "close 1002");
    }
}

#[test]
fn a_compression_bomb_stops_at_the_message_limit() {
    let limit = 1 << 20;
    let server = Config { max_message_size: limit, ..deflate(DeflateConfig::default()) };
    let mut pair = Pair::with_configs(deflate(DeflateConfig::default()), server);
    let zeros = vec![0u8; 16 << 20];
    let compressed = ws_proto::deflate::compress_once(&zeros, 15, 9);
    assert!(compressed.len() < 64 * 1024, "{}", compressed.len());
    let bomb = raw(0x80 | 0x40 | 0x2, &compressed, true);
    let result = pair.server.receive(&bomb, pair.now);
    assert_eq!(result, Err(Error::Protocol(ProtocolError::MessageTooBig { limit })));
    let close = next_wire_frame(&mut pair.server);
    assert_eq!(close.code(), Some(CloseCode::MESSAGE_TOO_BIG));
}

#[test]
fn broadcast_is_compressed_once_where_the_agreement_allows() {
    let shared = DeflateConfig { server_no_context_takeover: true, ..DeflateConfig::default() };
    let prepared = PreparedMessage::compressed(Message::text("hello ".repeat(50)), 15, 6);
    // No server context takeover: the shared compressed bytes are used.
    let mut pair = Pair::with_configs(deflate(DeflateConfig::default()), deflate(shared.clone()));
    pair.server.send_prepared(&prepared).unwrap();
    let wire = next_wire_frame(&mut pair.server);
    assert!(wire.flags.contains(Flags::RSV1));
    // With context takeover the plain form goes out.
    let mut pair = Pair::open(deflate(DeflateConfig::default()));
    pair.server.send_prepared(&prepared).unwrap();
    let wire = next_wire_frame(&mut pair.server);
    assert!(!wire.flags.contains(Flags::RSV1));
    // Either way the client reads the same text.
    let mut pair = Pair::with_configs(deflate(DeflateConfig::default()), deflate(shared.clone()));
    pair.server.send_prepared(&prepared).unwrap();
    pair.drive();
    assert_eq!(messages(&pair.client_events)[0].as_text(), Some(&*"hello ".repeat(50)));
}

#[test]
fn prepared_messages_of_every_size_reach_the_client_whole_and_leave_the_message_as_it_was() {
    // Small payloads are copied beside their header from the shared message, large ones
    // queued by reference, and ones over max_outgoing_frame_size fragmented.
    // A client frames each anew, masked.
    let configs = [Config::default(), Config { max_outgoing_frame_size: Some(1000), ..Config::default() }];
    for (config, role) in configs.iter().flat_map(|c| ROLES.map(|role| (c.clone(), role))) {
        let mut pair = Pair::open(config);
        let sizes = [0usize, 1, 125, 126, 2047, 2048, 2049, 65536, 100_000];
        let prepared: Vec<PreparedMessage> = sizes
            .iter()
            .map(|&n| PreparedMessage::new(Message::binary((0..n).map(|i| i as u8).collect::<Vec<u8>>())))
            .collect();
        for message in &prepared {
            let (tx, _) = pair.side(role);
            tx.send_prepared(message).unwrap();
            // Twice: the first send must not have used up or changed the shared payload.
            tx.send_prepared(message).unwrap();
        }
        pair.drive();
        let got = messages(if role == Role::Server { &pair.client_events } else { &pair.server_events });
        let want: Vec<Message> = sizes
            .iter()
            .flat_map(|&n| {
                let m = Message::binary((0..n).map(|i| i as u8).collect::<Vec<u8>>());
                [m.clone(), m]
            })
            .collect();
        assert_eq!(got, want);
    }
    // Over max_outgoing_frame_size the message goes out in frames of that size.
    let mut pair = Pair::open(Config { max_outgoing_frame_size: Some(1000), ..Config::default() });
    pair.server.send_prepared(&PreparedMessage::new(Message::binary(vec![7u8; 2049]))).unwrap();
    let first = next_wire_frame(&mut pair.server);
    assert_eq!((first.data.len(), first.finish), (1000, false));
}

#[test]
fn each_kept_alive_request_gets_a_fresh_handshake_timeout() {
    let t0 = Instant::now();
    let mut server = Connection::server(Arc::new(Config::default()), t0);
    let t8 = t0 + Duration::from_secs(8);
    server.receive(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", t8).unwrap();
    let Some(Event::Request(_)) = server.poll_event() else { panic!() };
    server.respond(Response::new(200)).unwrap();
    server.handle_timeout(t0 + Duration::from_secs(12));
    assert_eq!(server.status(), Status::Connection, "still open for the next request");
    server.handle_timeout(t8 + Duration::from_secs(10));
    assert_eq!(server.status(), Status::Closed);
    assert_eq!(server.poll_event(), Some(Event::Closed(CloseReason::TimedOut(Timer::Handshake))));
}

#[test]
fn compressed_messages_up_to_the_limit_pass_whatever_their_chunking() {
    let limit = 1 << 20;
    let server = Config { max_message_size: limit, ..deflate(DeflateConfig::default()) };
    let mut pair = Pair::with_configs(deflate(DeflateConfig::default()), server);
    // Exactly the limit, in several frames and then in one; the server must accept both.
    let text: String = (0..limit).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
    for piece in text.as_bytes().chunks(100_000).enumerate() {
        let (i, bytes) = piece;
        let opcode = if i == 0 { Opcode::Text } else { Opcode::Continuation };
        let last = (i + 1) * 100_000 >= limit;
        let flags = Flags::COMPRESS.with(Flags::FIN, last);
        pair.client.send_frame(opcode, Bytes::copy_from_slice(bytes), flags).unwrap();
    }
    pair.client.send(Message::text(text.clone()), Flags::FIN | Flags::COMPRESS).unwrap();
    pair.drive();
    let got = messages(&pair.server_events);
    assert_eq!(got.len(), 2, "{:?}", closed(&pair.server_events));
    assert!(got.iter().all(|m| m.as_text() == Some(&text[..]) && m.was_compressed()));
}

/// Feeds `wire` to `conn` as an adapter that reads large payloads straight into the
/// message buffer would: whenever `payload_buf` lends the buffer, up to `step` bytes are
/// appended there; otherwise up to `step` bytes go through `receive`.
fn feed_appending(conn: &mut Connection, wire: &[u8], step: usize, now: Instant) -> Result<(), Error> {
    let mut rest = wire;
    while !rest.is_empty() {
        let take = match conn.payload_buf(1000) {
            Some((buf, max)) => {
                let take = step.min(max).min(rest.len());
                buf.extend_from_slice(&rest[..take]);
                conn.receive_appended(now)?;
                take
            }
            None => {
                let take = step.min(rest.len());
                conn.receive(&rest[..take], now)?;
                take
            }
        };
        rest = &rest[take..];
    }
    Ok(())
}

fn server_events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

#[test]
fn payloads_appended_in_place_give_the_same_messages_as_receive() {
    // Masked text with 2-, 3- and 4-byte characters, fragmented, a ping in between, then a
    // binary message: every chunking, appended or received, yields the same events.
    let text = "κόσμε € 𝄞 ".repeat(700);
    let (first, second) = text.as_bytes().split_at(3001); // splits a character
    let binary: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let wire =
        [raw(0x01, first, true), raw(0x89, b"ping", true), raw(0x80, second, true), raw(0x82, &binary, true)].concat();
    let mut expected = None;
    for step in [1, 7, 999, 1000, 4096, 65536, wire.len()] {
        for appending in [false, true] {
            let mut pair = Pair::open(Config::default());
            let _ = drain(&mut pair.server);
            let _ = server_events(&mut pair.server);
            if appending {
                feed_appending(&mut pair.server, &wire, step, pair.now).unwrap();
            } else {
                for chunk in wire.chunks(step) {
                    pair.server.receive(chunk, pair.now).unwrap();
                }
            }
            let events = server_events(&mut pair.server);
            let messages: Vec<_> =
                events.iter().filter_map(|e| if let Event::Message(m) = e { Some(m.clone()) } else { None }).collect();
            assert_eq!(messages.len(), 2, "step {step}, appending {appending}");
            assert_eq!(messages[0].as_text(), Some(text.as_str()));
            assert_eq!(&messages[1].data()[..], &binary[..]);
            match &expected {
                None => expected = Some(events),
                Some(expected) => assert_eq!(&events, expected, "step {step}, appending {appending}"),
            }
        }
    }
}

#[test]
fn invalid_utf8_appended_in_place_fails_at_once() {
    let mut text = "a".repeat(50_000).into_bytes();
    text[20_000] = 0xff;
    let wire = raw(0x81, &text, true);
    let mut pair = Pair::open(Config::default());
    let _ = drain(&mut pair.server);
    // The header and the first 2,000 bytes through receive, then the rest appended in steps
    // of 10,000: the invalid byte is in the second appended step.
    pair.server.receive(&wire[..2008], pair.now).unwrap();
    let (buf, max) = pair.server.payload_buf(1000).expect("a large payload is under way");
    // Room grows with what arrived (here 2,000 bytes: a first reservation), never past
    // the 48,000 bytes the frame still holds.
    assert!((10_000..=48_000).contains(&max), "{max}");
    buf.extend_from_slice(&wire[2008..12_008]);
    pair.server.receive_appended(pair.now).unwrap();
    let (buf, max) = pair.server.payload_buf(1000).unwrap();
    assert!(max >= 10_000, "{max}");
    buf.extend_from_slice(&wire[12_008..22_008]);
    assert_eq!(pair.server.receive_appended(pair.now), Err(Error::Protocol(ProtocolError::InvalidUtf8)));
    assert_eq!(drain(&mut pair.server).get(..4), Some(&[0x88, 0x02, 0x03, 0xef][..]), "close 1007");
    assert!(pair.server.payload_buf(1000).is_none());
}

#[test]
fn a_large_frame_takes_a_pooled_buffer_whole_once_enough_of_it_came() {
    // A 1 MiB message received and dropped leaves its buffer in the thread's pool.
    let payload: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    let wire = raw(0x82, &payload, true);
    let head = wire.len() - payload.len();
    let mut pair = Pair::open(Config::default());
    let _ = drain(&mut pair.server);
    pair.server.receive(&wire, pair.now).unwrap();
    let first = messages(&server_events(&mut pair.server)).remove(0).data().clone();
    let pooled = first.as_ptr();
    drop(first);

    // The next 1 MiB frame, its first 40,000 bytes received as a read would bring them:
    // the buffer lent for the rest has room for all of it, in that same allocation, so
    // nothing that came is copied again as the message grows.
    let (at, rest) = (head + 40_000, payload.len() - 40_000);
    pair.server.receive(&wire[..at], pair.now).unwrap();
    let (buf, max) = pair.server.payload_buf(1000).expect("a large payload is under way");
    assert_eq!(max, rest, "room for the whole rest of the frame");
    assert_eq!(buf.as_ptr(), pooled, "the pooled buffer");
    buf.extend_from_slice(&wire[at..]);
    pair.server.receive_appended(pair.now).unwrap();
    let second = messages(&server_events(&mut pair.server)).remove(0).data().clone();
    assert_eq!(&second[..], &payload[..]);
    assert_eq!(second.as_ptr(), pooled);
    drop(second);

    // A frame that announces 1 MiB and brings 1 KiB is not trusted with the pooled buffer:
    // it holds memory in proportion to what it sent.
    let mut pair = Pair::open(Config::default());
    let _ = drain(&mut pair.server);
    pair.server.receive(&wire[..head + 1024], pair.now).unwrap();
    let (buf, max) = pair.server.payload_buf(1000).expect("a large payload is under way");
    assert_ne!(buf.as_ptr(), pooled);
    assert!(max <= 32 * 1024, "{max}");
}

#[test]
fn payload_buf_is_lent_only_for_a_large_plain_data_payload_and_never_past_the_frame() {
    let mut pair = Pair::open(Config::default());
    let _ = drain(&mut pair.server);
    assert!(pair.server.payload_buf(1).is_none(), "no frame under way");
    let ping = raw(0x89, &[1; 100], true);
    pair.server.receive(&ping[..10], pair.now).unwrap();
    assert!(pair.server.payload_buf(1).is_none(), "control frame");
    pair.server.receive(&ping[10..], pair.now).unwrap();
    let wire = raw(0x82, &[9; 5000], true);
    pair.server.receive(&wire[..8], pair.now).unwrap(); // header and 0 payload bytes
    assert!(pair.server.payload_buf(5001).is_none(), "less than asked for is left");
    let (buf, max) = pair.server.payload_buf(5000).unwrap();
    assert_eq!(max, 5000);
    // A caller that appends past the frame: the excess is not taken.
    buf.extend_from_slice(&wire[8..]);
    buf.extend_from_slice(b"junk");
    pair.server.receive_appended(pair.now).unwrap();
    let events = server_events(&mut pair.server);
    let Some(Event::Message(message)) = events.last() else { panic!("{events:?}") };
    assert_eq!(&message.data()[..], &[9; 5000][..]);
    // A compressed message is inflated, never lent.
    let mut pair = Pair::open(deflate(DeflateConfig::default()));
    let _ = drain(&mut pair.server);
    let compressed = ws_proto::deflate::compress_once(&[0; 10_000], 15, 0);
    let wire = raw(0xc2, &compressed, true);
    pair.server.receive(&wire[..wire.len() - compressed.len()], pair.now).unwrap();
    assert!(pair.server.payload_buf(1).is_none(), "compressed");
}

#[test]
fn bytes_appended_and_not_yet_taken_are_taken_by_the_next_call() {
    // A caller that appends, then asks for the buffer again (or calls `receive`) without
    // `receive_appended`: the appended bytes are unmasked and checked first, never left raw.
    let payload: Vec<u8> = (0..6000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let wire = raw(0x81, &payload, true);
    for next in ["payload_buf", "receive"] {
        let mut pair = Pair::open(Config::default());
        let _ = drain(&mut pair.server);
        pair.server.receive(&wire[..8], pair.now).unwrap();
        let (buf, _) = pair.server.payload_buf(1000).unwrap();
        buf.extend_from_slice(&wire[8..3008]);
        if next == "payload_buf" {
            let (buf, max) = pair.server.payload_buf(1000).unwrap();
            assert_eq!(max, 3000, "the first 3,000 bytes were taken");
            buf.extend_from_slice(&wire[3008..]);
            pair.server.receive_appended(pair.now).unwrap();
        } else {
            pair.server.receive(&wire[3008..], pair.now).unwrap();
        }
        let events = server_events(&mut pair.server);
        let Some(Event::Message(message)) = events.last() else { panic!("{next}: {events:?}") };
        assert_eq!(&message.data()[..], &payload[..], "{next}");
    }
}

// ---- receive_buf: large messages split off the caller's buffer ----

#[test]
fn a_large_whole_message_is_split_off_the_buffer_and_a_small_one_copied() {
    for role_server in [true, false] {
        let mut pair = Pair::open(Config::default());
        let conn = if role_server { &mut pair.server } else { &mut pair.client };
        let _ = drain(conn);
        let _ = server_events(conn);
        let large: Vec<u8> = (0..8192u32).map(|i| (i * 13 % 251) as u8).collect();
        let just_under = vec![5u8; 8191];
        let small = b"small".to_vec();
        // A client receives unmasked frames, a server masked ones.
        let mask = role_server;
        let wire = [raw(0x82, &small, mask), raw(0x82, &large, mask), raw(0x82, &just_under, mask)].concat();
        let mut buf = BytesMut::from(&wire[..]);
        let start = buf.as_ptr() as usize;
        let range = start..start + wire.len();
        conn.receive_buf(&mut buf, pair.now).unwrap();
        assert!(buf.is_empty());
        let got = messages(&server_events(conn));
        let data: Vec<&[u8]> = got.iter().map(|m| &m.data()[..]).collect();
        assert_eq!(data, [&small[..], &large[..], &just_under[..]]);
        let inside = |m: &Message| range.contains(&(m.data().as_ptr() as usize));
        assert!(!inside(&got[0]), "a small message is copied out");
        assert!(inside(&got[1]), "an 8 KiB message shares the buffer");
        let header = if mask { 8 } else { 4 };
        assert_eq!(got[1].data().as_ptr() as usize, start + small.len() + 2 + usize::from(mask) * 4 + header);
        assert!(!inside(&got[2]), "under 8 KiB: copied");
    }
}

#[test]
fn invalid_utf8_in_a_split_text_fails_with_1007() {
    let mut text = "a".repeat(10_000).into_bytes();
    text[9_999] = 0xc3; // a character cut at the end
    let mut pair = Pair::open(Config::default());
    let _ = drain(&mut pair.server);
    let mut buf = BytesMut::from(&[masked(0x1, "fine".as_bytes()), masked(0x1, &text)].concat()[..]);
    assert_eq!(pair.server.receive_buf(&mut buf, pair.now), Err(Error::Protocol(ProtocolError::InvalidUtf8)));
    assert!(buf.is_empty());
    assert_eq!(drain(&mut pair.server).get(..4), Some(&[0x88, 0x02, 0x03, 0xef][..]), "close 1007");
    let events = server_events(&mut pair.server);
    assert_eq!(messages(&events).len(), 1, "the message before the fault is delivered");
    assert!(matches!(events.last(), Some(Event::Closed(_))));
}
