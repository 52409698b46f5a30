//! The connection table: fd allocation, one shared `Slot` per connection (its mailbox for
//! pushes from other tasks, and the status other threads may read), and the counters
//! behind `stats()`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::SystemTime;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::connection::{PreparedMessage, Status};
use crate::frame::{Fd, Flags, Opcode};

/// Something another task asked a connection's driver to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// `push`: one frame.
    Frame { opcode: Opcode, data: Bytes, flags: Flags },
    /// A broadcast, framed once, and its plain length.
    Prepared(Arc<PreparedMessage>, usize),
    /// `send`: raw bytes.
    Raw(Bytes),
    /// `disconnect`: a close frame with this code and reason.
    Disconnect(CloseCode, String),
    /// `close`: drop the connection once its output is written.
    Close,
    /// `shutdown`: close with 1001.
    Shutdown,
    /// The shutdown grace period is over: drop at once.
    Abort,
}

impl Command {
    /// The bytes the command will queue, for `buffer_output_size`.
    fn len(&self) -> usize {
        match self {
            Command::Frame { data, .. } | Command::Raw(data) => data.len(),
            Command::Prepared(_, len) => *len,
            Command::Disconnect(_, reason) => reason.len() + 2,
            Command::Close | Command::Shutdown | Command::Abort => 0,
        }
    }
}

/// What every thread may know about one connection. The `Connection` itself is owned by
/// its driver task; this is the part that is shared.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) fd: Fd,
    pub(crate) peer: SocketAddr,
    pub(crate) connect_time: SystemTime,
    /// The connection's `Status` as of the driver's last poll (0: plain HTTP).
    status: AtomicU8,
    /// Bytes in the connection's output as of the driver's last poll.
    out_len: AtomicUsize,
    /// Set when the mailbox holds commands: the driver checks it without locking.
    pending: AtomicBool,
    mailbox: Mutex<Mailbox>,
}

#[derive(Debug, Default)]
struct Mailbox {
    commands: VecDeque<Command>,
    bytes: usize,
    waker: Option<Waker>,
}

impl Slot {
    pub(crate) fn new(fd: Fd, peer: SocketAddr) -> Slot {
        Slot {
            fd,
            peer,
            connect_time: SystemTime::now(),
            status: AtomicU8::new(Status::Connection as u8),
            out_len: AtomicUsize::new(0),
            pending: AtomicBool::new(false),
            mailbox: Mutex::new(Mailbox::default()),
        }
    }

    /// The status; `None` for a connection that turned out to be plain HTTP.
    pub(crate) fn status(&self) -> Option<Status> {
        status_from_u8(self.status.load(Ordering::Acquire))
    }

    pub(crate) fn publish_status(&self, status: Option<Status>) {
        self.status.store(status.map_or(HTTP, |s| s as u8), Ordering::Release);
    }

    pub(crate) fn publish_out_len(&self, len: usize) {
        self.out_len.store(len, Ordering::Relaxed);
    }

