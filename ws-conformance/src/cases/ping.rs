//! Family 2: pings and pongs (RFC 6455 §5.5.2, §5.5.3).

use std::time::Duration;

use super::{Case, binary_payload};
use crate::session::{Event, Session};
use crate::verdict::{Outcome, Step};
use crate::wire::OutFrame;

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let pings: [(&str, Vec<u8>); 5] = [
        ("no payload", Vec::new()),
        ("a text payload", b"Hello, world!".to_vec()),
        ("a binary payload", vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]),
        ("a 125-byte payload (the most a control frame holds)", binary_payload(125)),
        ("a 1-byte payload", vec![0x2a]),
    ];
    for (i, (what, payload)) in pings.into_iter().enumerate() {
        cases.push(Case::new(
            format!("2.{}", i + 1),
            format!("a ping with {what}"),
            "a pong with the same payload (RFC 6455 §5.5.3), then a clean close",
            move |s: &mut Session| {
                s.send(&OutFrame::ping(payload.clone()));
                s.expect_pong(&payload)?;
                s.close_normally()
            },
        ));
    }
    cases.push(Case::new(
        "2.6",
        "a ping with a 126-byte payload",
        "fail with 1002 (RFC 6455 §5.5: control frames carry at most 125 bytes)",
        |s: &mut Session| {
            s.send(&OutFrame::ping(binary_payload(126)));
            s.expect_failure(&[1002])
        },
    ));
    cases.push(Case::new(
        "2.7",
        "a ping with a 125-byte payload, written one byte at a time",
        "a pong with the same payload, then a clean close",
        |s: &mut Session| {
            let payload = binary_payload(125);
            s.send_chopped(&OutFrame::ping(payload.clone()), 1);
            s.expect_pong(&payload)?;
            s.close_normally()
        },
    ));
    cases.push(Case::new(
        "2.8",
        "an unsolicited pong with no payload",
        "ignored (RFC 6455 §5.5.3: no response expected), then a clean close",
        |s: &mut Session| {
            s.send(&OutFrame::pong(Vec::new()));
            s.expect_quiet(QUIET)?;
            s.close_normally()
        },
    ));
    cases.push(Case::new(
        "2.9",
        "an unsolicited pong with a payload, then a ping",
        "the pong ignored, the ping answered with its own payload",
        |s: &mut Session| {
            s.send(&OutFrame::pong(b"unsolicited pong payload".to_vec()));
            s.send(&OutFrame::ping(b"ping payload".to_vec()));
            s.expect_pong(b"ping payload")?;
            s.expect_quiet(QUIET)?;
            s.close_normally()
        },
    ));
    cases.push(Case::new(
        "2.10",
        "10 pings in a row, each with its own payload",
        "10 pongs, each with the matching payload, in order",
        |s: &mut Session| many_pings(s, None),
    ));
    cases.push(Case::new(
        "2.11",
        "10 pings in a row, each written one byte at a time",
        "10 pongs, each with the matching payload, in order",
        |s: &mut Session| many_pings(s, Some(1)),
    ));
    cases
}

fn many_pings(s: &mut Session, chunk: Option<usize>) -> Step<Outcome> {
    let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
    for p in &payloads {
        match chunk {
            Some(c) => s.send_chopped(&OutFrame::ping(p.clone()), c),
            None => s.send(&OutFrame::ping(p.clone())),
        }
    }
    // RFC 6455 §5.5.3 lets an endpoint answer only the most recent of several pings it has
    // not answered yet: a subset ending with the last is NON-STRICT, anything else FAILED.
    let mut seen = Vec::new();
    while seen.last() != payloads.last() {
        match s.recv_event()? {
            Some(Event::Pong(p)) => seen.push(p),
            Some(Event::Ping(_)) => {}
            None => return Err(Outcome::failed(format!("timed out after {} of 10 pongs", seen.len()))),
            Some(other) => return Err(Outcome::failed(format!("expected pongs, got {other:?}"))),
        }
    }
    let close = s.close_normally()?;
    if seen == payloads {
        return Ok(close);
    }
    let mut expected = payloads.iter();
    if seen.iter().all(|p| expected.any(|e| e == p)) {
        return Ok(
            close.worst(Outcome::non_strict(format!("answered {} of 10 pings (allowed: RFC 6455 §5.5.3)", seen.len())))
        );
    }
    Ok(Outcome::failed("pongs out of order or with payloads that match no ping"))
}

const QUIET: Duration = Duration::from_millis(500);
