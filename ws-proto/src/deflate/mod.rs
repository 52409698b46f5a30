//! permessage-deflate (RFC 7692): negotiation and the per-message codec.
//!
//! [`DeflateParams::negotiate`] (server) and [`DeflateParams::offer`] with
//! [`DeflateParams::from_response`] (client) agree on parameters during the handshake. Each
//! connection then holds a [`Compressor`] for what it sends and a [`Decompressor`] for what it
//! receives; [`compress_once`] encodes a message once for many connections.
//!
//! # Example
//! ```
//! use bytes::BytesMut;
//! use ws_proto::Role;
//! use ws_proto::deflate::{Compressor, DeflateConfig, DeflateParams, Decompressor};
//!
//! let client_config = DeflateConfig::default();
//! let offer = DeflateParams::offer(&client_config);
//! let server_config = DeflateConfig { server_no_context_takeover: true, ..DeflateConfig::default() };
//! let (server_params, response) = DeflateParams::negotiate(&[&offer], &server_config).unwrap();
//! let client_params = DeflateParams::from_response(&[&response], &client_config).unwrap().unwrap();
//! assert_eq!(server_params, client_params);
//!
//! let mut compressor = Compressor::new(&server_params, Role::Server, 6, 8);
//! let mut decompressor = Decompressor::new(&client_params, Role::Client);
//! let (mut wire, mut message) = (BytesMut::new(), BytesMut::new());
//! compressor.compress(b"Hello", true, &mut wire);
//! decompressor.decompress(&wire, true, &mut message, 1 << 20).unwrap();
//! assert_eq!(&message[..], b"Hello");
//! ```
//!
//! # Memory
//!
//! zlib state is large next to a connection's other state (figures for flate2 1.1 on its
//! zlib-rs backend, measured with a counting allocator):
//!
//! - a deflate state holds about 370 KiB at 15 window bits and 245 KiB at 9: the window
//!   (twice its size), the chain table (as large again), a hash table of 128 KiB that does not
//!   shrink with the window, and a 64 KiB symbol buffer (memLevel 8, which flate2 cannot change);
//! - an inflate state holds about 46 KiB whatever the window.
//!
//! So the state is allocated only when worth keeping. With context takeover in a direction it
//! is allocated on that direction's first compressed message and kept for the connection
//! (the RFC's shared window needs it). Without context takeover nothing is kept between
//! messages: a message borrows a reset state from a per-thread pool (one inflate state and up
//! to four deflate states per thread) and returns it at its end. For a 200-byte message that
//! measured 4.7 µs against 7.0 µs for allocating a deflate state per message, and 0.19 µs
//! against 0.54 µs for an inflate state; resetting a deflate state still clears its 128 KiB
//! hash table, which dominates small messages. An idle connection that agreed no context takeover in both
//! directions therefore holds only its `Compressor` and `Decompressor` (a few dozen bytes).
//! A server short on memory sets `server_no_context_takeover`, and agrees
//! `client_no_context_takeover` whenever a client offers it.
//!
//! # 8-bit windows
//!
//! RFC 7692 allows windows of 8 bits, but zlib cannot deflate with one: asked for 8 it uses
//! 9, and a peer holding us to 256 bytes would fail on a longer distance. A [`Compressor`]
//! for an 8-bit window therefore emits stored blocks only ([`Compressor::can_compress`] is
//! false), and callers send such messages uncompressed, which RFC 7692 §6 allows per message.
//! Inflating needs no such care: a window larger than the sender's is always safe, so an
//! agreed 8 is inflated with 9 bits.

mod codec;
mod negotiate;

pub use codec::{Compressor, Decompressor, compress_once};
pub use negotiate::{DeflateConfig, DeflateParams, EXTENSION_NAME, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
