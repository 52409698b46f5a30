//! Opening-handshake parsing of a typical browser upgrade request: ours
//! (`handshake::parse_request`, then `validate_upgrade`, then the 101 response with its
//! accept key) against tungstenite (`Request::try_parse`, then `create_response`) and
//! `httparse` alone (the floor: parsing with no owned copy and no validation).
//!
//! Run with `cargo bench -p ws-benches --bench handshake`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio_tungstenite::tungstenite;
use tungstenite::handshake::machine::TryParse;
use ws_proto::handshake::{HttpLimits, Response, parse_request, validate_upgrade};

const REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\n\
Host: example.com:9001\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Connection: keep-alive, Upgrade\r\n\
Cookie: session=0123456789abcdef0123456789abcdef\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
Upgrade: websocket\r\n\r\n";

fn handshake(c: &mut Criterion) {
    let raw = REQUEST.as_bytes();
    let limits = HttpLimits::default();
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Bytes(raw.len() as u64));

    group.bench_function("parse/httparse", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            matches!(req.parse(black_box(raw)), Ok(httparse::Status::Complete(_)))
        });
    });
    group.bench_function("parse/ws_proto::parse_request", |b| {
        b.iter(|| parse_request(black_box(raw), &limits).ok().flatten().map(|head| head.head_len));
    });
    group.bench_function("parse/tungstenite::Request::try_parse", |b| {
        b.iter(|| tungstenite::handshake::server::Request::try_parse(black_box(raw)).ok().flatten().map(|(n, _)| n));
    });
    group.bench_function("parse+validate/ws_proto", |b| {
        b.iter(|| {
            let head = parse_request(black_box(raw), &limits).ok().flatten()?;
            validate_upgrade(&head.request).ok()
        });
    });
    group.bench_function("parse+validate+respond/ws_proto", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            let head = parse_request(black_box(raw), &limits).ok().flatten()?;
            let upgrade = validate_upgrade(&head.request).ok()?;
            out.clear();
            Response::switching_protocols(&upgrade, None, None).encode(&mut out);
            Some(out.len())
        });
    });
    group.bench_function("parse+validate+respond/tungstenite", |b| {
        b.iter(|| {
            let (_, request) = tungstenite::handshake::server::Request::try_parse(black_box(raw)).ok().flatten()?;
            let response = tungstenite::handshake::server::create_response(&request).ok()?;
            Some(response.headers().len())
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = handshake
}
criterion_main!(benches);
