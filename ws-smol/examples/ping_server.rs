//! The ping_server example on smol; the program, shared by every adapter, is examples/ping_server.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/ping_server.rs");
