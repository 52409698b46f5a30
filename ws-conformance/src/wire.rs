//! Frames on the wire: building any frame, well-formed or hostile, and describing frames for
//! the trace.

use ws_proto::mask::apply_mask;
use ws_proto::{FrameHeader, Opcode};

/// Raw opcode values (RFC 6455 §5.2), including the reserved ones cases send on purpose.
pub mod op {
    /// Continuation.
    pub const CONTINUATION: u8 = 0x0;
    /// Text.
    pub const TEXT: u8 = 0x1;
    /// Binary.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// The RSV bits as they stand in a header's first byte (RFC 6455 §5.2).
pub mod rsv {
    /// RSV1 (permessage-deflate's "compressed" bit, RFC 7692 §6).
    pub const RSV1: u8 = 0x40;
    /// RSV2.
    pub const RSV2: u8 = 0x20;
    /// RSV3.
    pub const RSV3: u8 = 0x10;
}

/// A frame to send. Any combination is allowed, including reserved opcodes, RSV bits,
/// fragmented or over-long control frames: cases build hostile frames on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame {
    /// FIN.
    pub fin: bool,
    /// RSV bits (`0x40 | 0x20 | 0x10`).
    pub rsv: u8,
    /// Raw 4-bit opcode.
    pub opcode: u8,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
    /// `Some(true)`/`Some(false)` forces masking on or off; `None` follows the sender's role
    /// (clients mask, servers don't: RFC 6455 §5.1).
    pub mask: Option<bool>,
}

impl OutFrame {
    /// A final, unflagged frame.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>) -> OutFrame {
        OutFrame { fin: true, rsv: 0, opcode, payload: payload.into(), mask: None }
    }

    /// A final text frame.
    pub fn text(payload: impl Into<Vec<u8>>) -> OutFrame {
        OutFrame::new(op::TEXT, payload)
    }

    /// A final binary frame.
    pub fn binary(payload: impl Into<Vec<u8>>) -> OutFrame {
        OutFrame::new(op::BINARY, payload)
    }

    /// A ping.
    pub fn ping(payload: impl Into<Vec<u8>>) -> OutFrame {
        OutFrame::new(op::PING, payload)
    }

    /// A pong.
    pub fn pong(payload: impl Into<Vec<u8>>) -> OutFrame {
        OutFrame::new(op::PONG, payload)
    }

    /// A close frame with a code and a raw (possibly invalid) reason.
    pub fn close(code: u16, reason: &[u8]) -> OutFrame {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason);
        OutFrame::new(op::CLOSE, payload)
    }

    /// The same frame with FIN set as given.
    #[must_use]
    pub fn fin(mut self, fin: bool) -> OutFrame {
        self.fin = fin;
        self
    }

    /// The same frame with these RSV bits.
    #[must_use]
    pub fn rsv(mut self, rsv: u8) -> OutFrame {
        self.rsv = rsv;
        self
    }

    /// The same frame, masked or not regardless of role.
    #[must_use]
    pub fn masked(mut self, masked: bool) -> OutFrame {
        self.mask = Some(masked);
        self
    }

    /// Encodes the frame, masking the payload with `key` when given.
    ///
    /// Uses [`FrameHeader::encode`]; only a reserved opcode, which `FrameHeader` cannot hold,
    /// is patched into the first byte by hand.
    pub fn encode(&self, key: Option<[u8; 4]>) -> Vec<u8> {
        let header = FrameHeader {
            fin: self.fin,
            rsv: self.rsv & 0x70,
            opcode: Opcode::try_from(self.opcode).unwrap_or(Opcode::Binary),
            mask: key,
            payload_len: self.payload.len() as u64,
        };
        let mut head = [0u8; FrameHeader::MAX_LEN];
        let n = header.encode(&mut head);
        // RFC 6455 §5.2: the opcode is the low nibble of the first byte.
        head[0] = (head[0] & 0xf0) | (self.opcode & 0x0f);
        let mut out = Vec::with_capacity(n + self.payload.len());
        out.extend_from_slice(head.get(..n).unwrap_or_default());
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let (Some(key), Some(payload)) = (key, out.get_mut(start..)) {
            apply_mask(payload, key, 0);
        }
        out
    }

    /// A one-line description for the trace.
    pub fn describe(&self, masked: bool) -> String {
        describe(self.fin, self.rsv, self.opcode, masked, &self.payload)
    }
}

/// A frame received from the peer, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFrame {
    /// FIN.
    pub fin: bool,
    /// RSV bits as in the first byte.
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// Whether the frame was masked on the wire.
    pub masked: bool,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl InFrame {
    /// A one-line description for the trace.
    pub fn describe(&self) -> String {
        describe(self.fin, self.rsv, u8::from(self.opcode), self.masked, &self.payload)
    }
}

/// The name of a raw opcode.
pub fn opcode_name(opcode: u8) -> String {
    match opcode {
        op::CONTINUATION => "CONT".into(),
        op::TEXT => "TEXT".into(),
        op::BINARY => "BINARY".into(),
        op::CLOSE => "CLOSE".into(),
        op::PING => "PING".into(),
        op::PONG => "PONG".into(),
        other => format!("OP{other:#x}"),
    }
}

/// Describes a frame: opcode, flags, length and the first bytes of the payload.
pub fn describe(fin: bool, rsv: u8, opcode: u8, masked: bool, payload: &[u8]) -> String {
    let mut s = format!("{} {}", opcode_name(opcode), if fin { "fin" } else { "nofin" });
    if rsv != 0 {
        s.push_str(&format!(" rsv={:#x}", rsv >> 4));
    }
    if masked {
        s.push_str(" masked");
    }
    s.push_str(&format!(" len={}", payload.len()));
    if opcode == op::CLOSE
        && let [hi, lo, reason @ ..] = payload
    {
        s.push_str(&format!(" code={} reason={}", u16::from_be_bytes([*hi, *lo]), preview(reason)));
    } else if !payload.is_empty() {
        s.push_str(&format!(" {}", preview(payload)));
    }
    s
}

/// The first bytes of a payload: quoted text when it is short valid UTF-8, else hex.
pub fn preview(payload: &[u8]) -> String {
    const MAX: usize = 24;
    let head = payload.get(..payload.len().min(MAX)).unwrap_or_default();
    let more = if payload.len() > MAX { "…" } else { "" };
    match std::str::from_utf8(head) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => format!("{text:?}{more}"),
        _ => {
            let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("[{}{more}]", hex.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_rfc_6455_5_7() {
        assert_eq!(OutFrame::text("Hello").encode(None), b"\x81\x05Hello");
        let masked = OutFrame::text("Hello").encode(Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(masked, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn reserved_opcode_and_rsv_by_hand() {
        let f = OutFrame::new(0xB, vec![1, 2]).rsv(rsv::RSV2).fin(false);
        assert_eq!(f.encode(None), [0x2B, 0x02, 1, 2]);
    }

    #[test]
    fn long_control_frame_encodes() {
        let f = OutFrame::ping(vec![0; 126]);
        assert_eq!(&f.encode(None)[..4], &[0x89, 0x7e, 0x00, 0x7e]);
    }
}
