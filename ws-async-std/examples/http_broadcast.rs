//! The http_broadcast example on async-std; the program, shared by every adapter, is examples/http_broadcast.rs at
//! the repository root.
use ws_async_std as ws;
include!("../../examples/http_broadcast.rs");
