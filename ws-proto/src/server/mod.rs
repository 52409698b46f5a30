//! The Swoole-style WebSocket server (`Swoole\WebSocket\Server`), written once over a
//! small [`Runtime`] trait that each adapter crate (`ws-tokio`, `ws-async-std`, `ws-smol`)
//! implements. Compiled with the cargo feature `server`.
//!
//! An adapter exposes `pub type Server = ws_proto::server::Server<ItsRuntime>;`, so a
//! program switches runtime by changing one `use` line:
//!
//! ```ignore
//! use ws_tokio::{Frame, Request, Server};
//!
//! fn main() -> Result<(), ws_tokio::Error> {
//!     let server = Server::new("0.0.0.0", 9501);
//!     server.on_open(|_server: &Server, req: &Request| println!("open fd{}", req.fd));
//!     server.on_message(|server: &Server, frame: Frame| {
//!         let _ = server.push(frame.fd, "this is server");
//!     });
//!     server.on_close(|_server, fd| println!("client {fd} closed"));
//!     server.start() // blocks; Err(..) if on_message was never set
//! }
//! ```
//!
//! # How it runs
//!
//! Each connection is one task, a driver that owns the sans-IO
//! [`Connection`]. On every wake-up it reads all the socket has into a
//! per-thread 64 KiB buffer (after a large read, one off which large messages are split
//! with no copy: [`Connection::receive_buf`]), feeds the `Connection`, runs the callbacks
//! for the events in order, and writes all queued output in one write. An idle connection
//! therefore holds no read or write buffer.
//!
//! [`Connection`]: crate::connection::Connection
//! [`Connection::receive_buf`]: crate::connection::Connection::receive_buf
//!
//! A callback runs with its connection parked in the thread, so `push` to the fd whose
//! callback is running (the echo path) goes straight into its `Connection`: no lock, no
//! wake-up. A push to any other fd, from any thread, goes through that connection's
//! mailbox and wakes its task.
//!
//! Callbacks for one connection never overlap and come in order: `on_open`, the messages
//! in arrival order, then `on_close` exactly once (`on_disconnect` instead for a
//! connection that never became a WebSocket). Callbacks should be quick: they run on the
//! connection's task. Spawn long work on the runtime and `push` the result when it is done.
//!
//! Callbacks registered after the server started apply to connections accepted later.

mod broker;
mod client;
mod current;
mod driver;
mod error;
mod info;
mod push;
mod runtime;
mod settings;
mod table;
mod timer;
mod topics;
mod upgraded;

use std::future::{Future, poll_fn};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Poll, Waker};
use std::time::{Duration, SystemTime};

pub use broker::{
    Broker, BrokerError, ClusterError, ClusterFd, ClusterQuery, Directed, Inbound, NodeId, ParseClusterFdError, Reply,
};
pub use client::{Client, ClientSettings};
pub use error::{DisconnectError, Error, PushError};
pub use info::{ClientInfo, Stats, TimerId};
pub use runtime::{BoxFuture, Listener, Runtime, Sleep, Stream};
pub use settings::Settings;
pub use topics::{TopicError, TopicStats};

use crate::connection::{Config, Connection};
use crate::frame::{Fd, Frame};
use crate::handshake::{Request, Response};
use driver::Driver;
use table::{Command, Counters, Slot, Table, lock};

/// The WebSocket server: a cheap `Clone + Send + Sync` handle. Callbacks get `&Server`,
/// and any thread or task may keep a clone and push to any connection at any time.
///
/// See the [module docs](self) for the whole picture, and the adapter crates for the
/// runtime-specific type alias (`ws_tokio::Server`).
pub struct Server<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for Server<R> {
    fn clone(&self) -> Self {
        Server { inner: self.inner.clone() }
    }
}

impl<R: Runtime> std::fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.inner.addr)
            .field("connections", &self.inner.table.len())
            .finish_non_exhaustive()
    }
}

struct Inner<R: Runtime> {
    runtime: R,
    addr: (String, u16),
    settings: RwLock<Settings>,
    callbacks: RwLock<Arc<Callbacks<R>>>,
    table: Table,
    counters: Counters,
    timers: timer::Timers,
    state: Mutex<State>,
    stopping: AtomicBool,
    /// `buffer_output_size`, readable without a lock on the push path.
    buffer_output_size: AtomicUsize,
    /// Topic subscriptions (topics.rs).
    topics: topics::Topics,
    /// Node id and broker (broker.rs).
    cluster: broker::Cluster,
}

#[derive(Default)]
struct State {
    running: bool,
    local_addr: Option<SocketAddr>,
    start_time: Option<SystemTime>,
    config: Option<Arc<Config>>,
    /// Tasks (timers) made before the runtime started.
    queued: Vec<BoxFuture<()>>,
    accept_waker: Option<Waker>,
}

