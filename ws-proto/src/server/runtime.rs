//! The runtime trait: the little an async runtime must provide for the server to run on it
//! (sockets, a timer, spawn, block_on, the clock). Each adapter crate implements it once.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// A boxed future, for the few places where the trait needs one.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async runtime as the server sees it: sockets, timers, tasks and a clock.
///
/// Adapters (`ws-tokio`, `ws-async-std`, `ws-smol`) implement this once, in ~100 lines;
/// everything else about the server is written once, over this trait.
///
/// # Example
/// A sketch of an adapter (see `ws-tokio/src/runtime.rs` for a whole one):
/// ```ignore
/// #[derive(Clone, Default)]
/// pub struct MyRuntime;
/// impl Runtime for MyRuntime {
///     type Listener = MyListener;
///     type Stream = MyStream;
///     type Sleep = MySleep;
///     // ...
/// }
/// pub type Server = ws_proto::server::Server<MyRuntime>;
/// ```
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A listening TCP socket.
    type Listener: Listener<Stream = Self::Stream>;
    /// A connected TCP socket.
    type Stream: Stream;
    /// A resettable timer.
    type Sleep: Sleep;

    /// Adopts a bound, non-blocking std listener. Called from inside the runtime.
    ///
    /// # Errors
    /// When the runtime cannot register the socket.
    fn listener(&self, listener: std::net::TcpListener) -> io::Result<Self::Listener>;

    /// Connects to `addr` (for the [`Client`](super::Client)).
    fn connect(&self, addr: SocketAddr) -> BoxFuture<io::Result<Self::Stream>>;

    /// Runs `task` in the background. Called from inside the runtime, or from any thread
    /// once the runtime has started serving.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);

    /// A timer that fires at `deadline`.
    fn sleep(&self, deadline: Instant) -> Self::Sleep;

    /// Starts the runtime with `workers` threads and runs `main` to completion on it, as a
    /// task among the others where the runtime has worker threads apart from the caller's:
    /// `main` accepts connections and spawns their tasks, and on the same thread as they
    /// run, an accept needs no wake-up of another thread (a `futex` and a context switch
    /// per connection when the server's threads share a core).
    ///
    /// # Errors
    /// When the runtime cannot be built.
    fn block_on<T: Send + 'static>(
        &self,
        workers: usize,
        main: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T>;

    /// Whether the executor runs woken tasks in the order they were woken, as
    /// async-executor (smol, async-std) and tokio's current-thread scheduler do, rather than
    /// running a task woken by its socket ahead of those already queued, as tokio's
    /// multi-thread scheduler does with its LIFO slot. When it does, a connection woken only
    /// by pushes from other tasks puts off its write for up to two passes over the queue,
    /// so that what those tasks push meanwhile joins the same write (a broadcast to many
    /// connections then makes several times fewer writes); under tokio's multi-thread
    /// scheduler the pushing task already runs again first. Asked once per connection, on
    /// the runtime, when the connection is accepted. Default: false.
    fn runs_woken_tasks_in_order(&self) -> bool {
        false
    }

    /// The runtime's clock.
    fn now(&self) -> Instant;

    /// A future that completes when the process is asked to stop (SIGINT/SIGTERM), for the
    /// blocking `start()`; `None` when the runtime has no signal support.
    fn shutdown_signal(&self) -> Option<BoxFuture<()>> {
        None
    }
}

/// A listening socket.
pub trait Listener: Send + Sync + 'static {
    /// The accepted connections' type.
    type Stream;

    /// Accepts the next connection.
    ///
    /// # Errors
    /// Accept errors (`EMFILE`, …); the server logs them and keeps accepting.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Stream, SocketAddr)>>;

    /// The address the socket is bound to.
    ///
    /// # Errors
    /// As `getsockname`.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A byte stream: a TCP connection, or a connection another HTTP stack upgraded.
pub trait Stream: Send + Unpin + 'static {
    /// Reads into `buf`; `Ok(0)` is end of stream.
    ///
    /// # Errors
    /// Transport errors; the connection is then dropped.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Reads at most `max` bytes into the spare capacity of `buf`, appending them; `Ok(0)`
    /// is end of stream. A stream that can read into uninitialised memory (tokio's) lets a
    /// large frame's payload go from the socket straight into its message buffer this way
    /// ([`Connection::payload_buf`](crate::connection::Connection::payload_buf)); the
    /// default, `None`, means it cannot, and the driver reads through its scratch buffer.
    ///
    /// # Errors
    /// Transport errors; the connection is then dropped.
    fn poll_read_buf(
        &mut self,
        _cx: &mut Context<'_>,
        _buf: &mut bytes::BytesMut,
        _max: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        None
    }

    /// Writes from `bufs` in one vectored write; returns how many bytes were written.
    ///
    /// # Errors
    /// Transport errors; the connection is then dropped.
    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Writes from one contiguous buffer; returns how many bytes were written. The driver
    /// uses it when all its output is one slice (small frames packed together): a plain
    /// `send` costs the kernel less than a `writev` of one slice. The default makes the
    /// vectored write.
    ///
    /// # Errors
    /// Transport errors; the connection is then dropped.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Shuts the write side down (sends FIN).
    ///
    /// # Errors
    /// Transport errors, which the server ignores.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A timer that can be moved to a new deadline.
pub trait Sleep: Send + Unpin + 'static {
    /// Moves the deadline.
    fn reset(&mut self, deadline: Instant);

    /// Ready once the deadline has passed.
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}
