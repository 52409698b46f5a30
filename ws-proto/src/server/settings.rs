//! `Settings`: the reference's `$server->set([...])` options, and how they become a
//! connection [`Config`].

use std::time::Duration;

use crate::connection::Config;
use crate::deflate::DeflateConfig;

/// Server options, named as in the reference (`$server->set([...])`). Every field has a
/// default; set the ones you need with struct update syntax.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use ws_proto::server::Settings;
/// let settings = Settings {
///     websocket_compression: true,
///     heartbeat_idle_time: Some(Duration::from_secs(60)),
///     ..Settings::default()
/// };
/// assert_eq!(settings.package_max_length, 2 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The subprotocol the server speaks; the 101 names it when the client offered it
    /// (`Sec-WebSocket-Protocol`). Default: none.
    pub websocket_subprotocol: Option<String>,
    /// Negotiate permessage-deflate (RFC 7692) when the client offers it. Default: off.
    pub websocket_compression: bool,
    /// The permessage-deflate preferences used when `websocket_compression` is on (beyond
    /// the reference, which has only the switch): zlib level, the largest window each side
    /// may use, and no-context-takeover each way. Smaller windows and
    /// `server_no_context_takeover` bound what a compressing connection holds between
    /// messages (see [`crate::deflate`]). Default: level 6, 15-bit windows, context
    /// takeover both ways.
    pub websocket_deflate: DeflateConfig,
    /// Hand close frames to `on_message`; the server still answers the close afterwards
    /// unless the callback called `disconnect`. Default: off.
    pub open_websocket_close_frame: bool,
    /// Hand pings to `on_message` and do not answer them: the application sends the pong.
    /// Default: off (pings are answered automatically).
    pub open_websocket_ping_frame: bool,
    /// Hand pongs to `on_message`. Default: off.
    pub open_websocket_pong_frame: bool,
    /// Worker threads for the blocking `start()`. Default: the number of CPUs.
    pub worker_num: usize,
    /// The most connections open at once; further ones are closed as soon as they are
    /// accepted. Default: 100,000.
    pub max_connection: usize,
    /// The largest message accepted, in bytes, after reassembly and inflation; larger ones
    /// close the connection with 1009. Default: 2 MiB.
    pub package_max_length: usize,
    /// The largest frame payload accepted, in bytes (1009 past it). Default: 2 MiB.
    pub max_frame_size: usize,
    /// The most bytes queued for one connection: a push past it fails with
    /// `PushError::BufferFull`. The server stops reading from a connection while its queue
    /// holds this much or 1 MiB, whichever is less, until the socket takes it: a client
    /// that does not read its replies holds back its own requests. Default: 2 MiB.
    pub buffer_output_size: usize,
    /// How often the reference checks for idle connections. Here the check is exact per
    /// connection; this only supplies the default of `heartbeat_idle_time` (twice this).
    pub heartbeat_check_interval: Option<Duration>,
    /// Close a connection (1001) when nothing arrived for this long. Default: never.
    pub heartbeat_idle_time: Option<Duration>,
    /// Beyond the reference: send a ping when nothing arrived for this long, so that a live
    /// but quiet peer answers before `heartbeat_idle_time` and a dead one is found.
    /// Default: never.
    pub websocket_ping_interval: Option<Duration>,
    /// Time from accept to an open WebSocket (or a complete HTTP request); a slower client
    /// gets 408 or is dropped. Default: 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Time the peer has to answer our close frame. Default: 5 s.
    pub close_timeout: Duration,
    /// How long `shutdown()` waits for clients to finish the close handshake before it
    /// drops them. Default: 3 s.
    pub shutdown_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            websocket_subprotocol: None,
            websocket_compression: false,
            websocket_deflate: DeflateConfig::default(),
            open_websocket_close_frame: false,
            open_websocket_ping_frame: false,
            open_websocket_pong_frame: false,
            worker_num: std::thread::available_parallelism().map_or(1, usize::from),
            max_connection: 100_000,
            package_max_length: 2 << 20,
            max_frame_size: 2 << 20,
            buffer_output_size: 2 << 20,
            heartbeat_check_interval: None,
            heartbeat_idle_time: None,
            websocket_ping_interval: None,
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(3),
        }
    }
}

impl Settings {
    /// The connection [`Config`] these settings imply: limits, timeouts, and the policy
    /// `auto_pong = !open_websocket_ping_frame`, `auto_close_reply =
    /// !open_websocket_close_frame` (the server answers the close itself after
    /// `on_message`).
    pub fn to_config(&self) -> Config {
        let idle_timeout = self.heartbeat_idle_time.or(self.heartbeat_check_interval.map(|i| i * 2));
        Config {
            max_frame_size: self.max_frame_size,
            max_message_size: self.package_max_length,
            handshake_timeout: self.handshake_timeout,
            close_timeout: self.close_timeout,
            idle_timeout,
            ping_interval: self.websocket_ping_interval,
            auto_pong: !self.open_websocket_ping_frame,
            auto_close_reply: !self.open_websocket_close_frame,
            subprotocols: self.websocket_subprotocol.iter().cloned().collect(),
            deflate: self.websocket_compression.then(|| self.websocket_deflate.clone()),
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_the_open_frame_options() {
        let config = Settings { open_websocket_ping_frame: true, ..Settings::default() }.to_config();
        assert!(!config.auto_pong);
        assert!(config.auto_close_reply);
        let config = Settings { open_websocket_close_frame: true, ..Settings::default() }.to_config();
        assert!(config.auto_pong);
        assert!(!config.auto_close_reply);
    }

    #[test]
    fn deflate_preferences_apply_only_with_compression_on() {
        let deflate =
            DeflateConfig { server_max_window_bits: 10, client_no_context_takeover: true, ..DeflateConfig::default() };
        let off = Settings { websocket_deflate: deflate.clone(), ..Settings::default() };
        assert_eq!(off.to_config().deflate, None);
        let on = Settings { websocket_compression: true, ..off };
        assert_eq!(on.to_config().deflate, Some(deflate));
    }

    #[test]
    fn idle_time_defaults_to_twice_the_check_interval() {
        let s = Settings { heartbeat_check_interval: Some(Duration::from_secs(5)), ..Settings::default() };
        assert_eq!(s.to_config().idle_timeout, Some(Duration::from_secs(10)));
        let s = Settings { heartbeat_idle_time: Some(Duration::from_secs(3)), ..s };
        assert_eq!(s.to_config().idle_timeout, Some(Duration::from_secs(3)));
    }
}
