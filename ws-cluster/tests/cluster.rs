//! Three server nodes in one process, each on its own 127.0.0.1 port, sharing a real
//! redis-server that the test starts on a free port of its own (and kills on drop).
//!
//! Without `redis-server` on the PATH the tests are skipped with a message, except under
//! `CI=true`, where that is a failure (`.ci/run` installs it).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ws_cluster::{RedisBroker, RedisOptions};
use ws_proto::server::{BrokerError, ClusterError, ClusterFd, Runtime, Server, Settings};
use ws_proto::{Flags, Opcode};
use ws_testsuite::{Raw, TestServer, eventually, with_deadline};
use ws_tokio::Tokio;

/// A redis-server child on 127.0.0.1, killed on drop.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts one, or `None` (skip) when redis-server is not installed outside CI.
    fn start() -> Option<Redis> {
        let installed = Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok();
        if !installed {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "redis-server is missing under CI=true");
            eprintln!("skipped: redis-server is not installed (apt-get install -y redis-server)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        let mut redis = Redis { port, child: None };
        redis.spawn();
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.query::<String>(&mut redis::cmd("PING")).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not come up on port {port}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn query<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
        let client = redis::Client::open(self.url())?;
        let mut connection = client.get_connection_with_timeout(Duration::from_millis(500))?;
        connection.set_read_timeout(Some(Duration::from_secs(2)))?;
        cmd.query(&mut connection)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One node: a server on tokio with its broker.
struct Node {
    test: TestServer<Tokio>,
    broker: Arc<RedisBroker>,
}

impl Node {
    fn start(redis: &Redis) -> Node {
        let mut options = RedisOptions::new(redis.url());
        options.heartbeat = Duration::from_millis(100);
        options.ttl = Duration::from_millis(600);
        options.io_timeout = Duration::from_millis(500);
        options.backoff_min = Duration::from_millis(20);
        options.backoff_max = Duration::from_millis(200);
        let broker = RedisBroker::new(options).expect("valid URL");
        let attached = broker.clone();
        let test = TestServer::<Tokio>::start(Settings::default(), move |server| {
            cluster_app(server);
            server.set_broker(attached).expect("first broker");
        });
        Node { test, broker }
    }

    fn server(&self) -> &Server<Tokio> {
        &self.test.server
    }

    /// A client that subscribed to `topic`, and its cluster id.
    fn client(&self, topic: &str) -> (Raw, ClusterFd) {
        let mut raw = self.test.raw();
        raw.send_text(&format!("sub:{topic}"));
        assert_eq!(text(&mut raw), format!("sub:{topic}"));
        raw.send_text("id");
        let id = text(&mut raw).parse().expect("a cluster id");
        (raw, id)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.broker.stop();
    }
}

/// The application of every node: `sub:T`, `pub:T:text`, `id`, `push:ID:text`.
fn cluster_app<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let text = String::from_utf8_lossy(&frame.data).into_owned();
        if let Some(topic) = text.strip_prefix("sub:") {
            let _ = server.subscribe(frame.fd, topic);
            let _ = server.push(frame.fd, text.clone());
        } else if let Some((topic, message)) = text.strip_prefix("pub:").and_then(|rest| rest.split_once(':')) {
            server.publish(topic, message.to_owned());
        } else if text == "id" {
            let _ = server.push(frame.fd, server.cluster_id(frame.fd).to_string());
        } else if let Some(rest) = text.strip_prefix("push:") {
            // ID is node:fd, so the message starts after the second colon.
            let mut parts = rest.splitn(3, ':');
            let (node, fd, message) = (parts.next(), parts.next(), parts.next());
            if let (Some(node), Some(fd), Some(message)) = (node, fd, message) {
                if let Ok(id) = format!("{node}:{fd}").parse::<ClusterFd>() {
                    if let Err(error) = server.push_to(id, message.to_owned()) {
                        let _ = server.push(frame.fd, format!("error: {error}"));
                    }
                }
            }
        }
    });
}

