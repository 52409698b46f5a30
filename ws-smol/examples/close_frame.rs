//! The close_frame example on smol; the program, shared by every adapter, is examples/close_frame.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/close_frame.rs");
