//! Topics, uWebSockets' publish/subscribe model: a connection subscribes to named topics,
//! and [`publish`](Server::publish) sends one message to every subscriber, framed (and
//! compressed, where the receivers' agreement allows) once, whatever their number.
//!
//! Two maps behind one `RwLock`: topic → fds (what a publish reads) and fd → topics (what
//! a closing connection leaves). Topic operations lock; the echo path never does, and a
//! server that never used a topic pays one atomic load per closed connection.
//!
//! With a [`Broker`](super::Broker) set, a publish also goes to the other nodes, and this
//! node tells the broker which topics it has local subscribers for.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use super::current::is_utf8;
use super::{Runtime, Server};
use crate::frame::{Fd, Flags, Opcode};

/// Why [`Server::subscribe`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// No open connection has this fd.
    #[error("no connection {0}")]
    NotFound(Fd),
}

/// Counters of the topics of one server (see [`Server::topic_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicStats {
    /// Topics with at least one local subscriber.
    pub topics: usize,
    /// Subscriptions (connection, topic) held locally.
    pub subscriptions: usize,
    /// Messages published to local subscribers (from this node or, through the broker,
    /// from others) that had at least one subscriber.
    pub published: u64,
    /// Messages framed for local subscribers: one per such publish, not one per receiver.
    pub prepared: u64,
    /// Messages compressed for local subscribers: at most one per such publish.
    pub compressed: u64,
}

/// The topic tables of one server.
#[derive(Debug, Default)]
pub(crate) struct Topics {
    /// Set once any connection subscribed: until then closing connections skip the lock.
    used: AtomicBool,
    state: RwLock<State>,
    published: AtomicU64,
    prepared: AtomicU64,
    compressed: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    by_topic: HashMap<Arc<str>, HashSet<Fd>>,
    by_fd: HashMap<Fd, HashSet<Arc<str>>>,
    subscriptions: usize,
}

impl Topics {
    /// Takes `fd` out of every topic it joined (its connection closed), calling
    /// `emptied` under the lock for each topic left without a local subscriber.
    pub(crate) fn leave_all(&self, fd: Fd, mut emptied: impl FnMut(&str)) {
        if !self.used.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.write();
        let Some(topics) = state.by_fd.remove(&fd) else { return };
        state.subscriptions -= topics.len();
        for topic in topics {
            if let Some(fds) = state.by_topic.get_mut(&topic) {
                fds.remove(&fd);
                if fds.is_empty() {
                    state.by_topic.remove(&topic);
                    emptied(&topic);
                }
            }
        }
    }

