//! The methods and the HTTP side: on_request, on_handshake, disconnect, queries, send,
//! close, push across threads, broadcast, timers, shutdown, stats, and the client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ws_proto::handshake::accept_key;
use ws_proto::server::{Client, ClientSettings, DisconnectError, Error, PushError, Runtime, Server, Settings};
use ws_proto::{Fd, Flags, Frame, Opcode, SendError, Status};

use crate::raw::upgrade_request;
use crate::{Log, Raw, TestServer, eventually};

fn echo<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let _ = server.push_frame(frame.fd, frame);
    });
}

/// Plain HTTP without on_request gets 400.
pub fn plain_http_without_on_request_gets_400<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let mut raw = Raw::connect(test.addr);
    raw.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(raw.read_response().starts_with("HTTP/1.1 400"));
    raw.expect_eof();
}

/// on_request serves several keep-alive requests on one connection: query, headers, body.
pub fn on_request_serves_keep_alive_requests<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), |server| {
        echo(server);
        server.on_request(|req, res| {
            res.header("Content-Type", "text/plain");
            let body = format!(
                "{} {} message={} x-tag={} body={}",
                req.method,
                req.path,
                req.get("message").unwrap_or_default(),
                req.header("x-tag").unwrap_or_default(),
                String::from_utf8_lossy(&req.body)
            );
            res.set_body(body);
        });
    });
    let mut raw = Raw::connect(test.addr);
    raw.write(b"GET /push?message=hi%20there HTTP/1.1\r\nHost: x\r\nX-Tag: 7\r\n\r\n");
    let first = raw.read_response();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.ends_with("GET /push message=hi there x-tag=7 body="), "{first}");
    raw.write(b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    let second = raw.read_response();
    assert!(second.ends_with("POST /form message= x-tag= body=hello"), "{second}");
}

/// on_handshake answers the upgrade itself: no on_open, and defer pushes after the 101.
pub fn on_handshake_replaces_the_handshake_and_defer_pushes<R: Runtime + Default>() {
    let log = Log::default();
    let (opened, closed) = (log.clone(), log.clone());
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        echo(server);
        server.on_open(move |_, _| opened.push("on_open"));
        server.on_close(move |_, _| closed.push("on_close"));
        let deferring = server.clone();
        server.on_handshake(move |req, res| {
            let Some(key) = req.header("sec-websocket-key") else { return false };
            if req.path == "/refuse" {
                return false;
            }
            res.set_status(101);
            res.header("Upgrade", "websocket").header("Connection", "Upgrade");
            res.header("Sec-WebSocket-Accept", accept_key(key)).header("X-Custom", "yes");
            let fd = req.fd;
            deferring.defer(move |server| {
                server.push(fd, "hello, welcome").unwrap();
            });
            true
        });
    });
    let mut raw = Raw::connect(test.addr);
    raw.write(upgrade_request("/", &[]).as_bytes());
    let head = raw.read_response();
    assert!(head.starts_with("HTTP/1.1 101") && head.contains("X-Custom: yes"), "{head}");
    assert_eq!(&raw.frame().data[..], b"hello, welcome");
    raw.send_text("echo");
    assert_eq!(&raw.frame().data[..], b"echo");
    let mut refused = Raw::connect(test.addr);
    refused.write(upgrade_request("/refuse", &[]).as_bytes());
    assert!(refused.read_response().starts_with("HTTP/1.1 400"));
    drop(raw);
    assert_eq!(log.wait_for("on_close"), ["on_close"]);
}

/// on_before_handshake_response adds headers to the built-in 101; on_open follows.
pub fn on_before_handshake_response_adds_headers<R: Runtime + Default>() {
    let log = Log::default();
    let opened = log.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        echo(server);
        server.on_before_handshake_response(|_, res| {
            res.header("Set-Cookie", "session=1");
        });
        server.on_open(move |_, req| opened.push(format!("open {}", req.path)));
    });
    let mut raw = Raw::connect(test.addr);
    raw.write(upgrade_request("/room", &[]).as_bytes());
    let head = raw.read_response();
    assert!(head.starts_with("HTTP/1.1 101") && head.contains("Set-Cookie: session=1"), "{head}");
    log.wait_for("open /room");
}

