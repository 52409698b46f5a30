//! One API on three runtimes, proven rather than promised:
//!
//! - every name an adapter exports is one of [`SHARED`] or that adapter's own runtime glue
//!   (read from each `lib.rs`, so a name added to one adapter alone fails here);
//! - each shared name is the very same item in all three (checked by the compiler);
//! - every example program exists for every adapter as a wrapper around the one shared
//!   source in the repository's `examples/`, which compiles against each adapter.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Asserts at compile time that each name is the same type in the three adapters, and
/// lists the names.
macro_rules! same_types {
    ($($name:ident),* $(,)?) => {
        $(
            const _: fn(ws_tokio::$name) -> ws_async_std::$name = |x| x;
            const _: fn(ws_tokio::$name) -> ws_smol::$name = |x| x;
        )*
        const SAME_TYPES: &[&str] = &[$(stringify!($name)),*];
    };
}

same_types!(
    Message,
    Status,
    Request,
    Response,
    ClientInfo,
    ClientSettings,
    DeflateConfig,
    DisconnectError,
    Error,
    PushError,
    Settings,
    Stats,
    TimerId,
    CloseCode,
    CloseFrame,
    Fd,
    Flags,
    Frame,
    Opcode,
    UnpackError,
    BrokerError,
    ClusterError,
    ClusterFd,
    Directed,
    Inbound,
    NodeId,
    ParseClusterFdError,
    TopicError,
    TopicStats,
);

// The generic types and the broker trait, which `same_types!` cannot name bare.
const _: fn(ws_tokio::ClusterQuery<bool>) -> ws_async_std::ClusterQuery<bool> = |x| x;
const _: fn(ws_tokio::ClusterQuery<bool>) -> ws_smol::ClusterQuery<bool> = |x| x;
const _: fn(ws_tokio::Reply<bool>) -> ws_async_std::Reply<bool> = |x| x;
const _: fn(ws_tokio::Reply<bool>) -> ws_smol::Reply<bool> = |x| x;
const _: fn(Box<dyn ws_tokio::Broker>) -> Box<dyn ws_async_std::Broker> = |x| x;
const _: fn(Box<dyn ws_tokio::Broker>) -> Box<dyn ws_smol::Broker> = |x| x;
/// The generic and trait names checked one by one above.
const SAME_GENERIC: [&str; 3] = ["ClusterQuery", "Reply", "Broker"];

// The server and client: the core's, over each adapter's runtime.
const _: fn(ws_tokio::Server) -> ws_proto::server::Server<ws_tokio::Tokio> = |x| x;
const _: fn(ws_async_std::Server) -> ws_proto::server::Server<ws_async_std::AsyncStd> = |x| x;
const _: fn(ws_smol::Server) -> ws_proto::server::Server<ws_smol::Smol> = |x| x;
const _: fn(ws_tokio::Client) -> ws_proto::server::Client<ws_tokio::Tokio> = |x| x;
const _: fn(ws_async_std::Client) -> ws_proto::server::Client<ws_async_std::AsyncStd> = |x| x;
const _: fn(ws_smol::Client) -> ws_proto::server::Client<ws_smol::Smol> = |x| x;

// The one function.
const _: [fn(&str) -> String; 3] = [ws_tokio::accept_key, ws_async_std::accept_key, ws_smol::accept_key];

/// The names every adapter exports.
fn shared() -> BTreeSet<&'static str> {
    SAME_TYPES
        .iter()
        .copied()
        .chain(SAME_GENERIC)
        .chain(["Server", "Client", "accept_key", "Listener", "Sleep"])
        .collect()
}

/// Each adapter's own runtime glue: its runtime type, its foreign-stream wrapper and, on
/// async-io, its socket type (tokio's is `TokioIo<TcpStream>`).
const OWN: [(&str, &[&str]); 3] = [
    ("ws-tokio", &["Tokio", "TokioIo"]),
    ("ws-async-std", &["AsyncStd", "FuturesIo", "TcpIo"]),
    ("ws-smol", &["Smol", "FuturesIo", "TcpIo"]),
];

#[test]
fn listener_and_sleep_are_each_runtimes_glue() {
    fn runtime<R: ws_proto::server::Runtime<Listener = L, Sleep = S> + Default, L, S>() {}
    runtime::<ws_tokio::Tokio, ws_tokio::Listener, ws_tokio::Sleep>();
    runtime::<ws_async_std::AsyncStd, ws_async_std::Listener, ws_async_std::Sleep>();
    runtime::<ws_smol::Smol, ws_smol::Listener, ws_smol::Sleep>();
}

#[test]
fn every_adapter_exports_the_shared_names_and_only_its_own_glue_besides() {
    for (adapter, own) in OWN {
        let exported = exports(&root().join(adapter).join("src/lib.rs"));
        let expected: BTreeSet<&str> = shared().into_iter().chain(own.iter().copied()).collect();
        let exported: BTreeSet<&str> = exported.iter().map(String::as_str).collect();
        assert_eq!(exported, expected, "{adapter}/src/lib.rs exports other names than the shared API and its glue");
    }
}

#[test]
fn every_example_is_the_shared_program_on_every_adapter() {
    let shared = rs_files(&root().join("examples"));
    assert!(shared.contains(&"echo".to_owned()), "examples/echo.rs is missing");
    for name in &shared {
        let source = std::fs::read_to_string(root().join("examples").join(format!("{name}.rs"))).unwrap();
        assert!(
            !source.lines().any(|l| l.trim_start().starts_with("#!") || l.trim_start().starts_with("//!")),
            "examples/{name}.rs is include!d: inner attributes and //! comments cannot stand in it"
        );
    }
    for (adapter, _) in OWN {
        let dir = root().join(adapter).join("examples");
        assert_eq!(rs_files(&dir), shared, "{adapter}/examples/ has other programs than examples/");
        let krate = adapter.replace('-', "_");
        for name in &shared {
            let wrapper = std::fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
            let code: Vec<&str> = wrapper.lines().filter(|l| !l.starts_with("//!")).collect();
            let expected = [format!("use {krate} as ws;"), format!("include!(\"../../examples/{name}.rs\");")];
            assert_eq!(code, expected, "{adapter}/examples/{name}.rs is not a wrapper around examples/{name}.rs");
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The stems of the `.rs` files in `dir`, sorted.
fn rs_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.unwrap().file_name().to_str()?.strip_suffix(".rs").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The names a `lib.rs` exports through `pub use` and `pub type` items.
fn exports(lib: &Path) -> Vec<String> {
    let source = std::fs::read_to_string(lib).unwrap();
    let mut names = Vec::new();
    for item in source.split(';') {
        let item = item.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join(" ");
        let item = item.trim();
        if let Some(path) = item.strip_prefix("pub use ") {
            let list = path.rsplit_once("::{").map_or(path, |(_, list)| list.trim_end_matches('}'));
            let last = |name: &str| name.rsplit("::").next().unwrap_or(name).trim().to_owned();
            names.extend(list.split(',').map(last).filter(|n| !n.is_empty()));
        } else if let Some(alias) = item.strip_prefix("pub type ") {
            names.extend(alias.split(['=', '<']).next().map(|n| n.trim().to_owned()));
        }
    }
    names
}
