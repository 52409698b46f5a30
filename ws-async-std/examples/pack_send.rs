//! The pack_send example on async-std; the program, shared by every adapter, is examples/pack_send.rs at
//! the repository root.
use ws_async_std as ws;
include!("../../examples/pack_send.rs");
