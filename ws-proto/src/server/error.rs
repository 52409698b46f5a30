//! The server's errors: misuse per call (`PushError`, `DisconnectError`), and `Error` for
//! what ends `start()`, `run()` or a client.

use std::io;

use bytes::Bytes;

use crate::error::{HandshakeError, ProtocolError, SendError};
use crate::frame::Fd;

/// Why `start()`, `run()`, `serve()` or a [`Client`](super::Client) call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket or runtime error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The server was started without an `on_message` callback (the reference refuses to
    /// start too).
    #[error("on_message must be set before the server starts")]
    MissingOnMessage,
    /// The address given to `Server::new` does not resolve.
    #[error("cannot resolve listen address {0}")]
    InvalidAddress(String),
    /// Client: the opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// Client: the server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// Client: the connection is closed (or was never upgraded).
    #[error("connection closed")]
    Closed,
    /// Client: the operation did not finish within the configured timeout.
    #[error("timed out")]
    TimedOut,
    /// Client: a frame could not be sent.
    #[error(transparent)]
    Send(#[from] SendError),
}

impl From<crate::error::Error> for Error {
    fn from(error: crate::error::Error) -> Self {
        match error {
            crate::error::Error::Protocol(e) => Error::Protocol(e),
            crate::error::Error::Handshake(e) => Error::Handshake(e),
        }
    }
}

/// Why a `push` failed. Nothing was queued; where a retry makes sense the payload is handed
/// back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// No connection has this fd (it never existed or has closed).
    #[error("no connection {0}")]
    NotFound(Fd),
    /// The connection exists but is not an open WebSocket (still in the handshake, plain
    /// HTTP, or closing).
    #[error("connection {0} is not an open WebSocket")]
    NotEstablished(Fd),
    /// The connection's send queue holds `buffer_output_size` bytes or more: the client is
    /// not reading fast enough. The payload comes back for a later retry.
    #[error("send buffer of connection {fd} is full")]
    BufferFull {
        /// The connection.
        fd: Fd,
        /// The payload that was not queued.
        data: Bytes,
    },
    /// The frame itself is invalid (text not UTF-8, control payload over 125 bytes,
    /// fragment out of sequence, …).
    #[error("invalid frame: {0}")]
    InvalidFrame(SendError),
}

/// Why `disconnect` refused. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisconnectError {
    /// The code is neither 1000 nor in 4000–4999 (the reference's rule for applications).
    #[error("close code {0} is not 1000 or 4000-4999")]
    InvalidCode(u16),
    /// The reason is over 123 bytes. The reference says 125, but RFC 6455 §5.5 allows a
    /// control payload of 125 bytes *including* the 2-byte code; the RFC wins.
    #[error("close reason of {0} bytes (at most 123)")]
    ReasonTooLong(usize),
    /// No open WebSocket has this fd.
    #[error("connection {0} is not an open WebSocket")]
    NotEstablished(Fd),
}
