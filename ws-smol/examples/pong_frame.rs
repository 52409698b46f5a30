//! The pong_frame example on smol; the program, shared by every adapter, is examples/pong_frame.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/pong_frame.rs");
