//! # ws-proto: WebSocket as a sans-IO state machine
//!
//! RFC 6455 and RFC 7692 (permessage-deflate) with no sockets, no executor and no clock:
//! bytes and time go in, events and bytes come out.
#![deny(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod close;
pub mod connection;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use connection::{Config, Connection, Event, Message, Status};
pub use error::{Error, HandshakeError, ProtocolError, SendError};
pub use frame::{Fd, Flags, Frame, FrameHeader, Opcode, UnpackError};

/// Which end of the connection this endpoint is (RFC 6455 §5.1: clients mask, servers
/// don't).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that sent the opening handshake.
    Client,
    /// The endpoint that accepted it.
    Server,
}
