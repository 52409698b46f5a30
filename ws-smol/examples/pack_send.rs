//! The pack_send example on smol; the program, shared by every adapter, is examples/pack_send.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/pack_send.rs");
