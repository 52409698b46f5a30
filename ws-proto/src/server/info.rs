//! What the server reports: `ClientInfo` (the reference's `getClientInfo`), `Stats`, and
//! timer ids.

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::connection::Status;
use crate::frame::Fd;

/// One connection as `get_client_info` reports it (the reference's `getClientInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The connection.
    pub fd: Fd,
    /// The peer's address (the reference's `remote_ip` and `remote_port`).
    pub remote_addr: SocketAddr,
    /// The port the server accepted it on.
    pub server_port: u16,
    /// When it was accepted.
    pub connect_time: SystemTime,
    /// The WebSocket status; `None` for a connection that sent a plain HTTP request (the
    /// reference's way to tell WebSocket clients apart: `isset($client['websocket_status'])`).
    pub websocket_status: Option<Status>,
}

/// Server counters (the reference's `stats()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// When the server started serving.
    pub start_time: Option<SystemTime>,
    /// Connections open now.
    pub connection_num: usize,
    /// Connections accepted since the start.
    pub accept_count: u64,
    /// Connections closed since the start.
    pub close_count: u64,
    /// Connections refused because `max_connection` were open.
    pub rejected_count: u64,
    /// Plain HTTP requests handled.
    pub request_count: u64,
    /// WebSocket handshakes completed.
    pub websocket_count: u64,
    /// Messages (and control frames handed to `on_message`) received.
    pub message_in: u64,
}

/// A timer made by `tick` or `after`, for `clear_timer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);

impl std::fmt::Display for TimerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