fn text(raw: &mut Raw) -> String {
    String::from_utf8_lossy(&raw.data_frame().data).into_owned()
}

/// Runs a future to completion on a small runtime of its own.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
}

/// Waits until Redis has `n` subscribers on the topic's channel.
fn wait_for_subscribers(redis: &Redis, topic: &str, n: usize) {
    let channel = format!("ws:topic:{topic}");
    eventually("every node subscribed to the topic", || {
        let counts: Vec<(String, usize)> =
            redis.query(redis::cmd("PUBSUB").arg("NUMSUB").arg(&channel)).unwrap_or_default();
        counts.first().is_some_and(|(_, count)| *count == n)
    });
}

fn wait_connected(nodes: &[&Node]) {
    eventually("every broker connected", || nodes.iter().all(|node| node.broker.is_connected()));
}

#[test]
fn publish_on_one_node_reaches_subscribers_on_all_nodes() {
    with_deadline("publish_on_one_node_reaches_subscribers_on_all_nodes", || {
        let Some(redis) = Redis::start() else { return };
        let nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis)).collect();
        wait_connected(&nodes.iter().collect::<Vec<_>>());
        let mut clients: Vec<Raw> =
            nodes.iter().flat_map(|node| [node.client("room").0, node.client("room").0]).collect();
        let mut other = nodes[1].client("elsewhere").0;
        wait_for_subscribers(&redis, "room", 3);

        clients[0].send_text("pub:room:hello from node 0");
        for client in &mut clients {
            assert_eq!(text(client), "hello from node 0");
        }
        for node in &nodes {
            assert_eq!(node.server().topic_stats().prepared, 1, "each node frames the message once");
        }
        // Compressed flag and binary survive the trip; the other topic's client got nothing.
        let sent =
            nodes[2].server().publish_with("room", vec![0u8, 1, 2], Opcode::Binary, Flags::FIN | Flags::COMPRESS);
        assert_eq!(sent, 2, "local subscribers of node 2");
        for client in &mut clients {
            let frame = client.data_frame();
            assert_eq!((frame.opcode, &frame.data[..]), (Opcode::Binary, &[0u8, 1, 2][..]));
        }
        nodes[0].server().publish("elsewhere", "only for the other");
        assert_eq!(text(&mut other), "only for the other");
    });
}

#[test]
fn push_disconnect_and_exist_by_cluster_id_cross_nodes() {
    with_deadline("push_disconnect_and_exist_by_cluster_id_cross_nodes", || {
        let Some(redis) = Redis::start() else { return };
        let nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis)).collect();
        wait_connected(&nodes.iter().collect::<Vec<_>>());
        let (mut sender, _) = nodes[0].client("t");
        let (mut receiver, id) = nodes[2].client("t");
        assert_eq!(id.node, nodes[2].server().node_id());

        sender.send_text(&format!("push:{id}:across the cluster"));
        assert_eq!(text(&mut receiver), "across the cluster");
        nodes[1].server().push_to(id, "from node 1").expect("queued");
        assert_eq!(text(&mut receiver), "from node 1");

        eventually("the registry knows the connection", || {
            block_on(nodes[0].server().exist_in_cluster(id)) == Ok(true)
        });
        let unknown = ClusterFd { node: id.node, fd: ws_proto::Fd(id.fd.0 + 1000) };
        assert_eq!(block_on(nodes[0].server().exist_in_cluster(unknown)), Ok(false));

        nodes[1].server().disconnect_to(id, 4000, "bye").expect("queued");
        assert_eq!(receiver.close_code(), Some(4000));
        eventually("a closed connection leaves the registry", || {
            block_on(nodes[0].server().exist_in_cluster(id)) == Ok(false)
        });
    });
}

