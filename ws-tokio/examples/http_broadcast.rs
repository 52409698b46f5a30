//! The http_broadcast example on tokio; the program, shared by every adapter, is examples/http_broadcast.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/http_broadcast.rs");