pub(crate) type FdCallback<R> = Arc<dyn Fn(&Server<R>, Fd) + Send + Sync>;
type OpenCallback<R> = Arc<dyn Fn(&Server<R>, &Request) + Send + Sync>;
type MessageCallback<R> = Arc<dyn Fn(&Server<R>, Frame) + Send + Sync>;
type HandshakeCallback = Arc<dyn Fn(&Request, &mut Response) -> bool + Send + Sync>;
type HttpCallback = Arc<dyn Fn(&Request, &mut Response) + Send + Sync>;

/// The registered callbacks, copied on write: a connection takes a snapshot when it is
/// accepted, so no lock is taken per event.
pub(crate) struct Callbacks<R: Runtime> {
    on_open: Option<OpenCallback<R>>,
    on_message: Option<MessageCallback<R>>,
    on_close: Option<FdCallback<R>>,
    on_handshake: Option<HandshakeCallback>,
    on_before_handshake_response: Option<HttpCallback>,
    on_request: Option<HttpCallback>,
    on_disconnect: Option<FdCallback<R>>,
}

impl<R: Runtime> Clone for Callbacks<R> {
    fn clone(&self) -> Self {
        Callbacks {
            on_open: self.on_open.clone(),
            on_message: self.on_message.clone(),
            on_close: self.on_close.clone(),
            on_handshake: self.on_handshake.clone(),
            on_before_handshake_response: self.on_before_handshake_response.clone(),
            on_request: self.on_request.clone(),
            on_disconnect: self.on_disconnect.clone(),
        }
    }
}

impl<R: Runtime> Default for Callbacks<R> {
    fn default() -> Self {
        Callbacks {
            on_open: None,
            on_message: None,
            on_close: None,
            on_handshake: None,
            on_before_handshake_response: None,
            on_request: None,
            on_disconnect: None,
        }
    }
}

/// What a driver needs from the settings, copied per connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    buffer_output_size: usize,
    ping_frames: bool,
    pong_frames: bool,
    close_frames: bool,
}

impl Policy {
    fn new(settings: &Settings) -> Policy {
        Policy {
            buffer_output_size: settings.buffer_output_size,
            ping_frames: settings.open_websocket_ping_frame,
            pong_frames: settings.open_websocket_pong_frame,
            close_frames: settings.open_websocket_close_frame,
        }
    }
}

impl<R: Runtime + Default> Server<R> {
    /// A server that will listen on `host:port` (port 0 picks a free port; see
    /// [`local_addr`](Server::local_addr)).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Server::with_runtime(R::default(), host, port)
    }
}

impl<R: Runtime> Server<R> {
    /// A server on an explicitly built runtime handle.
    pub fn with_runtime(runtime: R, host: impl Into<String>, port: u16) -> Self {
        let settings = Settings::default();
        Server {
            inner: Arc::new(Inner {
                runtime,
                addr: (host.into(), port),
                buffer_output_size: AtomicUsize::new(settings.buffer_output_size),
                settings: RwLock::new(settings),
                callbacks: RwLock::default(),
                table: Table::default(),
                counters: Counters::default(),
                timers: timer::Timers::default(),
                state: Mutex::default(),
                stopping: AtomicBool::new(false),
                topics: topics::Topics::default(),
                cluster: broker::Cluster::default(),
            }),
        }
    }

    /// Applies `settings` (the reference's `set([...])`). Call before `start`; later calls
    /// apply to connections accepted afterwards.
    pub fn set(&self, settings: Settings) {
        self.inner.buffer_output_size.store(settings.buffer_output_size, Ordering::Relaxed);
        let config = Arc::new(settings.to_config());
        *self.inner.settings.write().unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
        let mut state = lock(&self.inner.state);
        if state.config.is_some() {
            state.config = Some(config);
        }
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.inner.settings.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// `on('open')`: a WebSocket handshake completed (not called when `on_handshake` is
    /// set). The request is the client's upgrade request; `req.fd` is the new connection.
    pub fn on_open(&self, f: impl Fn(&Server<R>, &Request) + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_open = Some(Arc::new(f)));
    }

