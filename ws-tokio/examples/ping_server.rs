//! The ping_server example on tokio; the program, shared by every adapter, is examples/ping_server.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/ping_server.rs");
