//! The cluster seam: a [`Broker`] carries publishes, directed pushes and disconnects,
//! `exist` queries and the connection registry between the nodes of a cluster. The server
//! core knows only this trait; `ws-cluster` implements it over Redis.
//!
//! The contract is on [`Broker`].

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::push::check_frame;
use super::table::lock;
use super::{DisconnectError, Inner, PushError, Runtime, Server};
use crate::close::{CloseCode, MAX_CLOSE_REASON};
use crate::frame::{Fd, Flags, Opcode};

/// What a server needs from a cluster backbone.
///
/// # Contract
///
/// The server calls the broker from callbacks and connection tasks, so every method must
/// return at once: queue the work (a bounded queue), never wait for the network. When the
/// broker cannot take the work (down, queue full) it says so with a [`BrokerError`], and
/// the server hands that to the caller: remote operations fail fast, local ones go on.
/// What arrives from other nodes comes in through the [`Inbound`] handle the server gives
/// the broker in [`Broker::attach`], from whatever thread the broker runs on.
///
/// Delivery is at most once: a message handed to a broker that then loses its connection
/// is lost. A [`ClusterFd`] names a connection cluster-wide: the node's [`NodeId`], random
/// per server, and the connection's [`Fd`] there. Fds are never reused on a node, and a
/// restarted node has a new id, so an old `ClusterFd` never reaches a newer connection.
pub trait Broker: Send + Sync + 'static {
    /// Called once, by [`Server::set_broker`]: this node's id, and the handle through which
    /// messages from other nodes reach this server's connections.
    fn attach(&self, node: NodeId, inbound: Inbound);

    /// Sends a topic's message to the other nodes (each delivers it to its own
    /// subscribers). `origin` is this node, so that it can skip its own copy.
    ///
    /// # Errors
    /// When the message cannot be queued: [`BrokerError::Down`], [`BrokerError::QueueFull`].
    fn publish(
        &self,
        origin: NodeId,
        topic: &str,
        data: Bytes,
        opcode: Opcode,
        flags: Flags,
    ) -> Result<(), BrokerError>;

    /// This node now has local subscribers for `topic` (`true`), or no longer has any
    /// (`false`). The broker receives the topic's messages only while interested.
    fn interest(&self, topic: &str, interested: bool);

    /// Sends a push or disconnect to the node that holds the connection.
    ///
    /// # Errors
    /// As [`publish`](Broker::publish).
    fn send(&self, to: NodeId, command: Directed) -> Result<(), BrokerError>;

    /// Asks whether a connection of another node is open (registered); the answer comes
    /// through `reply`, from any thread.
    ///
    /// # Errors
    /// As [`publish`](Broker::publish); `reply` is then dropped.
    fn exist(&self, id: ClusterFd, reply: Reply<bool>) -> Result<(), BrokerError>;

    /// A WebSocket connection of this node opened: register it cluster-wide.
    fn register(&self, fd: Fd);

    /// A WebSocket connection of this node closed: take it out of the registry.
    fn unregister(&self, fd: Fd);
}

/// A node of a cluster: random per server, so that a restarted node is a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u64);

impl NodeId {
    /// A fresh random id (from the standard library's randomly keyed hasher, the clock and
    /// the process id; no dependency).
    pub fn random() -> NodeId {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        hasher.write_u32(std::process::id());
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        NodeId(hasher.finish())
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::str::FromStr for NodeId {
    type Err = ParseClusterFdError;

    /// Parses the 16 hex digits that [`Display`](std::fmt::Display) writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(NodeId).map_err(|_| ParseClusterFdError)
    }
}

/// A connection's cluster-wide id: its node and its fd there. Written `node:fd`
/// (`00c0ffee12345678:42`), and parsed back with `str::parse`.
///
/// # Example
/// ```
/// use ws_proto::Fd;
/// use ws_proto::server::{ClusterFd, NodeId};
/// let id = ClusterFd { node: NodeId(0xc0ffee), fd: Fd(42) };
/// assert_eq!(id.to_string(), "0000000000c0ffee:42");
/// assert_eq!("0000000000c0ffee:42".parse::<ClusterFd>(), Ok(id));
/// assert!("42".parse::<ClusterFd>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterFd {
    /// The node that holds the connection.
    pub node: NodeId,
    /// The connection's fd on that node.
    pub fd: Fd,
}

impl std::fmt::Display for ClusterFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.node, self.fd)
    }
}

impl std::str::FromStr for ClusterFd {
    type Err = ParseClusterFdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (node, fd) = s.split_once(':').ok_or(ParseClusterFdError)?;
        let fd = fd.parse::<u64>().map_err(|_| ParseClusterFdError)?;
        Ok(ClusterFd { node: node.parse()?, fd: Fd(fd) })
    }
}

