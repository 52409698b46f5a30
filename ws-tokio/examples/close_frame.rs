//! The close_frame example on tokio; the program, shared by every adapter, is examples/close_frame.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/close_frame.rs");
