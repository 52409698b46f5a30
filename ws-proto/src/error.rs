//! Errors, and the one place where each maps to a close code or an HTTP status.

use crate::close::CloseCode;

/// The peer broke RFC 6455 or RFC 7692. Every variant maps to the close code sent before
/// the connection is failed ([`ProtocolError::close_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode reserved by RFC 6455 §5.2 (0x3–0x7, 0xB–0xF).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// RSV bits set that no negotiated extension defines (§5.2), or RSV1 on a frame where
    /// permessage-deflate does not allow it (RFC 7692 §6: continuation and control frames).
    #[error("reserved bits {0:#04x} set")]
    ReservedBits(u8),
    /// A control frame with a payload over 125 bytes (§5.5).
    #[error("control frame of {0} bytes")]
    ControlTooLong(u64),
    /// A control frame without FIN (§5.5).
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    #[error("payload length has its top bit set")]
    LengthTopBit,
    /// A payload length not encoded in the minimal number of bytes (§5.2).
    #[error("payload length {0} not minimally encoded")]
    NonMinimalLength(u64),
    /// A client frame without a mask (§5.1).
    #[error("unmasked frame from a client")]
    UnmaskedFrame,
    /// A server frame with a mask (§5.1).
    #[error("masked frame from a server")]
    MaskedFrame,
    /// A continuation frame with no message in progress (§5.4).
    #[error("continuation frame without a message in progress")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is in progress (§5.4).
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// Text that is not UTF-8, in a message or a close reason (§8.1).
    #[error("invalid UTF-8 in text")]
    InvalidUtf8,
    /// A close code that may not appear on the wire (§7.4).
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A close payload of exactly one byte (§5.5.1).
    #[error("close payload of one byte")]
    InvalidClosePayload,
    /// A single frame over the configured `max_frame_size`.
    #[error("frame over {limit} bytes")]
    FrameTooBig {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A message (reassembled or inflated) over the configured `package_max_length`.
    #[error("message over {limit} bytes")]
    MessageTooBig {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// Compressed data that does not inflate (RFC 7692 §8).
    #[error("invalid compressed data")]
    InvalidCompressedData,
    /// Data bytes arrived after the close handshake finished (§5.5.1).
    #[error("data after close")]
    DataAfterClose,
}

impl ProtocolError {
    /// The close code sent when failing the connection for this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::ReservedOpcode(_)
            | ProtocolError::ReservedBits(_)
            | ProtocolError::ControlTooLong(_)
            | ProtocolError::FragmentedControl
            | ProtocolError::LengthTopBit
            | ProtocolError::NonMinimalLength(_)
            | ProtocolError::UnmaskedFrame
            | ProtocolError::MaskedFrame
            | ProtocolError::UnexpectedContinuation
            | ProtocolError::ExpectedContinuation
            | ProtocolError::InvalidCloseCode(_)
            | ProtocolError::InvalidClosePayload
            | ProtocolError::DataAfterClose => CloseCode::PROTOCOL_ERROR,
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
        }
    }
}