/// Upgrades that fail validation get 400 (or 426 for a wrong version).
pub fn invalid_upgrades_are_rejected<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let cases: [(&str, &str); 3] = [
        (
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "400",
        ),
        (
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n",
            "426",
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "400",
        ),
    ];
    for (request, status) in cases {
        let mut raw = Raw::connect(test.addr);
        raw.write(request.as_bytes());
        let head = raw.read_response();
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{request:?} -> {head}");
        raw.expect_eof();
    }
}

/// disconnect takes 1000 or 4000–4999 and a reason of at most 123 bytes.
pub fn disconnect_validates_code_and_reason<R: Runtime + Default>() {
    let results = Arc::new(Mutex::new(Vec::new()));
    let seen = results.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(move |server, frame| {
            let mut seen = seen.lock().unwrap();
            seen.push(server.disconnect(frame.fd, 1001, ""));
            seen.push(server.disconnect(frame.fd, 3000, ""));
            seen.push(server.disconnect(frame.fd, 4000, &"r".repeat(124)));
            seen.push(server.disconnect(frame.fd, 4000, &"é".repeat(61)));
        });
    });
    let mut raw = test.raw();
    raw.send_text("go");
    let close = raw.frame();
    assert_eq!((close.opcode, close.code().map(u16::from)), (Opcode::Close, Some(4000)));
    assert_eq!(close.reason(), "é".repeat(61));
    assert_eq!(
        *results.lock().unwrap(),
        [
            Err(DisconnectError::InvalidCode(1001)),
            Err(DisconnectError::InvalidCode(3000)),
            Err(DisconnectError::ReasonTooLong(124)),
            Ok(())
        ]
    );
    assert_eq!(test.server.disconnect(Fd(999_999), 1000, ""), Err(DisconnectError::NotEstablished(Fd(999_999))));
}

/// exist, is_established, get_client_info and connections.
pub fn queries_report_connection_state<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), |server| {
        server.on_message(|server, frame| {
            let info = server.get_client_info(frame.fd).unwrap();
            let answer =
                format!("{} {:?} {}", server.is_established(frame.fd), info.websocket_status, server.exist(frame.fd));
            let _ = server.push(frame.fd, answer);
        });
    });
    let mut raw = test.raw();
    raw.send_text("?");
    assert_eq!(&raw.frame().data[..], b"true Some(Active) true");
    let mut pending = Raw::connect(test.addr);
    pending.write(b"GET / HTTP/1.1\r\n");
    let server = &test.server;
    eventually("two connections", || server.connections().len() == 2);
    let fds = server.connections();
    let (ws, other) = (fds[0], fds[1]);
    assert!(server.is_established(ws) && !server.is_established(other));
    assert!(server.exist(other));
    let info = server.get_client_info(ws).unwrap();
    assert_eq!(info.websocket_status, Some(Status::Active));
    assert_eq!(info.remote_addr, raw.stream.local_addr().unwrap());
    assert_eq!(info.server_port, test.addr.port());
    assert!(!server.exist(Fd(999_999)) && server.get_client_info(Fd(999_999)).is_none());
    assert_eq!(server.push(Fd(999_999), "x"), Err(ws_proto::server::PushError::NotFound(Fd(999_999))));
    assert_eq!(server.push(other, "x"), Err(ws_proto::server::PushError::NotEstablished(other)));
}

/// on_disconnect, not on_close, for a connection that never became a WebSocket.
pub fn on_disconnect_fires_for_http_connections<R: Runtime + Default>() {
    let log = Log::default();
    let (closed, disconnected) = (log.clone(), log.clone());
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        echo(server);
        server.on_close(move |_, _| closed.push("on_close"));
        server.on_disconnect(move |_, _| disconnected.push("on_disconnect"));
    });
    let mut raw = Raw::connect(test.addr);
    raw.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    raw.read_response();
    raw.expect_eof();
    assert_eq!(log.wait_for("on_disconnect"), ["on_disconnect"]);
}

