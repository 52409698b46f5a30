//! The server mode judges clients on permessage-deflate (families 12 and 13): a compliant
//! deflate echo client passes every case, one that breaks RFC 7692 FAILS the right cases,
//! and one that offers no compression gets UNIMPLEMENTED. The clients are written here on
//! `ws_proto`'s handshake, frame header and deflate codec, with switchable faults. Pure Rust,
//! 127.0.0.1 with an OS-chosen port, deadlines.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use ws_conformance::serve::JudgeThread;
use ws_conformance::wire::{OutFrame, op, rsv};
use ws_conformance::{CaseResult, Verdict};
use ws_proto::deflate::{Compressor, Decompressor, DeflateConfig, DeflateParams};
use ws_proto::handshake::{ClientRequest, HttpLimits, parse_response, verify_response};
use ws_proto::{FrameHeader, Opcode, Role};

/// How the client under test behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// Offers `permessage-deflate; client_max_window_bits`, inflates, checks everything and
    /// echoes compressed with the agreed parameters.
    Compliant,
    /// The same, but echoes uncompressed (RFC 7692 lets a sender choose per message).
    CompliantPlainEchoes,
    /// Offers `permessage-deflate` alone: the judge cannot limit its window.
    CompliantNoClientBits,
    /// Offers nothing.
    NoOffer,
    /// Echoes each compressed message in two frames, RSV1 set on both.
    RsvOnContinuation,
    /// Keeps its compression context even when `client_no_context_takeover` was agreed.
    KeepsContext,
}

/// Connects to `path`, makes the upgrade with `client`'s offer and echoes until the judge
/// closes.
fn run_client(addr: SocketAddr, path: &str, client: Client) {
    let mut conn = connect(addr, path, client);
    if let Err(code) = conn.echo() {
        conn.fail(code);
    }
}

/// Asks `/getCaseCount`, as a client under test does first.
fn case_count(addr: SocketAddr) -> usize {
    let mut conn = connect(addr, "/getCaseCount", Client::NoOffer);
    let (header, payload) = conn.frame().expect("a frame").expect("the count");
    assert_eq!(header.opcode, Opcode::Text);
    let _ = conn.echo();
    String::from_utf8(payload).expect("text").parse().expect("a number")
}

/// Connects to `path` and makes the upgrade with `client`'s offer.
fn connect(addr: SocketAddr, path: &str, client: Client) -> Conn {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(40))).expect("timeout");
    let config = DeflateConfig::default();
    let offer = match client {
        Client::NoOffer => None,
        Client::CompliantNoClientBits => Some("permessage-deflate".to_string()),
        _ => Some(DeflateParams::offer(&config)),
    };
    let req = ClientRequest::new(addr.to_string(), path, [9; 16]);
    stream.write_all(&req.encode(offer.as_deref())).expect("write request");
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 65536];
    let (params, head_len) = loop {
        if let Some((res, n)) = parse_response(&buf, &HttpLimits::default()).expect("response") {
            verify_response(&res, &req).expect("101");
            let values: Vec<&str> = res.header_all("sec-websocket-extensions").collect();
            let params = match offer {
                None => {
                    assert!(values.is_empty(), "extensions {values:?} we did not offer");
                    None
                }
                Some(_) => DeflateParams::from_response(&values, &config).expect("a valid deflate response"),
            };
            break (params, n);
        }
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed during the handshake");
        buf.extend_from_slice(&chunk[..n]);
    };
    buf.drain(..head_len);
    Conn {
        stream,
        buf,
        client,
        compressor: params.map(|p| {
            let p = if client == Client::KeepsContext { p.with_client_no_context_takeover(false) } else { p };
            Compressor::new(&p, Role::Client, 6, 8)
        }),
        decompressor: params.map(|p| Decompressor::new(&p, Role::Client)),
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    client: Client,
    compressor: Option<Compressor>,
    decompressor: Option<Decompressor>,
}

