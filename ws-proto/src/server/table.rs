//! The connection table: fd allocation, one shared `Slot` per connection (its mailbox for
//! pushes from other tasks, and the status other threads may read), and the counters
//! behind `stats()`.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::SystemTime;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::connection::{PreparedMessage, Status};
use crate::frame::{Fd, Flags, Opcode};
use crate::spare;

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
            if mailbox.commands.capacity() == 0 {
                mailbox.commands = spare::pop(&SPARE_COMMANDS).unwrap_or_default();
            }
            mailbox.commands.push_back(command);
            // Only the first command since the driver last took them wakes it: it takes
            // them all (a broadcast posts to every connection, often many times before
            // each driver runs).
            let woken = self.pending.swap(true, Ordering::AcqRel);
            if woken { None } else { mailbox.waker.clone() }
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
    /// else). The queue's memory leaves the slot, so an idle connection holds none: give
    /// the emptied queue to [`recycle_commands`] for the next post on this thread.
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

/// Keeps a mailbox queue that its driver has emptied for the next post from this thread
/// to a connection with none: a broadcast posts to every connection, and each queue would
/// otherwise be allocated and grown again for every batch.
pub(crate) fn recycle_commands(queue: VecDeque<Command>) {
    if queue.is_empty() && queue.capacity() > 0 && queue.capacity() <= SPARE_COMMANDS_MAX {
        spare::push(&SPARE_COMMANDS, queue, SPARE_COMMANDS_LEN);
    }
}

thread_local! {
    static SPARE_COMMANDS: RefCell<Vec<VecDeque<Command>>> = const { RefCell::new(Vec::new()) };
}

/// Every open connection by fd, in shards so that accepts, closes and pushes on different
/// connections rarely meet on one lock.
#[derive(Debug)]
pub(crate) struct Table {
    shards: [Mutex<HashMap<u64, Arc<Slot>, FdHash>>; SHARDS],
    next_fd: AtomicU64,
    count: AtomicUsize,
    /// Every slot as of the last change, for broadcasts: built on the first `slots` after a
    /// change, so that a busy broadcaster walks a list instead of sixteen locked maps.
    snapshot: Mutex<Option<Arc<[Arc<Slot>]>>>,
    /// Bumped by every insert and remove, before the snapshot is dropped: a snapshot
    /// built across a change is not kept.
    generation: AtomicU64,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            shards: Default::default(),
            next_fd: AtomicU64::new(1),
            count: AtomicUsize::new(0),
            snapshot: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
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
        self.changed();
    }

    pub(crate) fn remove(&self, fd: Fd) {
        if lock(self.shard(fd)).remove(&fd.0).is_some() {
            self.count.fetch_sub(1, Ordering::AcqRel);
            self.changed();
        }
    }

    /// After an insert or remove: the snapshot is out of date (and one being built now
    /// will not be kept).
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *lock(&self.snapshot) = None;
    }

    pub(crate) fn get(&self, fd: Fd) -> Option<Arc<Slot>> {
        lock(self.shard(fd)).get(&fd.0).cloned()
    }

    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Every slot, in no particular order: the snapshot, or a new one if the table changed
    /// since (not a consistent snapshot across shards while connections come and go).
    pub(crate) fn slots(&self) -> Arc<[Arc<Slot>]> {
        if let Some(snapshot) = &*lock(&self.snapshot) {
            return snapshot.clone();
        }
        let generation = self.generation.load(Ordering::Acquire);
        let all = self.collect();
        self.keep(generation, &all);
        all
    }

    /// Every slot, from the shards.
    fn collect(&self) -> Arc<[Arc<Slot>]> {
        let mut all = Vec::with_capacity(self.len());
        for shard in &self.shards {
            all.extend(lock(shard).values().cloned());
        }
        all.into()
    }

    /// Keeps `all`, collected at `generation`, as the snapshot, unless the table changed
    /// since (checked under the snapshot's lock, which `changed` takes after bumping the
    /// generation: either this sees the bump, or `changed` drops what this kept).
    fn keep(&self, generation: u64, all: &Arc<[Arc<Slot>]>) {
        let mut snapshot = lock(&self.snapshot);
        if self.generation.load(Ordering::Acquire) == generation {
            *snapshot = Some(all.clone());
        }
    }

    fn shard(&self, fd: Fd) -> &Mutex<HashMap<u64, Arc<Slot>, FdHash>> {
        // SHARDS is a power of two, so the mask keeps the index in range.
        let index = (fd.0 as usize) & (SHARDS - 1);
        self.shards.get(index).unwrap_or(&self.shards[0])
    }
}

/// The table's hash of an fd. Fds are handed out by the table itself, one after another,
/// so no peer can choose them and SipHash's defence against chosen keys buys nothing here
/// (it was a fifth of a broadcast's instructions, one lookup per receiver). A multiply
/// spreads consecutive fds over the high bits, and folding those down spreads them over
/// the low bits that pick a bucket (within a shard every fd has the same low four bits).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FdHash;

