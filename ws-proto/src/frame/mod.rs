//! Frames: opcodes, flags, the header codec, and the reference's `Frame` with `pack`/`unpack`.

mod header;

use bytes::{BufMut, Bytes, BytesMut};

pub use header::FrameHeader;

use crate::close::{CloseCode, CloseFrame};
use crate::error::ProtocolError;
use crate::mask::apply_mask;

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved values have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Opcode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: UTF-8 text.
    Text,
    /// 0x2: binary data.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl Opcode {
    /// Whether this is a control opcode (close, ping, pong).
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }

    /// Whether this opcode starts a data message (text or binary).
    pub fn is_data(self) -> bool {
        matches!(self, Opcode::Text | Opcode::Binary)
    }
}

impl TryFrom<u8> for Opcode {
    type Error = ProtocolError;

    /// # Errors
    /// [`ProtocolError::ReservedOpcode`] for 0x3–0x7 and 0xB–0xF (and anything over 0xF).
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Ok(match value {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }
}

impl From<Opcode> for u8 {
    fn from(op: Opcode) -> u8 {
        match op {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }
}

/// Frame flags, with the reference's values (`SWOOLE_WEBSOCKET_FLAG_*`).
///
/// # Example
/// ```
/// use ws_proto::Flags;
/// let flags = Flags::FIN | Flags::COMPRESS;
/// assert!(flags.contains(Flags::FIN));
/// assert!(!flags.contains(Flags::MASK));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flag: a non-final frame.
    pub const NONE: Flags = Flags(0);
    /// The final frame of a message.
    pub const FIN: Flags = Flags(1);
    /// Compress this message when the connection negotiated permessage-deflate.
    pub const COMPRESS: Flags = Flags(2);
    /// The RSV1 bit.
    pub const RSV1: Flags = Flags(4);
    /// The RSV2 bit.
    pub const RSV2: Flags = Flags(8);
    /// The RSV3 bit.
    pub const RSV3: Flags = Flags(16);
    /// The frame is (to be) masked.
    pub const MASK: Flags = Flags(32);

