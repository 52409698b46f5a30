//! Family 4: reserved opcodes 0x3–0x7 (data) and 0xB–0xF (control) (RFC 6455 §5.2): the
//! peer must fail the connection with 1002.

use super::Case;
use crate::session::Session;
use crate::wire::{OutFrame, op};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (group, opcodes) in [(1, [3u8, 4, 5, 6, 7]), (2, [0xB, 0xC, 0xD, 0xE, 0xF])] {
        for (i, opcode) in opcodes.into_iter().enumerate() {
            // Alternate: alone and empty, or between a valid message and a ping, with a payload.
            let in_stream = i % 2 == 1;
            let description = if in_stream {
                format!("a valid text message, a frame with reserved opcode {opcode:#x} and a payload, a ping")
            } else {
                format!("a frame with reserved opcode {opcode:#x} and no payload")
            };
            let expectation =
                if in_stream { "the text echoed, then fail with 1002; the ping unanswered" } else { "fail with 1002" };
            cases.push(Case::new(format!("4.{group}.{}", i + 1), description, expectation, move |s: &mut Session| {
                if in_stream {
                    s.send(&OutFrame::text("Hello"));
                    s.expect_message(op::TEXT, b"Hello")?;
                    s.send(&OutFrame::new(opcode, b"reserved".to_vec()));
                    s.send(&OutFrame::ping(b"after".to_vec()));
                } else {
                    s.send(&OutFrame::new(opcode, Vec::new()));
                }
                s.expect_failure(&[1002])
            }));
        }
    }
    cases
}
