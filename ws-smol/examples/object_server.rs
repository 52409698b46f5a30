//! The object_server example on smol; the program, shared by every adapter, is examples/object_server.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/object_server.rs");