    /// The raw bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Flags from raw bits; unknown bits are dropped.
    pub fn from_bits_truncate(bits: u8) -> Flags {
        Flags(bits & 0x3f)
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with `other`'s flags set or cleared.
    #[must_use]
    pub fn with(self, other: Flags, on: bool) -> Flags {
        if on { Flags(self.0 | other.0) } else { Flags(self.0 & !other.0) }
    }

    /// The RSV bits as they stand in a header's first byte.
    pub fn rsv_bits(self) -> u8 {
        let mut rsv = 0;
        if self.contains(Flags::RSV1) {
            rsv |= 0x40;
        }
        if self.contains(Flags::RSV2) {
            rsv |= 0x20;
        }
        if self.contains(Flags::RSV3) {
            rsv |= 0x10;
        }
        rsv
    }

    fn from_header(header: &FrameHeader) -> Flags {
        Flags::NONE
            .with(Flags::FIN, header.fin)
            .with(Flags::RSV1, header.rsv & 0x40 != 0)
            .with(Flags::RSV2, header.rsv & 0x20 != 0)
            .with(Flags::RSV3, header.rsv & 0x10 != 0)
            .with(Flags::MASK, header.mask.is_some())
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// A connection's id on a server (the reference's `$fd`). Ids start at 1; `Fd::default()`
/// (0) means "no connection", as in a frame made by [`Frame::unpack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fd(pub u64);

impl std::fmt::Display for Fd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A WebSocket frame or whole message, as the reference's `Swoole\WebSocket\Frame`.
///
/// A server hands each received message to `on_message` as one `Frame` with
/// `finish == true`; close, ping and pong frames arrive too when their
/// `open_websocket_*_frame` setting is on.
///
/// # Example
/// ```
/// use ws_proto::{Frame, Opcode};
/// let packed = Frame::text("hello world\n").pack();
/// let frame = Frame::unpack(&packed).unwrap();
/// assert_eq!(frame.opcode, Opcode::Text);
/// assert_eq!(&frame.data[..], b"hello world\n");
/// assert!(frame.finish);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The connection the frame came from (0 when not from a connection).
    pub fd: Fd,
    /// The payload (for a compressed message received by a server: already inflated).
    pub data: Bytes,
    /// The opcode.
    pub opcode: Opcode,
    /// Whether this is the final frame of its message.
    pub finish: bool,
    /// The flags: [`Flags::FIN`], [`Flags::COMPRESS`] for a message that arrived compressed
    /// (push it back and it is compressed again), the RSV bits and [`Flags::MASK`] as seen.
    pub flags: Flags,
}

impl Frame {
    /// A final frame with the given opcode and payload.
    pub fn new(opcode: Opcode, data: impl Into<Bytes>) -> Frame {
        Frame { fd: Fd::default(), data: data.into(), opcode, finish: true, flags: Flags::FIN }
    }

    /// A text frame (the payload is not checked here; sending checks it).
    pub fn text(data: impl Into<Bytes>) -> Frame {
        Frame::new(Opcode::Text, data)
    }

    /// A binary frame.
    pub fn binary(data: impl Into<Bytes>) -> Frame {
        Frame::new(Opcode::Binary, data)
    }

    /// A ping frame.
    pub fn ping(data: impl Into<Bytes>) -> Frame {
        Frame::new(Opcode::Ping, data)
    }

    /// A pong frame.
    pub fn pong(data: impl Into<Bytes>) -> Frame {
        Frame::new(Opcode::Pong, data)
    }

    /// A close frame with a code and a reason (truncated to fit 123 bytes).
    pub fn close(code: CloseCode, reason: &str) -> Frame {
        Frame::new(Opcode::Close, CloseFrame::new(code, reason).encode())
    }

    /// For a close frame: its code (the reference's `CloseFrame::$code`). `None` for other
    /// opcodes, an empty close payload, or a payload that does not parse.
    pub fn code(&self) -> Option<CloseCode> {
        self.close_frame().and_then(|c| c.code)
    }

    /// For a close frame: its reason (the reference's `CloseFrame::$reason`), else empty.
    pub fn reason(&self) -> String {
        self.close_frame().map(|c| c.reason).unwrap_or_default()
    }

    fn close_frame(&self) -> Option<CloseFrame> {
        (self.opcode == Opcode::Close).then(|| CloseFrame::parse(&self.data).ok()).flatten()
    }

    /// Packs the frame into wire bytes, unmasked (a server's frame), as the reference's
    /// `Frame::pack`. FIN follows `finish`; RSV bits follow `flags`. The payload is sent as
    /// it is: compression needs a connection's negotiated context, so [`Flags::COMPRESS`]
    /// is ignored here.
    pub fn pack(&self) -> Bytes {
        self.pack_with_mask(None)
    }

    /// Packs the frame masked with `key` (a client's frame).
    pub fn pack_masked(&self, key: [u8; 4]) -> Bytes {
        self.pack_with_mask(Some(key))
    }

    fn pack_with_mask(&self, mask: Option<[u8; 4]>) -> Bytes {
        let header = FrameHeader {
            fin: self.finish,
            rsv: self.flags.rsv_bits(),
            opcode: self.opcode,
            mask,
            payload_len: self.data.len() as u64,
        };
        let mut head = [0; FrameHeader::MAX_LEN];
        let n = header.encode(&mut head);
        let mut out = BytesMut::with_capacity(n + self.data.len());
        out.put_slice(head.get(..n).unwrap_or_default());
        let start = out.len();
        out.put_slice(&self.data);
        if let (Some(key), Some(payload)) = (mask, out.get_mut(start..)) {
            apply_mask(payload, key, 0);
        }
        out.freeze()
    }

    /// Parses exactly one frame from the start of `buf`, unmasking it when masked, as the
    /// reference's `Frame::unpack`. Bytes after the frame are ignored.
    ///
    /// # Errors
    /// [`UnpackError::Incomplete`] when `buf` holds less than a whole frame, and
    /// [`UnpackError::Protocol`] for a header that breaks RFC 6455 §5.2.
    pub fn unpack(buf: &[u8]) -> Result<Frame, UnpackError> {
        let (header, header_len) = FrameHeader::decode(buf)?.ok_or(UnpackError::Incomplete)?;
        let len = usize::try_from(header.payload_len).map_err(|_| UnpackError::Incomplete)?;
        let payload = buf.get(header_len..).and_then(|rest| rest.get(..len)).ok_or(UnpackError::Incomplete)?;
        let mut data = BytesMut::from(payload);
        if let Some(key) = header.mask {
            apply_mask(&mut data, key, 0);
        }
        Ok(Frame {
            fd: Fd::default(),
            data: data.freeze(),
            opcode: header.opcode,
            finish: header.fin,
            flags: Flags::from_header(&header),
        })
    }
}

/// Why [`Frame::unpack`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// The buffer ends before the frame does.
    #[error("incomplete frame")]
    Incomplete,
    /// The header breaks RFC 6455 §5.2.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_wire_values() {
        for v in 0..=255u8 {
            match Opcode::try_from(v) {
                Ok(op) => assert_eq!(u8::from(op), v),
                Err(e) => {
                    assert!(!matches!(v, 0 | 1 | 2 | 8 | 9 | 10));
                    assert_eq!(e, ProtocolError::ReservedOpcode(v));
                }
            }
        }
    }

    #[test]
    fn pack_unpack_masked() {
        let frame = Frame::binary(&b"\x00\x01\xfe\xff"[..]);
        let wire = frame.pack_masked([0x37, 0xfa, 0x21, 0x3d]);
        let back = Frame::unpack(&wire).unwrap();
        assert_eq!(back.data, frame.data);
        assert!(back.flags.contains(Flags::MASK | Flags::FIN));
    }

    #[test]
    fn unpack_incomplete() {
        let wire = Frame::text("hello").pack();
        for cut in 0..wire.len() {
            assert_eq!(Frame::unpack(&wire[..cut]), Err(UnpackError::Incomplete));
        }
    }

    #[test]
    fn close_frame_fields() {
        let f = Frame::close(CloseCode::try_from(4000).unwrap(), "bye");
        assert_eq!(f.code(), Some(CloseCode::try_from(4000).unwrap()));
        assert_eq!(f.reason(), "bye");
        assert_eq!(Frame::text("x").code(), None);
    }
}
