//! On an executor that runs woken tasks in order, pushes from another task reach a
//! connection in one write even when that task yields between them
//! (`Runtime::RUNS_WOKEN_TASKS_IN_ORDER`): the connection, woken by the first push, puts its
//! write off while the pusher still runs. Counted at the socket, through a runtime that
//! wraps `Smol` and counts writes; alone in its process, as the count is global.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError, mpsc};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ws_proto::server::{BoxFuture, Listener, Runtime, Settings, Stream};
use ws_smol::Smol;
use ws_testsuite::{TestServer, eventually, with_deadline};

/// The size of every write that sent something, on every stream of this process.
static WRITES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn writes() -> Vec<usize> {
    WRITES.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

#[derive(Debug, Clone, Default)]
struct Counting(Smol);

struct CountingListener(<Smol as Runtime>::Listener);

struct CountingStream(<Smol as Runtime>::Stream);

impl Runtime for Counting {
    type Listener = CountingListener;
    type Stream = CountingStream;
    type Sleep = <Smol as Runtime>::Sleep;

    const RUNS_WOKEN_TASKS_IN_ORDER: bool = <Smol as Runtime>::RUNS_WOKEN_TASKS_IN_ORDER;

    fn listener(&self, listener: std::net::TcpListener) -> io::Result<CountingListener> {
        self.0.listener(listener).map(CountingListener)
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<io::Result<CountingStream>> {
        let connect = self.0.connect(addr);
        Box::pin(async move { connect.await.map(CountingStream) })
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task);
    }

    fn sleep(&self, deadline: Instant) -> Self::Sleep {
        self.0.sleep(deadline)
    }

    fn block_on<T: Send + 'static>(
        &self,
        workers: usize,
        main: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        self.0.block_on(workers, main)
    }

    fn now(&self) -> Instant {
        self.0.now()
    }
}

impl Listener for CountingListener {
    type Stream = CountingStream;

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(CountingStream, SocketAddr)>> {
        self.0.poll_accept(cx).map_ok(|(stream, addr)| (CountingStream(stream), addr))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

fn count(poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
    if let Poll::Ready(Ok(n)) = poll
        && n > 0
    {
        WRITES.lock().unwrap_or_else(PoisonError::into_inner).push(n);
    }
    poll
}

impl Stream for CountingStream {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }

    fn poll_write_vectored(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        count(self.0.poll_write_vectored(cx, bufs))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        count(self.0.poll_write(cx, buf))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_shutdown(cx)
    }
}

/// A task pushes "a", "b" and "c" to a connection, yielding after each: with one worker,
/// the connection is polled after every push (each wakes it), and without the deferral
/// would write each alone (checked: three writes of 3 bytes when `RUNS_WOKEN_TASKS_IN_ORDER`
/// is false).
#[test]
fn pushes_from_a_task_that_yields_between_them_go_out_in_one_write() {
    with_deadline("pushes_from_a_task_that_yields_between_them_go_out_in_one_write", || {
        let test = TestServer::<Counting>::start_with_workers(1, Settings::default(), |server| {
            server.on_message(|_, _| {});
        });
        let mut raw = test.raw();
        let server = test.server.clone();
        eventually("established", || server.connections().first().is_some_and(|fd| server.is_established(*fd)));
        let fd = server.connections()[0];
        // The 101 is counted just after the client has it.
        eventually("the 101 counted", || writes().len() == 1);
        let (done, pushed) = mpsc::channel();
        let pusher = server.clone();
        server.runtime().spawn(async move {
            for text in ["a", "b", "c"] {
                let result = pusher.push(fd, text);
                smol::future::yield_now().await;
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
    });
}
