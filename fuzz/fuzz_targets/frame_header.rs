//! `FrameHeader::decode` on arbitrary bytes, checked against `encode` and `Frame::unpack`.
//!
//! Invariants:
//! - decode never panics; a header takes 2..=14 bytes, never more than given, and exactly
//!   `encoded_len()`;
//! - decode refuses non-minimal lengths, so every decoded header is minimal: `encode`
//!   gives back exactly the bytes it was decoded from;
//! - decode is incremental: every strict prefix of a decoded header is `Ok(None)`, a
//!   refused header is refused alike with more bytes after it, and `Ok(None)` only for
//!   fewer than 14 bytes, becoming an answer once padded to 14;
//! - `Frame::unpack` agrees with decode (same error, same fields) and its frame packs back
//!   to the same wire bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::frame::{FrameHeader, UnpackError};
use ws_proto::{Flags, Frame};

fuzz_target!(|data: &[u8]| {
    let decoded = FrameHeader::decode(data);
    match &decoded {
        Ok(Some((header, n))) => {
            let n = *n;
            assert!((2..=FrameHeader::MAX_LEN).contains(&n), "header length {n}");
            assert!(n <= data.len());
            assert_eq!(n, header.encoded_len());
            assert_eq!(header.rsv & !0x70, 0, "rsv outside the RSV bits");
            assert!(header.payload_len < 1 << 63);
            let mut out = [0u8; FrameHeader::MAX_LEN];
            let written = header.encode(&mut out);
            assert_eq!(&out[..written], &data[..n], "re-encoding differs from the decoded bytes");
            for cut in 0..n {
                assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None), "prefix of {cut} bytes");
            }
            check_unpack(data, header, n);
        }
        Ok(None) => {
            assert!(data.len() < FrameHeader::MAX_LEN, "Ok(None) with {} bytes", data.len());
            let mut padded = data.to_vec();
            padded.resize(FrameHeader::MAX_LEN, 0);
            assert!(!matches!(FrameHeader::decode(&padded), Ok(None)), "still Ok(None) after padding to 14 bytes");
            assert_eq!(Frame::unpack(data), Err(UnpackError::Incomplete));
        }
        Err(error) => {
            let mut longer = data.to_vec();
            longer.extend_from_slice(&[0xff; FrameHeader::MAX_LEN]);
            assert_eq!(FrameHeader::decode(&longer).as_ref(), Err(error), "error changed with more bytes");
            assert_eq!(Frame::unpack(data), Err(UnpackError::Protocol(error.clone())));
        }
    }
});

fn check_unpack(data: &[u8], header: &FrameHeader, n: usize) {
    let unpacked = Frame::unpack(data);
    let whole = usize::try_from(header.payload_len).ok().and_then(|len| n.checked_add(len));
    match whole {
        Some(end) if end <= data.len() => {
            let frame = unpacked.expect("a whole frame must unpack");
            assert_eq!(frame.opcode, header.opcode);
            assert_eq!(frame.finish, header.fin);
            assert_eq!(frame.data.len() as u64, header.payload_len);
            assert_eq!(frame.flags.rsv_bits(), header.rsv);
            assert_eq!(frame.flags.contains(Flags::MASK), header.mask.is_some());
            assert_eq!(frame.flags.contains(Flags::FIN), header.fin);
            assert!(!frame.flags.contains(Flags::COMPRESS));
            let packed = match header.mask {
                Some(key) => frame.pack_masked(key),
                None => frame.pack(),
            };
            assert_eq!(&packed[..], &data[..end], "unpack then pack is not the identity");
        }
        _ => assert_eq!(unpacked, Err(UnpackError::Incomplete)),
    }
}