    /// Queues `command` unless the connection's output plus its mailbox would pass `limit`
    /// bytes (an empty queue takes any one command); wakes the driver.
    ///
    /// # Errors
    /// The command back when the queue is full.
    pub(crate) fn post(&self, command: Command, limit: usize) -> Result<(), Command> {
        let waker = {
            let mut mailbox = lock(&self.mailbox);
            let queued = self.out_len.load(Ordering::Relaxed) + mailbox.bytes;
            if queued > 0 && queued + command.len() > limit {
                return Err(command);
            }
            mailbox.bytes += command.len();
            mailbox.commands.push_back(command);
            self.pending.store(true, Ordering::Release);
            mailbox.waker.clone()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Queues a command that bypasses the limit (close, shutdown).
    pub(crate) fn post_control(&self, command: Command) {
        let waker = {
            let mut mailbox = lock(&self.mailbox);
            mailbox.commands.push_back(command);
            self.pending.store(true, Ordering::Release);
            mailbox.waker.clone()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes every queued command; `None` when there are none (one atomic load, nothing
    /// else). The queue's memory is freed, so an idle connection holds none.
    #[inline]
    pub(crate) fn take_commands(&self) -> Option<VecDeque<Command>> {
        // A plain load first: the common case (nothing queued) writes nothing.
        if !self.pending.load(Ordering::Acquire) || !self.pending.swap(false, Ordering::Acquire) {
            return None;
        }
        let mut mailbox = lock(&self.mailbox);
        mailbox.bytes = 0;
        Some(std::mem::take(&mut mailbox.commands))
    }

    /// Whether commands are waiting.
    pub(crate) fn has_commands(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    pub(crate) fn register(&self, waker: &Waker) {
        lock(&self.mailbox).waker = Some(waker.clone());
    }
}

/// Every open connection by fd, in shards so that accepts, closes and pushes on different
/// connections rarely meet on one lock.
#[derive(Debug)]
pub(crate) struct Table {
    shards: [Mutex<HashMap<u64, Arc<Slot>>>; SHARDS],
    next_fd: AtomicU64,
    count: AtomicUsize,
}

impl Default for Table {
    fn default() -> Self {
        Table { shards: Default::default(), next_fd: AtomicU64::new(1), count: AtomicUsize::new(0) }
    }
}

impl Table {
    /// A fresh fd: ids are never reused, so a push to a closed connection cannot reach
    /// a newer one.
    pub(crate) fn next_fd(&self) -> Fd {
        Fd(self.next_fd.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn insert(&self, slot: Arc<Slot>) {
        let previous = lock(self.shard(slot.fd)).insert(slot.fd.0, slot);
        if previous.is_none() {
            self.count.fetch_add(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn remove(&self, fd: Fd) {
        if lock(self.shard(fd)).remove(&fd.0).is_some() {
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn get(&self, fd: Fd) -> Option<Arc<Slot>> {
        lock(self.shard(fd)).get(&fd.0).cloned()
    }

    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Every slot, shard by shard (not a consistent snapshot across shards).
    pub(crate) fn slots(&self) -> Vec<Arc<Slot>> {
        let mut all = Vec::with_capacity(self.len());
        for shard in &self.shards {
            all.extend(lock(shard).values().cloned());
        }
        all.sort_unstable_by_key(|slot| slot.fd);
        all
    }

    fn shard(&self, fd: Fd) -> &Mutex<HashMap<u64, Arc<Slot>>> {
        // SHARDS is a power of two, so the mask keeps the index in range.
        let index = (fd.0 as usize) & (SHARDS - 1);
        self.shards.get(index).unwrap_or(&self.shards[0])
    }
}

/// The counters behind `stats()`, updated once per driver wake-up, not per message.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accept_count: AtomicU64,
    pub(crate) close_count: AtomicU64,
    pub(crate) rejected_count: AtomicU64,
    pub(crate) request_count: AtomicU64,
    pub(crate) websocket_count: AtomicU64,
    /// Per wake-up from every connection: sharded, so that busy connections on different
    /// threads rarely bounce one cache line between cores.
    pub(crate) message_in: Sharded,
}

/// A counter split into cache-line-sized shards, picked by fd.
#[derive(Debug, Default)]
pub(crate) struct Sharded([Padded; SHARDS]);

#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

impl Sharded {
    pub(crate) fn add(&self, fd: Fd, n: u64) {
        // SHARDS is a power of two, so the mask keeps the index in range.
        if let Some(shard) = self.0.get((fd.0 as usize) & (SHARDS - 1)) {
            shard.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn sum(&self) -> u64 {
        self.0.iter().map(|shard| shard.0.load(Ordering::Relaxed)).sum()
    }
}

/// Locks `mutex`, recovering the data if a callback panicked while another thread held it
/// (nothing here is left half-updated across a panic point).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn status_from_u8(value: u8) -> Option<Status> {
    match value {
        1 => Some(Status::Connection),
        2 => Some(Status::Handshake),
        3 => Some(Status::Active),
        4 => Some(Status::Closing),
        5 => Some(Status::Closed),
        _ => None,
    }
}

/// The published status of a plain HTTP connection.
const HTTP: u8 = 0;
/// Shards of the connection table (a power of two).
const SHARDS: usize = 16;
