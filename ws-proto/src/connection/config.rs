//! Per-connection configuration: limits, timeouts and policy, shared by every connection
//! of a server through an `Arc`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::deflate::DeflateConfig;
use crate::handshake::HttpLimits;

/// What a [`Connection`](super::Connection) enforces and how it behaves.
///
/// Policy is data: whether pings are answered automatically, whether a received close is
/// answered at once, which subprotocols and compression parameters are acceptable.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use ws_proto::connection::Config;
/// let config = Config {
///     max_message_size: 1 << 20,
///     idle_timeout: Some(Duration::from_secs(60)),
///     ..Config::default()
/// };
/// assert!(config.auto_pong);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The largest frame payload accepted, in bytes (the reference's `max_frame_size`);
    /// a larger frame fails the connection with 1009 before any of it is buffered.
    pub max_frame_size: usize,
    /// The largest message accepted, in bytes, after reassembly and inflation (the
    /// reference's `package_max_length`); a larger one fails with 1009 as soon as it passes
    /// the limit.
    pub max_message_size: usize,
    /// Limits on HTTP heads and bodies.
    pub http: HttpLimits,
    /// Time allowed from accept (or connect) to an open WebSocket; `None` waits forever.
    pub handshake_timeout: Option<Duration>,
    /// Time allowed for the peer to answer our close frame (and, for a client, for the
    /// server to close TCP) before the connection is dropped.
    pub close_timeout: Duration,
    /// Close the connection when nothing arrives for this long (the reference's
    /// `heartbeat_idle_time`).
    pub idle_timeout: Option<Duration>,
    /// Send a ping when nothing arrives for this long, so a live but quiet peer stays
    /// open and a dead one is found. Should be shorter than `idle_timeout`.
    pub ping_interval: Option<Duration>,
    /// Answer pings with pongs automatically (off when the reference's
    /// `open_websocket_ping_frame` hands pings to the application).
    pub auto_pong: bool,
    /// Answer a received close frame at once (off when the reference's
    /// `open_websocket_close_frame` lets the application answer it first).
    pub auto_close_reply: bool,
    /// Subprotocols this endpoint speaks, most preferred first. A server selects only one
    /// the client offered; a client offers these.
    pub subprotocols: Vec<String>,
    /// permessage-deflate preferences; `None` turns compression off.
    pub deflate: Option<DeflateConfig>,
    /// Split outgoing messages into frames of at most this many payload bytes; `None`
    /// sends each message as one frame.
    pub max_outgoing_frame_size: Option<usize>,
    /// Where masking keys come from (client role).
    pub entropy: Entropy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 2 << 20,
            max_message_size: 2 << 20,
            http: HttpLimits::default(),
            handshake_timeout: Some(Duration::from_secs(10)),
            close_timeout: Duration::from_secs(5),
            idle_timeout: None,
            ping_interval: None,
            auto_pong: true,
            auto_close_reply: true,
            subprotocols: Vec::new(),
            deflate: None,
            max_outgoing_frame_size: None,
            entropy: Entropy::Random,
        }
    }
}

/// The source of masking keys and client handshake keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entropy {
    /// Unpredictable: SipHash keyed with the operating system's randomness (through
    /// `std::collections::hash_map::RandomState`), over a counter.
    Random,
    /// Deterministic from a seed, for tests and fuzzing. Never use on a real network: RFC
    /// 6455 §5.3 requires masks an attacker cannot predict.
    Seeded(u64),
}

/// A stream of random words drawn from an [`Entropy`].
#[derive(Debug, Clone)]
pub(crate) enum Rng {
    Random { keys: std::collections::hash_map::RandomState, counter: u64 },
    Seeded { state: u64 },
}

impl Rng {
    pub(crate) fn new(entropy: Entropy) -> Rng {
        match entropy {
            Entropy::Random => Rng::Random { keys: std::collections::hash_map::RandomState::new(), counter: 0 },
            Entropy::Seeded(seed) => Rng::Seeded { state: seed },
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        match self {
            Rng::Random { keys, counter } => {
                *counter = counter.wrapping_add(1);
                let mut hasher = keys.build_hasher();
                hasher.write_u64(*counter);
                hasher.finish()
            }
            Rng::Seeded { state } => {
                // splitmix64
                *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            }
        }
    }

    pub(crate) fn mask(&mut self) -> [u8; 4] {
        let [a, b, c, d, ..] = self.next_u64().to_le_bytes();
        [a, b, c, d]
    }

    /// 16 random bytes for `Sec-WebSocket-Key`.
    pub(crate) fn key(&mut self) -> [u8; 16] {
        let mut key = [0; 16];
        let (lo, hi) = key.split_at_mut(8);
        lo.copy_from_slice(&self.next_u64().to_le_bytes());
        hi.copy_from_slice(&self.next_u64().to_le_bytes());
        key
    }
}
