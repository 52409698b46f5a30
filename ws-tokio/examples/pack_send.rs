//! The pack_send example on tokio; the program, shared by every adapter, is examples/pack_send.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/pack_send.rs");