impl BuildHasher for FdHash {
    type Hasher = FdHasher;

    fn build_hasher(&self) -> FdHasher {
        FdHasher(0)
    }
}

#[derive(Debug)]
pub(crate) struct FdHasher(u64);

impl Hasher for FdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; any other input still hashes correctly, byte by byte.
        for &byte in bytes {
            self.write_u64(self.0 ^ u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let x = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 32);
    }

    fn finish(&self) -> u64 {
        self.0
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
/// Emptied mailbox queues kept per thread: about as many connections as a worker polls
/// between two broadcasts of a busy sender.
const SPARE_COMMANDS_LEN: usize = 64;
/// A queue that grew past this many commands is freed, not kept: with commands of 40 bytes
/// a thread keeps at most 1.25 MiB of spares, and only after a burst (a receiver that
/// missed hundreds of broadcasts).
const SPARE_COMMANDS_MAX: usize = 512;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn slot(fd: u64) -> Slot {
        Slot::new(Fd(fd), SocketAddr::from(([127, 0, 0, 1], 1)))
    }

    fn frame() -> Command {
        Command::Raw(Bytes::from_static(b"x"))
    }

    #[test]
    fn a_command_is_40_bytes() {
        // The bound on the spares kept per thread (SPARE_COMMANDS_MAX) assumes it.
        assert!(std::mem::size_of::<Command>() <= 40);
    }

    #[test]
    fn the_first_post_since_the_driver_took_its_commands_wakes_it_and_no_other() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let slot = slot(1);
        slot.register(&Waker::from(counter.clone()));
        for _ in 0..3 {
            slot.post(frame(), usize::MAX).map_err(|_| ()).unwrap();
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "one wake for three posts");
        assert_eq!(slot.take_commands().map(|queue| queue.len()), Some(3));
        slot.post(frame(), usize::MAX).map_err(|_| ()).unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2, "taken: the next post wakes again");
        assert!(slot.has_commands());
    }

    #[test]
    fn an_emptied_mailbox_queue_serves_the_next_post_on_the_thread() {
        let first = slot(1);
        for _ in 0..100 {
            first.post(frame(), usize::MAX).map_err(|_| ()).unwrap();
        }
        let mut queue = first.take_commands().unwrap_or_default();
        let capacity = queue.capacity();
        queue.clear();
        recycle_commands(queue);
        let second = slot(2);
        second.post(frame(), usize::MAX).map_err(|_| ()).unwrap();
        assert_eq!(second.take_commands().map(|queue| queue.capacity()), Some(capacity));
        // An idle slot keeps no queue.
        assert_eq!(lock(&second.mailbox).commands.capacity(), 0);
    }

    #[test]
    fn fds_of_one_shard_spread_over_the_low_bits_of_the_hash() {
        // Within a shard every fd has the same low four bits; the bucket index comes from
        // the hash's low bits, so they must still differ from fd to fd. A random function
        // gives ~650 distinct of 1024; a multiply without the fold gives 64.
        let hashes: HashSet<u64> = (0..1024u64).map(|k| FdHash.hash_one(16 * k + 5) & 1023).collect();
        assert!(hashes.len() > 500, "{} distinct bucket indexes of 1024", hashes.len());
    }

    #[test]
    fn the_table_finds_every_slot_and_lists_each_once() {
        let table = Table::default();
        for _ in 0..5000 {
            table.insert(Arc::new(slot(table.next_fd().0)));
        }
        assert!((1..=5000).all(|fd| table.get(Fd(fd)).is_some_and(|slot| slot.fd == Fd(fd))));
        let listed: HashSet<Fd> = table.slots().iter().map(|slot| slot.fd).collect();
        assert_eq!(listed.len(), 5000);
        table.remove(Fd(17));
        assert!(table.get(Fd(17)).is_none());
        assert_eq!(table.len(), 4999);
        // The list follows every change.
        assert!(table.slots().iter().all(|slot| slot.fd != Fd(17)));
        table.insert(Arc::new(slot(table.next_fd().0)));
        assert_eq!(table.slots().len(), 5000);
        assert!(Arc::ptr_eq(&table.slots(), &table.slots()), "unchanged: the same list");
    }

    #[test]
    fn a_list_collected_across_a_change_is_not_kept() {
        let table = Table::default();
        table.insert(Arc::new(slot(table.next_fd().0)));
        // A broadcaster collects; a connection comes in before it can keep the list.
        let generation = table.generation.load(Ordering::Acquire);
        let stale = table.collect();
        table.insert(Arc::new(slot(table.next_fd().0)));
        table.keep(generation, &stale);
        assert_eq!(table.slots().len(), 2, "the new connection is listed");
    }
}
