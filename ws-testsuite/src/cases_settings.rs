//! Settings and client options over sockets: `websocket_subprotocol`, `max_frame_size`,
//! `heartbeat_check_interval` alone, and the client's `timeout`, `subprotocols` and
//! `headers`.

use std::io::{ErrorKind, Read};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use ws_proto::Opcode;
use ws_proto::server::{Client, ClientSettings, Error, Runtime, Server, Settings};

use crate::raw::upgrade_request;
use crate::{Log, Raw, TestServer};

fn echo<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let _ = server.push_frame(frame.fd, frame);
    });
}

/// The values of every `name` header line of an HTTP head, trimmed.
fn header_values(head: &str, name: &str) -> Vec<String> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_owned())
        .collect()
}

/// Upgrades with `headers`, asserts the 101 and that the connection is open (an echo
/// round-trip), and returns the `Sec-WebSocket-Protocol` values of the 101.
fn protocols_answered(test: &TestServer<impl Runtime + Default>, headers: &[(&str, &str)]) -> Vec<String> {
    let mut raw = Raw::connect(test.addr);
    raw.write(upgrade_request("/", headers).as_bytes());
    let head = raw.read_response();
    assert!(head.starts_with("HTTP/1.1 101"), "offer {headers:?}: {head}");
    raw.send_text("open?");
    assert_eq!(&raw.data_frame().data[..], b"open?", "offer {headers:?}: the connection is open");
    header_values(&head, "sec-websocket-protocol")
}