/// A string that is not `node:fd` (16 hex digits at most, a colon, a decimal fd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a cluster connection id (node:fd)")]
pub struct ParseClusterFdError;

/// Why a broker did not take an operation. Nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The server has no broker: it is not part of a cluster.
    #[error("no broker: this server is not part of a cluster")]
    NotSet,
    /// [`Server::set_broker`] was called twice.
    #[error("a broker is already set")]
    AlreadySet,
    /// The broker is not connected to its backbone (it reconnects by itself).
    #[error("the cluster broker is down")]
    Down,
    /// The broker's queue is full: the backbone does not keep up.
    #[error("the cluster broker's queue is full")]
    QueueFull,
}

/// Why a cluster operation (`push_to`, `disconnect_to`, `exist_in_cluster`) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The connection is on another node and the broker did not take the operation.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The push was refused (locally, or before leaving for another node).
    #[error(transparent)]
    Push(#[from] PushError),
    /// The disconnect was refused (locally, or before leaving for another node).
    #[error(transparent)]
    Disconnect(#[from] DisconnectError),
}

/// An operation for the node that holds a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Directed {
    /// `push_with(fd, data, opcode, flags)` there.
    Push {
        /// The connection on the receiving node.
        fd: Fd,
        /// The payload.
        data: Bytes,
        /// The frame's opcode.
        opcode: Opcode,
        /// The frame's flags.
        flags: Flags,
    },
    /// `disconnect(fd, code, reason)` there.
    Disconnect {
        /// The connection on the receiving node.
        fd: Fd,
        /// 1000 or 4000–4999 (checked before sending).
        code: u16,
        /// At most 123 bytes (checked before sending).
        reason: String,
    },
}

/// What arrives from other nodes, delivered to this server's connections. Cheap to clone;
/// holds the server weakly, so a broker does not keep a stopped server alive.
#[derive(Clone)]
pub struct Inbound {
    node: NodeId,
    target: Arc<dyn Deliver>,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound").field("node", &self.node).finish_non_exhaustive()
    }
}

impl Inbound {
    /// Delivers a topic's message from another node to the local subscribers (framed
    /// once); returns how many took it.
    pub fn publish(&self, topic: &str, data: Bytes, opcode: Opcode, flags: Flags) -> usize {
        self.target.publish(topic, data, opcode, flags)
    }

    /// Runs a [`Directed`] operation sent to this node.
    ///
    /// # Errors
    /// The local push's or disconnect's error (the sender has long moved on: log it).
    pub fn apply(&self, command: Directed) -> Result<(), ClusterError> {
        match command {
            Directed::Push { fd, data, opcode, flags } => Ok(self.target.push(fd, data, opcode, flags)?),
            Directed::Disconnect { fd, code, reason } => Ok(self.target.disconnect(fd, code, &reason)?),
        }
    }

    /// Whether this node has an open connection `fd`.
    pub fn exist(&self, fd: Fd) -> bool {
        self.target.exist(fd)
    }

    /// The open WebSocket connections of this node, to register again (e.g. after the
    /// backbone restarted empty).
    pub fn established(&self) -> Vec<Fd> {
        self.target.established()
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Whether the server still exists (a broker may stop once it does not).
    pub fn is_alive(&self) -> bool {
        self.target.is_alive()
    }
}

/// The receiving end of a broker's answer: a future for any runtime (only `std::task`).
#[derive(Debug)]
pub struct ClusterQuery<T> {
    state: Query<T>,
}

#[derive(Debug)]
enum Query<T> {
    Ready(Option<Result<T, ClusterError>>),
    Waiting(Arc<Mutex<Slot<T>>>),
}

#[derive(Debug)]
struct Slot<T> {
    value: Option<Result<T, BrokerError>>,
    waker: Option<Waker>,
}

impl<T> ClusterQuery<T> {
    fn ready(value: Result<T, ClusterError>) -> Self {
        ClusterQuery { state: Query::Ready(Some(value)) }
    }