/// As in the reference: a plain HTTP connection that on_request served ends with neither
/// on_close nor on_disconnect; one that sent only garbage gets on_disconnect.
pub fn on_request_served_connections_fire_no_close_callback<R: Runtime + Default>() {
    let log = Log::default();
    let (closed, disconnected) = (log.clone(), log.clone());
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        echo(server);
        server.on_request(|_, response| response.set_body("ok"));
        server.on_close(move |_, fd| closed.push(format!("on_close {fd}")));
        server.on_disconnect(move |_, fd| disconnected.push(format!("on_disconnect {fd}")));
    });
    let mut served = Raw::connect(test.addr);
    served.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    served.read_response();
    served.expect_eof();
    let mut broken = Raw::connect(test.addr);
    broken.write(b"NOT HTTP AT ALL\r\n\r\n");
    broken.expect_eof();
    // Only the broken connection reports; the served one stays silent.
    log.wait(|entries| !entries.is_empty());
    // Give a wrongly fired callback for the served connection time to show up.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let entries = log.entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].starts_with("on_disconnect"), "{entries:?}");
}

/// send writes raw bytes (a frame made with Frame::pack); close drops the connection.
pub fn send_raw_and_close<R: Runtime + Default>() {
    let log = Log::default();
    let closed = log.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(|server, frame| {
            server.send(frame.fd, Frame::text("hello world\n").pack()).unwrap();
            server.close(frame.fd).unwrap();
        });
        server.on_close(move |_, fd| closed.push(format!("close {fd}")));
    });
    let mut raw = test.raw();
    raw.send_text("x");
    assert_eq!(&raw.frame().data[..], b"hello world\n");
    raw.expect_eof();
    log.wait(|entries| entries.len() == 1);
}

/// A push from another thread goes through the mailbox and arrives.
pub fn push_from_another_thread<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let mut raw = test.raw();
    let server = test.server.clone();
    eventually("established", || server.connections().first().is_some_and(|fd| server.is_established(*fd)));
    let fd = server.connections()[0];
    let pusher = std::thread::spawn(move || {
        for i in 0..100 {
            server.push(fd, format!("n{i}")).unwrap();
        }
    });
    for i in 0..100 {
        assert_eq!(raw.frame().data, format!("n{i}"));
    }
    pusher.join().unwrap();
}

/// A pushed text is checked to be UTF-8 unless it is the very text message being
/// delivered (echoed from its own `on_message`, already checked when it came): a slice of
/// it that cuts a character, an altered copy, or a binary message pushed as text, all of
/// the size that skips the second check, are refused; from another thread and by
/// broadcast too.
pub fn pushed_text_is_checked_unless_it_is_the_message_echoed<R: Runtime + Default>() {
    let log = Log::default();
    let results = log.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        server.on_message(move |server, frame| {
            let fd = frame.fd;
            let outcome = |result: Result<(), PushError>| match result {
                Ok(()) => "ok".to_string(),
                Err(PushError::InvalidFrame(SendError::InvalidUtf8)) => "invalid".to_string(),
                Err(other) => format!("{other}"),
            };
            let data = frame.data.clone();
            if frame.opcode == Opcode::Binary {
                results.push(format!("binary as text: {}", outcome(server.push(fd, frame.data))));
                return;
            }
            // "é" is two bytes: the last byte of the message is the second half of one.
            let cut = data.slice(..data.len() - 1);
            results.push(format!("cut: {}", outcome(server.push(fd, cut))));
            let mut altered = data.to_vec();
            if let Some(last) = altered.last_mut() {
                *last = 0xff;
            }
            results.push(format!("altered: {}", outcome(server.push(fd, altered))));
            let cut = data.slice(..data.len() - 1);
            results.push(format!("broadcast cut: {}", server.broadcast(cut, Opcode::Text, Flags::FIN)));
            let elsewhere = server.clone();
            let other = data.slice(..data.len() - 1);
            let thread = std::thread::spawn(move || elsewhere.push(fd, other));
            results.push(format!("cut, from a thread: {}", outcome(thread.join().unwrap())));
            results.push(format!("echo: {}", outcome(server.push_frame(fd, frame))));
        });
    });
    let mut raw = test.raw();
    let text = "é".repeat(8 * 1024);
    raw.send_text(&text);
    let echo = raw.frame();
    assert!(echo.data == text.as_bytes(), "the echo arrives whole: {} of {} bytes", echo.data.len(), text.len());
    let mut binary = text.clone().into_bytes();
    binary.insert(0, 0xff);
    raw.send(Opcode::Binary, &binary, true);
    let entries = log.wait(|entries| entries.len() == 6);
    assert_eq!(
        entries,
        [
            "cut: invalid",
            "altered: invalid",
            "broadcast cut: 0",
            "cut, from a thread: invalid",
            "echo: ok",
            "binary as text: invalid"
        ]
    );
    raw.send(Opcode::Ping, b"end", true);
    let next = raw.frame();
    assert_eq!((next.opcode, &next.data[..]), (Opcode::Pong, &b"end"[..]), "nothing else was sent");
}

