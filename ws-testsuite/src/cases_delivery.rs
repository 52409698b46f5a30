//! What the server reports and sends: `get_client_info` for HTTP and WebSocket
//! connections, fragments pushed by hand, and a broadcast framed once.

use std::sync::{Arc, Mutex};

use ws_proto::server::{Runtime, Server, Settings};
use ws_proto::{Fd, Flags, Opcode, Status};

use crate::{Log, Raw, TestServer, eventually};

/// `get_client_info` tells a plain HTTP connection (served by on_request and kept alive)
/// from a WebSocket: `websocket_status` `None` for the first, inside on_request and after,
/// and `Some(Active)` for the other; only the WebSocket `is_established`.
pub fn client_info_tells_http_from_websocket<R: Runtime + Default>() {
    let log = Log::default();
    let (requested, opened) = (log.clone(), log.clone());
    // The callbacks query the server through this; emptied at the end (no cycle left).
    let handle: Arc<Mutex<Option<Server<R>>>> = Arc::default();
    let inside = handle.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(|server, frame| {
            let _ = server.push_frame(frame.fd, frame);
        });
        server.on_request(move |req, res| {
            let server = inside.lock().unwrap().clone();
            let info = server.as_ref().map(|server| {
                let status = server.get_client_info(req.fd).map(|info| info.websocket_status);
                format!("{status:?} {}", server.is_established(req.fd))
            });
            requested.push(format!("request {}", req.fd.0));
            res.set_body(info.unwrap_or_default());
        });
        server.on_open(move |_, req| opened.push(format!("open {}", req.fd.0)));
    });
    *handle.lock().unwrap() = Some(test.server.clone());
    let fd_of = |prefix: &str| {
        let entries = log.wait(|entries| entries.iter().any(|e| e.starts_with(prefix)));
        let entry = entries.iter().find(|e| e.starts_with(prefix)).cloned().unwrap_or_default();
        Fd(entry.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_default())
    };

    let mut http = Raw::connect(test.addr);
    http.write(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = http.read_response();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("Some(None) false"), "inside on_request: {response}");
    let http_fd = fd_of("request");
    let mut ws = test.raw();
    ws.send_text("open");
    assert_eq!(&ws.frame().data[..], b"open");
    let ws_fd = fd_of("open");
    assert_ne!(http_fd, ws_fd);

    let server = &test.server;
    // Kept alive: still there, still not a WebSocket.
    assert!(server.exist(http_fd));
    let info = server.get_client_info(http_fd).expect("the kept-alive HTTP connection is known");
    assert_eq!(info.websocket_status, None);
    assert_eq!(info.remote_addr, http.stream.local_addr().unwrap());
    assert!(!server.is_established(http_fd));
    let info = server.get_client_info(ws_fd).expect("the WebSocket is known");
    assert_eq!(info.websocket_status, Some(Status::Active));
    assert!(server.is_established(ws_fd));

    // A second request on the same connection: the same answers.
    http.write(b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = http.read_response();
    assert!(response.ends_with("Some(None) false"), "second request: {response}");
    assert_eq!(server.get_client_info(http_fd).map(|info| info.websocket_status), Some(None));
    assert!(!server.is_established(http_fd));
    handle.lock().unwrap().take();
}

/// push_with fragments by hand: "ab" as Text without FIN, then "cd" as Continuation with
/// FIN, arrive as two frames with those opcodes and FIN bits, from a callback (the
/// connection's own task) and from another thread (its mailbox) alike; a whole message
/// follows normally.
pub fn push_with_fragments_by_hand<R: Runtime + Default>() {
    fn fragments<R: Runtime>(server: &Server<R>, fd: Fd) {
        server.push_with(fd, "ab", Opcode::Text, Flags::NONE).unwrap();
        server.push_with(fd, "cd", Opcode::Continuation, Flags::FIN).unwrap();
        server.push(fd, "whole").unwrap();
    }
    let test = TestServer::<R>::start(Settings::default(), |server| {
        server.on_message(|server, frame| fragments(server, frame.fd));
    });
    let mut raw = test.raw();
    let expect = |raw: &mut Raw, how: &str| {
        let seen: Vec<_> = (0..3)
            .map(|_| {
                let frame = raw.data_frame();
                (frame.opcode, String::from_utf8_lossy(&frame.data).into_owned(), frame.finish)
            })
            .collect();
        let expected = [
            (Opcode::Text, "ab".to_owned(), false),
            (Opcode::Continuation, "cd".to_owned(), true),
            (Opcode::Text, "whole".to_owned(), true),
        ];
        assert_eq!(seen, expected, "{how}");
    };
    raw.send_text("go");
    expect(&mut raw, "from the callback");
    let server = test.server.clone();
    let fd = server.connections()[0];
    std::thread::spawn(move || fragments(&server, fd)).join().unwrap();
    expect(&mut raw, "from another thread");
}

