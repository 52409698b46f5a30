//! The compression_client example on smol; the program, shared by every adapter, is examples/compression_client.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/compression_client.rs");
