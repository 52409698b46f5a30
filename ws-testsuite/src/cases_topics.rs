//! Topics (uWebSockets' model): subscribe, publish, unsubscribe; a closed connection leaves
//! its topics; a publish is framed, and compressed, once whatever the number of
//! subscribers; cluster ids without a broker.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ws_proto::server::{
    Broker, BrokerError, ClusterError, ClusterFd, Directed, DisconnectError, Inbound, NodeId, Reply, Runtime, Server,
    Settings, TopicError,
};
use ws_proto::{Fd, Flags, Opcode};

use crate::{Raw, TestServer, eventually};

/// A server whose clients manage their own subscriptions: `sub:T` and `unsub:T` (answered
/// `sub:T:true` and the like), `pub:T:text` publishes from inside the callback.
fn topic_server<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let text = String::from_utf8_lossy(&frame.data).into_owned();
        if let Some(topic) = text.strip_prefix("sub:") {
            let added = server.subscribe(frame.fd, topic).unwrap_or(false);
            let _ = server.push(frame.fd, format!("sub:{topic}:{added}"));
        } else if let Some(topic) = text.strip_prefix("unsub:") {
            let removed = server.unsubscribe(frame.fd, topic);
            let _ = server.push(frame.fd, format!("unsub:{topic}:{removed}"));
        } else if let Some(rest) = text.strip_prefix("pub:") {
            if let Some((topic, message)) = rest.split_once(':') {
                server.publish(topic, message.to_owned());
            }
        }
    });
}

/// Sends `request` and asserts the answer.
fn ask(client: &mut Raw, request: &str, answer: &str) {
    client.send_text(request);
    assert_eq!(String::from_utf8_lossy(&client.data_frame().data), answer, "answer to {request}");
}

/// The fd of the most recent connection.
fn newest<R: Runtime>(server: &Server<R>) -> Fd {
    server.connections().last().copied().unwrap_or_default()
}

/// A broker that only keeps the handle through which other nodes' messages come in.
#[derive(Default)]
struct InboundOnly(OnceLock<Inbound>);

impl Broker for InboundOnly {
    fn attach(&self, _node: NodeId, inbound: Inbound) {
        let _ = self.0.set(inbound);
    }
    fn publish(&self, _: NodeId, _: &str, _: Bytes, _: Opcode, _: Flags) -> Result<(), BrokerError> {
        Ok(())
    }
    fn interest(&self, _topic: &str, _interested: bool) {}
    fn send(&self, _to: NodeId, _command: Directed) -> Result<(), BrokerError> {
        Ok(())
    }
    fn exist(&self, _id: ClusterFd, _reply: Reply<bool>) -> Result<(), BrokerError> {
        Ok(())
    }
    fn register(&self, _fd: Fd) {}
    fn unregister(&self, _fd: Fd) {}
}

/// A topic's message from another node is checked for UTF-8 here (a local publish is
/// checked once, before it goes to the broker): invalid text reaches no subscriber.
pub fn topics_a_text_from_another_node_is_checked<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), topic_server);
    let broker = Arc::new(InboundOnly::default());
    test.server.set_broker(broker.clone()).unwrap();
    let mut a = test.raw();
    ask(&mut a, "sub:news", "sub:news:true");
    let inbound = broker.0.get().unwrap();
    let mut invalid = vec![b'a'; 5000];
    invalid.push(0xff);
    let invalid = Bytes::from(invalid);
    assert_eq!(inbound.publish("news", invalid, Opcode::Text, Flags::FIN), 0, "invalid UTF-8 goes to no one");
    assert_eq!(inbound.publish("news", Bytes::from_static(b"from afar"), Opcode::Text, Flags::FIN), 1);
    assert_eq!(&a.data_frame().data[..], b"from afar");
    assert_eq!(test.server.publish("news", "from here"), 1);
    assert_eq!(&a.data_frame().data[..], b"from here");
}