    /// The topics with local subscribers, for a broker attached late.
    pub(crate) fn names(&self) -> Vec<Arc<str>> {
        self.read().by_topic.keys().cloned().collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<R: Runtime> Server<R> {
    /// Subscribes connection `fd` to `topic` (uWebSockets' `ws.subscribe`). Returns
    /// `Ok(true)` when it was not subscribed yet, `Ok(false)` when it already was. The
    /// subscription ends with [`unsubscribe`](Server::unsubscribe) or when the connection
    /// closes.
    ///
    /// # Errors
    /// [`TopicError::NotFound`] when no open connection has this fd.
    ///
    /// # Example
    /// ```no_run
    /// # fn demo<R: ws_proto::server::Runtime>(server: &ws_proto::server::Server<R>) {
    /// server.on_open(|server, request| {
    ///     let _ = server.subscribe(request.fd, "news");
    /// });
    /// server.on_message(|server, frame| {
    ///     server.publish("news", frame.data);
    /// });
    /// # }
    /// ```
    pub fn subscribe(&self, fd: Fd, topic: &str) -> Result<bool, TopicError> {
        if !self.exist(fd) {
            return Err(TopicError::NotFound(fd));
        }
        let topics = &self.inner.topics;
        topics.used.store(true, Ordering::Release);
        let (added, first) = {
            let mut state = topics.write();
            let state = &mut *state;
            let (name, first) = match state.by_topic.get_key_value(topic) {
                Some((name, _)) => (name.clone(), false),
                None => (Arc::<str>::from(topic), true),
            };
            let added = state.by_topic.entry(name.clone()).or_default().insert(fd);
            if added {
                state.by_fd.entry(fd).or_default().insert(name);
                state.subscriptions += 1;
                if first {
                    // Tell the broker under the lock, so that interest changes reach it in
                    // the order they happen here.
                    self.cluster_interest(topic, true);
                }
            }
            (added, first && added)
        };
        // The connection may have closed between the check and the insert, after its
        // close hook ran: then nothing else would take it out again.
        if added && !self.exist(fd) {
            self.unsubscribe(fd, topic);
            return Err(TopicError::NotFound(fd));
        }
        tracing::trace!(%fd, topic, first, "subscribed");
        Ok(added)
    }

    /// Ends `fd`'s subscription to `topic`. Returns whether it was subscribed.
    pub fn unsubscribe(&self, fd: Fd, topic: &str) -> bool {
        let topics = &self.inner.topics;
        if !topics.used.load(Ordering::Acquire) {
            return false;
        }
        let mut state = topics.write();
        let Some(fds) = state.by_topic.get_mut(topic) else { return false };
        if !fds.remove(&fd) {
            return false;
        }
        if fds.is_empty() {
            state.by_topic.remove(topic);
            self.cluster_interest(topic, false);
        }
        state.subscriptions -= 1;
        if let Some(names) = state.by_fd.get_mut(&fd) {
            names.remove(topic);
            if names.is_empty() {
                state.by_fd.remove(&fd);
            }
        }
        true
    }

    /// Publishes `data` as one text message to `topic` (uWebSockets' `app.publish`): see
    /// [`publish_with`](Server::publish_with).
    pub fn publish(&self, topic: &str, data: impl Into<Bytes>) -> usize {
        self.publish_with(topic, data, Opcode::Text, Flags::FIN)
    }

    /// Sends one text or binary message to every subscriber of `topic`, framed once for
    /// all of them; with [`Flags::COMPRESS`] and `websocket_compression` it is also
    /// compressed once, and sent compressed to the subscribers whose agreement allows a
    /// shared compressed message (no server context takeover), plain to the others.
    ///
    /// With a [`Broker`](super::Broker) set, the message also goes to every other node,
    /// which frames it once for its own subscribers. That part is fire-and-forget and
    /// at most once: when the broker is down or its queue is full, the local subscribers
    /// still get the message and the failure is logged (see
    /// [`publish_checked`](Server::publish_checked) to see it).
    ///
    /// Returns the number of local subscribers it was queued for (full or closing
    /// connections are skipped). Invalid messages (a control opcode, text that is not
    /// UTF-8) are sent to no one: 0.
    pub fn publish_with(&self, topic: &str, data: impl Into<Bytes>, opcode: Opcode, flags: Flags) -> usize {
        self.publish_checked(topic, data, opcode, flags).unwrap_or_else(|(error, sent)| {
            tracing::debug!(topic, %error, "publish not forwarded to the other nodes");
            sent
        })
    }

    /// [`publish_with`](Server::publish_with), telling whether the other nodes could be
    /// reached.
    ///
    /// # Errors
    /// When a broker is set but the message could not be handed to it: the error, and
    /// the number of local subscribers, which got the message all the same.
    pub fn publish_checked(
        &self,
        topic: &str,
        data: impl Into<Bytes>,
        opcode: Opcode,
        flags: Flags,
    ) -> Result<usize, (super::BrokerError, usize)> {
        let data = data.into();
        if !matches!(opcode, Opcode::Text | Opcode::Binary) || (opcode == Opcode::Text && !is_utf8(&data)) {
            return Ok(0);
        }
        let forwarded = match self.inner.cluster.broker() {
            Some(broker) => broker.publish(self.node_id(), topic, data.clone(), opcode, flags),
            None => Ok(()),
        };
        let sent = self.publish_local(topic, data, opcode, flags, true);
        forwarded.map(|()| sent).map_err(|error| (error, sent))
    }

    /// The local subscribers of `topic`, in order.
    pub fn subscribers(&self, topic: &str) -> Vec<Fd> {
        let mut fds: Vec<Fd> = self.inner.topics.read().by_topic.get(topic).into_iter().flatten().copied().collect();
        fds.sort_unstable();
        fds
    }

    /// The topics `fd` is subscribed to, sorted.
    pub fn subscriptions(&self, fd: Fd) -> Vec<String> {
        let mut names: Vec<String> =
            self.inner.topics.read().by_fd.get(&fd).into_iter().flatten().map(|name| name.to_string()).collect();
        names.sort_unstable();
        names
    }

    /// Counters of the local topics.
    pub fn topic_stats(&self) -> TopicStats {
        let topics = &self.inner.topics;
        let state = topics.read();
        TopicStats {
            topics: state.by_topic.len(),
            subscriptions: state.subscriptions,
            published: topics.published.load(Ordering::Relaxed),
            prepared: topics.prepared.load(Ordering::Relaxed),
            compressed: topics.compressed.load(Ordering::Relaxed),
        }
    }

    // ---- crate-private ----

    /// Delivers to the local subscribers only: framed once, through the broadcast path. A
    /// text is checked for UTF-8 unless `utf8_checked` (a local publish checked it before
    /// handing it to the broker; one from another node is checked here).
    pub(crate) fn publish_local(
        &self,
        topic: &str,
        data: Bytes,
        opcode: Opcode,
        flags: Flags,
        utf8_checked: bool,
    ) -> usize {
        let fds = self.subscribers(topic);
        if fds.is_empty() {
            return 0;
        }
        let Some((prepared, len, compressed)) = self.prepare(data, opcode, flags, utf8_checked) else { return 0 };
        let topics = &self.inner.topics;
        topics.published.fetch_add(1, Ordering::Relaxed);
        topics.prepared.fetch_add(1, Ordering::Relaxed);
        if compressed {
            topics.compressed.fetch_add(1, Ordering::Relaxed);
        }
        self.send_prepared_to(fds, &prepared, len)
    }

    /// A connection left the table: it leaves its topics, and the broker forgets it.
    pub(crate) fn connection_removed(&self, fd: Fd, websocket: bool) {
        self.inner.topics.leave_all(fd, |topic| self.cluster_interest(topic, false));
        if websocket {
            self.cluster_unregister(fd);
        }
    }
}
