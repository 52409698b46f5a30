//! The chat example on smol; the program, shared by every adapter, is examples/chat.rs at
//! the repository root. `cargo run -p ws-smol --example chat`, then open http://127.0.0.1:9501/.
use ws_smol as ws;
include!("../../examples/chat.rs");
