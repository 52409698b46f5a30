#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod runtime;

pub use runtime::{FuturesIo, Listener, Sleep, Smol, TcpIo};
pub use ws_proto::connection::{Message, Status};
pub use ws_proto::deflate::DeflateConfig;
pub use ws_proto::handshake::{Request, Response, accept_key};
pub use ws_proto::server::{
    Broker, BrokerError, ClientInfo, ClientSettings, ClusterError, ClusterFd, ClusterQuery, Directed, DisconnectError,
    Error, Inbound, NodeId, ParseClusterFdError, PushError, Reply, Settings, Stats, TimerId, TopicError, TopicStats,
};
pub use ws_proto::{CloseCode, CloseFrame, Fd, Flags, Frame, Opcode, UnpackError};

/// The WebSocket server on smol: `ws_proto::server::Server` over [`Smol`]. Its
/// documentation is in [`ws_proto::server`].
pub type Server = ws_proto::server::Server<Smol>;

/// The WebSocket client on smol: `ws_proto::server::Client` over [`Smol`].
pub type Client = ws_proto::server::Client<Smol>;
