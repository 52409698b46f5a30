//! The cluster chat example on smol; the program, shared by every adapter, is
//! examples/cluster_chat.rs at the repository root. Start a redis-server, then
//! `cargo run -p ws-smol --example cluster_chat -- --listen 127.0.0.1:9501` (and 9502).
use ws_smol as ws;
include!("../../examples/cluster_chat.rs");
