//! Frame encode and decode at 16 B, 1 KiB, 64 KiB and 1 MiB payloads, against tungstenite
//! and fastwebsockets in the same run.
//!
//! - `frame_header/encode`, `frame_header/decode`: the header codec alone (a masked client
//!   header; the payload size picks the length form). Ours: `FrameHeader::{encode, decode}`;
//!   tungstenite: `FrameHeader::{format, parse}`; fastwebsockets: `Frame::fmt_head` (it has
//!   no public header decoder).
//! - `frame_receive`: a server receives one masked binary frame and hands out the message:
//!   ours `Connection::receive` + `poll_event`; tungstenite `WebSocket::read` and
//!   fastwebsockets `WebSocket::read_frame`, both reading it from an in-memory stream.
//! - `frame_send`: a server queues one binary message and its bytes reach the (in-memory)
//!   transport: ours `Connection::send` + draining `output()`; tungstenite `WebSocket::send`;
//!   fastwebsockets `WebSocket::write_frame`.
//!
//! Run with `cargo bench -p ws-benches --bench frame`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite;
use ws_proto::connection::{Config, Connection, Event};
use ws_proto::{Flags, Frame, FrameHeader, Message, Opcode};

const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn header(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_header");
    for size in SIZES {
        let ours = FrameHeader { fin: true, rsv: 0, opcode: Opcode::Binary, mask: Some(KEY), payload_len: size as u64 };
        let theirs = tungstenite::protocol::frame::FrameHeader {
            opcode: tungstenite::protocol::frame::coding::OpCode::Data(
                tungstenite::protocol::frame::coding::Data::Binary,
            ),
            mask: Some(KEY),
            ..Default::default()
        };
        let payload = vec![0u8; size];
        let mut encoded = [0u8; FrameHeader::MAX_LEN];
        let len = ours.encode(&mut encoded);
        let encoded = encoded[..len].to_vec();

        group.bench_function(BenchmarkId::new("encode/ws_proto", size), |b| {
            let mut out = [0u8; FrameHeader::MAX_LEN];
            b.iter(|| black_box(&ours).encode(black_box(&mut out)));
        });
        group.bench_function(BenchmarkId::new("encode/tungstenite", size), |b| {
            let mut out = Vec::with_capacity(16);
            b.iter(|| {
                out.clear();
                black_box(&theirs).format(black_box(size as u64), &mut out).is_ok()
            });
        });
        group.bench_function(BenchmarkId::new("encode/fastwebsockets", size), |b| {
            let mut out = [0u8; 16];
            b.iter(|| {
                let mut frame = fastwebsockets::Frame::new(
                    true,
                    fastwebsockets::OpCode::Binary,
                    Some(KEY),
                    fastwebsockets::Payload::Borrowed(black_box(&payload)),
                );
                frame.fmt_head(black_box(&mut out))
            });
        });
        group.bench_function(BenchmarkId::new("decode/ws_proto", size), |b| {
            b.iter(|| FrameHeader::decode(black_box(&encoded)).ok().flatten().map(|(h, n)| (h.payload_len, n)));
        });
        group.bench_function(BenchmarkId::new("decode/tungstenite", size), |b| {
            b.iter(|| {
                let mut cursor = Cursor::new(black_box(encoded.as_slice()));
                tungstenite::protocol::frame::FrameHeader::parse(&mut cursor).ok().flatten().map(|(_, len)| len)
            });
        });
    }
    group.finish();
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_receive");
    for size in SIZES {
        let payload: Vec<u8> = (0..size).map(|i| (i * 13) as u8).collect();
        let wire = Frame::binary(payload.clone()).pack_masked(KEY).to_vec();
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_function(BenchmarkId::new("ws_proto::Connection", size), |b| {
            let mut conn = established_server();
            let now = Instant::now();
            b.iter(|| {
                let _ = conn.receive(black_box(&wire), now);
                match conn.poll_event() {
                    Some(Event::Message(message)) => message.data().len(),
                    other => panic!("expected a message, got {other:?}"),
                }
            });
        });
        group.bench_function(BenchmarkId::new("tungstenite::WebSocket", size), |b| {
            let config = tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(64 << 20))
                .max_frame_size(Some(64 << 20));
            let mut ws = tungstenite::WebSocket::from_raw_socket(
                Repeat::new(wire.clone()),
                tungstenite::protocol::Role::Server,
                Some(config),
            );
            b.iter(|| match ws.read() {
                Ok(tungstenite::Message::Binary(data)) => data.len(),
                other => panic!("expected a message, got {other:?}"),
            });
        });
        group.bench_function(BenchmarkId::new("fastwebsockets::WebSocket", size), |b| {
            let mut ws =
                fastwebsockets::WebSocket::after_handshake(Repeat::new(wire.clone()), fastwebsockets::Role::Server);
            ws.set_max_message_size(64 << 20);
            b.iter(|| match ready(ws.read_frame()) {
                Ok(frame) if frame.opcode == fastwebsockets::OpCode::Binary => frame.payload.len(),
                Ok(frame) => panic!("unexpected {:?}", frame.opcode),
                Err(e) => panic!("{e}"),
            });
        });
    }
    group.finish();
}

fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_send");
    for size in SIZES {
        let payload = Bytes::from((0..size).map(|i| (i * 13) as u8).collect::<Vec<u8>>());
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_function(BenchmarkId::new("ws_proto::Connection", size), |b| {
            let mut conn = established_server();
            let mut sink = Sink::default();
            b.iter(|| {
                let _ = conn.send(Message::binary(payload.clone()), Flags::FIN);
                // What an adapter does: hand the queued chunks to the transport.
                let output = conn.output();
                while output.has_remaining() {
                    let chunk = output.chunk();
                    sink.written += black_box(chunk).len();
                    let n = chunk.len();
                    output.advance(n);
                }
            });
        });
        group.bench_function(BenchmarkId::new("tungstenite::WebSocket", size), |b| {
            let mut ws =
                tungstenite::WebSocket::from_raw_socket(Sink::default(), tungstenite::protocol::Role::Server, None);
            b.iter(|| ws.send(tungstenite::Message::Binary(payload.clone())).is_ok());
        });
        group.bench_function(BenchmarkId::new("fastwebsockets::WebSocket", size), |b| {
            let mut ws = fastwebsockets::WebSocket::after_handshake(Sink::default(), fastwebsockets::Role::Server);
            b.iter(|| {
                let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(black_box(&payload)));
                ready(ws.write_frame(frame)).is_ok()
            });
        });
    }
    group.finish();
}

/// A server connection past its opening handshake, with no output pending.
fn established_server() -> Connection {
    let config = Config { max_frame_size: 64 << 20, max_message_size: 64 << 20, ..Config::default() };
    let now = Instant::now();
    let mut conn = Connection::server(Arc::new(config), now);
    let request = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    conn.receive(request.as_bytes(), now).expect("handshake request");
    while let Some(event) = conn.poll_event() {
        if let Event::Request(request) = event {
            let response = conn.accept_response(&request).expect("valid upgrade");
            conn.respond(response).expect("respond");
        }
    }
    conn.output().clear();
    assert!(conn.is_established());
    conn
}

/// Polls a future that never waits (its stream is always ready) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("in-memory stream future was pending"),
    }
}

/// An endless stream of the same frame, as both a blocking and a tokio stream; writes are
/// discarded.
struct Repeat {
    data: Vec<u8>,
    at: usize,
}

impl Repeat {
    fn new(data: Vec<u8>) -> Repeat {
        Repeat { data, at: 0 }
    }

    fn fill(&mut self, out: &mut [u8]) -> usize {
        let src = &self.data[self.at..];
        let n = src.len().min(out.len());
        out[..n].copy_from_slice(&src[..n]);
        self.at = (self.at + n) % self.data.len();
        n
    }
}

impl Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl Write for Repeat {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Repeat {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = this.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Repeat {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A transport that accepts every byte at once (and reads nothing), counting them.
#[derive(Default)]
struct Sink {
    written: usize,
}

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for Sink {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Poll::Pending
    }
}

impl AsyncWrite for Sink {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().written += black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = bufs.iter().map(|b| black_box(b).len()).sum();
        self.get_mut().written += n;
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = header, receive, send
}
criterion_main!(benches);
