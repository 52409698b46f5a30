//! The ping_frame example on smol; the program, shared by every adapter, is examples/ping_frame.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/ping_frame.rs");
