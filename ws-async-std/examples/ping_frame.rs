//! The ping_frame example on async-std; the program, shared by every adapter, is examples/ping_frame.rs at
//! the repository root.
use ws_async_std as ws;
include!("../../examples/ping_frame.rs");