impl Conn {
    /// Echoes messages until the judge's close (`Ok`) or a protocol error (`Err(code)`).
    fn echo(&mut self) -> Result<(), u16> {
        // The message being received: opcode, compressed, payload so far.
        let mut message: Option<(Opcode, bool, Vec<u8>)> = None;
        loop {
            let Some((header, payload)) = self.frame()? else { return Ok(()) };
            let rsv1 = header.rsv & rsv::RSV1 != 0;
            let rsv1_ok = self.decompressor.is_some() && header.opcode.is_data();
            if header.mask.is_some() || header.rsv & !rsv::RSV1 != 0 || (rsv1 && !rsv1_ok) {
                return Err(1002);
            }
            match header.opcode {
                Opcode::Ping => self.send(&OutFrame::pong(payload)),
                Opcode::Pong => {}
                Opcode::Close => {
                    let code = payload.get(..2).map_or(1000, |c| u16::from_be_bytes([c[0], c[1]]));
                    self.send(&OutFrame::close(code, b""));
                    return Ok(());
                }
                Opcode::Text | Opcode::Binary if message.is_some() => return Err(1002),
                Opcode::Text | Opcode::Binary => message = Some((header.opcode, rsv1, payload)),
                Opcode::Continuation => match message.as_mut() {
                    Some((_, _, data)) => data.extend_from_slice(&payload),
                    None => return Err(1002),
                },
                _ => return Err(1002),
            }
            if !header.fin || header.opcode.is_control() {
                continue;
            }
            let Some((opcode, compressed, mut data)) = message.take() else { continue };
            if compressed {
                let mut out = BytesMut::new();
                let inflate = self.decompressor.as_mut().ok_or(1002u16)?;
                inflate.decompress(&data, true, &mut out, 64 << 20).map_err(|e| e.close_code().as_u16())?;
                data = out.to_vec();
            }
            if opcode == Opcode::Text && std::str::from_utf8(&data).is_err() {
                return Err(1007);
            }
            self.send_message(u8::from(opcode), &data);
        }
    }

    fn send_message(&mut self, opcode: u8, data: &[u8]) {
        let Some(compressor) = self.compressor.as_mut().filter(|_| self.client != Client::CompliantPlainEchoes) else {
            self.send(&OutFrame::new(opcode, data.to_vec()));
            return;
        };
        let mut packed = BytesMut::new();
        compressor.compress(data, true, &mut packed);
        if self.client == Client::RsvOnContinuation && packed.len() >= 2 {
            let (a, b) = packed.split_at(packed.len() / 2);
            self.send(&OutFrame::new(opcode, a.to_vec()).fin(false).rsv(rsv::RSV1));
            self.send(&OutFrame::new(op::CONTINUATION, b.to_vec()).rsv(rsv::RSV1));
        } else {
            self.send(&OutFrame::new(opcode, packed.to_vec()).rsv(rsv::RSV1));
        }
    }

    /// Fails the connection with `code` and waits for the judge's close or TCP close.
    fn fail(&mut self, code: u16) {
        self.send(&OutFrame::close(code, b""));
        while let Ok(Some((header, _))) = self.frame() {
            if header.opcode == Opcode::Close {
                return;
            }
        }
    }

    fn send(&mut self, frame: &OutFrame) {
        let _ = self.stream.write_all(&frame.encode(Some([1, 2, 3, 4])));
    }

