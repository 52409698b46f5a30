//! # ws-proto: WebSocket as a sans-IO state machine
//!
//! RFC 6455 and RFC 7692 (permessage-deflate) with no sockets, no executor and no clock:
//! bytes and time go in, events and bytes come out. The async adapters (`ws-tokio`,
//! `ws-async-std`, `ws-smol`) drive this crate; so can a library with IO of its own.
//!
//! ## The loop
//!
//! One [`Connection`] per TCP connection. After every input — bytes
//! ([`Connection::receive`]), end of stream ([`Connection::receive_eof`]) or a timer
//! ([`Connection::handle_timeout`]) — and after every command ([`Connection::send`],
//! [`Connection::close`], …), poll in this order:
//!
//! 1. events: [`Connection::poll_event`] until `None`;
//! 2. output: write [`Connection::output`] (a [`bytes::Buf`]; use `chunks_vectored` for one
//!    vectored write), then `advance` by what was written;
//! 3. the next deadline: [`Connection::poll_timeout`].
//!
//! When [`Connection::is_finished`] is true the transport can be closed.
//!
//! `receive` copies its input, so that the caller can read into one scratch buffer shared by
//! every connection and an idle connection holds no read buffer. For large payloads that copy
//! costs: while one arrives, [`Connection::payload_buf`] lends the message buffer so that the
//! caller can read the rest straight into it, then [`Connection::receive_appended`] takes it
//! (ws-tokio does; at 1 MiB per message it saves a copy and most of the reads).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use bytes::Buf;
//! use ws_proto::handshake::ClientRequest;
//! use ws_proto::{Config, Connection, Event, Flags, Message};
//!
//! let now = Instant::now();
//! let config = Arc::new(Config::default());
//! let mut server = Connection::server(config.clone(), now);
//! let mut client = Connection::client(config, ClientRequest::new("example.com", "/chat", [0; 16]), now);
//!
//! // The "network": move every queued byte from one side to the other.
//! fn pump(from: &mut Connection, to: &mut Connection, now: Instant) {
//!     let len = from.output_len();
//!     let bytes = from.output().copy_to_bytes(len);
//!     to.receive(&bytes, now).unwrap();
//! }
//!
//! pump(&mut client, &mut server, now); // the upgrade request
//! while let Some(event) = server.poll_event() {
//!     if let Event::Request(request) = event {
//!         match server.accept_response(&request) {
//!             Ok(response) => server.respond(response).unwrap(), // 101 Switching Protocols
//!             Err(error) => server.reject(error),                // 400 or 426
//!         }
//!     }
//! }
//! pump(&mut server, &mut client, now);
//! assert_eq!(client.poll_event(), Some(Event::Open));
//!
//! client.send(Message::text("hello"), Flags::FIN).unwrap();
//! pump(&mut client, &mut server, now);
//! let Some(Event::Message(message)) = server.poll_event() else { unreachable!() };
//! assert_eq!(message.as_text(), Some("hello"));
//! ```
//!
//! `examples/blocking_echo.rs` is the same loop over `std::net`, a thread per connection.
//!
//! ## Strictness
//!
//! Every RFC 6455 rule is enforced, each failure mapped to its close code in one place
//! ([`ProtocolError::close_code`], [`HandshakeError::status`]): reserved opcodes and bits,
//! control frame rules, masking by role, minimal length encoding, UTF-8 checked as it
//! arrives (failing at the first bad byte), close codes and reasons. Limits
//! ([`Config::max_frame_size`], [`Config::max_message_size`]) are checked from a frame's
//! header before its payload is buffered, and buffers grow with what actually arrives.
//! Where Swoole's reference behaviour differs (it checks no UTF-8, echoes any close code,
//! ignores reserved bits), this crate follows the RFCs.
#![deny(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod close;
pub mod connection;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
#[cfg(feature = "server")]
pub mod server;
mod spare;
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
