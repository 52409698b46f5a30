//! Messages, events and close reasons: what a connection hands to its user.

use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::frame::{Fd, Flags, Frame, Opcode};
use crate::handshake::Request;

use super::timers::Timer;

/// A whole data message: text (valid UTF-8) or binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    opcode: Opcode,
    data: Bytes,
    compressed: bool,
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Message {
        Message { opcode: Opcode::Text, data: Bytes::from(text.into()), compressed: false }
    }

    /// A text message from bytes, checked to be UTF-8.
    ///
    /// # Errors
    /// [`crate::utf8::Utf8Error`] when `data` is not UTF-8.
    pub fn text_from_bytes(data: Bytes) -> Result<Message, crate::utf8::Utf8Error> {
        if !crate::utf8::is_valid(&data) {
            return Err(crate::utf8::Utf8Error);
        }
        Ok(Message::text_checked(data))
    }

    /// A text message from bytes the caller has already found to be UTF-8.
    pub(crate) fn text_checked(data: Bytes) -> Message {
        Message { opcode: Opcode::Text, data, compressed: false }
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message { opcode: Opcode::Binary, data: data.into(), compressed: false }
    }

    pub(crate) fn received(opcode: Opcode, data: Bytes, compressed: bool) -> Message {
        Message { opcode, data, compressed }
    }

    /// [`Opcode::Text`] or [`Opcode::Binary`].
    pub fn opcode(&self) -> Opcode {
        self.opcode
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        self.opcode == Opcode::Text
    }

    /// The payload (inflated, if it arrived compressed).
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The payload as text, for a text message.
    pub fn as_text(&self) -> Option<&str> {
        if self.is_text() { simdutf8::basic::from_utf8(&self.data).ok() } else { None }
    }

    /// Whether the message arrived compressed (permessage-deflate).
    pub fn was_compressed(&self) -> bool {
        self.compressed
    }

    /// Takes the payload.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// The message as the reference's `Frame`, for `on_message`: `finish` is true, and
    /// [`Flags::COMPRESS`] is set when it arrived compressed.
    pub fn into_frame(self, fd: Fd) -> Frame {
        let flags = Flags::FIN.with(Flags::COMPRESS, self.compressed);
        Frame { fd, data: self.data, opcode: self.opcode, finish: true, flags }
    }
}

/// Something that happened on a connection; drain with
/// [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: a whole HTTP request arrived. For a WebSocket upgrade, answer it with the
    /// response of [`Connection::accept_response`](super::Connection::accept_response)
    /// (or a custom one) through [`Connection::respond`](super::Connection::respond), or
    /// refuse it with [`Connection::reject`](super::Connection::reject); for plain HTTP,
    /// with `respond`.
    Request(Box<Request>),
    /// The opening handshake finished: the connection is open.
    Open,
    /// A whole message arrived (fragments already reassembled, compression undone).
    Message(Message),
    /// A ping arrived (answered already when `auto_pong` is on).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer sent a close frame (answered already when `auto_close_reply` is on).
    CloseReceived(CloseFrame),
    /// The connection is finished: drain the output, then close the transport. Always the
    /// last event, exactly once.
    Closed(CloseReason),
}

/// Why a connection finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The close handshake completed. `peer` is what the peer's close frame said.
    Handshake {
        /// The peer's close frame.
        peer: CloseFrame,
        /// Whether this endpoint sent the first close frame.
        initiated_locally: bool,
    },
    /// This endpoint failed the connection: the peer broke the protocol or the handshake.
    /// The close frame (or HTTP rejection) is in the output.
    Failed(Error),
    /// The transport closed without a close handshake (reported as 1006).
    Abnormal,
    /// A timer expired.
    TimedOut(Timer),
    /// A plain HTTP connection finished.
    HttpDone,
}

impl CloseReason {
    /// The close code to report, as the reference's `onClose` and browsers see it: the
    /// peer's code, the code we failed with, or 1006 for an abnormal end.
    pub fn code(&self) -> CloseCode {
        match self {
            CloseReason::Handshake { peer, .. } => peer.code_or_no_status(),
            CloseReason::Failed(Error::Protocol(e)) => e.close_code(),
            CloseReason::Failed(_) | CloseReason::Abnormal | CloseReason::TimedOut(_) | CloseReason::HttpDone => {
                CloseCode::ABNORMAL
            }
        }
    }
}
