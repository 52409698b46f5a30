//! The compression_client example on tokio; the program, shared by every adapter, is examples/compression_client.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/compression_client.rs");