#[test]
fn a_node_stopped_without_warning_drops_out_of_the_registry() {
    with_deadline("a_node_stopped_without_warning_drops_out_of_the_registry", || {
        let Some(redis) = Redis::start() else { return };
        let alive = Node::start(&redis);
        let dying = Node::start(&redis);
        let leaving = Node::start(&redis);
        wait_connected(&[&alive, &dying, &leaving]);
        let (_client, id) = dying.client("t");
        let (_other, left) = leaving.client("t");
        let key = format!("ws:node:{}", id.node);
        eventually("registered", || {
            block_on(alive.server().exist_in_cluster(id)) == Ok(true)
                && block_on(alive.server().exist_in_cluster(left)) == Ok(true)
        });

        // A clean stop deletes the registration at once.
        leaving.broker.stop();
        assert_eq!(block_on(alive.server().exist_in_cluster(left)), Ok(false));

        // A crash leaves it to expire (ttl 600 ms here): no heartbeat, no cleanup.
        dying.broker.kill();
        assert_eq!(redis.query::<bool>(redis::cmd("EXISTS").arg(&key)), Ok(true), "still there right after");
        eventually("the dead node's registration expired", || {
            redis.query::<bool>(redis::cmd("EXISTS").arg(&key)) == Ok(false)
                && redis.query::<bool>(redis::cmd("EXISTS").arg(format!("{key}:fds"))) == Ok(false)
        });
        assert_eq!(block_on(alive.server().exist_in_cluster(id)), Ok(false));
        // The dead node's broker refuses remote work at once.
        let remote = alive.server().cluster_id(ws_proto::Fd(1));
        assert_eq!(dying.server().push_to(remote, "x"), Err(ClusterError::Broker(BrokerError::Down)));
    });
}

#[test]
fn redis_restarted_mid_test_is_survived() {
    with_deadline("redis_restarted_mid_test_is_survived", || {
        let Some(mut redis) = Redis::start() else { return };
        let a = Node::start(&redis);
        let b = Node::start(&redis);
        wait_connected(&[&a, &b]);
        let (mut on_a, id_a) = a.client("news");
        let (mut on_b, id_b) = b.client("news");
        wait_for_subscribers(&redis, "news", 2);
        a.server().publish("news", "before");
        assert_eq!((text(&mut on_a), text(&mut on_b)), ("before".to_owned(), "before".to_owned()));

        redis.kill();
        eventually("both brokers noticed", || !a.broker.is_connected() && !b.broker.is_connected());
        // Local delivery goes on; remote operations fail at once.
        assert_eq!(a.server().publish("news", "local only"), 1);
        assert_eq!(text(&mut on_a), "local only");
        let started = Instant::now();
        assert_eq!(a.server().publish_checked("news", "x", Opcode::Text, Flags::FIN), Err((BrokerError::Down, 1)));
        assert_eq!(text(&mut on_a), "x");
        assert_eq!(a.server().push_to(id_b, "x"), Err(ClusterError::Broker(BrokerError::Down)));
        assert_eq!(block_on(a.server().exist_in_cluster(id_b)), Err(ClusterError::Broker(BrokerError::Down)));
        a.server().push_to(id_a, "local push by cluster id").expect("local");
        assert_eq!(text(&mut on_a), "local push by cluster id");
        assert!(started.elapsed() < Duration::from_secs(1), "remote operations failed fast");

        redis.spawn(); // same port, empty: nothing persisted
        wait_connected(&[&a, &b]);
        wait_for_subscribers(&redis, "news", 2);
        b.server().publish("news", "after the restart");
        assert_eq!(text(&mut on_a), "after the restart");
        assert_eq!(text(&mut on_b), "after the restart");
        // The registry was rebuilt from the nodes' connections.
        eventually("registered again", || block_on(a.server().exist_in_cluster(id_b)) == Ok(true));
        a.server().push_to(id_b, "pushed after the restart").expect("queued");
        assert_eq!(text(&mut on_b), "pushed after the restart");
    });
}