/// subscribe/publish/unsubscribe: only subscribers get a topic's messages, a second
/// subscribe is `false`, an unknown fd is refused, publish counts receivers.
pub fn topics_subscribe_publish_unsubscribe<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), topic_server);
    let server = test.server.clone();
    let mut a = test.raw();
    ask(&mut a, "sub:news", "sub:news:true");
    ask(&mut a, "sub:news", "sub:news:false");
    let fd_a = newest(&server);
    let mut b = test.raw();
    ask(&mut b, "sub:news", "sub:news:true");
    let fd_b = newest(&server);
    let mut c = test.raw();
    ask(&mut c, "sub:other", "sub:other:true");
    assert_eq!(server.subscribe(Fd(1 << 40), "news"), Err(TopicError::NotFound(Fd(1 << 40))));
    assert_eq!(server.subscribers("news"), [fd_a, fd_b]);
    assert_eq!(server.subscriptions(fd_a), ["news"]);

    assert_eq!(server.publish("news", "headline"), 2);
    for client in [&mut a, &mut b] {
        assert_eq!(&client.data_frame().data[..], b"headline");
    }
    // c got nothing from "news": its next frame is from its own topic.
    assert_eq!(server.publish_with("other", vec![1u8, 2, 3], Opcode::Binary, Flags::FIN), 1);
    let frame = c.data_frame();
    assert_eq!((frame.opcode, &frame.data[..]), (Opcode::Binary, &[1u8, 2, 3][..]));

    // From inside a subscriber's own callback (its connection is parked in the thread).
    b.send_text("pub:news:from b");
    for client in [&mut a, &mut b] {
        assert_eq!(&client.data_frame().data[..], b"from b");
    }

    ask(&mut a, "unsub:news", "unsub:news:true");
    ask(&mut a, "unsub:news", "unsub:news:false");
    assert!(!server.unsubscribe(fd_a, "never"));
    assert_eq!(server.publish("news", "second"), 1);
    assert_eq!(&b.data_frame().data[..], b"second");
    assert_eq!(server.publish("news", vec![0xff]), 0, "invalid UTF-8 goes to no one");
    assert_eq!(server.publish_with("news", "x", Opcode::Ping, Flags::FIN), 0, "control opcodes are not published");
    assert_eq!(server.publish("nobody", "x"), 0);
    let stats = server.topic_stats();
    assert_eq!((stats.topics, stats.subscriptions), (2, 2));
}

/// A connection that closes (cleanly or not) leaves every topic it joined.
pub fn topics_closed_connection_leaves_its_topics<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), topic_server);
    let server = test.server.clone();
    let mut a = test.raw();
    ask(&mut a, "sub:x", "sub:x:true");
    ask(&mut a, "sub:y", "sub:y:true");
    let fd_a = newest(&server);
    let mut b = test.raw();
    ask(&mut b, "sub:y", "sub:y:true");
    assert_eq!(server.topic_stats().subscriptions, 3);
    drop(a); // no close frame: the TCP connection just goes
    eventually("a left its topics", || server.topic_stats().subscriptions == 1);
    assert_eq!(server.topic_stats().topics, 1);
    assert!(server.subscriptions(fd_a).is_empty());
    assert_eq!(server.publish("x", "gone"), 0);
    assert_eq!(server.publish("y", "still here"), 1);
    assert_eq!(&b.data_frame().data[..], b"still here");
    b.send(Opcode::Close, &1000u16.to_be_bytes(), true);
    assert_eq!(b.close_code(), Some(1000));
    eventually("b left its topics", || server.topic_stats().subscriptions == 0);
    assert_eq!(server.topic_stats().topics, 0);
}

