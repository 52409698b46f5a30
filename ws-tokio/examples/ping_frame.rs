//! The ping_frame example on tokio; the program, shared by every adapter, is examples/ping_frame.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/ping_frame.rs");
