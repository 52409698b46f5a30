//! `tick`, `after`, `clear_timer` and `defer`: timers as tasks on the runtime.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use super::Server;
use super::current::with_current;
use super::info::TimerId;
use super::runtime::{Runtime, Sleep};
use super::table::lock;

/// Every live timer, for `clear_timer` and `shutdown`.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    next: AtomicU64,
    entries: Mutex<HashMap<u64, Arc<Entry>>>,
}

#[derive(Debug, Default)]
struct Entry {
    cancelled: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Entry {
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        if let Some(waker) = lock(&self.waker).take() {
            waker.wake();
        }
    }
}

impl Timers {
    fn create(&self) -> (TimerId, Arc<Entry>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(Entry::default());
        lock(&self.entries).insert(id, entry.clone());
        (TimerId(id), entry)
    }

    fn remove(&self, id: TimerId) -> Option<Arc<Entry>> {
        lock(&self.entries).remove(&id.0)
    }

    pub(crate) fn cancel_all(&self) {
        let entries = std::mem::take(&mut *lock(&self.entries));
        entries.values().for_each(|entry| entry.cancel());
    }
}

impl<R: Runtime> Server<R> {
    /// Calls `f` every `ms` milliseconds (at least 1) until [`clear_timer`](Server::clear_timer)
    /// or `shutdown`, as the reference's `tick`. Timers made before the server starts begin
    /// when it does.
    ///
    /// # Example
    /// ```no_run
    /// # fn demo<R: ws_proto::server::Runtime>(server: &ws_proto::server::Server<R>) {
    /// server.tick(1000, |server, _id| {
    ///     for fd in server.connections() {
    ///         let _ = server.push(fd, "tick");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn tick(&self, ms: u64, f: impl Fn(&Server<R>, TimerId) + Send + Sync + 'static) -> TimerId {
        let (id, entry) = self.inner.timers.create();
        let period = Duration::from_millis(ms.max(1));
        let server = self.clone();
        self.spawn(async move {
            let runtime = server.inner.runtime.clone();
            let mut deadline = runtime.now() + period;
            let mut sleep = runtime.sleep(deadline);
            while wait(&entry, &mut sleep).await {
                f(&server, id);
                let now = runtime.now();
                deadline += period;
                if deadline <= now {
                    // Fell behind (a long callback): skip the missed ticks.
                    deadline = now + period;
                }
                sleep.reset(deadline);
            }
            server.inner.timers.remove(id);
        });
        id
    }

    /// Calls `f` once after `ms` milliseconds, as the reference's `after`.
    ///
    /// # Example
    /// ```no_run
    /// # fn demo<R: ws_proto::server::Runtime>(server: &ws_proto::server::Server<R>, fd: ws_proto::Fd) {
    /// server.after(5000, move |server| {
    ///     let _ = server.disconnect(fd, 4000, "time is up");
    /// });
    /// # }
    /// ```
    pub fn after(&self, ms: u64, f: impl FnOnce(&Server<R>) + Send + 'static) -> TimerId {
        let (id, entry) = self.inner.timers.create();
        let server = self.clone();
        self.spawn(async move {
            let runtime = server.inner.runtime.clone();
            let mut sleep = runtime.sleep(runtime.now() + Duration::from_millis(ms));
            if wait(&entry, &mut sleep).await {
                server.inner.timers.remove(id);
                f(&server);
            }
        });
        id
    }

    /// Cancels a timer. Returns whether it was still pending.
    pub fn clear_timer(&self, id: TimerId) -> bool {
        match self.inner.timers.remove(id) {
            Some(entry) => {
                entry.cancel();
                true
            }
            None => false,
        }
    }

    /// Runs `f` soon, after the current callback (the reference's `defer`). Inside a
    /// connection's callback it runs on that connection's task once the event is handled
    /// — after an `on_handshake` response went out, so it can push to the new connection;
    /// elsewhere it is spawned on the runtime.
    ///
    /// # Example
    /// ```no_run
    /// # fn demo<R: ws_proto::server::Runtime>(server: &ws_proto::server::Server<R>, fd: ws_proto::Fd) {
    /// server.defer(move |server| {
    ///     let _ = server.push(fd, "hello, welcome");
    /// });
    /// # }
    /// ```
    pub fn defer(&self, f: impl FnOnce(&Server<R>) + Send + 'static) {
        let server = self.clone();
        let task: Box<dyn FnOnce() + Send> = Box::new(move || f(&server));
        let mut task = Some(task);
        with_current(self.key(), None, |parked| {
            if let Some(task) = task.take() {
                parked.deferred.push(task);
            }
        });
        if let Some(task) = task {
            self.spawn(async move { task() });
        }
    }
}

/// Waits for the sleep; `false` if the timer was cancelled first.
async fn wait(entry: &Entry, sleep: &mut impl Sleep) -> bool {
    poll_fn(|cx| {
        if entry.cancelled.load(Ordering::Acquire) {
            return Poll::Ready(false);
        }
        *lock(&entry.waker) = Some(cx.waker().clone());
        if entry.cancelled.load(Ordering::Acquire) {
            return Poll::Ready(false);
        }
        sleep.poll_elapsed(cx).map(|()| true)
    })
    .await
}
