//! The compression_server example on async-std; the program, shared by every adapter, is examples/compression_server.rs at
//! the repository root.
use ws_async_std as ws;
include!("../../examples/compression_server.rs");
