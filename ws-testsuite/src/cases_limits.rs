//! Settings that limit: max_connection, buffer_output_size, handshake_timeout, heartbeat,
//! and the server ping.

use std::io::Write;
use std::time::Duration;

use ws_proto::Opcode;
use ws_proto::server::{PushError, Runtime, Server, Settings};

use crate::{Raw, TestServer, eventually};

fn echo<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let _ = server.push_frame(frame.fd, frame);
    });
}

/// Past max_connection, new connections are closed at once; room frees as others close.
pub fn max_connection_refuses_extra_connections<R: Runtime + Default>() {
    let settings = Settings { max_connection: 2, ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let a = test.raw();
    let mut b = test.raw();
    let mut refused = Raw::connect(test.addr);
    refused.expect_eof();
    assert_eq!(test.server.stats().rejected_count, 1);
    drop(a);
    let server = test.server.clone();
    eventually("a closed", || server.connections().len() == 1);
    let mut c = test.raw();
    c.send_text("in");
    assert_eq!(&c.frame().data[..], b"in");
    b.send_text("still");
    assert_eq!(&b.frame().data[..], b"still");
}

/// A client that never reads: pushes fail with BufferFull (payload handed back) instead
/// of queueing without bound.
pub fn buffer_output_size_bounds_a_client_that_never_reads<R: Runtime + Default>() {
    let settings = Settings { buffer_output_size: 256 * 1024, ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let _silent = test.raw();
    let server = test.server.clone();
    eventually("established", || server.connections().first().is_some_and(|fd| server.is_established(*fd)));
    let fd = server.connections()[0];
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    let mut full = None;
    for _ in 0..4096 {
        match server.push(fd, chunk.clone()) {
            Ok(()) => {}
            Err(error) => {
                full = Some(error);
                break;
            }
        }
    }
    match full {
        Some(PushError::BufferFull { fd: full_fd, data }) => {
            assert_eq!(full_fd, fd);
            assert_eq!(data, chunk, "the payload comes back");
        }
        other => panic!("expected BufferFull within 256 MiB of pushes, got {other:?}"),
    }
}

/// A client sending its handshake one byte at a time is cut off at handshake_timeout.
pub fn handshake_timeout_cuts_off_a_dribbling_client<R: Runtime + Default>() {
    let settings = Settings { handshake_timeout: Some(Duration::from_millis(300)), ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let mut raw = Raw::connect(test.addr);
    for byte in b"GET / HTTP/1.1\r\nHost: x\r\n" {
        if raw.stream.write_all(&[*byte]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(60));
    }
    let head = raw.read_response();
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    raw.expect_eof();
}

/// heartbeat_idle_time closes a connection that sends nothing, with 1001.
pub fn heartbeat_closes_idle_connections<R: Runtime + Default>() {
    let settings = Settings { heartbeat_idle_time: Some(Duration::from_millis(300)), ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let mut raw = test.raw();
    raw.send_text("alive");
    assert_eq!(&raw.frame().data[..], b"alive");
    assert_eq!(raw.close_code(), Some(1001));
    raw.expect_eof();
}

/// websocket_ping_interval pings a quiet connection before the idle limit.
pub fn ping_interval_pings_quiet_connections<R: Runtime + Default>() {
    let settings = Settings {
        websocket_ping_interval: Some(Duration::from_millis(100)),
        heartbeat_idle_time: Some(Duration::from_secs(5)),
        ..Settings::default()
    };
    let test = TestServer::<R>::start(settings, echo);
    let mut raw = test.raw();
    assert_eq!(raw.frame().opcode, Opcode::Ping);
    raw.send(Opcode::Pong, b"", true);
    assert_eq!(raw.frame().opcode, Opcode::Ping);
}
