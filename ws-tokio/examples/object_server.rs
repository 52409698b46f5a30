//! The object_server example on tokio; the program, shared by every adapter, is examples/object_server.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/object_server.rs");
