//! A runtime that wraps another and records the size of every write its streams make, for
//! cases that count writes at the socket: pushes from another task on an executor that
//! runs woken tasks in order go out together ([`pushes_between_yields_go_out_in_one_write`]).

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ws_proto::server::{BoxFuture, Listener, Runtime, Server, Settings, Stream};

use crate::{TestServer, eventually};

/// `R`, with every write that sent something recorded (its size), for all its streams.
#[derive(Debug, Clone, Default)]
pub struct Counting<R> {
    inner: R,
    writes: Arc<Mutex<Vec<usize>>>,
}

impl<R> Counting<R> {
    /// The sizes of the writes so far, in order.
    pub fn writes(&self) -> Vec<usize> {
        self.writes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// A listener whose streams record their writes.
pub struct CountingListener<L> {
    inner: L,
    writes: Arc<Mutex<Vec<usize>>>,
}

/// A stream that records its writes.
pub struct CountingStream<S> {
    inner: S,
    writes: Arc<Mutex<Vec<usize>>>,
}

impl<R: Runtime> Runtime for Counting<R> {
    type Listener = CountingListener<R::Listener>;
    type Stream = CountingStream<R::Stream>;
    type Sleep = R::Sleep;

    fn listener(&self, listener: std::net::TcpListener) -> io::Result<Self::Listener> {
        let inner = self.inner.listener(listener)?;
        Ok(CountingListener { inner, writes: self.writes.clone() })
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<io::Result<Self::Stream>> {
        let (connect, writes) = (self.inner.connect(addr), self.writes.clone());
        Box::pin(async move { connect.await.map(|inner| CountingStream { inner, writes }) })
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.inner.spawn(task);
    }

    fn sleep(&self, deadline: Instant) -> Self::Sleep {
        self.inner.sleep(deadline)
    }

    fn block_on<T: Send + 'static>(
        &self,
        workers: usize,
        main: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        self.inner.block_on(workers, main)
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn runs_woken_tasks_in_order(&self) -> bool {
        self.inner.runs_woken_tasks_in_order()
    }
}

impl<L: Listener> Listener for CountingListener<L> {
    type Stream = CountingStream<L::Stream>;

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Stream, SocketAddr)>> {
        let writes = &self.writes;
        self.inner.poll_accept(cx).map_ok(|(inner, addr)| (CountingStream { inner, writes: writes.clone() }, addr))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl<S: Stream> CountingStream<S> {
    fn record(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = poll
            && n > 0
        {
            self.writes.lock().unwrap_or_else(PoisonError::into_inner).push(n);
        }
        poll
    }
}

impl<S: Stream> Stream for CountingStream<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_read(cx, buf)
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
        max: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        self.inner.poll_read_buf(cx, buf, max)
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let poll = self.inner.poll_write_vectored(cx, bufs);
        self.record(poll)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = self.inner.poll_write(cx, buf);
        self.record(poll)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_shutdown(cx)
    }
}

/// Pending once, waking itself: the task goes to the back of its executor's queue.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// On an executor that runs woken tasks in order with one thread
/// (`Runtime::runs_woken_tasks_in_order`), a task pushes "a", "b" and "c" to a connection,
/// yielding after each: every push wakes the connection, which runs before the next push,
/// so without putting its write off it would write each frame alone (three writes of 3
/// bytes; checked). They must leave in one write of 9 bytes. `serve` runs the server on
/// such an executor until it is shut down (see [`TestServer::start_with`]).
///
/// # Panics
/// When the frames do not arrive, in order, in one write.
pub fn pushes_between_yields_go_out_in_one_write<R: Runtime + Default>(
    serve: impl FnOnce(Server<Counting<R>>, TcpListener) -> String + Send + 'static,
) {
    let test = TestServer::<Counting<R>>::start_with(Settings::default(), |server| server.on_message(|_, _| {}), serve);
    let mut raw = test.raw();
    let server = test.server.clone();
    eventually("established", || server.connections().first().is_some_and(|fd| server.is_established(*fd)));
    let fd = server.connections()[0];
    let writes = || server.runtime().writes();
    // The 101 is recorded just after the client has it.
    eventually("the 101 recorded", || writes().len() == 1);
    let (done, pushed) = mpsc::channel();
    let pusher = server.clone();
    server.runtime().spawn(async move {
        for text in ["a", "b", "c"] {
            let result = pusher.push(fd, text);
            YieldNow(false).await;
            let _ = done.send(result);
        }
    });
    for _ in 0..3 {
        let result = pushed.recv_timeout(Duration::from_secs(5)).expect("the pusher ran");
        assert!(result.is_ok(), "push: {result:?}");
    }
    for text in ["a", "b", "c"] {
        assert_eq!(raw.frame().data, text);
    }
    // Each frame is 3 bytes: all three in one write is a write of 9.
    eventually("one write of the three frames", || writes().get(1) == Some(&9));
    assert_eq!(writes().len(), 2, "three pushes, one write: {:?}", writes());
}
