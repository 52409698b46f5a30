//! Masking (RFC 6455 §5.3) at 16 B, 1 KiB, 64 KiB and 1 MiB: `ws_proto::mask::apply_mask`
//! against a plain byte loop, our scalar reference, fastwebsockets' `unmask`, and `memcpy`
//! of the same buffer (the ceiling: masking reads and writes every byte once, as a copy does).
//!
//! Run with `cargo bench -p ws-benches --bench mask`.
#![expect(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1024 * 1024];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in SIZES {
        let mut buf: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        let src = buf.clone();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("ws_proto::apply_mask", size), |b| {
            b.iter(|| ws_proto::mask::apply_mask(black_box(&mut buf), black_box(KEY), 0));
        });
        group.bench_function(BenchmarkId::new("ws_proto::apply_mask_scalar", size), |b| {
            b.iter(|| ws_proto::mask::apply_mask_scalar(black_box(&mut buf), black_box(KEY), 0));
        });
        group.bench_function(BenchmarkId::new("byte_loop", size), |b| {
            b.iter(|| byte_loop(black_box(&mut buf), black_box(KEY)));
        });
        group.bench_function(BenchmarkId::new("fastwebsockets::unmask", size), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), black_box(KEY)));
        });
        group.bench_function(BenchmarkId::new("memcpy", size), |b| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&src)));
        });
    }
    group.finish();
}

/// The loop a first implementation writes; the optimiser may still vectorise it.
fn byte_loop(buf: &mut [u8], key: [u8; 4]) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = masking
}
criterion_main!(benches);