/// `websocket_subprotocol`: the 101 names the server's protocol when the client offered it
/// (in a list, or on its own header line), and names nothing otherwise (no match, another
/// case, a longer token, no offer, no protocol set on the server); the connection opens
/// either way.
pub fn websocket_subprotocol_is_named_only_when_offered<R: Runtime + Default>() {
    let settings = Settings { websocket_subprotocol: Some("superchat".into()), ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let protocol = "Sec-WebSocket-Protocol";
    assert_eq!(protocols_answered(&test, &[(protocol, "chat, superchat")]), ["superchat"]);
    assert_eq!(protocols_answered(&test, &[(protocol, "chat"), (protocol, "superchat")]), ["superchat"]);
    let not_offered: [&[(&str, &str)]; 4] =
        [&[(protocol, "other")], &[(protocol, "SuperChat")], &[(protocol, "superchatty, chat")], &[]];
    for headers in not_offered {
        assert_eq!(protocols_answered(&test, headers), Vec::<String>::new(), "offer {headers:?}");
    }
    drop(test);
    // A server without a subprotocol does not echo the client's offer.
    let test = TestServer::<R>::start(Settings::default(), echo);
    assert_eq!(protocols_answered(&test, &[(protocol, "superchat")]), Vec::<String>::new());
}

/// `max_frame_size` below `package_max_length`: a frame of exactly the limit passes, one
/// byte more closes with 1009 before anything reaches `on_message`, and a message of three
/// fragments each under the limit (together over it) arrives whole.
pub fn max_frame_size_closes_with_1009_and_fragments_pass<R: Runtime + Default>() {
    let log = Log::default();
    let (seen, closed) = (log.clone(), log.clone());
    let settings = Settings { max_frame_size: 1000, package_max_length: 10_000, ..Settings::default() };
    let test = TestServer::<R>::start(settings, move |server| {
        server.on_message(move |server, frame| {
            seen.push(format!("{} {:?} {} {}", frame.fd, frame.opcode, frame.data.len(), frame.finish));
            let _ = server.push(frame.fd, format!("got {}", frame.data.len()));
        });
        server.on_close(move |_, fd| closed.push(format!("{fd} closed")));
    });
    let mut raw = test.raw();
    raw.send(Opcode::Binary, &[1; 1000], true);
    assert_eq!(&raw.data_frame().data[..], b"got 1000");
    let fragments: Vec<Vec<u8>> = (0u8..3).map(|i| vec![b'a' + i; 900]).collect();
    raw.send(Opcode::Binary, &fragments[0], false);
    raw.send(Opcode::Continuation, &fragments[1], false);
    raw.send(Opcode::Continuation, &fragments[2], true);
    assert_eq!(&raw.data_frame().data[..], b"got 2700");
    let delivered = log.entries();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert!(delivered[1].ends_with(" Binary 2700 true"), "{delivered:?}");

    let mut over = test.raw();
    over.send(Opcode::Binary, &[2; 1001], true);
    assert_eq!(over.close_code(), Some(1009));
    over.expect_eof();
    let entries = log.wait(|entries| entries.iter().any(|e| e.ends_with(" closed")));
    assert_eq!(entries[..2], delivered[..], "nothing reached on_message: {entries:?}");
    assert_eq!(entries.len(), 3, "{entries:?}");
}

/// `heartbeat_check_interval` without `heartbeat_idle_time` closes an idle connection with
/// 1001 after twice the interval: still open well before, closed within a generous bound.
pub fn heartbeat_check_interval_alone_closes_after_twice_the_interval<R: Runtime + Default>() {
    let interval = Duration::from_millis(200);
    let settings = Settings { heartbeat_check_interval: Some(interval), ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let start = Instant::now();
    let mut raw = test.raw();
    let server = &test.server;
    let fd = server.connections()[0];
    std::thread::sleep((start + interval / 2).saturating_duration_since(Instant::now()));
    assert!(server.is_established(fd), "closed at half the interval");
    raw.stream.set_nonblocking(true).unwrap();
    let peeked = raw.stream.peek(&mut [0u8; 1]);
    assert!(matches!(&peeked, Err(e) if e.kind() == ErrorKind::WouldBlock), "nothing yet, got {peeked:?}");
    raw.stream.set_nonblocking(false).unwrap();
    assert_eq!(raw.close_code(), Some(1001));
    let elapsed = start.elapsed();
    // Twice the interval (400 ms) after the server last heard from the client, which was
    // after `start`; a little slack for timers that round.
    assert!(elapsed >= interval * 2 - Duration::from_millis(50), "closed after {elapsed:?}, before twice the interval");
    assert!(elapsed < Duration::from_secs(3), "closed only after {elapsed:?}");
    raw.expect_eof();
}

/// The client's `timeout` bounds an upgrade that a peer accepts and never answers:
/// `Error::TimedOut`, about when the timeout says. Several attempts, so that an error
/// that depends on timing shows up.
pub fn client_timeout_bounds_an_upgrade_without_answer<R: Runtime + Default>() {
    const ATTEMPTS: usize = 10;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (request_tx, request_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let silent = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        // Until the case is over (done_tx dropped), holding every connection open.
        while let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(Duration::from_millis(5)) {
            let Ok((mut stream, _)) = listener.accept() else { continue };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = request_tx.send(String::from_utf8_lossy(&request).into_owned());
            held.push(stream);
        }
    });
    let timeout = Duration::from_millis(150);
    for attempt in 0..ATTEMPTS {
        let start = Instant::now();
        let result = R::default()
            .block_on(1, async move {
                let mut client = Client::<R>::new("127.0.0.1", port);
                client.set(ClientSettings { timeout: Some(timeout), ..ClientSettings::default() });
                client.upgrade("/").await
            })
            .unwrap();
        let elapsed = start.elapsed();
        assert!(matches!(result, Err(Error::TimedOut)), "attempt {attempt}: expected TimedOut, got {result:?}");
        assert!(elapsed >= timeout - Duration::from_millis(30), "attempt {attempt}: gave up after {elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "attempt {attempt}: gave up only after {elapsed:?}");
        let request = request_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(request.starts_with("GET / HTTP/1.1\r\n"), "the upgrade was sent: {request:?}");
    }
    drop(done_tx);
    silent.join().unwrap();
}

/// The client's `subprotocols` and `headers` reach the server (on_open's request shows
/// them), and the client reports the subprotocol the server chose (none when it chose none).
pub fn client_subprotocols_and_headers_reach_the_server<R: Runtime + Default>() {
    let log = Log::default();
    let opened = log.clone();
    let settings = Settings { websocket_subprotocol: Some("superchat".into()), ..Settings::default() };
    let test = TestServer::<R>::start(settings, move |server| {
        echo(server);
        server.on_open(move |_, req| {
            let protocols: Vec<&str> =
                req.header_all("sec-websocket-protocol").flat_map(|v| v.split(',')).map(str::trim).collect();
            opened.push(format!(
                "{} protocols={} origin={}",
                req.path,
                protocols.join("|"),
                req.header("origin").unwrap_or("-")
            ));
        });
    });
    let port = test.addr.port();
    let reported = R::default()
        .block_on(1, async move {
            let mut reported = Vec::new();
            for (path, offer) in [("/both", vec!["chat", "superchat"]), ("/chat", vec!["chat"])] {
                let mut client = Client::<R>::new("127.0.0.1", port);
                client.set(ClientSettings {
                    subprotocols: offer.into_iter().map(String::from).collect(),
                    headers: vec![("Origin".into(), "http://example".into())],
                    ..ClientSettings::default()
                });
                client.upgrade(path).await.unwrap();
                client.push("hi").await.unwrap();
                assert_eq!(&client.recv().await.unwrap().data[..], b"hi");
                reported.push(client.protocol().map(str::to_owned));
                client.close().await.unwrap();
            }
            reported
        })
        .unwrap();
    assert_eq!(reported, [Some("superchat".to_owned()), None]);
    let entries = log.wait(|entries| entries.len() == 2);
    assert_eq!(
        entries,
        ["/both protocols=chat|superchat origin=http://example", "/chat protocols=chat origin=http://example"]
    );
}

/// `Runtime::block_on` with one worker runs `main` on the thread that runs the tasks it
/// spawns: the server's accept loop then starts each connection's task with no wake-up of another
/// thread. Not in [`suite!`](crate::suite): each adapter runs it alone in its process,
/// since async-std's global executor takes its thread count from its first use.
pub fn block_on_runs_main_beside_its_tasks<R: Runtime + Default>() {
    use ws_proto::server::Sleep;
    let runtime = R::default();
    let inner = runtime.clone();
    let (main, task) = runtime
        .block_on(1, async move {
            let main = std::thread::current().id();
            let seen = Arc::new(Mutex::new(None));
            let slot = seen.clone();
            inner.spawn(async move {
                *slot.lock().unwrap() = Some(std::thread::current().id());
            });
            loop {
                if let Some(task) = *seen.lock().unwrap() {
                    return (main, task);
                }
                let mut sleep = inner.sleep(inner.now() + Duration::from_millis(1));
                std::future::poll_fn(|cx| sleep.poll_elapsed(cx)).await;
            }
        })
        .unwrap();
    assert_eq!(main, task, "main and the task it spawned ran on different threads");
}

/// A panic in `main` reaches the caller of `Runtime::block_on` (it neither hangs nor
/// vanishes).
pub fn block_on_passes_a_panic_of_main_to_the_caller<R: Runtime + Default>() {
    let result = std::panic::catch_unwind(|| R::default().block_on(1, async { panic!("main failed") }));
    let panic = result.expect_err("the panic reached the caller");
    let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "main failed");
}
