//! The tokio implementation of [`ws_proto::server::Runtime`]: sockets, timers, spawn,
//! block_on, signals. Everything else is written once, in `ws_proto::server`.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Handle;
use ws_proto::server::{self, BoxFuture};

/// The tokio runtime, as `ws_proto::server` sees it.
///
/// It remembers the runtime it first served on, so that timers and `defer` may be called
/// from threads outside the runtime.
#[derive(Debug, Clone, Default)]
pub struct Tokio {
    handle: Arc<Mutex<Option<Handle>>>,
}

impl Tokio {
    fn remember(&self, handle: Handle) {
        let mut slot = self.handle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(handle);
    }

    /// The runtime of the calling thread, else the one first served on.
    fn handle(&self) -> Option<Handle> {
        Handle::try_current()
            .ok()
            .or_else(|| self.handle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }
}

impl server::Runtime for Tokio {
    type Listener = Listener;
    type Stream = TokioIo<tokio::net::TcpStream>;
    type Sleep = Sleep;

    fn listener(&self, listener: std::net::TcpListener) -> io::Result<Self::Listener> {
        if let Ok(handle) = Handle::try_current() {
            self.remember(handle);
        }
        tokio::net::TcpListener::from_std(listener).map(Listener)
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<io::Result<Self::Stream>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(TokioIo(stream))
        })
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        match self.handle() {
            Some(handle) => drop(handle.spawn(task)),
            None => tracing::debug!("no tokio runtime to spawn on; task dropped"),
        }
    }

    fn sleep(&self, deadline: Instant) -> Self::Sleep {
        Sleep(Box::pin(tokio::time::sleep_until(deadline.into())))
    }

    fn block_on<T: Send + 'static>(
        &self,
        workers: usize,
        main: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        // Also for one worker: tokio's current-thread runtime saves ~700 instructions per
        // small echo, but runs tasks woken by IO after all those already queued, so a
        // broadcast to 1,000 connections wrote once per receiver per read of the sender,
        // where the multi-thread scheduler lets the sender read again first and receivers
        // write several broadcasts at once: 2.3x the deliveries per second
        // (`benches/run.sh`, broadcast-c1000; BENCHMARKS.md items 12 and 19). Receivers
        // that put their writes off (`runs_woken_tasks_in_order`) halve the current-thread
        // runtime's cost per delivery, still twice the multi-thread scheduler's.
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(workers.max(1)).enable_all().build()?;
        self.remember(runtime.handle().clone());
        // On a worker, not on this thread: tokio's `block_on` polls `main` here, outside
        // the workers, so every accept woke this thread and every spawned connection woke
        // a worker back (`strace`: a `futex` and a third of an eventfd `write` per
        // connection).
        let main = runtime.spawn(main);
        match runtime.block_on(main) {
            Ok(value) => Ok(value),
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => Err(io::Error::other(error)),
            },
        }
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    /// tokio's current-thread scheduler runs woken tasks in order; the multi-thread one
    /// runs a task woken by its socket first (its LIFO slot).
    fn runs_woken_tasks_in_order(&self) -> bool {
        self.handle().is_some_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread)
    }

    fn shutdown_signal(&self) -> Option<BoxFuture<()>> {
        Some(Box::pin(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        }))
    }
}

/// A listening tokio socket.
#[derive(Debug)]
pub struct Listener(tokio::net::TcpListener);

impl server::Listener for Listener {
    type Stream = TokioIo<tokio::net::TcpStream>;

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Stream, SocketAddr)>> {
        self.0.poll_accept(cx).map(|accepted| {
            let (stream, peer) = accepted?;
            // Frames are written whole, one write per wake-up: Nagle only delays.
            stream.set_nodelay(true)?;
            Ok((TokioIo(stream), peer))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A tokio timer (boxed: tokio's `Sleep` is `!Unpin`, and only connections with a
/// deadline hold one).
#[derive(Debug)]
pub struct Sleep(Pin<Box<tokio::time::Sleep>>);

impl server::Sleep for Sleep {
    fn reset(&mut self, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// Any tokio byte stream (for instance hyper's upgraded connection through
/// `hyper_util::rt::TokioIo`) as a server stream, for
/// [`Server::serve_upgraded`](ws_proto::server::Server::serve_upgraded).
#[derive(Debug)]
pub struct TokioIo<T>(pub T);

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> server::Stream for TokioIo<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        Pin::new(&mut self.0).poll_read(cx, &mut buf).map_ok(|()| buf.filled().len())
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        // Into the spare capacity, uninitialised: no zeroing, no second copy.
        let stream = Pin::new(&mut self.0);
        if max >= buf.capacity() - buf.len() && max > 0 {
            // All of it: no limit to apply.
            return Some(tokio_util::io::poll_read_buf(stream, cx, buf));
        }
        Some(tokio_util::io::poll_read_buf(stream, cx, &mut (&mut *buf).limit(max)))
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
