//! permessage-deflate: `Compressor::compress` + `Decompressor::decompress` against raw flate2
//! doing the same work (raw deflate, sync flush, tail stripped and re-appended) on the same
//! data, with and without context takeover.
//!
//! Run with `cargo bench -p ws-benches --bench deflate`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use std::hint::black_box;
use ws_proto::Role;
use ws_proto::deflate::{Compressor, Decompressor, DeflateParams};

const SIZES: [usize; 3] = [128, 4 * 1024, 64 * 1024];
const LEVEL: u32 = 6;
/// Distinct messages sent in turn.
const MESSAGES: u32 = 16;
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// JSON-like text: repetitive keys, varying numbers, as chat or ticker messages are. Each
/// `seed` gives a different message, so context takeover cannot just repeat the last one.
fn message(len: usize, seed: u32) -> Vec<u8> {
    let mut text = String::new();
    let mut seed = 0x2545_f491_u32 ^ seed.wrapping_mul(0x9e37_79b9);
    while text.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        text.push_str(&format!(
            "{{\"id\":{},\"user\":\"u{}\",\"price\":{}.{:02},\"ok\":true}}\n",
            seed % 100_000,
            seed % 97,
            seed % 1000,
            seed % 100
        ));
    }
    text.truncate(len);
    text.into_bytes()
}

/// Raw flate2 with the same framing as RFC 7692 §7.2: one message in, one message out.
struct RawPair {
    compress: Compress,
    decompress: Decompress,
    wire: Vec<u8>,
    out: Vec<u8>,
    reset: bool,
}

impl RawPair {
    fn new(reset: bool, len: usize) -> RawPair {
        RawPair {
            compress: Compress::new_with_window_bits(Compression::new(LEVEL), false, 15),
            decompress: Decompress::new_with_window_bits(false, 15),
            wire: Vec::with_capacity(len + len / 64 + 64),
            out: Vec::with_capacity(len + 64),
            reset,
        }
    }

    fn round_trip(&mut self, data: &[u8]) -> usize {
        self.wire.clear();
        self.compress.compress_vec(data, &mut self.wire, FlushCompress::Sync).expect("deflate");
        self.wire.truncate(self.wire.len() - TAIL.len());
        self.wire.extend_from_slice(&TAIL);
        self.out.clear();
        self.decompress.decompress_vec(&self.wire, &mut self.out, FlushDecompress::Sync).expect("inflate");
        if self.reset {
            self.compress.reset();
            self.decompress.reset(false);
        }
        self.out.len()
    }
}

/// ws-proto's codec for a server sending and a client receiving under `params`.
struct OurPair {
    compressor: Compressor,
    decompressor: Decompressor,
    wire: BytesMut,
    out: BytesMut,
}

impl OurPair {
    fn new(params: &DeflateParams) -> OurPair {
        OurPair {
            compressor: Compressor::new(params, Role::Server, LEVEL, 8),
            decompressor: Decompressor::new(params, Role::Client),
            wire: BytesMut::new(),
            out: BytesMut::new(),
        }
    }

    fn round_trip(&mut self, data: &[u8]) -> usize {
        self.wire.clear();
        self.compressor.compress(data, true, &mut self.wire);
        self.out.clear();
        self.decompressor.decompress(&self.wire, true, &mut self.out, usize::MAX).expect("inflate");
        self.out.len()
    }
}

fn round_trip(c: &mut Criterion) {
    for (group_name, no_context_takeover) in [("deflate_round_trip", false), ("deflate_round_trip_no_takeover", true)] {
        let mut group = c.benchmark_group(group_name);
        let params = DeflateParams::default()
            .with_server_no_context_takeover(no_context_takeover)
            .with_client_no_context_takeover(no_context_takeover);
        for len in SIZES {
            let messages: Vec<Vec<u8>> = (0..MESSAGES).map(|seed| message(len, seed)).collect();
            group.throughput(Throughput::Bytes(len as u64));
            let mut ours = OurPair::new(&params);
            let mut raw = RawPair::new(no_context_takeover, len);
            for data in &messages {
                assert_eq!(ours.round_trip(data), len);
                assert_eq!(raw.round_trip(data), len);
            }
            group.bench_with_input(BenchmarkId::new("ws-proto", len), &messages, |b, messages| {
                let mut next = messages.iter().cycle();
                b.iter(|| black_box(ours.round_trip(black_box(next.next().map_or(&[][..], Vec::as_slice)))))
            });
            group.bench_with_input(BenchmarkId::new("flate2", len), &messages, |b, messages| {
                let mut next = messages.iter().cycle();
                b.iter(|| black_box(raw.round_trip(black_box(next.next().map_or(&[][..], Vec::as_slice)))))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
