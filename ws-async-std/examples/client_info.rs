//! The client_info example on async-std; the program, shared by every adapter, is examples/client_info.rs at
//! the repository root.
use ws_async_std as ws;
include!("../../examples/client_info.rs");
