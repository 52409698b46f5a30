//! The client_info example on smol; the program, shared by every adapter, is examples/client_info.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/client_info.rs");