/// broadcast reaches every open WebSocket once.
pub fn broadcast_reaches_every_connection<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), |server| {
        server.on_message(|server, frame| {
            server.broadcast(frame.data, Opcode::Text, Flags::FIN);
        });
    });
    let mut clients: Vec<Raw> = (0..5).map(|_| test.raw()).collect();
    let server = test.server.clone();
    eventually("five open", || server.connections().iter().filter(|fd| server.is_established(**fd)).count() == 5);
    clients[0].send_text("to all");
    for client in &mut clients {
        assert_eq!(&client.frame().data[..], b"to all");
    }
    assert_eq!(test.server.broadcast(vec![0xff], Opcode::Text, Flags::FIN), 0, "invalid UTF-8 is not sent");
}

/// tick repeats until cleared; after fires once.
pub fn timers_tick_after_and_clear<R: Runtime + Default>() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let log = Log::default();
    let test = TestServer::<R>::start(Settings::default(), echo);
    let counter = ticks.clone();
    let id = test.server.tick(5, move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let fired = log.clone();
    test.server.after(20, move |_| fired.push("after"));
    let cancelled = log.clone();
    let never = test.server.after(10_000, move |_| cancelled.push("never"));
    eventually("three ticks", || ticks.load(Ordering::SeqCst) >= 3);
    assert!(test.server.clear_timer(id));
    assert!(test.server.clear_timer(never));
    assert!(!test.server.clear_timer(never));
    let stopped = ticks.load(Ordering::SeqCst);
    log.wait_for("after");
    std::thread::sleep(Duration::from_millis(30));
    assert!(ticks.load(Ordering::SeqCst) <= stopped + 1);
    assert_eq!(log.entries(), ["after"]);
}

/// `start` with one worker (where an adapter may pick a single-threaded runtime) serves,
/// takes pushes and timers from other threads, and returns after `shutdown`.
pub fn one_worker_start_serves_other_threads_and_stops<R: Runtime + Default>() {
    let server = Server::<R>::new("127.0.0.1", 0);
    server.set(Settings { worker_num: 1, shutdown_timeout: Duration::from_millis(300), ..Settings::default() });
    echo(&server);
    let (tx, done) = std::sync::mpsc::channel();
    let serving = server.clone();
    std::thread::spawn(move || {
        let _ = tx.send(serving.start().is_ok());
    });
    eventually("listening", || server.local_addr().is_some());
    let addr = server.local_addr().unwrap();
    let mut raw = Raw::upgrade(addr, "/", &[]);
    raw.send_text("hello");
    assert_eq!(&raw.frame().data[..], b"hello");
    let fd = server.connections()[0];
    let pusher = server.clone();
    std::thread::spawn(move || {
        for i in 0..50 {
            pusher.push(fd, format!("n{i}")).unwrap();
        }
    })
    .join()
    .unwrap();
    for i in 0..50 {
        assert_eq!(raw.frame().data, format!("n{i}"));
    }
    server.after(10, move |server| {
        let _ = server.push(fd, "from a timer");
    });
    assert_eq!(&raw.frame().data[..], b"from a timer");
    server.shutdown();
    assert_eq!(raw.close_code(), Some(1001));
    assert_eq!(done.recv_timeout(Duration::from_secs(5)), Ok(true), "start returned Ok after shutdown");
}

