//! The compression_server example on smol; the program, shared by every adapter, is examples/compression_server.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/compression_server.rs");