/// The opening handshake failed (RFC 6455 §4). On the server side each variant maps to the
/// HTTP status of the rejection ([`HandshakeError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request or response is not valid HTTP/1.1.
    #[error("malformed HTTP: {0}")]
    Malformed(&'static str),
    /// The head is longer than the configured limit, in bytes.
    #[error("HTTP head over {limit} bytes")]
    HeadTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// More header fields than the configured limit.
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// A request body over the configured limit.
    #[error("HTTP body over {limit} bytes")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// A request with `Transfer-Encoding` (for example chunked). Bodies are read only by
    /// `Content-Length`, so the request is refused with 411 Length Required
    /// (RFC 9110 §15.5.12), which tells the client to resend with a length; refusing also
    /// closes the door on `Transfer-Encoding`/`Content-Length` smuggling (RFC 9112 §6.1).
    #[error("Transfer-Encoding is not supported; send Content-Length")]
    UnsupportedTransferEncoding,
    /// A WebSocket upgrade with a method other than GET (§4.2.1 item 1).
    #[error("upgrade method is not GET")]
    MethodNotGet,
    /// An HTTP version below 1.1 (§4.2.1 item 1).
    #[error("HTTP version below 1.1")]
    HttpVersion,
    /// No `Host` header (§4.2.1 item 2).
    #[error("missing Host header")]
    MissingHost,
    /// No `websocket` token in `Upgrade` (§4.2.1 item 3).
    #[error("missing or invalid Upgrade header")]
    MissingUpgrade,
    /// No `Upgrade` token in `Connection` (§4.2.1 item 4).
    #[error("missing or invalid Connection header")]
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 bytes in base64 (§4.2.1 item 5).
    #[error("missing or invalid Sec-WebSocket-Key")]
    InvalidKey,
    /// `Sec-WebSocket-Version` missing or not 13 (§4.2.1 item 6); answered with 426.
    #[error("unsupported Sec-WebSocket-Version")]
    UnsupportedVersion,
    /// The server answered with a status other than 101 (client role).
    #[error("server answered with status {0}")]
    UnexpectedStatus(u16),
    /// `Sec-WebSocket-Accept` missing or wrong (client role, §4.1).
    #[error("invalid Sec-WebSocket-Accept")]
    InvalidAccept,
    /// The server chose a subprotocol the client did not offer (client role, §4.1).
    #[error("server chose a subprotocol that was not offered")]
    UnexpectedProtocol,
    /// The server answered with an extension that was not offered, or invalid parameters
    /// (client role, §4.1, RFC 7692 §5).
    #[error("server answered with an extension that was not offered or is invalid")]
    InvalidExtension,
    /// The application rejected the handshake (for example an `on_handshake` that returned
    /// false).
    #[error("handshake rejected with status {0}")]
    Rejected(u16),
    /// The handshake did not finish within `handshake_timeout`.
    #[error("handshake timed out")]
    TimedOut,
}

impl HandshakeError {
    /// The HTTP status of the rejection a server sends for this error.
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::UnsupportedVersion => 426,
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => 431,
            HandshakeError::BodyTooLarge { .. } => 413,
            HandshakeError::UnsupportedTransferEncoding => 411,
            HandshakeError::TimedOut => 408,
            HandshakeError::Rejected(status) => *status,
            HandshakeError::Malformed(_)
            | HandshakeError::MethodNotGet
            | HandshakeError::HttpVersion
            | HandshakeError::MissingHost
            | HandshakeError::MissingUpgrade
            | HandshakeError::MissingConnectionUpgrade
            | HandshakeError::InvalidKey
            | HandshakeError::UnexpectedStatus(_)
            | HandshakeError::InvalidAccept
            | HandshakeError::UnexpectedProtocol
            | HandshakeError::InvalidExtension => 400,
        }
    }
}

/// Any error that ends a connection: the peer broke the framing rules, or the handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke RFC 6455/7692 after the handshake.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The opening handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
}

/// A command (`send`, `ping`, `close`) that could not be carried out. Nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is not open: before the handshake, or after a close was sent.
    #[error("connection is not open for sending")]
    NotOpen,
    /// A control frame payload over 125 bytes.
    #[error("control payload of {0} bytes (at most 125)")]
    ControlTooLong(usize),
    /// Text that is not valid UTF-8.
    #[error("text is not valid UTF-8")]
    InvalidUtf8,
    /// A continuation frame with no fragmented message in progress, or a new message
    /// while one is.
    #[error("fragment out of sequence")]
    FragmentSequence,
    /// A close code that may not be sent (`disconnect` takes 1000 or 4000–4999).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes.
    #[error("close reason of {0} bytes (at most 123)")]
    ReasonTooLong(usize),
    /// The opcode cannot be sent with this call.
    #[error("opcode {0:?} cannot be sent here")]
    InvalidOpcode(crate::frame::Opcode),
}
