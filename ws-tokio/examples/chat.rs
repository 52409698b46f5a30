//! The chat example on tokio; the program, shared by every adapter, is examples/chat.rs at
//! the repository root. `cargo run -p ws-tokio --example chat`, then open http://127.0.0.1:9501/.
use ws_tokio as ws;
include!("../../examples/chat.rs");
