//! The behaviour suite of `ws_proto::server`, written once, generic over the runtime, and
//! instantiated per adapter by [`suite!`]:
//!
//! ```ignore
//! // ws-tokio/tests/suite.rs
//! ws_testsuite::suite!(ws_tokio::Tokio);
//! ```
//!
//! Every case runs over real TCP on `127.0.0.1:0`, with deadlines: sockets time out, and
//! the server is shut down (and must stop) when the case ends.

mod cases_api;
mod cases_delivery;
mod cases_events;
mod cases_hostile;
mod cases_limits;
mod cases_settings;
mod cases_topics;
mod counting;
mod raw;

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use counting::{Counting, CountingListener, CountingStream};
pub use raw::{Raw, upgrade_request};
use ws_proto::server::{Runtime, Server, Settings};

/// The cases, by name, for [`suite!`].
pub mod cases {
    pub use crate::cases_api::*;
    pub use crate::cases_delivery::*;
    pub use crate::cases_events::*;
    pub use crate::cases_hostile::*;
    pub use crate::cases_limits::*;
    pub use crate::cases_settings::*;
    pub use crate::cases_topics::*;
    pub use crate::counting::pushes_between_yields_go_out_in_one_write;
}

/// Instantiates every case of the suite as a `#[test]` for a runtime type
/// (`Runtime + Default`).
#[macro_export]
macro_rules! suite {
    ($runtime:ty) => {
        $crate::suite!(@cases $runtime;
            echo_text_and_binary,
            callbacks_run_in_order_under_many_connections,
            ping_is_answered_automatically,
            ping_reaches_on_message_with_open_websocket_ping_frame,
            pong_reaches_on_message_only_when_asked,
            close_frame_reaches_on_message_then_the_handshake_completes,
            close_frame_callback_may_disconnect_instead,
            fragmented_message_arrives_whole,
            invalid_utf8_closes_with_1007,
            protocol_violation_closes_with_1002,
            message_over_package_max_length_closes_with_1009,
            compression_is_negotiated_only_when_on_and_offered,
            compress_flag_without_negotiation_sends_plain,
            plain_http_without_on_request_gets_400,
            one_worker_start_serves_other_threads_and_stops,
            on_request_serves_keep_alive_requests,
            on_handshake_replaces_the_handshake_and_defer_pushes,
            on_before_handshake_response_adds_headers,
            invalid_upgrades_are_rejected,
            disconnect_validates_code_and_reason,
            queries_report_connection_state,
            on_disconnect_fires_for_http_connections,
            on_request_served_connections_fire_no_close_callback,
            send_raw_and_close,
            push_from_another_thread,
            pushed_text_is_checked_unless_it_is_the_message_echoed,
            broadcast_reaches_every_connection,
            timers_tick_after_and_clear,
            shutdown_closes_with_1001_and_stops,
            stats_count_connections_and_messages,
            start_without_on_message_fails,
            max_connection_refuses_extra_connections,
            buffer_output_size_bounds_a_client_that_never_reads,
            handshake_timeout_cuts_off_a_dribbling_client,
            heartbeat_closes_idle_connections,
            ping_interval_pings_quiet_connections,
            client_upgrade_push_recv_close,
            client_compression_round_trip,
            client_ping_gets_pong,
            serve_upgraded_takes_over_a_foreign_upgrade,
            topics_subscribe_publish_unsubscribe,
            topics_closed_connection_leaves_its_topics,
            topics_publish_to_many_subscribers_frames_once,
            topics_publish_compresses_once,
            cluster_ids_without_a_broker_fail_fast_for_remote_nodes,
            topics_a_text_from_another_node_is_checked,
            hostile_dribbled_handshake_is_cut_at_handshake_timeout,
            hostile_64_kib_of_headers_are_rejected_and_closed,
            hostile_frame_header_claiming_2_pow_63_closes_without_allocating,
            hostile_compression_bomb_closes_with_1009_and_memory_stays_bounded,
            hostile_invalid_utf8_mid_message_closes_with_1007_at_once,
            hostile_ten_thousand_dropped_connections_leave_nothing_behind,
            hostile_client_that_never_reads_gets_buffer_full,
            hostile_ping_flood_is_answered_or_cut_with_memory_bounded,
            hostile_ping_flood_pauses_reading_whatever_the_output_limit,
            websocket_subprotocol_is_named_only_when_offered,
            client_info_tells_http_from_websocket,
            max_frame_size_closes_with_1009_and_fragments_pass,
            heartbeat_check_interval_alone_closes_after_twice_the_interval,
            client_timeout_bounds_an_upgrade_without_answer,
            client_subprotocols_and_headers_reach_the_server,
            push_with_fragments_by_hand,
            broadcast_frames_once,
            kept_messages_stay_intact_while_more_arrive,
        );
    };
    (@cases $runtime:ty; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::with_deadline(stringify!($case), $crate::cases::$case::<$runtime>);
            }
        )*
    };
}

