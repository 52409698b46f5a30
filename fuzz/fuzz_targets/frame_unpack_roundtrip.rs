//! Structured: an arbitrary `Frame` → `pack` / `pack_masked` → `unpack` gives it back.
//!
//! Invariants:
//! - a frame RFC 6455 allows (control frames final and at most 125 bytes) unpacks to the
//!   same opcode, FIN, payload and RSV flags, with `MASK` as packed and `COMPRESS` dropped
//!   (pack ignores it), whatever bytes follow it;
//! - the header takes exactly `encoded_len()` bytes and the wire is header + payload;
//! - every strict prefix of the wire is `Incomplete`;
//! - a control frame RFC 6455 forbids is refused with the matching protocol error.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ws_proto::frame::{FrameHeader, UnpackError};
use ws_proto::{Flags, Frame, Opcode, ProtocolError};

#[derive(Debug, Arbitrary)]
struct Input {
    opcode: u8,
    finish: bool,
    flags: u8,
    data: Vec<u8>,
    /// Repeats `data` to reach the 16- and 64-bit length forms cheaply.
    repeat: u16,
    mask: Option<[u8; 4]>,
    trailing: Vec<u8>,
}

const OPCODES: [Opcode; 6] =
    [Opcode::Continuation, Opcode::Text, Opcode::Binary, Opcode::Close, Opcode::Ping, Opcode::Pong];

fuzz_target!(|input: Input| {
    let opcode = OPCODES[usize::from(input.opcode) % OPCODES.len()];
    let mut payload = input.data.clone();
    if !input.data.is_empty() {
        let times = usize::from(input.repeat % 1024);
        for _ in 0..times {
            if payload.len() >= 70_000 {
                break;
            }
            payload.extend_from_slice(&input.data);
        }
    }
    let frame = Frame {
        fd: Default::default(),
        data: Bytes::from(payload),
        opcode,
        finish: input.finish,
        flags: Flags::from_bits_truncate(input.flags),
    };
    let wire = match input.mask {
        Some(key) => frame.pack_masked(key),
        None => frame.pack(),
    };
    let header_len = FrameHeader {
        fin: frame.finish,
        rsv: frame.flags.rsv_bits(),
        opcode,
        mask: input.mask,
        payload_len: frame.data.len() as u64,
    }
    .encoded_len();
    assert_eq!(wire.len(), header_len + frame.data.len());
    // COMPRESS is ignored by pack: the same frame without it packs to the same bytes.
    let plain = Frame { flags: frame.flags.with(Flags::COMPRESS, false), ..frame.clone() };
    let plain_wire = match input.mask {
        Some(key) => plain.pack_masked(key),
        None => plain.pack(),
    };
    assert_eq!(wire, plain_wire);

    let mut buf = wire.to_vec();
    buf.extend_from_slice(&input.trailing);
    let unpacked = Frame::unpack(&buf);
    if opcode.is_control() && !frame.finish {
        assert_eq!(unpacked, Err(UnpackError::Protocol(ProtocolError::FragmentedControl)));
        return;
    }
    if opcode.is_control() && frame.data.len() > 125 {
        assert_eq!(unpacked, Err(UnpackError::Protocol(ProtocolError::ControlTooLong(frame.data.len() as u64))));
        return;
    }
    let expected_flags = Flags::NONE
        .with(Flags::FIN, frame.finish)
        .with(Flags::RSV1, frame.flags.contains(Flags::RSV1))
        .with(Flags::RSV2, frame.flags.contains(Flags::RSV2))
        .with(Flags::RSV3, frame.flags.contains(Flags::RSV3))
        .with(Flags::MASK, input.mask.is_some());
    let expected = Frame { flags: expected_flags, ..frame };
    assert_eq!(unpacked, Ok(expected));
    // Prefixes: every cut inside the header, and a few inside the payload.
    let mut cuts: Vec<usize> = (0..header_len.min(wire.len())).collect();
    cuts.extend([header_len, header_len + (wire.len() - header_len) / 2, wire.len().saturating_sub(1)]);
    for cut in cuts {
        if cut < wire.len() {
            assert_eq!(Frame::unpack(&wire[..cut]), Err(UnpackError::Incomplete), "cut at {cut}");
        }
    }
});
