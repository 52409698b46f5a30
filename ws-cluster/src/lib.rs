//! # ws-cluster: several WebSocket server nodes over one Redis
//!
//! [`RedisBroker`] implements [`ws_proto::server::Broker`], the cluster seam of the server
//! core, so the same code runs on `ws-tokio`, `ws-async-std` and `ws-smol`:
//!
//! ```no_run
//! use ws_cluster::{RedisBroker, RedisOptions};
//! # fn demo(server: &ws_tokio::Server) -> Result<(), Box<dyn std::error::Error>> {
//! let broker = RedisBroker::new(RedisOptions::new("redis://127.0.0.1:6379/"))?;
//! server.set_broker(broker.clone())?;
//! // server.publish(topic, ..) now reaches subscribers on every node, and
//! // server.push_to(cluster_id, ..) the node that holds the connection.
//! # Ok(()) }
//! ```
//!
//! ## What goes through Redis
//!
//! - **Topics:** a node subscribes to the Redis channel `{prefix}:topic:{topic}` while it
//!   has local subscribers of `topic`. A publish is delivered locally at once, and
//!   `PUBLISH`ed once to that channel; every other node frames (and compresses) it once for
//!   its own subscribers. The publishing node skips its own copy.
//! - **Directed operations:** `push_to` and `disconnect_to` for another node's connection
//!   are `PUBLISH`ed to that node's channel `{prefix}:to:{node}`.
//! - **Registry:** a node keeps `{prefix}:node:{node}` (a key) and
//!   `{prefix}:node:{node}:fds` (the set of its open WebSocket fds), both with an expiry
//!   ([`RedisOptions::ttl`]) that a heartbeat refreshes. A node that dies without warning
//!   drops out when they expire; `exist_in_cluster` asks both. After a reconnect, and every
//!   [`RedisOptions::resync_every`] heartbeats, the node writes its whole set again, so a
//!   Redis restarted empty (or a lost `SADD`) heals by itself.
//!
//! ## Why threads and the synchronous client
//!
//! The server core runs on whichever runtime the adapter brings, and a broker must never
//! block a callback. So the broker owns two threads and two plain (synchronous) Redis
//! connections, independent of the adapter's runtime: a command thread that drains a
//! bounded queue (pipelining whatever is waiting into one round trip) and sends the
//! heartbeat, and a subscriber thread that reads pub/sub messages and hands them to the
//! server through its [`Inbound`] handle. Callbacks only `try_send` on the queue. An async
//! client would tie the crate to one runtime (or need its own runtime on a thread anyway);
//! two threads per node cost nothing next to the connections a node serves.
//!
//! ## Faults
//!
//! When Redis is unreachable, local pushes and local topic delivery go on untouched;
//! remote operations fail at once with [`BrokerError::Down`] (or
//! [`BrokerError::QueueFull`] when Redis is slower than the node), never waiting. Both
//! threads reconnect with exponential backoff ([`RedisOptions::backoff_min`] to
//! [`RedisOptions::backoff_max`]); the subscriber subscribes again to this node's channel
//! and to every topic with local subscribers, and the command thread registers every open
//! connection again.
//!
//! ## Delivery: at most once
//!
//! Redis pub/sub keeps nothing: a message published while a node is disconnected from
//! Redis, or queued when the connection drops, is lost for that node, and `Ok` from
//! `push_to` means "handed to the broker", not "delivered". Ordering holds per publishing
//! node and channel. Applications that need more must add it themselves: number messages
//! per topic and let clients ask for what they missed from a store (a Redis stream with
//! `XADD`/`XRANGE`, a database), or acknowledge pushes end to end and resend.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::{Client, Connection, RedisResult};
pub use ws_proto::server::{Broker, BrokerError, ClusterFd, Directed, Inbound, NodeId, Reply};
use ws_proto::{Fd, Flags, Opcode};

