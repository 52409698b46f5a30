//! The server mode judges clients: a naive echo client (no RSV check) passes the plain cases
//! and FAILS the reserved-bits one. Pure Rust, 127.0.0.1 with an OS-chosen port, deadlines.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ws_conformance::Verdict;
use ws_conformance::serve::JudgeThread;
use ws_conformance::wire::OutFrame;
use ws_proto::FrameHeader;
use ws_proto::handshake::{ClientRequest, HttpLimits, parse_response, verify_response};

/// Connects to `path`, echoes data messages (masked), answers pings and echoes the close.
/// Ignores RSV bits on purpose: a broken client.
fn naive_echo_client(addr: SocketAddr, path: &str) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let req = ClientRequest::new(addr.to_string(), path, [7; 16]);
    stream.write_all(&req.encode(None)).expect("write request");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_len = loop {
        if let Some((res, n)) = parse_response(&buf, &HttpLimits::default()).expect("response") {
            verify_response(&res, &req).expect("101");
            break n;
        }
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed during the handshake");
        buf.extend_from_slice(&chunk[..n]);
    };
    buf.drain(..head_len);
    loop {
        while let Ok(Some((h, n))) = FrameHeader::decode(&buf) {
            let len = h.payload_len as usize;
            if buf.len() < n + len {
                break;
            }
            let payload = buf[n..n + len].to_vec();
            buf.drain(..n + len);
            let opcode = u8::from(h.opcode);
            let reply = match opcode {
                0x9 => OutFrame::pong(payload),
                0xA => continue,
                _ => OutFrame::new(opcode, payload).fin(h.fin),
            };
            if stream.write_all(&reply.encode(Some([1, 2, 3, 4]))).is_err() || opcode == 0x8 {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[test]
fn judges_a_naive_client() {
    let dir = std::env::temp_dir().join(format!("ws-conformance-serve-{}", std::process::id()));
    let judge = JudgeThread::spawn("127.0.0.1:0", "1.1.1,1.2.3,2.2,3.1,7.7.1", &dir).expect("bind");
    let addr = judge.addr();
    for id in ["1.1.1", "1.2.3", "2.2", "3.1", "7.7.1"] {
        naive_echo_client(addr, &format!("/runCase?case={id}&agent=naive"));
    }
    naive_echo_client(addr, "/updateReports?agent=naive");
    let judge = judge.stop().expect("judge thread");
    let verdict = |id: &str| judge.results("naive").iter().find(|r| r.id == id).map(|r| r.verdict);
    for id in ["1.1.1", "1.2.3", "2.2", "7.7.1"] {
        assert_eq!(verdict(id), Some(Verdict::Ok), "{id}: {:#?}", judge.results("naive"));
    }
    assert_eq!(verdict("3.1"), Some(Verdict::Failed), "an echo of an RSV frame must fail");
    assert!(dir.join("naive").join("report.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
