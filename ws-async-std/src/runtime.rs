//! The async-std implementation of [`ws_proto::server::Runtime`]: tasks on async-std's
//! executor; sockets, timers and signals from `ws-smol`. Everything else is written once,
//! in `ws_proto::server`.
//!
//! async-std's sockets and timers are async-io's (`async_std::net::TcpStream` is an
//! `Async<std::net::TcpStream>` inside; `task::sleep` an `async_io::Timer`), on the reactor
//! smol uses too, so their glue is `ws-smol`'s. What is async-std's own is the executor.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use ws_proto::server::{self, BoxFuture, Runtime};
use ws_smol::{Listener, Sleep, Smol, TcpIo};

/// The async-std runtime, as `ws_proto::server` sees it: tasks go to async-std's global
/// executor, from any thread, whether or not `start()` is running.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

impl server::Runtime for AsyncStd {
    type Listener = Listener;
    type Stream = <Smol as Runtime>::Stream;
    type Sleep = Sleep;

    // async-std's own: its executor.

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        // Dropping the handle detaches the task.
        drop(async_std::task::spawn(task));
    }

    /// Runs `main` on this thread with `async_std::task::block_on`. async-std has one
    /// global executor per process: `workers` sizes it when this is its first use
    /// (`ASYNC_STD_THREAD_COUNT`, when set, wins, as in async-std itself), and later calls
    /// share it as it is.
    fn block_on<T: Send + 'static>(
        &self,
        workers: usize,
        main: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        async_global_executor::init_with_config(
            async_global_executor::GlobalExecutorConfig::default()
                .with_env_var("ASYNC_STD_THREAD_COUNT")
                .with_min_threads(workers.max(1))
                .with_thread_name_fn(|| "async-std/runtime".to_owned()),
        );
        // A task on the executor's threads, beside the connections it accepts: polled on
        // this thread instead, every accept would wake another thread.
        Ok(async_std::task::block_on(async_std::task::spawn(main)))
    }

    // The reactor's: ws-smol's async-io glue.

    fn listener(&self, listener: std::net::TcpListener) -> io::Result<Self::Listener> {
        Listener::new(listener)
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<io::Result<Self::Stream>> {
        Box::pin(TcpIo::connect(addr))
    }

    fn sleep(&self, deadline: Instant) -> Self::Sleep {
        Sleep::new(deadline)
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// async-executor runs woken tasks in the order they were woken.
    fn runs_woken_tasks_in_order(&self) -> bool {
        true
    }

    /// SIGINT or SIGTERM, through async-signal (async-std has no signal support of its own).
    fn shutdown_signal(&self) -> Option<BoxFuture<()>> {
        Smol::default().shutdown_signal()
    }
}
