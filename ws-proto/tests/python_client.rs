//! A real third-party client (Python `websockets`) against the `blocking_echo` example,
//! over real TCP on 127.0.0.1: text, binary, 1 MiB, fragments, ping, close code and
//! reason, with and without compression.
//!
//! Needs `python3 -m pip install websockets`. Under CI (`CI=true`) a missing package is a
//! failure; elsewhere the test says so and passes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child when dropped, so no test leaves a process behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/python_client-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples").join(name)
}

fn python_has_websockets() -> bool {
    Command::new("python3")
        .args(["-c", "import websockets.sync.client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run_client(extra: &[&str]) {
    if !python_has_websockets() {
        assert!(std::env::var_os("CI").is_none(), "CI must install Python websockets");
        eprintln!("skipped: Python websockets is not installed (python3 -m pip install websockets)");
        return;
    }
    let mut server = Guard(
        Command::new(example("blocking_echo"))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the blocking_echo example is built by cargo test"),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(line.contains("listening"), "{line}");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/echo_client.py");
    let mut client =
        Guard(Command::new("python3").arg(script).arg(format!("ws://{addr}/")).args(extra).spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = client.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "python client timed out");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "python websockets client failed: {status}");
}

#[test]
fn python_websockets_client_against_blocking_echo() {
    run_client(&[]);
}

#[test]
fn python_websockets_client_with_compression() {
    run_client(&["--compression"]);
}
