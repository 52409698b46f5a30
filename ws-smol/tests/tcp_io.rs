//! `TcpIo` skips the read that would fail after a short read and only re-arms the
//! reactor: data that arrives before or after that re-arm must still be read.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use smol::{Async, Timer};
use ws_proto::server::Stream;
use ws_smol::TcpIo;

fn pair() -> (TcpIo, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (TcpIo::new(Async::new(server).unwrap()), client)
}

/// Reads once, failing after five seconds (a missed readiness would hang here).
async fn read(io: &mut TcpIo, buf: &mut [u8]) -> usize {
    let read = std::future::poll_fn(|cx| io.poll_read(cx, buf));
    let timeout = async {
        Timer::after(Duration::from_secs(5)).await;
        panic!("the read never woke up");
    };
    smol::future::or(read, timeout).await.unwrap()
}

/// A waker that records whether it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls by hand (no executor that might poll again anyway): a read that returns
/// `Pending` must have armed a wake-up that comes once data is there.
fn poll_until_ready(io: &mut TcpIo, buf: &mut [u8]) -> usize {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(result) = io.poll_read(&mut cx, buf) {
            return result.unwrap();
        }
        // The async-io thread drives the reactor while no `block_on` runs.
        while !flag.0.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the read never woke up");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn data_that_came_before_the_re_arm_is_read() {
    let (mut io, mut client) = pair();
    let mut buf = [0u8; 64];
    for round in 0..20u8 {
        // A read that waits, then is woken by the reactor: its readiness is recorded.
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            client.write_all(&[round]).unwrap();
            client
        });
        assert_eq!(poll_until_ready(&mut io, &mut buf), 1);
        client = writer.join().unwrap();
        // The read was short. More comes before the next read is polled: that read finds
        // the old readiness, then must re-arm, and wake once it sees these bytes.
        client.write_all(&[round; 2]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        let n = poll_until_ready(&mut io, &mut buf);
        assert_eq!(&buf[..n], [round; 2]);
    }
}

#[test]
fn data_that_comes_after_the_re_arm_wakes_the_reader() {
    smol::block_on(async {
        let (mut io, client) = pair();
        let mut buf = [0u8; 64];
        let writer = std::thread::spawn(move || {
            let mut client = client;
            for round in 0..20u8 {
                std::thread::sleep(Duration::from_millis(5));
                client.write_all(&[round]).unwrap();
            }
            client
        });
        // One byte per write, 5 ms apart; on a busy machine two may arrive in one read.
        let mut got = Vec::new();
        while got.len() < 20 {
            let n = read(&mut io, &mut buf).await;
            assert!(n > 0, "end of stream after {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, (0..20u8).collect::<Vec<_>>());
        drop(writer.join().unwrap());
        assert_eq!(read(&mut io, &mut buf).await, 0, "end of stream");
    });
}