    fn pair() -> (ClusterQuery<T>, Reply<T>) {
        let slot = Arc::new(Mutex::new(Slot { value: None, waker: None }));
        (ClusterQuery { state: Query::Waiting(slot.clone()) }, Reply { slot: Some(slot) })
    }
}

impl<T: Unpin> Future for ClusterQuery<T> {
    type Output = Result<T, ClusterError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            // Polled again after Ready: a contract breach by the caller; answer Down.
            Query::Ready(value) => Poll::Ready(value.take().unwrap_or(Err(ClusterError::Broker(BrokerError::Down)))),
            Query::Waiting(slot) => {
                let mut slot = lock(slot);
                match slot.value.take() {
                    Some(value) => Poll::Ready(value.map_err(ClusterError::Broker)),
                    None => {
                        slot.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            }
        }
    }
}

/// Where a broker sends its answer to a query. Dropped unanswered, it answers
/// [`BrokerError::Down`], so the asker never waits forever.
#[derive(Debug)]
pub struct Reply<T> {
    slot: Option<Arc<Mutex<Slot<T>>>>,
}

impl<T> Reply<T> {
    /// Answers the query and wakes its task.
    pub fn send(mut self, value: Result<T, BrokerError>) {
        self.fill(value);
    }

    fn fill(&mut self, value: Result<T, BrokerError>) {
        if let Some(slot) = self.slot.take() {
            let waker = {
                let mut slot = lock(&slot);
                slot.value = Some(value);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        self.fill(Err(BrokerError::Down));
    }
}

/// The cluster part of a server: its node id and, once set, its broker.
#[derive(Default)]
pub(crate) struct Cluster {
    node: OnceLock<NodeId>,
    broker: OnceLock<Arc<dyn Broker>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node).field("broker", &self.broker.get().is_some()).finish()
    }
}

impl Cluster {
    pub(crate) fn broker(&self) -> Option<&Arc<dyn Broker>> {
        self.broker.get()
    }

    fn node(&self) -> NodeId {
        *self.node.get_or_init(NodeId::random)
    }
}

impl<R: Runtime> Server<R> {
    /// Makes this server a node of a cluster: topics are published on every node, and
    /// [`push_to`](Server::push_to), [`disconnect_to`](Server::disconnect_to) and
    /// [`exist_in_cluster`](Server::exist_in_cluster) reach connections held by other
    /// nodes. Set it before `start`; connections already open are registered when the
    /// broker (re)connects.
    ///
    /// # Errors
    /// [`BrokerError::AlreadySet`] when a broker was already set.
    ///
    /// # Example
    /// ```ignore
    /// let broker = ws_cluster::RedisBroker::new(ws_cluster::RedisOptions::new("redis://127.0.0.1:6379/"))?;
    /// server.set_broker(broker)?;
    /// ```
    pub fn set_broker(&self, broker: Arc<dyn Broker>) -> Result<(), BrokerError> {
        let cluster = &self.inner.cluster;
        if cluster.broker.set(broker.clone()).is_err() {
            return Err(BrokerError::AlreadySet);
        }
        let weak: Weak<Inner<R>> = Arc::downgrade(&self.inner);
        broker.attach(cluster.node(), Inbound { node: cluster.node(), target: Arc::new(weak) });
        for topic in self.inner.topics.names() {
            broker.interest(&topic, true);
        }
        Ok(())
    }

    /// This server's node id (random, fixed for the life of the server).
    pub fn node_id(&self) -> NodeId {
        self.inner.cluster.node()
    }

    /// The cluster-wide id of local connection `fd`.
    pub fn cluster_id(&self, fd: Fd) -> ClusterFd {
        ClusterFd { node: self.node_id(), fd }
    }

    /// Sends `data` as one text message to a connection of any node.
    ///
    /// # Errors
    /// See [`push_to_with`](Server::push_to_with).
    pub fn push_to(&self, id: ClusterFd, data: impl Into<Bytes>) -> Result<(), ClusterError> {
        self.push_to_with(id, data, Opcode::Text, Flags::FIN)
    }

    /// [`push_with`](Server::push_with) to a connection of any node: a local one directly,
    /// another node's through the broker (fire-and-forget, at most once: `Ok` means the
    /// broker took it, not that it arrived).
    ///
    /// # Errors
    /// For a local connection, [`push_with`](Server::push_with)'s errors. For a remote
    /// one, an invalid frame ([`ClusterError::Push`]), no broker, or a broker that is down
    /// or full ([`ClusterError::Broker`]), at once.
    pub fn push_to_with(
        &self,
        id: ClusterFd,
        data: impl Into<Bytes>,
        opcode: Opcode,
        flags: Flags,
    ) -> Result<(), ClusterError> {
        let data = data.into();
        if id.node == self.node_id() {
            return Ok(self.push_with(id.fd, data, opcode, flags)?);
        }
        check_frame(&data, opcode, flags)?;
        let broker = self.inner.cluster.broker().ok_or(BrokerError::NotSet)?;
        Ok(broker.send(id.node, Directed::Push { fd: id.fd, data, opcode, flags })?)
    }