/// Instantiates the cases of `Runtime::block_on` as `#[test]`s for a runtime type; each
/// adapter runs them in a test binary of their own (see
/// [`cases::block_on_runs_main_beside_its_tasks`]).
#[macro_export]
macro_rules! block_on_cases {
    ($runtime:ty) => {
        $crate::suite!(@cases $runtime;
            block_on_runs_main_beside_its_tasks,
            block_on_passes_a_panic_of_main_to_the_caller,
        );
    };
}

/// Instantiates [`cases::pushes_between_yields_go_out_in_one_write`] as a `#[test]` for a
/// runtime type whose executor runs woken tasks in order, served by its own `block_on` with
/// one worker. Each adapter runs it in a test binary of its own (async-std's global
/// executor takes its thread count from its first use).
#[macro_export]
macro_rules! in_order_cases {
    ($runtime:ty) => {
        #[test]
        fn pushes_between_yields_go_out_in_one_write() {
            $crate::with_deadline("pushes_between_yields_go_out_in_one_write", || {
                $crate::cases::pushes_between_yields_go_out_in_one_write::<$runtime>($crate::serve_with_block_on(1));
            });
        }
    };
}

/// For [`TestServer::start_with`]: serves the listener with the runtime's own `block_on` on
/// `workers` threads until the server is shut down, and says how that went.
pub fn serve_with_block_on<R: Runtime>(
    workers: usize,
) -> impl FnOnce(Server<R>, TcpListener) -> String + Send + 'static {
    move |server, listener| {
        let runtime = server.runtime().clone();
        format!("{:?}", runtime.block_on(workers, async move { server.serve(listener).await }))
    }
}

/// Runs `case` on its own thread and fails if it takes longer than [`CASE_DEADLINE`].
///
/// # Panics
/// When the case panics or overruns.
pub fn with_deadline(name: &str, case: fn()) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        case();
        let _ = tx.send(());
    });
    match rx.recv_timeout(CASE_DEADLINE) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: no result within {CASE_DEADLINE:?}"),
    }
}

/// A server running on its own thread, on `127.0.0.1:0`; shut down (and required to stop)
/// on drop.
pub struct TestServer<R: Runtime> {
    /// The server handle.
    pub server: Server<R>,
    /// Where it listens.
    pub addr: SocketAddr,
    done: mpsc::Receiver<String>,
}

impl<R: Runtime + Default> TestServer<R> {
    /// Starts a server with `settings` (a short shutdown grace period unless set), after
    /// `setup` registered its callbacks.
    ///
    /// # Panics
    /// When the port cannot be bound.
    pub fn start(settings: Settings, setup: impl FnOnce(&Server<R>)) -> TestServer<R> {
        TestServer::start_with(Settings { worker_num: 2, ..settings }, setup, serve_with_block_on(2))
    }

    /// [`TestServer::start`], with `serve` running the server on its own thread until it is
    /// shut down (and returning how that went), e.g. inside a runtime built by the test.
    ///
    /// # Panics
    /// When the port cannot be bound.
    pub fn start_with(
        settings: Settings,
        setup: impl FnOnce(&Server<R>),
        serve: impl FnOnce(Server<R>, TcpListener) -> String + Send + 'static,
    ) -> TestServer<R> {
        let server = Server::<R>::new("127.0.0.1", 0);
        let shutdown_timeout = if settings.shutdown_timeout == Settings::default().shutdown_timeout {
            Duration::from_millis(300)
        } else {
            settings.shutdown_timeout
        };
        server.set(Settings { shutdown_timeout, ..settings });
        setup(&server);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let (tx, done) = mpsc::channel();
        let serving = server.clone();
        std::thread::spawn(move || {
            let _ = tx.send(serve(serving, listener));
        });
        TestServer { server, addr, done }
    }

    /// A raw client that completed the upgrade.
    pub fn raw(&self) -> Raw {
        Raw::upgrade(self.addr, "/", &[])
    }
}

impl<R: Runtime> Drop for TestServer<R> {
    fn drop(&mut self) {
        self.server.shutdown();
        let stopped = self.done.recv_timeout(Duration::from_secs(5));
        if !std::thread::panicking() {
            assert!(stopped.is_ok(), "server did not stop after shutdown");
        }
    }
}

/// A log of what callbacks saw, shared with them.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Appends an entry.
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry.into());
    }

    /// A copy of the entries.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Waits (up to 5 s) until `done` holds for the entries, and returns them.
    ///
    /// # Panics
    /// When it never does.
    pub fn wait(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let entries = self.entries();
            if done(&entries) {
                return entries;
            }
            assert!(Instant::now() < deadline, "log never satisfied the condition: {entries:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until an entry equals `entry`.
    pub fn wait_for(&self, entry: &str) -> Vec<String> {
        self.wait(|entries| entries.iter().any(|e| e == entry))
    }
}

/// Waits (up to 5 s) until `done` is true.
///
/// # Panics
/// When it never is.
pub fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The longest a case may run.
pub const CASE_DEADLINE: Duration = Duration::from_secs(30);
