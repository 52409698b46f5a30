//! Benchmarks for the workspace: criterion micro-benchmarks (`benches/`), and for the end
//! to end runs a load generator (`load`), echo servers built on the best Rust peers
//! (`peer_tungstenite`, `peer_fastwebsockets`, `peer_tokio_websockets`) and a raw TCP echo
//! (`raw_tcp_echo`), driven by `run.sh`. See BENCHMARKS.md at the repository root.
//!
//! This library holds what the binaries share.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

/// The `--listen ADDR` argument of a server binary (default `127.0.0.1:9001`); other
/// arguments are refused, so a typo does not go unnoticed.
///
/// # Panics
/// On an unknown argument or an address that does not parse.
pub fn listen_arg() -> SocketAddr {
    let mut listen = String::from("127.0.0.1:9001");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen needs an address"),
            other => panic!("unknown argument {other} (only --listen ADDR)"),
        }
    }
    listen.parse().expect("--listen ADDR")
}

/// A single-threaded tokio runtime, as every server under test uses one core.
///
/// # Panics
/// When the runtime cannot be built.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// The largest message the peers accept, as our `echo` example's default.
pub const MAX_MESSAGE: usize = 64 << 20;
