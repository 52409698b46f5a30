//! The http_broadcast example on smol; the program, shared by every adapter, is examples/http_broadcast.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/http_broadcast.rs");
