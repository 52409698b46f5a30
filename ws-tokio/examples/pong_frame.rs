//! The pong_frame example on tokio; the program, shared by every adapter, is examples/pong_frame.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/pong_frame.rs");