/// One publish to many subscribers is framed once (one prepared message), and every
/// subscriber gets it.
pub fn topics_publish_to_many_subscribers_frames_once<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), topic_server);
    let server = test.server.clone();
    let mut clients: Vec<Raw> = (0..24).map(|_| test.raw()).collect();
    for client in &mut clients {
        ask(client, "sub:room", "sub:room:true");
    }
    let before = server.topic_stats();
    assert_eq!(server.publish("room", "to all 24"), 24);
    let after = server.topic_stats();
    assert_eq!(after.prepared - before.prepared, 1, "framed once for 24 subscribers");
    assert_eq!(after.published - before.published, 1);
    assert_eq!(after.compressed, before.compressed, "no COMPRESS flag: nothing compressed");
    for client in &mut clients {
        assert_eq!(&client.data_frame().data[..], b"to all 24");
    }
}

/// With compression on, a publish with `Flags::COMPRESS` is compressed once: subscribers
/// that agreed to no server context takeover get the same compressed payload, the one that
/// negotiated nothing gets it plain.
pub fn topics_publish_compresses_once<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings { websocket_compression: true, ..Settings::default() }, topic_server);
    let server = test.server.clone();
    let offer =
        [("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits")];
    let mut compressing: Vec<Raw> = (0..4).map(|_| Raw::upgrade(test.addr, "/", &offer)).collect();
    let mut plain = test.raw();
    for client in compressing.iter_mut().chain([&mut plain]) {
        ask(client, "sub:z", "sub:z:true");
    }
    let text = "compress me once, compress me once, compress me once, compress me once";
    let before = server.topic_stats();
    assert_eq!(server.publish_with("z", text, Opcode::Text, Flags::FIN | Flags::COMPRESS), 5);
    let after = server.topic_stats();
    assert_eq!(after.prepared - before.prepared, 1);
    assert_eq!(after.compressed - before.compressed, 1, "compressed once for four receivers");
    let payloads: Vec<_> = compressing.iter_mut().map(|client| client.data_frame()).collect();
    for frame in &payloads {
        assert!(frame.flags.contains(Flags::RSV1), "compressed frame expected");
        assert_eq!(frame.data, payloads[0].data, "the same compressed bytes for everyone");
        assert!(frame.data.len() < text.len());
    }
    let frame = plain.data_frame();
    assert!(!frame.flags.contains(Flags::RSV1));
    assert_eq!(&frame.data[..], text.as_bytes());
}

/// Without a broker: cluster ids round-trip as text, local ids work as plain fds, remote
/// ones fail at once with a clear error.
pub fn cluster_ids_without_a_broker_fail_fast_for_remote_nodes<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), topic_server);
    let server = test.server.clone();
    let mut a = test.raw();
    ask(&mut a, "sub:t", "sub:t:true");
    let id = server.cluster_id(newest(&server));
    assert_eq!(id.to_string().parse::<ClusterFd>(), Ok(id));
    server.push_to(id, "local by cluster id").unwrap();
    assert_eq!(&a.data_frame().data[..], b"local by cluster id");
    assert_eq!(poll_once(server.exist_in_cluster(id)), Some(Ok(true)));

    let remote = ClusterFd { node: NodeId(server.node_id().0 ^ 1), fd: id.fd };
    assert_eq!(server.push_to(remote, "x"), Err(ClusterError::Broker(BrokerError::NotSet)));
    assert_eq!(server.disconnect_to(remote, 1000, ""), Err(ClusterError::Broker(BrokerError::NotSet)));
    assert_eq!(
        server.disconnect_to(remote, 1001, ""),
        Err(ClusterError::Disconnect(DisconnectError::InvalidCode(1001)))
    );
    assert!(matches!(server.push_to_with(remote, vec![0xff], Opcode::Text, Flags::FIN), Err(ClusterError::Push(_))));
    assert_eq!(poll_once(server.exist_in_cluster(remote)), Some(Err(ClusterError::Broker(BrokerError::NotSet))));
    assert_eq!(server.publish_checked("t", "still local", Opcode::Text, Flags::FIN), Ok(1));
    assert_eq!(&a.data_frame().data[..], b"still local");
}

/// Polls a future once (it must not need a runtime).
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}