    /// [`disconnect`](Server::disconnect) for a connection of any node (fire-and-forget
    /// for a remote one, as [`push_to_with`](Server::push_to_with)).
    ///
    /// # Errors
    /// The code and reason are checked here, for remote connections too
    /// ([`ClusterError::Disconnect`]); then as [`push_to_with`](Server::push_to_with).
    pub fn disconnect_to(&self, id: ClusterFd, code: u16, reason: &str) -> Result<(), ClusterError> {
        if id.node == self.node_id() {
            return Ok(self.disconnect(id.fd, code, reason)?);
        }
        CloseCode::try_from(code).ok().filter(|c| c.is_application_code()).ok_or(DisconnectError::InvalidCode(code))?;
        if reason.len() > MAX_CLOSE_REASON {
            return Err(DisconnectError::ReasonTooLong(reason.len()).into());
        }
        let broker = self.inner.cluster.broker().ok_or(BrokerError::NotSet)?;
        Ok(broker.send(id.node, Directed::Disconnect { fd: id.fd, code, reason: reason.to_owned() })?)
    }

    /// Whether a connection of any node is open: answered at once for a local one; for a
    /// remote one, the broker asks the registry (a node that died drops out of it when
    /// its registration expires). A future for any runtime; it never blocks a thread.
    ///
    /// # Errors
    /// (From the future.) No broker, or a broker that is down or full, for a remote id.
    pub fn exist_in_cluster(&self, id: ClusterFd) -> ClusterQuery<bool> {
        if id.node == self.node_id() {
            return ClusterQuery::ready(Ok(self.exist(id.fd)));
        }
        let Some(broker) = self.inner.cluster.broker() else {
            return ClusterQuery::ready(Err(BrokerError::NotSet.into()));
        };
        let (query, reply) = ClusterQuery::pair();
        match broker.exist(id, reply) {
            Ok(()) => query,
            Err(error) => ClusterQuery::ready(Err(error.into())),
        }
    }

    // ---- crate-private ----

    /// The node gained (`true`) or lost its last local subscriber of `topic`.
    pub(crate) fn cluster_interest(&self, topic: &str, interested: bool) {
        if let Some(broker) = self.inner.cluster.broker() {
            broker.interest(topic, interested);
        }
    }

    /// A WebSocket connection opened.
    pub(crate) fn connection_opened(&self, fd: Fd) {
        if let Some(broker) = self.inner.cluster.broker() {
            broker.register(fd);
        }
    }

    pub(crate) fn cluster_unregister(&self, fd: Fd) {
        if let Some(broker) = self.inner.cluster.broker() {
            broker.unregister(fd);
        }
    }
}

/// What [`Inbound`] calls, implemented by the server (held weakly).
trait Deliver: Send + Sync {
    fn publish(&self, topic: &str, data: Bytes, opcode: Opcode, flags: Flags) -> usize;
    fn push(&self, fd: Fd, data: Bytes, opcode: Opcode, flags: Flags) -> Result<(), PushError>;
    fn disconnect(&self, fd: Fd, code: u16, reason: &str) -> Result<(), DisconnectError>;
    fn exist(&self, fd: Fd) -> bool;
    fn established(&self) -> Vec<Fd>;
    fn is_alive(&self) -> bool;
}

impl<R: Runtime> Deliver for Weak<Inner<R>> {
    fn publish(&self, topic: &str, data: Bytes, opcode: Opcode, flags: Flags) -> usize {
        self.upgrade().map_or(0, |inner| Server { inner }.publish_local(topic, data, opcode, flags, false))
    }

    fn push(&self, fd: Fd, data: Bytes, opcode: Opcode, flags: Flags) -> Result<(), PushError> {
        let inner = self.upgrade().ok_or(PushError::NotFound(fd))?;
        Server { inner }.push_with(fd, data, opcode, flags)
    }

    fn disconnect(&self, fd: Fd, code: u16, reason: &str) -> Result<(), DisconnectError> {
        let inner = self.upgrade().ok_or(DisconnectError::NotEstablished(fd))?;
        Server { inner }.disconnect(fd, code, reason)
    }

    fn exist(&self, fd: Fd) -> bool {
        self.upgrade().is_some_and(|inner| Server { inner }.exist(fd))
    }

    fn established(&self) -> Vec<Fd> {
        let Some(inner) = self.upgrade() else { return Vec::new() };
        let server = Server { inner };
        server.connections().into_iter().filter(|fd| server.is_established(*fd)).collect()
    }

    fn is_alive(&self) -> bool {
        self.strong_count() > 0
    }
}
