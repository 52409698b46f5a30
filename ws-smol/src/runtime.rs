//! The smol implementation of [`ws_proto::server::Runtime`]: sockets and timers on the
//! async-io reactor, tasks on a `smol::Executor`, signals through async-signal. Everything
//! else is written once, in `ws_proto::server`.
//!
//! The socket, timer and signal glue here is public because it is all async-io: async-std
//! runs on the same reactor, and `ws-async-std` uses these types with its own executor.

use std::future::Future;
use std::io::{self, IoSlice, Read};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use smol::io::{AsyncRead, AsyncWrite};
use smol::stream::StreamExt;
use smol::{Async, Executor, Timer};
use ws_proto::server::{self, BoxFuture};

/// The smol runtime, as `ws_proto::server` sees it.
///
/// `block_on(workers, ..)` runs a fresh `smol::Executor` on `workers` threads; tasks spawned
/// while it runs (from any thread) go to it. Outside of it (a program that calls
/// `server.run().await` inside its own executor) tasks go to smol's global executor.
#[derive(Debug, Clone, Default)]
pub struct Smol {
    executor: Arc<Mutex<Option<Arc<Executor<'static>>>>>,
}

impl Smol {
    fn executor(&self) -> std::sync::MutexGuard<'_, Option<Arc<Executor<'static>>>> {
        self.executor.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl server::Runtime for Smol {
    type Listener = Listener;
    type Stream = TcpIo;
    type Sleep = Sleep;

    fn listener(&self, listener: std::net::TcpListener) -> io::Result<Self::Listener> {
        Listener::new(listener)
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<io::Result<Self::Stream>> {
        Box::pin(TcpIo::connect(addr))
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        match self.executor().as_ref() {
            Some(executor) => executor.spawn(task).detach(),
            None => smol::spawn(task).detach(),
        }
    }

    fn sleep(&self, deadline: Instant) -> Self::Sleep {
        Sleep::new(deadline)
    }

    fn block_on<T: Send + 'static>(
        &self,
        workers: usize,
        main: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        let executor = Arc::new(Executor::new());
        *self.executor() = Some(executor.clone());
        let result = std::thread::scope(|scope| {
            // Dropped when this closure returns, which lets the other workers go.
            let (_stop, stopped) = smol::channel::bounded::<()>(1);
            for n in 1..workers.max(1) {
                let (executor, stopped) = (&executor, stopped.clone());
                std::thread::Builder::new()
                    .name(format!("ws-smol-{n}"))
                    .spawn_scoped(scope, move || smol::block_on(executor.run(stopped.recv())))?;
            }
            Ok(smol::block_on(executor.run(main)))
        });
        let mut slot = self.executor();
        if slot.as_ref().is_some_and(|current| Arc::ptr_eq(current, &executor)) {
            *slot = None;
        }
        result
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// async-executor runs woken tasks in the order they were woken.
    fn runs_woken_tasks_in_order(&self) -> bool {
        true
    }

    /// SIGINT or SIGTERM, through async-signal; `None` when the handlers cannot be installed.
    fn shutdown_signal(&self) -> Option<BoxFuture<()>> {
        use async_signal::{Signal, Signals};
        let mut signals = Signals::new([Signal::Int, Signal::Term])
            .inspect_err(|error| tracing::debug!(%error, "no signal handlers; stop with shutdown()"))
            .ok()?;
        Some(Box::pin(async move {
            let _ = signals.next().await;
        }))
    }
}

/// A listening socket on the async-io reactor.
#[derive(Debug)]
pub struct Listener(Async<std::net::TcpListener>);

impl Listener {
    /// Registers a bound std listener with the reactor.
    ///
    /// # Errors
    /// When the reactor cannot register it.
    pub fn new(listener: std::net::TcpListener) -> io::Result<Listener> {
        Async::new(listener).map(Listener)
    }
}

impl server::Listener for Listener {
    type Stream = TcpIo;

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Stream, SocketAddr)>> {
        loop {
            match self.0.get_ref().accept() {
                Ok((stream, peer)) => {
                    // Frames are written whole, one write per wake-up: Nagle only delays.
                    let accepted = stream.set_nodelay(true).and_then(|()| Async::new(stream));
                    return Poll::Ready(accepted.map(|socket| (TcpIo::new(socket), peer)));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
            smol::ready!(self.0.poll_readable(cx))?;
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}

/// An async-io timer.
#[derive(Debug)]
pub struct Sleep {
    timer: Timer,
    deadline: Instant,
}

impl Sleep {
    /// A timer that fires at `deadline`.
    pub fn new(deadline: Instant) -> Sleep {
        Sleep { timer: Timer::at(deadline), deadline }
    }
}

impl server::Sleep for Sleep {
    fn reset(&mut self, deadline: Instant) {
        if deadline != self.deadline {
            self.deadline = deadline;
            self.timer.set_at(deadline);
        }
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // An async-io timer fires once; the server's timer stays elapsed until it is reset.
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        Pin::new(&mut self.timer).poll(cx).map(drop)
    }
}

/// Any futures-io byte stream (an async-io socket, or a connection another HTTP stack
/// upgraded, e.g. hyper's through `smol_hyper::rt::FuturesIo`) as a server stream, for
/// [`Server::serve_upgraded`](ws_proto::server::Server::serve_upgraded).
#[derive(Debug)]
pub struct FuturesIo<T>(pub T);

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> server::Stream for FuturesIo<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // For an async-io socket this flushes; the FIN goes when the server drops it, next.
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// A TCP socket on the async-io reactor: the server's connections and the client's.
///
/// Reads as `Async::poll_read` does, except after a read that did not fill the buffer (the
/// socket was drained then): the next read arms the reactor's interest again instead of
/// trying the socket first, where `Async::poll_read` would make two reads that fail with
/// `WouldBlock` (the second after a readiness already used up). async-io arms interest in
/// oneshot mode, level-triggered, so arming it while data waits reports the data at once:
/// nothing is missed. Two system calls fewer per wake-up of a connection that receives
/// small messages.
#[derive(Debug)]
pub struct TcpIo {
    socket: Async<TcpStream>,
    /// The last read returned less than it could have.
    drained: bool,
}

impl TcpIo {
    /// A registered socket.
    pub fn new(socket: Async<TcpStream>) -> TcpIo {
        TcpIo { socket, drained: false }
    }

    /// Connects a TCP socket to `addr` (the client's).
    ///
    /// # Errors
    /// As `connect(2)`.
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpIo> {
        let socket = Async::<TcpStream>::connect(addr).await?;
        socket.get_ref().set_nodelay(true)?;
        Ok(TcpIo::new(socket))
    }

    /// The socket.
    pub fn get_ref(&self) -> &Async<TcpStream> {
        &self.socket
    }
}

impl server::Stream for TcpIo {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if std::mem::take(&mut self.drained) {
            // The first poll takes the readiness that led to the last read, if it is still
            // recorded; the second arms interest (or finds a newer readiness: then read).
            for _ in 0..2 {
                smol::ready!(self.socket.poll_readable(cx))?;
            }
        }
        loop {
            match self.socket.get_ref().read(buf) {
                Ok(n) => {
                    self.drained = n > 0 && n < buf.len();
                    return Poll::Ready(Ok(n));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
            smol::ready!(self.socket.poll_readable(cx))?;
        }
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // This flushes; the FIN goes when the server drops the socket, next.
        Pin::new(&mut self.socket).poll_close(cx)
    }
}
