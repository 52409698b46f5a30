//! The client_info example on tokio; the program, shared by every adapter, is examples/client_info.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/client_info.rs");
