//! The ping_client example on tokio; the program, shared by every adapter, is examples/ping_client.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/ping_client.rs");