/// broadcast frames (and compresses) once for all connections, as a topic publish does:
/// with `Flags::COMPRESS`, the eight connections that agreed to no server context takeover
/// get the same compressed payload, while one that agreed to compression with context
/// takeover (which a per-connection push would compress) and one without compression get
/// the plain frame.
pub fn broadcast_frames_once<R: Runtime + Default>() {
    let settings = Settings { websocket_compression: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, |server| {
        server.on_message(|_, _| {});
    });
    let shared =
        [("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits")];
    let takeover = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")];
    let mut sharing: Vec<Raw> = (0..8).map(|_| Raw::upgrade(test.addr, "/", &shared)).collect();
    let mut own_context = Raw::upgrade(test.addr, "/", &takeover);
    let mut plain = test.raw();
    let server = test.server.clone();
    eventually("ten open", || server.connections().iter().filter(|fd| server.is_established(**fd)).count() == 10);

    let text = "broadcast once, broadcast once, broadcast once, broadcast once, broadcast once";
    assert_eq!(server.broadcast(text, Opcode::Text, Flags::FIN | Flags::COMPRESS), 10);
    let frames: Vec<_> = sharing.iter_mut().map(Raw::data_frame).collect();
    for frame in &frames {
        assert_eq!(frame.opcode, Opcode::Text);
        assert!(frame.flags.contains(Flags::RSV1), "compressed frame expected");
        assert_eq!(frame.data, frames[0].data, "the same compressed bytes for everyone");
        assert!(frame.data.len() < text.len());
    }
    for (name, client) in [("context takeover", &mut own_context), ("no compression", &mut plain)] {
        let frame = client.data_frame();
        assert!(!frame.flags.contains(Flags::RSV1), "{name}: the shared frame is plain for it");
        assert_eq!(&frame.data[..], text.as_bytes(), "{name}");
    }
    // Without COMPRESS, everyone gets the one plain frame.
    assert_eq!(server.broadcast(vec![1u8, 2, 3], Opcode::Binary, Flags::FIN), 10);
    for client in sharing.iter_mut().chain([&mut own_context, &mut plain]) {
        let frame = client.data_frame();
        assert!(!frame.flags.contains(Flags::RSV1));
        assert_eq!((frame.opcode, &frame.data[..]), (Opcode::Binary, &[1u8, 2, 3][..]));
    }
}

/// Messages the application keeps stay as they came while more arrive: large ones are split
/// off a per-thread read buffer rather than copied (`Connection::receive_buf`), so held
/// messages keep parts of that buffer, and reads must go elsewhere. Sixty messages of 6 to
/// 40 KiB, small ones between, texts and binaries, sent in one write (many per read), each
/// kept in `on_message` and compared byte for byte once all are in; then each echoed.
pub fn kept_messages_stay_intact_while_more_arrive<R: Runtime + Default>() {
    let kept: Arc<Mutex<Vec<(Opcode, bytes::Bytes)>>> = Arc::default();
    let store = kept.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(move |_, frame| {
            store.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((frame.opcode, frame.data));
        });
    });
    let mut raw = test.raw();
    let mut sent = Vec::new();
    let mut wire = Vec::new();
    for i in 0..60u32 {
        let len = if i % 3 == 2 { 20 + i as usize } else { 6 * 1024 + (i as usize * 577) % (34 * 1024) };
        let (opcode, data) = if i % 2 == 0 {
            let text: String = (0..len).map(|k| char::from(b'a' + ((k as u32 * 7 + i) % 26) as u8)).collect();
            (Opcode::Text, text.into_bytes())
        } else {
            (Opcode::Binary, (0..len).map(|k| (k as u32 * 31 + i * 17) as u8).collect::<Vec<u8>>())
        };
        let frame =
            ws_proto::Frame { fd: Fd::default(), data: data.clone().into(), opcode, finish: true, flags: Flags::NONE };
        wire.extend_from_slice(&frame.pack_masked([0x5a, 0x01, 0xc3, 0x7e]));
        sent.push((opcode, data));
    }
    raw.write(&wire);
    eventually("all sixty kept", || kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len() == 60);
    let kept = kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    for (i, ((opcode, data), (sent_opcode, sent_data))) in kept.iter().zip(&sent).enumerate() {
        assert_eq!(*opcode, *sent_opcode, "message {i}");
        assert!(data[..] == sent_data[..], "message {i} ({} bytes) changed", sent_data.len());
    }
    // Sent back, from the kept bytes, after the reads that came later.
    let server = test.server.clone();
    let fd = server.connections().into_iter().next().expect("the connection");
    for (opcode, data) in &kept {
        server.push_with(fd, data.clone(), *opcode, Flags::FIN).expect("push");
    }
    for (i, (opcode, data)) in sent.iter().enumerate() {
        let frame = raw.data_frame();
        assert_eq!((frame.opcode, frame.data.len()), (*opcode, data.len()), "echo {i}");
        assert!(frame.data[..] == data[..], "echo {i} differs");
    }
}
