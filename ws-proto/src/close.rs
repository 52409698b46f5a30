//! Close codes (RFC 6455 §7.4) and close frame payloads (§5.5.1).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;

/// A close status code that may appear on the wire (RFC 6455 §7.4).
///
/// A `CloseCode` exists only in valid form: 1000–1003, 1007–1014 and 3000–4999. The codes
/// 1004, 1005, 1006 and 1015 are reserved for local reporting and never sent; they are
/// represented by [`CloseCode::NO_STATUS`] and friends only through
/// [`CloseCode::reserved_for_local_use`].
///
/// # Example
/// ```
/// use ws_proto::CloseCode;
/// assert!(CloseCode::try_from(1000).is_ok());
/// assert!(CloseCode::try_from(1005).is_err()); // never on the wire
/// assert!(CloseCode::try_from(2999).is_err());
/// assert_eq!(u16::from(CloseCode::GOING_AWAY), 1001);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept (Swoole's `WEBSOCKET_CLOSE_DATA_ERROR`).
    pub const DATA_ERROR: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (local reporting only, never sent).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a close frame (local reporting only).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data not consistent with its type, e.g. invalid UTF-8 in text.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const EXTENSION_MISSING: CloseCode = CloseCode(1010);
    /// 1011: unexpected condition on the server.
    pub const SERVER_ERROR: CloseCode = CloseCode(1011);
    /// 1015: TLS handshake failure (local reporting only, never sent).
    pub const TLS: CloseCode = CloseCode(1015);

    /// Builds a code for local reporting (1005, 1006, 1015), which [`TryFrom`] refuses.
    ///
    /// Returns `None` for any other value.
    pub fn reserved_for_local_use(code: u16) -> Option<CloseCode> {
        matches!(code, 1005 | 1006 | 1015).then_some(CloseCode(code))
    }

    /// Whether the code may be sent in a close frame (RFC 6455 §7.4).
    pub fn is_sendable(self) -> bool {
        is_valid_wire_code(self.0)
    }

    /// Whether an application may pass the code to `disconnect` (the reference: 1000 or
    /// 4000–4999).
    pub fn is_application_code(self) -> bool {
        self.0 == 1000 || (4000..=4999).contains(&self.0)
    }

    /// The numeric value.
    pub fn as_u16(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for CloseCode {
    type Error = ProtocolError;

    /// Accepts exactly the codes a peer may send (RFC 6455 §7.4.1, §7.4.2).
    ///
    /// # Errors
    /// [`ProtocolError::InvalidCloseCode`] for 0–999, 1004–1006, 1015, 1016–2999 and ≥ 5000.
    fn try_from(code: u16) -> Result<Self, Self::Error> {
        if is_valid_wire_code(code) { Ok(CloseCode(code)) } else { Err(ProtocolError::InvalidCloseCode(code)) }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A parsed close frame payload: a code and a UTF-8 reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code; `None` when the peer sent an empty close payload.
    pub code: Option<CloseCode>,
    /// The reason, at most [`MAX_CLOSE_REASON`] bytes.
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with a code and a reason.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        CloseFrame { code: Some(code), reason: reason.into() }
    }

    /// The code to report: the frame's own, or 1005 (no status) when it had none.
    pub fn code_or_no_status(&self) -> CloseCode {
        self.code.unwrap_or(CloseCode::NO_STATUS)
    }

    /// Parses a received close payload (RFC 6455 §5.5.1).
    ///
    /// # Errors
    /// A one-byte payload is [`ProtocolError::InvalidClosePayload`] (1002), an invalid code is
    /// [`ProtocolError::InvalidCloseCode`] (1002), a reason that is not UTF-8 is
    /// [`ProtocolError::InvalidUtf8`] (1007).
    pub fn parse(payload: &[u8]) -> Result<CloseFrame, ProtocolError> {
        match payload {
            [] => Ok(CloseFrame { code: None, reason: String::new() }),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode::try_from(u16::from_be_bytes([*hi, *lo]))?;
                let reason = simdutf8::basic::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(CloseFrame { code: Some(code), reason: reason.to_owned() })
            }
        }
    }

    /// Encodes the payload: the code in network order, then the reason, truncated at a
    /// character boundary to fit the 125-byte control frame limit.
    pub fn encode(&self) -> Bytes {
        let Some(code) = self.code else { return Bytes::new() };
        let reason = truncate_reason(&self.reason);
        let mut out = BytesMut::with_capacity(2 + reason.len());
        out.put_u16(code.as_u16());
        out.put_slice(reason.as_bytes());
        out.freeze()
    }
}

/// Cuts `reason` to at most [`MAX_CLOSE_REASON`] bytes without splitting a character.
pub fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.get(..end).unwrap_or_default()
}

fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The longest close reason that fits a control frame: 125 bytes less the 2-byte code
/// (RFC 6455 §5.5).
pub const MAX_CLOSE_REASON: usize = 123;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_classified_as_rfc_6455_7_4() {
        for code in 0..=u16::MAX {
            let valid = CloseCode::try_from(code).is_ok();
            let expected = matches!(code, 1000 | 1001 | 1002 | 1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(valid, expected, "code {code}");
        }
    }

    #[test]
    fn application_codes() {
        assert!(CloseCode::NORMAL.is_application_code());
        assert!(CloseCode::try_from(4000).unwrap().is_application_code());
        assert!(CloseCode::try_from(4999).unwrap().is_application_code());
        assert!(!CloseCode::try_from(3000).unwrap().is_application_code());
        assert!(!CloseCode::GOING_AWAY.is_application_code());
    }

    #[test]
    fn parse_close_payloads() {
        assert_eq!(CloseFrame::parse(&[]).unwrap().code, None);
        assert_eq!(CloseFrame::parse(&[3]), Err(ProtocolError::InvalidClosePayload));
        assert_eq!(CloseFrame::parse(&[0x03, 0xe8, b'o', b'k']).unwrap(), CloseFrame::new(CloseCode::NORMAL, "ok"));
        assert_eq!(CloseFrame::parse(&[0x03, 0xed]), Err(ProtocolError::InvalidCloseCode(1005)));
        assert_eq!(CloseFrame::parse(&[0x03, 0xe8, 0xff]), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn reason_truncated_on_char_boundary() {
        let long = "é".repeat(100); // 200 bytes
        let cut = truncate_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON);
        assert_eq!(cut.len(), 122);
        let frame = CloseFrame::new(CloseCode::NORMAL, long);
        assert!(frame.encode().len() <= 125);
    }
}