/// shutdown sends 1001 to every client, and serve returns.
pub fn shutdown_closes_with_1001_and_stops<R: Runtime + Default>() {
    let log = Log::default();
    let closed = log.clone();
    let test = TestServer::<R>::start(Settings::default(), move |server| {
        echo(server);
        server.on_close(move |_, _| closed.push("on_close"));
    });
    let mut a = test.raw();
    let mut b = test.raw();
    a.send_text("x");
    a.frame();
    test.server.shutdown();
    assert_eq!(a.close_code(), Some(1001));
    assert_eq!(b.close_code(), Some(1001));
    a.send(Opcode::Close, &1001u16.to_be_bytes(), true);
    a.expect_eof();
    log.wait(|entries| entries.len() == 2);
    drop(test); // asserts serve returned
}

/// stats counts connections, handshakes and messages.
pub fn stats_count_connections_and_messages<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let mut raw = test.raw();
    for _ in 0..3 {
        raw.send_text("x");
        raw.frame();
    }
    let stats = test.server.stats();
    assert_eq!((stats.connection_num, stats.accept_count, stats.websocket_count), (1, 1, 1));
    assert!(stats.start_time.is_some());
    drop(raw);
    eventually("closed", || test.server.stats().close_count == 1);
    assert_eq!(test.server.stats().message_in, 3);
}

/// start and run refuse to begin without on_message.
pub fn start_without_on_message_fails<R: Runtime + Default>() {
    let server = Server::<R>::new("127.0.0.1", 0);
    assert!(matches!(server.start(), Err(Error::MissingOnMessage)));
}

/// The client: upgrade, push, recv, close.
pub fn client_upgrade_push_recv_close<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let port = test.addr.port();
    R::default()
        .block_on(1, async move {
            let mut client = Client::<R>::new("127.0.0.1", port);
            client.upgrade("/").await.unwrap();
            assert!(client.is_connected());
            client.push("hello").await.unwrap();
            let frame = client.recv().await.unwrap();
            assert_eq!((frame.opcode, &frame.data[..]), (Opcode::Text, &b"hello"[..]));
            client.push_with(vec![1, 2, 3], Opcode::Binary, Flags::FIN).await.unwrap();
            assert_eq!(&client.recv().await.unwrap().data[..], &[1, 2, 3]);
            client.close().await.unwrap();
            assert!(!client.is_connected());
        })
        .unwrap();
}

/// The client and server agree on compression and messages round-trip compressed.
pub fn client_compression_round_trip<R: Runtime + Default>() {
    let settings = Settings { websocket_compression: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let port = test.addr.port();
    R::default()
        .block_on(1, async move {
            let mut client = Client::<R>::new("127.0.0.1", port);
            client.set(ClientSettings { websocket_compression: true, ..ClientSettings::default() });
            client.upgrade("/").await.unwrap();
            assert!(client.is_compressed());
            let text = "Hello Swoole ".repeat(100);
            client.push_with(text.clone(), Opcode::Text, Flags::FIN | Flags::COMPRESS).await.unwrap();
            let frame = client.recv().await.unwrap();
            assert_eq!(frame.data, text);
            assert!(frame.flags.contains(Flags::COMPRESS), "echoed compressed");
            client.close().await.unwrap();
        })
        .unwrap();
}

/// A ping from the client is answered with a pong that recv returns.
pub fn client_ping_gets_pong<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let port = test.addr.port();
    R::default()
        .block_on(1, async move {
            let mut client = Client::<R>::new("127.0.0.1", port);
            client.upgrade("/").await.unwrap();
            client.push_frame(Frame::ping("")).await.unwrap();
            assert_eq!(client.recv().await.unwrap().opcode, Opcode::Pong);
        })
        .unwrap();
}

