//! Family 1: framing. Text and binary messages of every length form (RFC 6455 §5.2), sent
//! whole and chopped into small writes, and frames with wrong masking or lengths.

use super::{Case, binary_payload, echo_then_close, text_payload};
use crate::session::{Event, Session};
use crate::verdict::{Outcome, Step};
use crate::wire::{OutFrame, op};
use ws_proto::Role;

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (group, opcode, name) in [(1, op::TEXT, "text"), (2, op::BINARY, "binary")] {
        let mut n = 0;
        for len in LENGTHS {
            n += 1;
            cases.push(echo_case(format!("1.{group}.{n}"), opcode, name, len, None));
        }
        for (len, chunk) in CHOPPED {
            n += 1;
            cases.push(echo_case(format!("1.{group}.{n}"), opcode, name, len, Some(chunk)));
        }
    }
    cases.push(Case::new(
        "1.3.1",
        "a text frame with the wrong masking: unmasked from a client, masked from a server",
        "fail with 1002 (RFC 6455 §5.1)",
        |s: &mut Session| {
            let wrong = s.role() == Role::Server;
            s.send(&OutFrame::text("Hello").masked(wrong));
            s.expect_failure(&[1002])
        },
    ));
    cases.push(Case::new(
        "1.3.2",
        "a 5-byte text frame whose length uses the 16-bit form",
        "fail with 1002 (RFC 6455 §5.2: the minimal number of bytes MUST be used)",
        |s: &mut Session| {
            let masked = s.role() == Role::Client;
            let mut raw = vec![0x81, 0x7e | if masked { 0x80 } else { 0 }, 0x00, 0x05];
            if masked {
                raw.extend_from_slice(&[0, 0, 0, 0]);
            }
            raw.extend_from_slice(b"Hello");
            s.send_raw(&raw, "TEXT fin len=5 in the 16-bit length form, mask key 0");
            lenient_echo(s, b"Hello", "accepted a non-minimal length encoding")
        },
    ));
    cases.push(Case::new(
        "1.3.3",
        "a binary frame whose 64-bit length has the most significant bit set",
        "fail with 1002 (RFC 6455 §5.2: the most significant bit MUST be 0); 1009 accepted",
        |s: &mut Session| {
            let masked = s.role() == Role::Client;
            let mut raw = vec![0x82, 0x7f | if masked { 0x80 } else { 0 }, 0x80, 0, 0, 0, 0, 0, 0, 0x10];
            if masked {
                raw.extend_from_slice(&[0, 0, 0, 0]);
            }
            raw.extend_from_slice(&[0; 16]);
            s.send_raw(&raw, "BINARY fin with length 2^63 + 16");
            s.expect_failure(&[1002, 1009])
        },
    ));
    cases
}

fn echo_case(id: String, opcode: u8, name: &'static str, len: usize, chunk: Option<usize>) -> Case {
    let how = match chunk {
        Some(c) => format!(", written in pieces of {c} bytes"),
        None => String::new(),
    };
    Case::new(id, format!("one {name} message of {len} bytes{how}"), "echoed unchanged, then a clean close", move |s| {
        let payload = if opcode == op::TEXT { text_payload(len) } else { binary_payload(len) };
        let frame = OutFrame::new(opcode, payload.clone());
        match chunk {
            Some(c) => s.send_chopped(&frame, c),
            None => s.send(&frame),
        }
        echo_then_close(s, &[(opcode, payload)])
    })
}

/// A frame a strict peer rejects but a lenient one may accept: 1002 is OK, an echo is
/// NON-STRICT, anything else fails.
fn lenient_echo(s: &mut Session, payload: &[u8], lenient: &str) -> Step<Outcome> {
    loop {
        match s.recv_event()? {
            Some(Event::Message(m)) if m.payload == payload => {
                let outcome = s.close_normally()?;
                return Ok(Outcome::non_strict(lenient).worst(outcome));
            }
            Some(Event::Ping(_) | Event::Pong(_)) => {}
            Some(Event::Close(Some(1002), _)) => {
                return Ok(s.answer_close(1002));
            }
            other => return Err(Outcome::failed(format!("expected 1002 or the echo, got {other:?}"))),
        }
    }
}

const LENGTHS: [usize; 8] = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20];
const CHOPPED: [(usize, usize); 3] = [(127, 1), (65536, 997), (1 << 20, 65521)];
