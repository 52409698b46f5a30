//! The ping_client example on smol; the program, shared by every adapter, is examples/ping_client.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/ping_client.rs");