/// serve_upgraded takes over a connection another stack upgraded (hyper, axum): the 101
/// comes from upgrade_response (compression negotiated as usual), then the server runs the
/// connection like its own.
pub fn serve_upgraded_takes_over_a_foreign_upgrade<R: Runtime + Default>() {
    use std::future::poll_fn;
    use std::sync::atomic::AtomicBool;
    use ws_proto::handshake::{HttpLimits, parse_request};
    use ws_proto::server::{Listener, Sleep, Stream};

    let log = Log::default();
    let opened = log.clone();
    let settings = Settings { websocket_compression: true, ..Settings::default() };
    let test = TestServer::<R>::start(settings, move |server| {
        echo(server);
        server.on_open(move |_, req| opened.push(format!("open {} {}", req.path, req.get("from").unwrap_or_default())));
    });
    let foreign = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    foreign.set_nonblocking(true).unwrap();
    let addr = foreign.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let (server, finished) = (test.server.clone(), done.clone());
    let other_stack = std::thread::spawn(move || {
        let runtime = server.runtime().clone();
        runtime
            .clone()
            .block_on(1, async move {
                let listener = runtime.listener(foreign).unwrap();
                let (mut stream, peer) = poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
                let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
                let head = loop {
                    let n = poll_fn(|cx| stream.poll_read(cx, &mut chunk)).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(head) = parse_request(&buf, &HttpLimits::default()).unwrap() {
                        break head;
                    }
                };
                // What hyper or axum hand over: the method, the target and the header map.
                let target = format!("{}?{}", head.request.path, head.request.query_string);
                let request = ws_proto::handshake::Request::from_parts(
                    head.request.method.clone(),
                    &target,
                    head.request.headers().map(|(n, v)| (n.to_owned(), v.to_owned())).collect::<Vec<_>>(),
                );
                let mut response = server.upgrade_response(&request).unwrap();
                response.header("X-Stack", "foreign");
                let bytes = response.to_bytes();
                let mut written = 0;
                while written < bytes.len() {
                    let slice = [std::io::IoSlice::new(&bytes[written..])];
                    written += poll_fn(|cx| stream.poll_write_vectored(cx, &slice)).await.unwrap();
                }
                server.serve_upgraded(stream, peer, request).unwrap();
                // Keep this runtime (which now drives the connection) alive until the end.
                while !finished.load(Ordering::SeqCst) {
                    let mut sleep = runtime.sleep(runtime.now() + Duration::from_millis(5));
                    poll_fn(|cx| sleep.poll_elapsed(cx)).await;
                }
            })
            .unwrap();
    });
    let mut raw = Raw::connect(addr);
    raw.write(upgrade_request("/adopted?from=hyper", &[("Sec-WebSocket-Extensions", "permessage-deflate")]).as_bytes());
    let head = raw.read_response();
    assert!(head.starts_with("HTTP/1.1 101") && head.contains("X-Stack: foreign"), "{head}");
    assert!(head.to_ascii_lowercase().contains("sec-websocket-extensions: permessage-deflate"), "{head}");
    raw.send_text("adopted");
    assert_eq!(&raw.frame().data[..], b"adopted");
    log.wait_for("open /adopted hyper");
    assert!(test.server.connections().len() == 1);
    raw.send(Opcode::Close, &1000u16.to_be_bytes(), true);
    assert_eq!(raw.close_code(), Some(1000));
    raw.expect_eof();
    done.store(true, Ordering::SeqCst);
    other_stack.join().unwrap();
}
