//! The handshake example on smol; the program, shared by every adapter, is examples/handshake.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/handshake.rs");
