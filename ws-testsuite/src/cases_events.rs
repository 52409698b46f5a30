//! Events and the rules of API.md "Behaviour that must hold".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ws_proto::server::{Runtime, Server, Settings};
use ws_proto::{Fd, Flags, Frame, Opcode};

use crate::raw::upgrade_request;
use crate::{Log, Raw, TestServer};

fn echo<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let _ = server.push_frame(frame.fd, frame);
    });
}

/// Text and binary come back unchanged.
pub fn echo_text_and_binary<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let mut raw = test.raw();
    raw.send_text("hello");
    let frame = raw.frame();
    assert_eq!((frame.opcode, &frame.data[..], frame.finish), (Opcode::Text, &b"hello"[..], true));
    raw.send(Opcode::Binary, &[0, 1, 2, 255], true);
    let frame = raw.frame();
    assert_eq!((frame.opcode, &frame.data[..]), (Opcode::Binary, &[0u8, 1, 2, 255][..]));
    let big = vec![7u8; 300_000];
    raw.send(Opcode::Binary, &big, true);
    assert_eq!(raw.frame().data.len(), big.len());
}

/// on_open, then the messages in order, then on_close once, per connection, with many
/// connections at once.
pub fn callbacks_run_in_order_under_many_connections<R: Runtime + Default>() {
    let events: Arc<Mutex<HashMap<Fd, Vec<String>>>> = Arc::default();
    let (open, message, close) = (events.clone(), events.clone(), events.clone());
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_open(move |_, req| open.lock().unwrap().entry(req.fd).or_default().push("open".into()));
        server.on_message(move |server, frame| {
            message.lock().unwrap().entry(frame.fd).or_default().push(String::from_utf8_lossy(&frame.data).into());
            let _ = server.push(frame.fd, frame.data);
        });
        server.on_close(move |_, fd| close.lock().unwrap().entry(fd).or_default().push("close".into()));
    });
    const CONNECTIONS: usize = 40;
    const MESSAGES: usize = 25;
    let addr = test.addr;
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut raw = Raw::upgrade(addr, "/", &[]);
                for i in 0..MESSAGES {
                    raw.send_text(&format!("m{i}"));
                }
                for i in 0..MESSAGES {
                    assert_eq!(&raw.frame().data[..], format!("m{i}").as_bytes());
                }
                raw.send(Opcode::Close, &1000u16.to_be_bytes(), true);
                assert_eq!(raw.close_code(), Some(1000));
                raw.expect_eof();
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    crate::eventually("every on_close", || {
        events.lock().unwrap().values().filter(|e| e.last().is_some_and(|l| l == "close")).count() == CONNECTIONS
    });
    let events = events.lock().unwrap();
    assert_eq!(events.len(), CONNECTIONS);
    let mut expected = vec!["open".to_string()];
    expected.extend((0..MESSAGES).map(|i| format!("m{i}")));
    expected.push("close".into());
    for (fd, seen) in events.iter() {
        assert_eq!(seen, &expected, "fd {fd}");
    }
}

/// A ping is answered with a pong (same payload) and does not reach on_message.
pub fn ping_is_answered_automatically<R: Runtime + Default>() {
    let log = Log::default();
    let seen = log.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(move |server, frame| {
            seen.push(format!("{:?}", frame.opcode));
            let _ = server.push_frame(frame.fd, frame);
        });
    });
    let mut raw = test.raw();
    raw.send(Opcode::Ping, b"are you there", true);
    let pong = raw.frame();
    assert_eq!((pong.opcode, &pong.data[..]), (Opcode::Pong, &b"are you there"[..]));
    raw.send_text("after");
    assert_eq!(raw.frame().opcode, Opcode::Text);
    assert_eq!(log.entries(), ["Text"]);
}

/// With open_websocket_ping_frame the ping reaches on_message and the app answers it.
pub fn ping_reaches_on_message_with_open_websocket_ping_frame<R: Runtime + Default>() {
    let settings = Settings { open_websocket_ping_frame: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, |server| {
        server.on_message(|server, frame| {
            if frame.opcode == Opcode::Ping {
                let _ = server
                    .push_frame(frame.fd, Frame::pong(format!("by hand: {}", String::from_utf8_lossy(&frame.data))));
            }
        });
    });
    let mut raw = test.raw();
    raw.send(Opcode::Ping, b"x", true);
    let pong = raw.frame();
    assert_eq!((pong.opcode, &pong.data[..]), (Opcode::Pong, &b"by hand: x"[..]));
}

/// Pongs reach on_message only with open_websocket_pong_frame.
pub fn pong_reaches_on_message_only_when_asked<R: Runtime + Default>() {
    for on in [false, true] {
        let log = Log::default();
        let seen = log.clone();
        let settings = Settings { open_websocket_pong_frame: on, ..Settings::default() };
        let test = TestServer::<R>::start(settings, move |server| {
            server.on_message(move |server, frame| {
                seen.push(format!("{:?}", frame.opcode));
                if frame.opcode == Opcode::Text {
                    let _ = server.push(frame.fd, "done");
                }
            });
        });
        let mut raw = test.raw();
        raw.send(Opcode::Pong, b"unsolicited", true);
        raw.send_text("end");
        assert_eq!(&raw.frame().data[..], b"done");
        let expected: &[&str] = if on { &["Pong", "Text"] } else { &["Text"] };
        assert_eq!(log.entries(), expected, "open_websocket_pong_frame = {on}");
    }
}

