//! The WebSocket client of the reference (`Swoole\Coroutine\Http\Client`: `upgrade`,
//! `push`, `recv`, `close`), over the same [`Runtime`] trait as the server.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Error;
use super::driver::poll_write_output;
use super::runtime::{Runtime, Sleep, Stream};
use crate::close::CloseCode;
use crate::connection::{CloseReason, Config, Connection, Event};
use crate::deflate::DeflateConfig;
use crate::frame::{Fd, Flags, Frame, Opcode};
use crate::handshake::ClientRequest;

/// Client options (the reference's `$client->set([...])`).
///
/// # Example
/// ```
/// use std::time::Duration;
/// use ws_proto::server::ClientSettings;
/// let settings = ClientSettings { websocket_compression: true, ..ClientSettings::default() };
/// assert_eq!(settings.timeout, Some(Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// Offer permessage-deflate (RFC 7692). Default: off.
    pub websocket_compression: bool,
    /// What the offer asks for when `websocket_compression` is on: zlib level, window bits
    /// and no-context-takeover each way. Default: level 6, 15-bit windows, context
    /// takeover both ways.
    pub websocket_deflate: DeflateConfig,
    /// Limit for connecting, the handshake, and each `recv` and `push`. Default: 10 s.
    pub timeout: Option<Duration>,
    /// The largest message accepted, in bytes (1009 past it). Default: 64 MiB.
    pub max_message_size: usize,
    /// Subprotocols to offer, most preferred first.
    pub subprotocols: Vec<String>,
    /// Extra request headers (`Origin`, cookies, …).
    pub headers: Vec<(String, String)>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            websocket_compression: false,
            websocket_deflate: DeflateConfig::default(),
            timeout: Some(Duration::from_secs(10)),
            max_message_size: 64 << 20,
            subprotocols: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// A WebSocket client, as the reference's coroutine HTTP client.
///
/// `recv` returns every frame the server sends: whole messages (`finish == true`), and
/// pings, pongs and close frames (pings are answered automatically).
///
/// # Example
/// ```ignore
/// let mut client = ws_tokio::Client::new("127.0.0.1", 9501);
/// client.upgrade("/").await?;
/// client.push("hello").await?;
/// let frame = client.recv().await?;
/// client.close().await?;
/// ```
pub struct Client<R: Runtime> {
    runtime: R,
    host: String,
    port: u16,
    settings: ClientSettings,
    io: Option<Io<R>>,
}

struct Io<R: Runtime> {
    conn: Box<Connection>,
    stream: R::Stream,
    sleep: Option<R::Sleep>,
    frames: VecDeque<Frame>,
    closed: Option<CloseReason>,
    /// The handshake finished (the connection may have closed since).
    opened: bool,
    buf: Vec<u8>,
}

impl<R: Runtime + Default> Client<R> {
    /// A client for `host:port`; nothing happens until [`upgrade`](Client::upgrade).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Client::with_runtime(R::default(), host, port)
    }
}

impl<R: Runtime> std::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("host", &self.host).field("port", &self.port).finish_non_exhaustive()
    }
}

impl<R: Runtime> Client<R> {
    /// A client on an explicit runtime handle.
    pub fn with_runtime(runtime: R, host: impl Into<String>, port: u16) -> Self {
        Client { runtime, host: host.into(), port, settings: ClientSettings::default(), io: None }
    }

    /// Sets the options; call before [`upgrade`](Client::upgrade).
    pub fn set(&mut self, settings: ClientSettings) {
        self.settings = settings;
    }

