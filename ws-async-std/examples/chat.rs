//! The chat example on async-std; the program, shared by every adapter, is examples/chat.rs at
//! the repository root. `cargo run -p ws-async-std --example chat`, then open http://127.0.0.1:9501/.
use ws_async_std as ws;
include!("../../examples/chat.rs");
