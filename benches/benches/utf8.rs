//! UTF-8 validation of a text payload: `ws_proto::utf8::is_valid` (whole messages) and
//! `ws_proto::utf8::Utf8Validator` (whole, and fed in 1 KiB pieces as frames arrive)
//! against `std::str::from_utf8` and `simdutf8` (basic and compat) on ASCII and on mixed
//! text, at 16 B, 1 KiB, 64 KiB and 1 MiB.
//!
//! Run with `cargo bench -p ws-benches --bench utf8`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use ws_proto::utf8::Utf8Validator;

const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];

/// `size` bytes of valid text: ASCII, or a mix of 1- to 4-byte code points.
fn text(size: usize, mixed: bool) -> Vec<u8> {
    let unit = if mixed { "Grüße, κόσμε, 世界 𝄞! " } else { "{\"id\":42,\"user\":\"ann\",\"ok\":true} " };
    let mut s = String::new();
    while s.len() + unit.len() <= size {
        s.push_str(unit);
    }
    while s.len() < size {
        s.push('x');
    }
    s.into_bytes()
}

fn validation(c: &mut Criterion) {
    for (name, mixed) in [("utf8/ascii", false), ("utf8/mixed", true)] {
        let mut group = c.benchmark_group(name);
        for size in SIZES {
            let data = text(size, mixed);
            assert!(std::str::from_utf8(&data).is_ok());
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new("ws_proto::Utf8Validator", size), &data, |b, data| {
                b.iter(|| {
                    let mut v = Utf8Validator::default();
                    v.feed(black_box(data)).is_ok() && v.finish().is_ok()
                });
            });
            group.bench_with_input(BenchmarkId::new("ws_proto::Utf8Validator_1KiB_pieces", size), &data, |b, data| {
                b.iter(|| {
                    let mut v = Utf8Validator::default();
                    black_box(data).chunks(1024).all(|piece| v.feed(piece).is_ok()) && v.finish().is_ok()
                });
            });
            group.bench_with_input(BenchmarkId::new("ws_proto::utf8::is_valid", size), &data, |b, data| {
                b.iter(|| ws_proto::utf8::is_valid(black_box(data)));
            });
            group.bench_with_input(BenchmarkId::new("std::str::from_utf8", size), &data, |b, data| {
                b.iter(|| std::str::from_utf8(black_box(data)).is_ok());
            });
            group.bench_with_input(BenchmarkId::new("simdutf8::basic", size), &data, |b, data| {
                b.iter(|| simdutf8::basic::from_utf8(black_box(data)).is_ok());
            });
            group.bench_with_input(BenchmarkId::new("simdutf8::compat", size), &data, |b, data| {
                b.iter(|| simdutf8::compat::from_utf8(black_box(data)).is_ok());
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = validation
}
criterion_main!(benches);