    /// The next whole frame; `Ok(None)` at EOF, `Err(1002)` for a header `ws_proto` refuses.
    fn frame(&mut self) -> Result<Option<(FrameHeader, Vec<u8>)>, u16> {
        let mut chunk = vec![0u8; 65536];
        loop {
            if let Some((header, n)) = FrameHeader::decode(&self.buf).map_err(|_| 1002u16)? {
                let len = usize::try_from(header.payload_len).map_err(|_| 1009u16)?;
                if self.buf.len() >= n + len {
                    let payload = self.buf[n..n + len].to_vec();
                    self.buf.drain(..n + len);
                    return Ok(Some((header, payload)));
                }
            }
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// Runs the cases `selectors` picks against `client`; the results by case id.
fn judge(client: Client, selectors: &str) -> BTreeMap<String, CaseResult> {
    let dir = std::env::temp_dir().join(format!("ws-conformance-serve-deflate-{}-{client:?}", std::process::id()));
    let judge = JudgeThread::spawn("127.0.0.1:0", selectors, &dir).expect("bind");
    let addr = judge.addr();
    let count = case_count(addr);
    for n in 1..=count {
        run_client(addr, &format!("/runCase?case={n}&agent=client"), client);
    }
    let judge = judge.stop().expect("judge thread");
    let _ = std::fs::remove_dir_all(&dir);
    let results: BTreeMap<String, CaseResult> =
        judge.results("client").iter().map(|r| (r.id.clone(), r.clone())).collect();
    assert_eq!(results.len(), count, "{client:?}: every case judged");
    results
}

fn show(r: &CaseResult) -> String {
    let trace: Vec<String> = r.trace.iter().rev().take(12).rev().map(|l| format!("{:?} {}", l.dir, l.text)).collect();
    format!("{} {}: {}\n  {}", r.id, r.verdict, r.reason, trace.join("\n  "))
}

/// Whether the case agrees `client_no_context_takeover` with a client that offers
/// `client_max_window_bits`.
fn agrees_client_no_context_takeover(r: &CaseResult) -> bool {
    r.trace.iter().any(|l| l.text.starts_with("agreed ") && l.text.contains("client_no_context_takeover"))
}

#[test]
fn compliant_clients_pass_every_deflate_case() {
    // Every case for the main client; the variants on a sample (each full run takes half a
    // minute in a debug build).
    for (client, selectors) in [
        (Client::Compliant, "12,13"),
        (Client::CompliantPlainEchoes, "12.1.1,12.2.3,12.3.1,12.4.2,13.1,13.7"),
        (Client::CompliantNoClientBits, "12.1.1,13.1.7,13.3.1,13.3.8,13.7"),
    ] {
        let results = judge(client, selectors);
        assert_eq!(results.len(), ws_conformance::cases::select(selectors).len());
        let bad: Vec<String> = results.values().filter(|r| r.verdict != Verdict::Ok).map(show).collect();
        assert!(bad.is_empty(), "{client:?}:\n{}", bad.join("\n"));
        if client == Client::CompliantNoClientBits {
            // 13.3.1 is about client_max_window_bits=9: not offered, so not agreed.
            let r = &results["13.3.1"];
            assert!(r.trace.iter().any(|l| l.text.contains("did not offer client_max_window_bits")), "{}", show(r));
        }
    }
}

#[test]
fn a_client_without_deflate_is_unimplemented_not_failed() {
    let results = judge(Client::NoOffer, "12,13");
    for r in results.values() {
        // 13.7.2 needs no extension: RSV1 without one must fail the connection, and does.
        let want = if r.id == "13.7.2" { Verdict::Ok } else { Verdict::Unimplemented };
        assert_eq!(r.verdict, want, "{}", show(r));
    }
}

#[test]
fn rsv1_on_a_continuation_fails_every_compressed_echo() {
    let results = judge(Client::RsvOnContinuation, "12,13");
    for r in results.values() {
        // The hostile cases (13.7.1–13.7.5) expect the client to fail the connection: it
        // echoes nothing there. Everything else echoes, compressed, in two frames.
        let hostile = ["13.7.1", "13.7.2", "13.7.3", "13.7.4", "13.7.5"].contains(&r.id.as_str());
        if hostile {
            assert_eq!(r.verdict, Verdict::Ok, "{}", show(r));
        } else {
            assert_eq!(r.verdict, Verdict::Failed, "{}", show(r));
            assert!(r.reason.contains("RSV1 on a continuation frame"), "{}", show(r));
        }
    }
}

#[test]
fn compressing_with_context_after_client_no_context_takeover_fails() {
    let results = judge(Client::KeepsContext, "12.1.1,12.2.1,12.3,12.4,13.1,13.3.8");
    let mut failed = 0;
    for r in results.values() {
        if agrees_client_no_context_takeover(r) {
            assert_eq!(r.verdict, Verdict::Failed, "{}", show(r));
            assert!(r.reason.contains("client_no_context_takeover"), "{}", show(r));
            failed += 1;
        } else {
            assert_eq!(r.verdict, Verdict::Ok, "{}", show(r));
        }
    }
    // 12.3.*, 12.4.* (16 cases) and 13.1.4, 13.1.5, 13.1.8, 13.3.8; the other 13.1 cases,
    // 12.1.1 and 12.2.1 keep context and pass.
    assert_eq!(failed, 20, "cases agreeing client_no_context_takeover");
}