/// How a [`RedisBroker`] connects and how it keeps the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// The Redis URL, e.g. `redis://127.0.0.1:6379/`.
    pub url: String,
    /// The prefix of every key and channel, so that several clusters can share a Redis.
    /// Default: `ws`.
    pub prefix: String,
    /// How often the node refreshes its registration. Default: 1 s.
    pub heartbeat: Duration,
    /// How long a registration lives without a heartbeat: a node that died drops out of
    /// the registry after this long. Default: 5 s.
    pub ttl: Duration,
    /// Rewrite the node's whole connection set every this many heartbeats. Default: 30.
    pub resync_every: u32,
    /// Operations waiting for Redis; past it they fail with
    /// [`BrokerError::QueueFull`]. Default: 65,536.
    pub queue_capacity: usize,
    /// Connect, read and write timeout of one Redis call. Default: 1 s.
    pub io_timeout: Duration,
    /// First wait before reconnecting. Default: 50 ms.
    pub backoff_min: Duration,
    /// Longest wait between reconnects. Default: 2 s.
    pub backoff_max: Duration,
}

impl RedisOptions {
    /// The defaults, for Redis at `url`.
    pub fn new(url: impl Into<String>) -> RedisOptions {
        RedisOptions {
            url: url.into(),
            prefix: "ws".to_owned(),
            heartbeat: Duration::from_secs(1),
            ttl: Duration::from_secs(5),
            resync_every: 30,
            queue_capacity: 65_536,
            io_timeout: Duration::from_secs(1),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        }
    }
}

/// Counters of a [`RedisBroker`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerStats {
    /// Connections to Redis made (both threads), the first ones included.
    pub connects: u64,
    /// Messages received from other nodes and handed to the server.
    pub received: u64,
    /// Operations dropped: refused (down, full) or lost with a connection.
    pub dropped: u64,
}

