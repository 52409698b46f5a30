//! The worked examples of RFC 6455, named by section.

use std::sync::Arc;
use std::time::Instant;

use bytes::Buf;
use proptest::prelude::*;
use ws_proto::connection::{Config, Connection, Event, Message};
use ws_proto::handshake::accept_key;
use ws_proto::{Fd, Flags, Frame, FrameHeader, Opcode};

#[test]
fn rfc6455_1_3_accept_key() {
    assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[test]
fn rfc6455_5_7_single_frame_unmasked_text() {
    let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let frame = Frame::unpack(&wire).unwrap();
    assert_eq!((frame.opcode, frame.finish, &frame.data[..]), (Opcode::Text, true, &b"Hello"[..]));
    assert_eq!(&Frame::text("Hello").pack()[..], &wire);
}

#[test]
fn rfc6455_5_7_single_frame_masked_text() {
    let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let frame = Frame::unpack(&wire).unwrap();
    assert_eq!(&frame.data[..], b"Hello");
    assert!(frame.flags.contains(Flags::MASK));
    assert_eq!(&Frame::text("Hello").pack_masked([0x37, 0xfa, 0x21, 0x3d])[..], &wire);
}

#[test]
fn rfc6455_5_7_fragmented_unmasked_text() {
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let second = [0x80, 0x02, 0x6c, 0x6f];
    let a = Frame::unpack(&first).unwrap();
    let b = Frame::unpack(&second).unwrap();
    assert_eq!((a.opcode, a.finish, &a.data[..]), (Opcode::Text, false, &b"Hel"[..]));
    assert_eq!((b.opcode, b.finish, &b.data[..]), (Opcode::Continuation, true, &b"lo"[..]));
    // A client Connection reassembles the two frames into one message.
    let events = client_receives(&[&first[..], &second[..]].concat());
    assert_eq!(events, vec![Event::Message(Message::text("Hello"))]);
}

#[test]
fn rfc6455_5_7_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let p = Frame::unpack(&ping).unwrap();
    assert_eq!((p.opcode, &p.data[..]), (Opcode::Ping, &b"Hello"[..]));
    let q = Frame::unpack(&pong).unwrap();
    assert_eq!((q.opcode, &q.data[..]), (Opcode::Pong, &b"Hello"[..]));
}

#[test]
fn rfc6455_5_7_256_bytes_binary_16_bit_length() {
    let header = FrameHeader::decode(&[0x82, 0x7e, 0x01, 0x00]).unwrap().unwrap();
    assert_eq!((header.0.opcode, header.0.payload_len, header.1), (Opcode::Binary, 256, 4));
    let packed = Frame::binary(vec![0u8; 256]).pack();
    assert_eq!(&packed[..4], &[0x82, 0x7e, 0x01, 0x00]);
}

#[test]
fn rfc6455_5_7_64_kib_binary_64_bit_length() {
    let wire = [0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
    let (header, len) = FrameHeader::decode(&wire).unwrap().unwrap();
    assert_eq!((header.payload_len, len), (65536, 10));
    assert_eq!(&Frame::binary(vec![0u8; 65536]).pack()[..10], &wire);
}

/// What a client `Connection`, already open, reports for `bytes` from the server.
fn client_receives(bytes: &[u8]) -> Vec<Event> {
    let now = Instant::now();
    let config = Arc::new(Config::default());
    let mut server = Connection::server(config.clone(), now);
    let mut client =
        Connection::client(config, ws_proto::handshake::ClientRequest::new("example.com", "/", [1; 16]), now);
    let n = client.output_len();
    let request = client.output().copy_to_bytes(n);
    server.receive(&request, now).unwrap();
    let Some(Event::Request(req)) = server.poll_event() else { panic!() };
    let response = server.accept_response(&req).unwrap();
    server.respond(response).unwrap();
    let n = server.output_len();
    let response = server.output().copy_to_bytes(n);
    client.receive(&response, now).unwrap();
    assert_eq!(client.poll_event(), Some(Event::Open));
    client.receive(bytes, now).unwrap();
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn any_frame() -> impl Strategy<Value = Frame> {
    let opcode = prop_oneof![
        Just(Opcode::Continuation),
        Just(Opcode::Text),
        Just(Opcode::Binary),
        Just(Opcode::Close),
        Just(Opcode::Ping),
        Just(Opcode::Pong)
    ];
    (opcode, proptest::collection::vec(any::<u8>(), 0..300), any::<bool>(), 0u8..8).prop_map(
        |(opcode, data, fin, rsv)| {
            let (fin, data) =
                if opcode.is_control() { (true, data.into_iter().take(125).collect()) } else { (fin, data) };
            let flags = Flags::NONE
                .with(Flags::FIN, fin)
                .with(Flags::RSV1, rsv & 1 != 0)
                .with(Flags::RSV2, rsv & 2 != 0)
                .with(Flags::RSV3, rsv & 4 != 0);
            Frame { fd: Fd::default(), data: data.into(), opcode, finish: fin, flags }
        },
    )
}

proptest! {
    #[test]
    fn pack_then_unpack_is_the_identity(frame in any_frame(), key: [u8; 4], masked: bool) {
        let wire = if masked { frame.pack_masked(key) } else { frame.pack() };
        let back = Frame::unpack(&wire).unwrap();
        let expected_flags = frame.flags.with(Flags::MASK, masked);
        prop_assert_eq!(back, Frame { flags: expected_flags, ..frame });
    }
}
