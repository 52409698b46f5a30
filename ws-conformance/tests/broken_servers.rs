//! The suite fails broken servers on the right cases, and passes the strict reference.
//!
//! Pure Rust: the reference echo server runs in-process on 127.0.0.1 with a port chosen by
//! the OS; the CLI test starts the binary as a child that a guard kills on drop.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ws_conformance::echo::{EchoServer, Fault};
use ws_conformance::runner::{Target, run_all};
use ws_conformance::{CaseResult, Verdict, cases};

/// Runs the selected cases against a reference server with `faults`, with short deadlines.
fn run(faults: &[Fault], selectors: &str) -> BTreeMap<String, CaseResult> {
    let server = EchoServer::spawn("127.0.0.1:0", faults).expect("bind 127.0.0.1:0");
    let target = Target::parse(&format!("ws://{}/", server.addr())).expect("url");
    let mut selected = cases::select(selectors);
    assert!(!selected.is_empty(), "{selectors} selects nothing");
    for case in &mut selected {
        // A broken server that never fails the connection costs the whole deadline.
        case.deadline = case.deadline.min(Duration::from_secs(3));
    }
    run_all(&target, &selected, |_, _| {}).into_iter().map(|r| (r.id.clone(), r)).collect()
}

fn assert_verdicts(results: &BTreeMap<String, CaseResult>, prefix: &str, want: Verdict) {
    let picked: Vec<&CaseResult> =
        results.values().filter(|r| r.id == prefix || r.id.starts_with(&format!("{prefix}."))).collect();
    assert!(!picked.is_empty(), "no case under {prefix}");
    for r in picked {
        assert_eq!(r.verdict, want, "{} ({}): {}\n{:#?}", r.id, r.description, r.reason, r.trace);
    }
}

#[test]
fn strict_reference_passes_every_case() {
    let results = run(&[], "1,2,3,4,5,6,7,13.7.2");
    for r in results.values() {
        assert_eq!(r.verdict, Verdict::Ok, "{} ({}): {}\n{:#?}", r.id, r.description, r.reason, r.trace);
    }
}

#[test]
fn ignoring_rsv_bits_fails_family_3_only() {
    let results = run(&[Fault::IgnoreRsv], "1.1,2,3,5,13.7.2");
    assert_verdicts(&results, "3", Verdict::Failed);
    assert_verdicts(&results, "13.7.2", Verdict::Failed);
    for ok in ["1.1", "2", "5"] {
        assert_verdicts(&results, ok, Verdict::Ok);
    }
}

#[test]
fn skipping_utf8_validation_fails_invalid_utf8_cases() {
    let results = run(&[Fault::SkipUtf8], "6,7.5.1,7.7.1");
    for failed in ["6.3", "6.4", "6.5", "7.5.1"] {
        assert_verdicts(&results, failed, Verdict::Failed);
    }
    for ok in ["6.1", "6.2", "7.7.1"] {
        assert_verdicts(&results, ok, Verdict::Ok);
    }
}

#[test]
fn echoing_invalid_close_codes_fails_family_7_9() {
    let results = run(&[Fault::EchoAnyCloseCode], "7.7,7.9,7.3.2");
    assert_verdicts(&results, "7.9", Verdict::Failed);
    assert_verdicts(&results, "7.3.2", Verdict::Failed);
    assert_verdicts(&results, "7.7", Verdict::Ok);
}

/// Kills the child on drop, so a failing assertion leaves no process behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ChildGuard {
    fn wait_with_deadline(&mut self, deadline: Duration) -> std::process::ExitStatus {
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < until, "ws-conformance did not finish within {deadline:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn cli(args: &[&str]) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_ws-conformance"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ws-conformance");
    ChildGuard(child)
}

#[test]
fn cli_exit_status_and_reports() {
    let dir = std::env::temp_dir().join(format!("ws-conformance-test-{}", std::process::id()));
    let good = EchoServer::spawn("127.0.0.1:0", &[]).expect("bind");
    let url = format!("ws://{}/", good.addr());
    let dir_arg = dir.to_string_lossy().to_string();
    let status = cli(&[&url, "--cases", "1.1.1,2.1,7.7.1", "--report-dir", &dir_arg])
        .wait_with_deadline(Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report.json")).expect("json");
    assert_eq!(json["results"].as_array().map(Vec::len), Some(3));
    assert!(std::fs::read_to_string(dir.join("index.html")).expect("index.html").contains("7.7.1"));
    let _ = std::fs::remove_dir_all(&dir);

    let broken = EchoServer::spawn("127.0.0.1:0", &[Fault::EchoAnyCloseCode]).expect("bind");
    let url = format!("ws://{}/", broken.addr());
    let status = cli(&[&url, "--cases", "7.9.1"]).wait_with_deadline(Duration::from_secs(60));
    assert_eq!(status.code(), Some(1), "FAILED must give a non-zero exit");
}
