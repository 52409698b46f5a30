//! The handshake example on tokio; the program, shared by every adapter, is examples/handshake.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/handshake.rs");