/// With open_websocket_close_frame the close frame reaches on_message (code, reason), and
/// the server still completes the close handshake afterwards.
pub fn close_frame_reaches_on_message_then_the_handshake_completes<R: Runtime + Default>() {
    let log = Log::default();
    let seen = log.clone();
    let closed = log.clone();
    let settings = Settings { open_websocket_close_frame: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, move |server| {
        server.on_message(move |_, frame| {
            if frame.opcode == Opcode::Close {
                seen.push(format!("close {:?} {}", frame.code().map(u16::from), frame.reason()));
            }
        });
        server.on_close(move |_, _| closed.push("on_close"));
    });
    let mut raw = test.raw();
    let mut payload = 4001u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    raw.send(Opcode::Close, &payload, true);
    assert_eq!(raw.close_code(), Some(4001));
    raw.expect_eof();
    assert_eq!(log.wait_for("on_close"), ["close Some(4001) bye", "on_close"]);
}

/// A callback that calls disconnect on the received close answers with its own code.
pub fn close_frame_callback_may_disconnect_instead<R: Runtime + Default>() {
    let settings = Settings { open_websocket_close_frame: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, |server| {
        server.on_message(|server, frame| {
            if frame.opcode == Opcode::Close {
                server.disconnect(frame.fd, 4002, "my answer").unwrap();
            }
        });
    });
    let mut raw = test.raw();
    raw.send(Opcode::Close, &1000u16.to_be_bytes(), true);
    assert_eq!(raw.close_code(), Some(4002));
    raw.expect_eof();
}

/// Fragments reach on_message once, whole, with finish.
pub fn fragmented_message_arrives_whole<R: Runtime + Default>() {
    let log = Log::default();
    let seen = log.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(move |server, frame| {
            seen.push(format!("{:?} {} {}", frame.opcode, String::from_utf8_lossy(&frame.data), frame.finish));
            let _ = server.push(frame.fd, "ok");
        });
    });
    let mut raw = test.raw();
    raw.send(Opcode::Text, b"hel", false);
    raw.send(Opcode::Ping, b"", true);
    raw.send(Opcode::Continuation, "lo wö".as_bytes(), false);
    raw.send(Opcode::Continuation, b"rld", true);
    assert_eq!(raw.data_frame().data, "ok");
    assert_eq!(log.entries(), ["Text hello wörld true"]);
}

/// Invalid UTF-8 closes with 1007, even split inside a character across fragments.
pub fn invalid_utf8_closes_with_1007<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let mut raw = test.raw();
    raw.send(Opcode::Text, &[b'a', 0xce], false);
    raw.send(Opcode::Continuation, &[0x28], true);
    assert_eq!(raw.close_code(), Some(1007));
}

/// An unmasked frame (and a reserved opcode) close with 1002.
pub fn protocol_violation_closes_with_1002<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let mut raw = test.raw();
    raw.write(&Frame::text("unmasked").pack());
    assert_eq!(raw.close_code(), Some(1002));
    let mut raw = test.raw();
    raw.write(&[0x83, 0x80, 1, 2, 3, 4]);
    assert_eq!(raw.close_code(), Some(1002));
}

/// A message over package_max_length closes with 1009, announced or reassembled.
pub fn message_over_package_max_length_closes_with_1009<R: Runtime + Default>() {
    let settings = Settings { package_max_length: 1000, ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let mut raw = test.raw();
    // Only the header of a 1 GB frame: refused before any payload.
    raw.write(&[0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4]);
    assert_eq!(raw.close_code(), Some(1009));
    let mut raw = test.raw();
    raw.send(Opcode::Binary, &[1; 600], false);
    raw.send(Opcode::Continuation, &[1; 600], true);
    assert_eq!(raw.close_code(), Some(1009));
}

/// permessage-deflate is agreed only with websocket_compression on and an offer.
pub fn compression_is_negotiated_only_when_on_and_offered<R: Runtime + Default>() {
    let offer = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")];
    for (on, offered, agreed) in [(true, true, true), (true, false, false), (false, true, false)] {
        let settings = Settings { websocket_compression: on, ..Settings::default() };
        let test = TestServer::<R>::start(settings, echo);
        let mut raw = Raw::connect(test.addr);
        let headers: &[(&str, &str)] = if offered { &offer } else { &[] };
        raw.write(upgrade_request("/", headers).as_bytes());
        let head = raw.read_response().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 101"), "{head}");
        assert_eq!(head.contains("permessage-deflate"), agreed, "on {on}, offered {offered}: {head}");
    }
}

/// A push with Flags::COMPRESS on a connection without compression goes plain.
pub fn compress_flag_without_negotiation_sends_plain<R: Runtime + Default>() {
    let settings = Settings { websocket_compression: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, |server| {
        server.on_message(|server, frame| {
            server.push_with(frame.fd, frame.data, Opcode::Text, Flags::FIN | Flags::COMPRESS).unwrap();
        });
    });
    let mut raw = test.raw();
    raw.send_text("plain please");
    let frame = raw.frame();
    assert!(!frame.flags.contains(Flags::RSV1));
    assert_eq!(&frame.data[..], b"plain please");
}