    /// `on('message')` (required): a whole message, or a ping/pong/close frame when its
    /// `open_websocket_*_frame` setting is on. `frame.finish` is always true.
    pub fn on_message(&self, f: impl Fn(&Server<R>, Frame) + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_message = Some(Arc::new(f)));
    }

    /// `on('close')`: a WebSocket connection closed, exactly once per connection that
    /// opened.
    pub fn on_close(&self, f: impl Fn(&Server<R>, Fd) + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_close = Some(Arc::new(f)));
    }

    /// `on('handshake')`: replaces the built-in handshake. Fill in the response: status
    /// 101 and the `Upgrade`, `Connection` and `Sec-WebSocket-Accept` headers open the
    /// connection (then `on_open` is not called; use [`defer`](Server::defer) for the open
    /// logic). Returning `false`, or any other status, refuses it (a 101 is then turned
    /// into 400).
    pub fn on_handshake(&self, f: impl Fn(&Request, &mut Response) -> bool + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_handshake = Some(Arc::new(f)));
    }

    /// `on('beforeHandshakeResponse')`: add headers to the built-in 101 before it is sent.
    pub fn on_before_handshake_response(&self, f: impl Fn(&Request, &mut Response) + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_before_handshake_response = Some(Arc::new(f)));
    }

    /// `on('request')`: serve plain HTTP on the same port (keep-alive, query, headers,
    /// `Content-Length` bodies). The response starts as an empty `200`. Without this
    /// callback a plain HTTP request gets `400`.
    pub fn on_request(&self, f: impl Fn(&Request, &mut Response) + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_request = Some(Arc::new(f)));
    }

    /// `on('disconnect')`: a connection that never became a WebSocket closed (a plain HTTP
    /// request answered `400` without `on_request`, a broken or abandoned handshake). As in
    /// the reference, a connection whose requests `on_request` served ends with neither
    /// `on_close` nor `on_disconnect`.
    pub fn on_disconnect(&self, f: impl Fn(&Server<R>, Fd) + Send + Sync + 'static) {
        self.update_callbacks(|c| c.on_disconnect = Some(Arc::new(f)));
    }

    /// Runs the server on a new runtime with `worker_num` threads until [`shutdown`]
    /// (or SIGINT/SIGTERM where the runtime supports signals).
    ///
    /// # Errors
    /// [`Error::MissingOnMessage`] when `on_message` was never set; [`Error::Io`] when the
    /// address cannot be bound or the runtime cannot start.
    ///
    /// [`shutdown`]: Server::shutdown
    pub fn start(&self) -> Result<(), Error> {
        self.check()?;
        let workers = self.settings().worker_num.max(1);
        let server = self.clone();
        self.inner.runtime.block_on(workers, async move {
            if let Some(signal) = server.inner.runtime.shutdown_signal() {
                let stopper = server.clone();
                server.inner.runtime.spawn(async move {
                    signal.await;
                    tracing::debug!("signal received: shutting down");
                    stopper.shutdown();
                });
            }
            server.run().await
        })?
    }

    /// Binds `host:port` and serves until [`shutdown`](Server::shutdown), inside a runtime
    /// the program already runs.
    ///
    /// # Errors
    /// As [`start`](Server::start).
    pub async fn run(&self) -> Result<(), Error> {
        self.check()?;
        let (host, port) = &self.inner.addr;
        let addr = (host.as_str(), *port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::InvalidAddress(format!("{host}:{port}")))?;
        self.serve(std::net::TcpListener::bind(addr)?).await
    }

    /// Serves connections from a listener bound by the caller (for tests and socket
    /// activation), until [`shutdown`](Server::shutdown).
    ///
    /// # Errors
    /// As [`start`](Server::start).
    pub async fn serve(&self, listener: std::net::TcpListener) -> Result<(), Error> {
        self.check()?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let listener = self.inner.runtime.listener(listener)?;
        let config = Arc::new(self.settings().to_config());
        let queued = {
            let mut state = lock(&self.inner.state);
            state.running = true;
            state.local_addr = Some(local_addr);
            state.start_time = Some(SystemTime::now());
            state.config = Some(config);
            std::mem::take(&mut state.queued)
        };
        self.inner.stopping.store(false, Ordering::Release);
        queued.into_iter().for_each(|task| self.inner.runtime.spawn(task));
        tracing::debug!(%local_addr, "listening");
        while let Some(error) = poll_fn(|cx| self.poll_accept(&listener, cx)).await {
            // EMFILE and friends: back off instead of spinning.
            tracing::debug!(%error, "accept failed");
            self.sleep(Duration::from_millis(10)).await;
        }
        self.drain().await;
        let mut state = lock(&self.inner.state);
        state.running = false;
        state.accept_waker = None;
        Ok(())
    }

    /// Stops the server: no more accepts, a close frame with 1001 to every WebSocket
    /// client (other connections are dropped), a grace period of `shutdown_timeout` for
    /// the close handshakes, then whatever is left is dropped and `start`/`run` returns.
    /// Timers are cancelled.
    pub fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        self.inner.timers.cancel_all();
        if let Some(waker) = lock(&self.inner.state).accept_waker.take() {
            waker.wake();
        }
        for slot in self.inner.table.slots().iter() {
            slot.post_control(Command::Shutdown);
        }
    }

    /// The address the server listens on, once it does.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.inner.state).local_addr
    }

    /// Counters (the reference's `stats()`).
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            start_time: lock(&self.inner.state).start_time,
            connection_num: self.inner.table.len(),
            accept_count: c.accept_count.load(Ordering::Relaxed),
            close_count: c.close_count.load(Ordering::Relaxed),
            rejected_count: c.rejected_count.load(Ordering::Relaxed),
            request_count: c.request_count.load(Ordering::Relaxed),
            websocket_count: c.websocket_count.load(Ordering::Relaxed),
            message_in: c.message_in.sum(),
        }
    }

    /// The runtime handle.
    pub fn runtime(&self) -> &R {
        &self.inner.runtime
    }

    // ---- private ----

    /// Identifies this server in the thread's "current connection" slot.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    fn check(&self) -> Result<(), Error> {
        if self.callbacks().on_message.is_none() {
            return Err(Error::MissingOnMessage);
        }
        Ok(())
    }

    fn callbacks(&self) -> Arc<Callbacks<R>> {
        self.inner.callbacks.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn update_callbacks(&self, f: impl FnOnce(&mut Callbacks<R>)) {
        let mut guard = self.inner.callbacks.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut callbacks = (**guard).clone();
        f(&mut callbacks);
        *guard = Arc::new(callbacks);
    }

    /// Spawns on the runtime once it runs; until then the task waits in a queue.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut state = lock(&self.inner.state);
        if state.running {
            drop(state);
            self.inner.runtime.spawn(task);
        } else {
            state.queued.push(Box::pin(task));
        }
    }

    async fn sleep(&self, duration: Duration) {
        let runtime = &self.inner.runtime;
        let mut sleep = runtime.sleep(runtime.now() + duration);
        poll_fn(|cx| sleep.poll_elapsed(cx)).await;
    }

    /// Accepts until the listener blocks (`Pending`), the server stops (`Ready(None)`) or
    /// accept fails (`Ready(Some(error))`).
    fn poll_accept(&self, listener: &R::Listener, cx: &mut std::task::Context<'_>) -> Poll<Option<std::io::Error>> {
        {
            let mut state = lock(&self.inner.state);
            if !state.accept_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                state.accept_waker = Some(cx.waker().clone());
            }
        }
        for _ in 0..ACCEPT_BATCH {
            if self.inner.stopping.load(Ordering::Acquire) {
                return Poll::Ready(None);
            }
            match listener.poll_accept(cx) {
                Poll::Ready(Ok((stream, peer))) => self.accept(stream, peer),
                Poll::Ready(Err(error)) => return Poll::Ready(Some(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn accept(&self, stream: R::Stream, peer: SocketAddr) {
        let settings = self.settings();
        if self.inner.table.len() >= settings.max_connection {
            tracing::debug!(%peer, "max_connection reached; connection dropped");
            self.inner.counters.rejected_count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(config) = lock(&self.inner.state).config.clone() else { return };
        let conn = Box::new(Connection::server(config, self.inner.runtime.now()));
        let slot = self.register(peer);
        tracing::trace!(fd = %slot.fd, %peer, "accepted");
        let driver = Driver::new(self.clone(), slot, self.callbacks(), conn, stream, Policy::new(&settings));
        self.inner.runtime.spawn(driver);
    }

    fn register(&self, peer: SocketAddr) -> Arc<Slot> {
        let slot = Arc::new(Slot::new(self.inner.table.next_fd(), peer));
        self.inner.table.insert(slot.clone());
        self.inner.counters.accept_count.fetch_add(1, Ordering::Relaxed);
        slot
    }

    /// After the accept loop: wait for the connections to finish their close handshakes,
    /// at most `shutdown_timeout`, then drop the rest.
    async fn drain(&self) {
        let runtime = &self.inner.runtime;
        let deadline = runtime.now() + self.settings().shutdown_timeout;
        while self.inner.table.len() > 0 && runtime.now() < deadline {
            self.sleep(Duration::from_millis(10)).await;
        }
        for slot in self.inner.table.slots().iter() {
            slot.post_control(Command::Abort);
        }
    }
}

/// Accepts per wake-up before yielding to other tasks.
const ACCEPT_BATCH: usize = 64;

/// The size in bytes of the per-connection driver future over runtime `R` (what the
/// runtime's task holds besides its own header), for memory budgets and benchmarks.
#[doc(hidden)]
pub const fn driver_size_of<R: Runtime>() -> usize {
    size_of::<Driver<R, R::Stream>>()
}

/// The size in bytes of a boxed [`Connection`](crate::connection::Connection) (its own
/// allocations, which an idle connection mostly does not have, come on top).
#[doc(hidden)]
pub const fn connection_size_of() -> usize {
    size_of::<Connection>()
}
