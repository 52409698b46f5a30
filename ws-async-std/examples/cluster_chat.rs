//! The cluster chat example on async-std; the program, shared by every adapter, is
//! examples/cluster_chat.rs at the repository root. Start a redis-server, then
//! `cargo run -p ws-async-std --example cluster_chat -- --listen 127.0.0.1:9501` (and 9502).
use ws_async_std as ws;
include!("../../examples/cluster_chat.rs");
