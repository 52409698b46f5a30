//! The cluster chat example on tokio; the program, shared by every adapter, is
//! examples/cluster_chat.rs at the repository root. Start a redis-server, then
//! `cargo run -p ws-tokio --example cluster_chat -- --listen 127.0.0.1:9501` (and 9502).
use ws_tokio as ws;
include!("../../examples/cluster_chat.rs");
