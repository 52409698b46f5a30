//! `Decompressor::decompress` on arbitrary data with small limits, and a
//! `Compressor` → `Decompressor` round trip, under arbitrary agreed parameters.
//!
//! Input: four bytes, then the payload, cut into messages at each `WSMB`.
//! - byte 0: server window bits (low 3 bits, +8), client window bits (next 3, +8),
//!   server_no_context_takeover (bit 6), client_no_context_takeover (bit 7);
//! - byte 1: bit 0 the server receives (raw) / sends (round trip), bit 1 round-trip mode,
//!   bits 2–7 the piece size - 1;
//! - bytes 2–3: raw mode: the limit (big-endian, mod 8192); round trip: the level (mod 10)
//!   and how many times each message is repeated (to pass the 64 KiB inflate step).
//!
//! Invariants:
//! - never panics, also when fed again after an error;
//! - a message's inflated output never exceeds `limit`, counted across its pieces, after
//!   every call (the codec promises `out` never holds more than `limit` of the message);
//! - an error is `MessageTooBig { limit }` or `InvalidCompressedData`;
//! - what a `Compressor` makes (any pieces, any level) inflates, cut into other pieces,
//!   with `limit` equal to the message length, back to the message; zlib state is held or
//!   released as the context-takeover agreement says.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ws_proto::deflate::{Compressor, Decompressor, DeflateParams};
use ws_proto::{ProtocolError, Role};

const SEPARATOR: &[u8] = b"WSMB";

fn messages(payload: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = payload;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    out.push(rest);
    out
}

fuzz_target!(|input: &[u8]| {
    let [p, mode, c, d, payload @ ..] = input else { return };
    let params = DeflateParams::new(8 + (p & 7), 8 + (p >> 3 & 7))
        .expect("8..=15")
        .with_server_no_context_takeover(p & 0x40 != 0)
        .with_client_no_context_takeover(p & 0x80 != 0);
    let server = mode & 1 != 0;
    let piece = usize::from(mode >> 2) + 1;
    if mode & 2 == 0 {
        raw(&params, server, usize::from(u16::from_be_bytes([*c, *d]) % 8192), piece, payload);
    } else {
        round_trip(&params, server, u32::from(c % 10), usize::from(*d), piece, payload);
    }
});

fn raw(params: &DeflateParams, server_receives: bool, limit: usize, piece: usize, payload: &[u8]) {
    let role = if server_receives { Role::Server } else { Role::Client };
    let mut decompressor = Decompressor::new(params, role);
    let mut out = BytesMut::new();
    for message in messages(payload) {
        let start = out.len();
        let pieces: Vec<&[u8]> = if message.is_empty() { vec![message] } else { message.chunks(piece).collect() };
        let last = pieces.len() - 1;
        for (i, data) in pieces.into_iter().enumerate() {
            let result = decompressor.decompress(data, i == last, &mut out, limit);
            let inflated = out.len() - start;
            assert!(inflated <= limit, "inflated {inflated} bytes of a message with limit {limit}");
            match result {
                Ok(()) => {}
                Err(ProtocolError::MessageTooBig { limit: l }) => {
                    assert_eq!(l, limit);
                    break;
                }
                Err(ProtocolError::InvalidCompressedData) => break,
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
    }
}

fn round_trip(params: &DeflateParams, server_sends: bool, level: u32, repeat: usize, piece: usize, payload: &[u8]) {
    let (sender, receiver) = if server_sends { (Role::Server, Role::Client) } else { (Role::Client, Role::Server) };
    let mut compressor = Compressor::new(params, sender, level, 8);
    let mut decompressor = Decompressor::new(params, receiver);
    for message in messages(payload).into_iter().take(8) {
        // Past the 64 KiB inflate step only when asked (repeat >= 128): deflating that much
        // with a small window slides zlib's hash table often, slow under instrumentation.
        let cap = if repeat >= 128 { 70_000 } else { 2_048 };
        let mut whole = message.to_vec();
        for _ in 0..repeat {
            if whole.len() > cap || message.is_empty() {
                break;
            }
            whole.extend_from_slice(message);
        }
        // Compress in pieces of `piece` (at most 8 pieces: each is a sync flush, and zlib's
        // block building under coverage instrumentation is what costs), inflate in pieces
        // of `piece * 3 / 2 + 1`.
        let piece = piece.max(whole.len().div_ceil(8));
        let pieces: Vec<&[u8]> = if whole.is_empty() { vec![&whole[..]] } else { whole.chunks(piece).collect() };
        let last = pieces.len() - 1;
        let mut wire = BytesMut::new();
        for (i, data) in pieces.into_iter().enumerate() {
            compressor.compress(data, i == last, &mut wire);
            assert_eq!(compressor.has_state(), i != last || compressor.has_context_takeover());
        }
        let mut out = BytesMut::new();
        let chunks: Vec<&[u8]> = wire.chunks(piece * 3 / 2 + 1).collect();
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let result = decompressor.decompress(chunk, i == last, &mut out, whole.len());
            assert_eq!(result, Ok(()), "piece {i} of a message of {} bytes ({} compressed)", whole.len(), wire.len());
        }
        assert!(out[..] == whole[..], "round trip changed a message of {} bytes", whole.len());
        let peer_nct =
            if server_sends { params.server_no_context_takeover() } else { params.client_no_context_takeover() };
        assert_eq!(decompressor.has_state(), !peer_nct);
    }
}