/// The Redis [`Broker`]: see the [crate docs](crate). Cheap to share (`Arc`).
#[derive(Debug)]
pub struct RedisBroker {
    shared: Arc<Shared>,
    queue: SyncSender<Op>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl RedisBroker {
    /// A broker for the Redis at `options.url`. It connects once attached to a server
    /// ([`Server::set_broker`](ws_proto::server::Server::set_broker)), in the background.
    ///
    /// # Errors
    /// When the URL is invalid.
    pub fn new(options: RedisOptions) -> RedisResult<Arc<RedisBroker>> {
        let client = Client::open(options.url.as_str())?;
        let (queue, rx) = std::sync::mpsc::sync_channel(options.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            options,
            client,
            rx: Mutex::new(Some(rx)),
            node: OnceLock::new(),
            inbound: OnceLock::new(),
            up: AtomicBool::new(false),
            sub_up: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            reset: AtomicBool::new(false),
            interest: Mutex::new(Interest::default()),
            connects: AtomicU64::new(0),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        Ok(Arc::new(RedisBroker { shared, queue, threads: Mutex::new(Vec::new()) }))
    }

    /// Whether both connections to Redis are up (remote operations are accepted).
    pub fn is_connected(&self) -> bool {
        self.shared.up.load(Ordering::Acquire) && self.shared.sub_up.load(Ordering::Acquire)
    }

    /// The counters.
    pub fn stats(&self) -> BrokerStats {
        BrokerStats {
            connects: self.shared.connects.load(Ordering::Relaxed),
            received: self.shared.received.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Leaves the cluster cleanly: deletes this node's registration, then stops both
    /// threads (waiting at most about `io_timeout` for each). Call it when the server
    /// stops; remote operations fail with [`BrokerError::Down`] afterwards.
    pub fn stop(&self) {
        self.halt(true);
    }

    /// Stops both threads without touching Redis, as a crash would: the registration
    /// stays until it expires. For tests of node failure.
    #[doc(hidden)]
    pub fn kill(&self) {
        self.halt(false);
    }

    fn halt(&self, cleanup: bool) {
        let shared = &self.shared;
        if cleanup && shared.up.load(Ordering::Acquire) && self.queue.try_send(Op::Stop).is_ok() {
            // The command thread deletes the registration, then raises `stop` itself.
            let deadline = Instant::now() + shared.options.io_timeout;
            while !shared.stop.load(Ordering::Acquire) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        shared.stop.store(true, Ordering::Release);
        shared.up.store(false, Ordering::Release);
        let handles: Vec<JoinHandle<()>> = lock(&self.threads).drain(..).collect();
        for handle in handles {
            let _ = handle.join();
        }
    }

    fn enqueue(&self, op: Op) -> Result<(), BrokerError> {
        if !self.shared.up.load(Ordering::Acquire) {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(BrokerError::Down);
        }
        self.queue.try_send(op).map_err(|error| {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            match error {
                TrySendError::Full(_) => BrokerError::QueueFull,
                TrySendError::Disconnected(_) => BrokerError::Down,
            }
        })
    }
}

impl Broker for RedisBroker {
    fn attach(&self, node: NodeId, inbound: Inbound) {
        let shared = &self.shared;
        if shared.node.set(node).is_err() || shared.inbound.set(inbound).is_err() {
            tracing::warn!("RedisBroker attached twice; the second server is ignored");
            return;
        }
        let Some(rx) = lock(&shared.rx).take() else { return };
        let mut threads = lock(&self.threads);
        let commands = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ws-cluster-cmd-{node}"))
            .spawn(move || commands.run_commands(node, &rx));
        threads.extend(spawned.ok());
        let subscriber = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ws-cluster-sub-{node}"))
            .spawn(move || subscriber.run_subscriber(node));
        threads.extend(spawned.ok());
        tracing::debug!(%node, url = %shared.options.url, "cluster broker attached");
    }

    fn publish(
        &self,
        origin: NodeId,
        topic: &str,
        data: Bytes,
        opcode: Opcode,
        flags: Flags,
    ) -> Result<(), BrokerError> {
        let mut payload = Vec::with_capacity(data.len() + 11);
        payload.push(PUBLISH);
        payload.extend_from_slice(&origin.0.to_be_bytes());
        payload.push(u8::from(opcode));
        payload.push(flags.bits());
        payload.extend_from_slice(&data);
        self.enqueue(Op::Publish { channel: self.shared.topic_channel(topic), payload })
    }

    fn interest(&self, topic: &str, interested: bool) {
        let mut interest = lock(&self.shared.interest);
        match interested {
            true => interest.topics.insert(topic.to_owned()),
            false => interest.topics.remove(topic),
        };
        interest.dirty = true;
    }

    fn send(&self, to: NodeId, command: Directed) -> Result<(), BrokerError> {
        let payload = match command {
            Directed::Push { fd, data, opcode, flags } => {
                let mut payload = Vec::with_capacity(data.len() + 11);
                payload.push(PUSH);
                payload.extend_from_slice(&fd.0.to_be_bytes());
                payload.push(u8::from(opcode));
                payload.push(flags.bits());
                payload.extend_from_slice(&data);
                payload
            }
            Directed::Disconnect { fd, code, reason } => {
                let mut payload = Vec::with_capacity(reason.len() + 11);
                payload.push(DISCONNECT);
                payload.extend_from_slice(&fd.0.to_be_bytes());
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(reason.as_bytes());
                payload
            }
            // Directed is non-exhaustive: a newer operation this broker cannot carry.
            _ => return Err(BrokerError::Down),
        };
        self.enqueue(Op::Publish { channel: self.shared.node_channel(to), payload })
    }

    fn exist(&self, id: ClusterFd, reply: Reply<bool>) -> Result<(), BrokerError> {
        self.enqueue(Op::Exist(id, reply))
    }

    fn register(&self, fd: Fd) {
        // Best effort: a lost registration is repaired by the next resync.
        let _ = self.enqueue(Op::Register(fd));
    }

    fn unregister(&self, fd: Fd) {
        let _ = self.enqueue(Op::Unregister(fd));
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

/// What the command thread does.
#[derive(Debug)]
enum Op {
    Publish { channel: String, payload: Vec<u8> },
    Register(Fd),
    Unregister(Fd),
    Exist(ClusterFd, Reply<bool>),
    Stop,
}

#[derive(Debug, Default)]
struct Interest {
    topics: HashSet<String>,
    dirty: bool,
}

#[derive(Debug)]
struct Shared {
    options: RedisOptions,
    client: Client,
    rx: Mutex<Option<Receiver<Op>>>,
    node: OnceLock<NodeId>,
    inbound: OnceLock<Inbound>,
    /// The command connection is up: remote operations are accepted.
    up: AtomicBool,
    /// The subscriber connection is up.
    sub_up: AtomicBool,
    stop: AtomicBool,
    /// The subscriber lost its connection: the command connection, to the same Redis, is
    /// most likely dead too, and is replaced before it swallows more operations.
    reset: AtomicBool,
    interest: Mutex<Interest>,
    connects: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Acquire) && self.inbound.get().is_some_and(Inbound::is_alive)
    }

    fn topic_channel(&self, topic: &str) -> String {
        format!("{}:topic:{topic}", self.options.prefix)
    }

    fn node_channel(&self, node: NodeId) -> String {
        format!("{}:to:{node}", self.options.prefix)
    }

    fn node_key(&self, node: NodeId) -> String {
        format!("{}:node:{node}", self.options.prefix)
    }

    fn fds_key(&self, node: NodeId) -> String {
        format!("{}:node:{node}:fds", self.options.prefix)
    }

    fn connect(&self) -> RedisResult<Connection> {
        let timeout = self.options.io_timeout;
        let connection = self.client.get_connection_with_timeout(timeout)?;
        connection.set_write_timeout(Some(timeout))?;
        connection.set_read_timeout(Some(timeout))?;
        self.connects.fetch_add(1, Ordering::Relaxed);
        Ok(connection)
    }

    /// Sleeps `backoff` in small steps (so that a stop is seen), then doubles it.
    fn back_off(&self, backoff: &mut Duration) {
        let deadline = Instant::now() + *backoff;
        while self.running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        *backoff = (*backoff * 2).min(self.options.backoff_max);
    }

    // ---- the command thread ----

    fn run_commands(&self, node: NodeId, rx: &Receiver<Op>) {
        let mut backoff = self.options.backoff_min;
        while self.running() {
            let mut connection = match self.connect() {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::debug!(%error, "redis unreachable (commands); retrying");
                    self.back_off(&mut backoff);
                    continue;
                }
            };
            if let Err(error) = self.resync(node, &mut connection) {
                tracing::debug!(%error, "registration failed; reconnecting");
                self.back_off(&mut backoff);
                continue;
            }
            backoff = self.options.backoff_min;
            self.up.store(true, Ordering::Release);
            tracing::debug!(%node, "cluster broker connected");
            let outcome = self.serve_commands(node, &mut connection, rx);
            self.up.store(false, Ordering::Release);
            match outcome {
                Ok(Done::Stop) => {
                    let _ = redis::pipe().del(self.node_key(node)).del(self.fds_key(node)).exec(&mut connection);
                    tracing::debug!(%node, "left the cluster");
                    self.stop.store(true, Ordering::Release);
                    return;
                }
                Ok(Done::Halted) => return,
                Err(error) => {
                    tracing::debug!(%error, "redis connection lost (commands); reconnecting");
                    // What was queued while it broke would fail too: drop it now, fast.
                    while let Ok(op) = rx.try_recv() {
                        self.drop_op(op);
                    }
                    self.back_off(&mut backoff);
                }
            }
        }
    }

    /// Runs queued operations and heartbeats until the connection fails or a stop.
    fn serve_commands(&self, node: NodeId, connection: &mut Connection, rx: &Receiver<Op>) -> RedisResult<Done> {
        let mut next_heartbeat = Instant::now() + self.options.heartbeat;
        let mut beats = 0u32;
        loop {
            if !self.running() {
                return Ok(Done::Halted);
            }
            if self.reset.swap(false, Ordering::AcqRel) {
                return Err(std::io::Error::other("the subscriber's connection to redis was lost").into());
            }
            let now = Instant::now();
            if now >= next_heartbeat {
                beats = beats.wrapping_add(1);
                if beats % self.options.resync_every.max(1) == 0 {
                    self.resync(node, connection)?;
                } else {
                    self.heartbeat(node, connection)?;
                }
                next_heartbeat = now + self.options.heartbeat;
            }
            let wait = next_heartbeat.saturating_duration_since(now).min(POLL);
            let first = match rx.recv_timeout(wait) {
                Ok(op) => op,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(Done::Halted),
            };
            // Pipeline everything already waiting into one round trip.
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            if self.run_batch(node, connection, batch)? {
                return Ok(Done::Stop);
            }
        }
    }

    /// Sends a batch as one pipeline; `true` when it held a stop.
    fn run_batch(&self, node: NodeId, connection: &mut Connection, batch: Vec<Op>) -> RedisResult<bool> {
        let mut pipe = redis::pipe();
        let mut replies = Vec::new();
        let mut registry = false;
        let mut stop = false;
        let mut commands = 0usize;
        for op in batch {
            commands += usize::from(!matches!(op, Op::Stop));
            match op {
                Op::Publish { channel, payload } => {
                    pipe.publish(channel, payload).ignore();
                }
                Op::Register(fd) => {
                    pipe.sadd(self.fds_key(node), fd.0).ignore();
                    registry = true;
                }
                Op::Unregister(fd) => {
                    pipe.srem(self.fds_key(node), fd.0).ignore();
                    registry = true;
                }
                Op::Exist(id, reply) => {
                    pipe.exists(self.node_key(id.node)).sismember(self.fds_key(id.node), id.fd.0);
                    replies.push(reply);
                }
                Op::Stop => stop = true,
            }
        }
        if registry {
            pipe.pexpire(self.fds_key(node), ttl_ms(self.options.ttl)).ignore();
        }
        if commands == 0 {
            return Ok(stop);
        }
        if replies.is_empty() {
            pipe.exec(connection)?;
            return Ok(stop);
        }
        // Replies dropped on error answer `Down` by themselves.
        let answers: Vec<bool> = pipe.query(connection)?;
        for (reply, pair) in replies.into_iter().zip(answers.chunks(2)) {
            reply.send(Ok(pair.iter().all(|x| *x) && pair.len() == 2));
        }
        Ok(stop)
    }

    fn heartbeat(&self, node: NodeId, connection: &mut Connection) -> RedisResult<()> {
        let ttl = ttl_ms(self.options.ttl);
        redis::pipe()
            .cmd("SET")
            .arg(self.node_key(node))
            .arg(unix_ms())
            .arg("PX")
            .arg(ttl)
            .ignore()
            .pexpire(self.fds_key(node), ttl)
            .ignore()
            .exec(connection)
    }

    /// Writes the node's registration and its whole connection set anew.
    fn resync(&self, node: NodeId, connection: &mut Connection) -> RedisResult<()> {
        let fds: Vec<u64> =
            self.inbound.get().map(Inbound::established).unwrap_or_default().iter().map(|fd| fd.0).collect();
        let key = self.fds_key(node);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        for chunk in fds.chunks(1024) {
            pipe.sadd(&key, chunk).ignore();
        }
        pipe.pexpire(&key, ttl_ms(self.options.ttl)).ignore();
        pipe.exec(connection)?;
        self.heartbeat(node, connection)
    }

    fn drop_op(&self, op: Op) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        // An `Exist` reply answers `Down` as it drops.
        drop(op);
    }

    // ---- the subscriber thread ----

    fn run_subscriber(&self, node: NodeId) {
        let mut backoff = self.options.backoff_min;
        while self.running() {
            let mut connection = match self.connect() {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::debug!(%error, "redis unreachable (subscriber); retrying");
                    self.back_off(&mut backoff);
                    continue;
                }
            };
            let outcome = self.listen(node, &mut connection, &mut backoff);
            self.sub_up.store(false, Ordering::Release);
            if let Err(error) = outcome {
                tracing::debug!(%error, "redis connection lost (subscriber); reconnecting");
                self.up.store(false, Ordering::Release);
                self.reset.store(true, Ordering::Release);
                self.back_off(&mut backoff);
            }
        }
    }

    /// Subscribes to this node's channel and its topics, then delivers messages until the
    /// connection fails or the broker stops.
    fn listen(&self, node: NodeId, connection: &mut Connection, backoff: &mut Duration) -> RedisResult<()> {
        let mut pubsub = connection.as_pubsub();
        pubsub.set_read_timeout(Some(POLL))?;
        pubsub.subscribe(self.node_channel(node))?;
        let mut subscribed: HashSet<String> = HashSet::new();
        lock(&self.interest).dirty = true;
        let mut announced = false;
        while self.running() {
            let wanted = {
                let mut interest = lock(&self.interest);
                interest.dirty.then(|| {
                    interest.dirty = false;
                    interest.topics.clone()
                })
            };
            if let Some(wanted) = wanted {
                for topic in wanted.difference(&subscribed) {
                    pubsub.subscribe(self.topic_channel(topic))?;
                }
                for topic in subscribed.difference(&wanted) {
                    pubsub.unsubscribe(self.topic_channel(topic))?;
                }
                subscribed = wanted;
            }
            if !announced {
                announced = true;
                *backoff = self.options.backoff_min;
                self.sub_up.store(true, Ordering::Release);
                tracing::debug!(%node, topics = subscribed.len(), "cluster subscriber connected");
            }
            match pubsub.get_message() {
                Ok(message) => self.deliver(node, message.get_channel_name(), message.get_payload_bytes()),
                Err(error) if error.is_timeout() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Hands one message from Redis to the server.
    fn deliver(&self, node: NodeId, channel: &str, payload: &[u8]) {
        let Some(inbound) = self.inbound.get() else { return };
        let Some((&kind, rest)) = payload.split_first() else { return };
        let Some((id, rest)) = rest.split_first_chunk::<8>() else { return };
        let id = u64::from_be_bytes(*id);
        match kind {
            PUBLISH => {
                if id == node.0 {
                    return; // our own publish: already delivered locally
                }
                let Some(topic) = channel.strip_prefix(&format!("{}:topic:", self.options.prefix)).map(str::to_owned)
                else {
                    return;
                };
                let Some((opcode, flags, data)) = frame_parts(rest) else { return };
                self.received.fetch_add(1, Ordering::Relaxed);
                inbound.publish(&topic, data, opcode, flags);
            }
            PUSH => {
                let Some((opcode, flags, data)) = frame_parts(rest) else { return };
                self.received.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = inbound.apply(Directed::Push { fd: Fd(id), data, opcode, flags }) {
                    tracing::debug!(fd = id, %error, "push from another node not delivered");
                }
            }
            DISCONNECT => {
                let Some((code, reason)) = rest.split_first_chunk::<2>() else { return };
                let reason = String::from_utf8_lossy(reason).into_owned();
                self.received.fetch_add(1, Ordering::Relaxed);
                let command = Directed::Disconnect { fd: Fd(id), code: u16::from_be_bytes(*code), reason };
                if let Err(error) = inbound.apply(command) {
                    tracing::debug!(fd = id, %error, "disconnect from another node not done");
                }
            }
            _ => tracing::debug!(kind, "unknown cluster message ignored"),
        }
    }
}

enum Done {
    /// `stop()`: leave the cluster.
    Stop,
    /// `kill()` or the server is gone.
    Halted,
}

/// Opcode, flags and payload of a publish or push message.
fn frame_parts(rest: &[u8]) -> Option<(Opcode, Flags, Bytes)> {
    let (&[opcode, flags], data) = rest.split_first_chunk::<2>()?;
    let opcode = Opcode::try_from(opcode).ok()?;
    Some((opcode, Flags::from_bits_truncate(flags), Bytes::copy_from_slice(data)))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Message kinds on the wire (the first byte of a payload).
const PUBLISH: u8 = b'P';
const PUSH: u8 = b'U';
const DISCONNECT: u8 = b'D';
/// How long a thread waits before it looks at stop flags and subscription changes.
const POLL: Duration = Duration::from_millis(50);
/// Operations per pipeline.
const MAX_BATCH: usize = 512;
