//! The compression_server example on tokio; the program, shared by every adapter, is examples/compression_server.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/compression_server.rs");
