//! The frame header codec: the three payload length forms and the masking key (RFC 6455 §5.2).

use crate::error::ProtocolError;
use crate::frame::Opcode;

/// A decoded frame header.
///
/// # Example
/// ```
/// use ws_proto::frame::{FrameHeader, Opcode};
/// // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
/// let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// let (header, len) = FrameHeader::decode(&bytes).unwrap().unwrap();
/// assert_eq!(len, 2);
/// assert!(header.fin);
/// assert_eq!(header.opcode, Opcode::Text);
/// assert_eq!(header.payload_len, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// The RSV1–RSV3 bits as they stand in the first byte (`0x40`, `0x20`, `0x10`).
    pub rsv: u8,
    /// The opcode; reserved opcodes are refused by [`FrameHeader::decode`].
    pub opcode: Opcode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The longest header: 2 bytes, an 8-byte length and a 4-byte key.
    pub const MAX_LEN: usize = 14;

    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` is too short to hold the whole header (partial input is
    /// never an error), else the header and the number of bytes it took.
    ///
    /// # Errors
    /// Reserved opcodes, control frames that are fragmented or longer than 125 bytes, a
    /// 64-bit length with the top bit set, and lengths not minimally encoded. RSV bits and
    /// the mask's presence are checked by the connection, which knows the negotiated
    /// extensions and its role.
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else { return Ok(None) };
        let fin = b0 & 0x80 != 0;
        let rsv = b0 & 0x70;
        let opcode = Opcode::try_from(b0 & 0x0f)?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, rest, len_bytes) = match b1 & 0x7f {
            126 => {
                let [a, b, rest @ ..] = rest else { return Ok(None) };
                let len = u64::from(u16::from_be_bytes([*a, *b]));
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength(len));
                }
                (len, rest, 2)
            }
            127 => {
                let Some((len, rest)) = rest.split_first_chunk::<8>() else { return Ok(None) };
                let len = u64::from_be_bytes(*len);
                if len & (1 << 63) != 0 {
                    return Err(ProtocolError::LengthTopBit);
                }
                if len <= u64::from(u16::MAX) {
                    return Err(ProtocolError::NonMinimalLength(len));
                }
                (len, rest, 8)
            }
            short => (u64::from(short), rest, 0),
        };
        if opcode.is_control() {
            // RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes.
            if !fin {
                return Err(ProtocolError::FragmentedControl);
            }
            if payload_len > 125 {
                return Err(ProtocolError::ControlTooLong(payload_len));
            }
        }
        let mask = if masked {
            let Some((key, _)) = rest.split_first_chunk::<4>() else { return Ok(None) };
            Some(*key)
        } else {
            None
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        Ok(Some((FrameHeader { fin, rsv, opcode, mask, payload_len }, header_len)))
    }

    /// Encodes the header into `out`, returning how many bytes were written (2 to 14).
    ///
    /// The length always takes its minimal form.
    pub fn encode(&self, out: &mut [u8; Self::MAX_LEN]) -> usize {
        let mut b0 = u8::from(self.opcode) | (self.rsv & 0x70);
        if self.fin {
            b0 |= 0x80;
        }
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out[0] = b0;
        let mut at = match self.payload_len {
            // The match arm bounds make each `as` lossless.
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let (Some(key), Some(slot)) = (self.mask, out.get_mut(at..at + 4)) {
            slot.copy_from_slice(&key);
            at += 4;
        }
        at
    }

    /// The number of bytes [`FrameHeader::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: Opcode, len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader { fin: true, rsv: 0, opcode, mask, payload_len: len }
    }

    #[test]
    fn three_length_forms_round_trip() {
        for len in [0, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let h = header(Opcode::Binary, len, mask);
                let mut buf = [0; 14];
                let n = h.encode(&mut buf);
                assert_eq!(n, h.encoded_len());
                assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))));
                for short in 0..n {
                    assert_eq!(FrameHeader::decode(&buf[..short]), Ok(None), "len {len} cut at {short}");
                }
            }
        }
    }

    #[test]
    fn rejections() {
        let cases: &[(&[u8], ProtocolError)] = &[
            (&[0x83, 0x00], ProtocolError::ReservedOpcode(3)),
            (&[0x8b, 0x00], ProtocolError::ReservedOpcode(0xb)),
            (&[0x09, 0x00], ProtocolError::FragmentedControl),
            (&[0x89, 0x7e, 0x00, 0x7e], ProtocolError::ControlTooLong(126)),
            (&[0x82, 0x7e, 0x00, 0x05], ProtocolError::NonMinimalLength(5)),
            (&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff], ProtocolError::NonMinimalLength(65535)),
            (&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0], ProtocolError::LengthTopBit),
        ];
        for (bytes, err) in cases {
            assert_eq!(FrameHeader::decode(bytes), Err(err.clone()), "{bytes:02x?}");
        }
    }
}