    /// Connects and performs the opening handshake for `path` (with its query).
    ///
    /// # Errors
    /// [`Error::Io`] when connecting fails, [`Error::Handshake`] when the server refuses or
    /// answers wrongly, [`Error::TimedOut`].
    pub async fn upgrade(&mut self, path: &str) -> Result<(), Error> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::InvalidAddress(format!("{}:{}", self.host, self.port)))?;
        let deadline = self.deadline();
        let connect = self.runtime.connect(addr);
        let stream = match deadline {
            Some(deadline) => {
                let mut sleep = self.runtime.sleep(deadline);
                let mut connect = connect;
                poll_fn(|cx| match connect.as_mut().poll(cx) {
                    Poll::Ready(result) => Poll::Ready(result.map_err(Error::from)),
                    Poll::Pending => sleep.poll_elapsed(cx).map(|()| Err(Error::TimedOut)),
                })
                .await?
            }
            None => connect.await?,
        };
        let config = Config {
            max_message_size: self.settings.max_message_size,
            max_frame_size: self.settings.max_message_size,
            handshake_timeout: self.settings.timeout,
            subprotocols: self.settings.subprotocols.clone(),
            deflate: self.settings.websocket_compression.then(|| self.settings.websocket_deflate.clone()),
            ..Config::default()
        };
        let host = if self.port == 80 { self.host.clone() } else { format!("{}:{}", self.host, self.port) };
        let mut request = ClientRequest::new(host, path, [0; 16]);
        for (name, value) in &self.settings.headers {
            request = request.header(name.clone(), value.clone());
        }
        let conn = Box::new(Connection::client(Arc::new(config), request, self.runtime.now()));
        self.io = Some(Io {
            conn,
            stream,
            sleep: None,
            frames: VecDeque::new(),
            closed: None,
            opened: false,
            buf: vec![0; READ_BUFFER],
        });
        loop {
            let io = self.io.as_mut().ok_or(Error::Closed)?;
            // Open, even if the server closed right after its 101: the close frame is the
            // first thing `recv` returns.
            if io.opened {
                return Ok(());
            }
            if let Some(reason) = &io.closed {
                return Err(reason_error(reason));
            }
            self.step(deadline).await?;
        }
    }

    /// Sends `data` as one text message.
    ///
    /// # Errors
    /// [`Error::Closed`], [`Error::Send`] for invalid text, [`Error::Io`], [`Error::TimedOut`].
    pub async fn push(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.push_with(data, Opcode::Text, Flags::FIN).await
    }

    /// Sends one frame, as the server's `push_with` ([`Flags::COMPRESS`] compresses when
    /// negotiated).
    ///
    /// # Errors
    /// As [`push`](Client::push).
    pub async fn push_with(&mut self, data: impl Into<Bytes>, opcode: Opcode, flags: Flags) -> Result<(), Error> {
        let io = self.io.as_mut().ok_or(Error::Closed)?;
        io.conn.send_frame(opcode, data.into(), flags)?;
        self.flush().await
    }

    /// Sends a [`Frame`].
    ///
    /// # Errors
    /// As [`push`](Client::push).
    pub async fn push_frame(&mut self, frame: Frame) -> Result<(), Error> {
        let flags = frame.flags.with(Flags::FIN, frame.finish);
        self.push_with(frame.data, frame.opcode, flags).await
    }

    /// The next frame from the server: a whole message, a ping, a pong, or the close frame.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection is closed and every frame was returned;
    /// [`Error::Protocol`] when the server broke the protocol; [`Error::TimedOut`].
    pub async fn recv(&mut self) -> Result<Frame, Error> {
        let deadline = self.deadline();
        loop {
            let io = self.io.as_mut().ok_or(Error::Closed)?;
            if let Some(frame) = io.frames.pop_front() {
                return Ok(frame);
            }
            if let Some(reason) = &io.closed {
                return Err(reason_error(reason));
            }
            self.step(deadline).await?;
        }
    }

    /// Closes with 1000 and waits for the server's close (bounded by the timeout).
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::TimedOut`]; closing twice is not an error.
    pub async fn close(&mut self) -> Result<(), Error> {
        let deadline = self.deadline();
        let Some(io) = self.io.as_mut() else { return Ok(()) };
        let _ = io.conn.close(CloseCode::NORMAL, "");
        while self.io.as_ref().is_some_and(|io| io.closed.is_none()) {
            self.step(deadline).await?;
        }
        if let Some(mut io) = self.io.take() {
            let _ = poll_fn(|cx| io.stream.poll_shutdown(cx)).await;
        }
        Ok(())
    }

    /// Whether the connection is open (handshake done, no close yet).
    pub fn is_connected(&self) -> bool {
        self.io.as_ref().is_some_and(|io| io.conn.is_established())
    }

    /// The subprotocol the server chose.
    pub fn protocol(&self) -> Option<&str> {
        self.io.as_ref().and_then(|io| io.conn.protocol())
    }

    /// Whether permessage-deflate was agreed.
    pub fn is_compressed(&self) -> bool {
        self.io.as_ref().is_some_and(|io| io.conn.deflate_params().is_some())
    }

    fn deadline(&self) -> Option<Instant> {
        self.settings.timeout.map(|timeout| self.runtime.now() + timeout)
    }

    async fn flush(&mut self) -> Result<(), Error> {
        let Some(io) = self.io.as_mut() else { return Err(Error::Closed) };
        poll_fn(|cx| io.poll_flush(cx)).await
    }

    /// Writes what is queued, then waits for input (or a timer) and turns the events into
    /// frames.
    async fn step(&mut self, deadline: Option<Instant>) -> Result<(), Error> {
        let runtime = self.runtime.clone();
        let Some(io) = self.io.as_mut() else { return Err(Error::Closed) };
        poll_fn(|cx| io.poll_flush(cx)).await?;
        poll_fn(|cx| io.poll_input(&runtime, deadline, cx)).await?;
        io.drain_events();
        poll_fn(|cx| io.poll_flush(cx)).await
    }
}

impl<R: Runtime> Io<R> {
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        poll_write_output(&mut self.stream, self.conn.output(), cx).map_err(Error::from)
    }

    /// Ready once something happened: bytes arrived, the stream ended, or a timer fired.
    fn poll_input(&mut self, runtime: &R, deadline: Option<Instant>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.closed.is_some() || self.conn.poll_timeout().is_some_and(|at| at <= runtime.now()) {
            self.conn.handle_timeout(runtime.now());
            return Poll::Ready(Ok(()));
        }
        match self.stream.poll_read(cx, &mut self.buf) {
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                self.conn.receive_eof(runtime.now());
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok(n)) => {
                let _ = self.conn.receive(self.buf.get(..n).unwrap_or_default(), runtime.now());
                return Poll::Ready(Ok(()));
            }
            Poll::Pending => {}
        }
        let wake_at = match (self.conn.poll_timeout(), deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = wake_at {
            let sleep = self.sleep.get_or_insert_with(|| runtime.sleep(at));
            sleep.reset(at);
            if sleep.poll_elapsed(cx).is_ready() {
                // The timer may round the deadline; it has passed.
                let now = runtime.now().max(at);
                if self.conn.poll_timeout().is_some_and(|timer| timer <= now) {
                    self.conn.handle_timeout(now);
                    return Poll::Ready(Ok(()));
                }
                return Poll::Ready(Err(Error::TimedOut));
            }
        }
        Poll::Pending
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            let frame = |opcode, data| Frame { fd: Fd::default(), data, opcode, finish: true, flags: Flags::FIN };
            match event {
                Event::Message(message) => self.frames.push_back(message.into_frame(Fd::default())),
                Event::Ping(data) => self.frames.push_back(frame(Opcode::Ping, data)),
                Event::Pong(data) => self.frames.push_back(frame(Opcode::Pong, data)),
                Event::CloseReceived(close) => self.frames.push_back(frame(Opcode::Close, close.encode())),
                Event::Closed(reason) => self.closed = Some(reason),
                Event::Open => self.opened = true,
                Event::Request(_) => {}
            }
        }
    }
}

fn reason_error(reason: &CloseReason) -> Error {
    match reason {
        // The connection's handshake timer is `timeout` too and may fire in the same
        // wake-up as the upgrade's deadline: either way the caller sees one error.
        CloseReason::Failed(crate::error::Error::Handshake(crate::error::HandshakeError::TimedOut))
        | CloseReason::TimedOut(_) => Error::TimedOut,
        CloseReason::Failed(error) => error.clone().into(),
        _ => Error::Closed,
    }
}

/// The client's read buffer (one per client; clients are few).
const READ_BUFFER: usize = 64 * 1024;
