//! Family 3: reserved bits. RSV1–3 set with no extension negotiated (RFC 6455 §5.2): the peer
//! must fail the connection with 1002 and must not deliver the frame first.

use super::Case;
use crate::session::Session;
use crate::wire::{OutFrame, op, rsv};

pub(super) fn cases() -> Vec<Case> {
    // (rsv bits, opcode, preceded by a valid text message, written in 1-byte pieces)
    let table: [(u8, u8, bool, bool); 8] = [
        (rsv::RSV1, op::TEXT, false, false),
        (rsv::RSV2, op::TEXT, true, false),
        (rsv::RSV1 | rsv::RSV2, op::TEXT, true, true),
        (rsv::RSV3, op::BINARY, false, false),
        (rsv::RSV1 | rsv::RSV3, op::BINARY, true, false),
        (rsv::RSV2 | rsv::RSV3, op::PING, false, false),
        (rsv::RSV1 | rsv::RSV2 | rsv::RSV3, op::CLOSE, false, false),
        (rsv::RSV1, op::PING, true, false),
    ];
    let mut cases = Vec::new();
    for (i, (bits, opcode, after_valid, chopped)) in table.into_iter().enumerate() {
        let name = crate::wire::opcode_name(opcode);
        let mut description = format!("a {name} frame with RSV={:#x} and no extension", bits >> 4);
        if after_valid {
            description.push_str(", after a valid text message");
        }
        if chopped {
            description.push_str(", written one byte at a time");
        }
        let expectation = if after_valid {
            "the valid message echoed, then fail with 1002 without echoing the bad frame"
        } else {
            "fail with 1002 at once, echoing nothing"
        };
        cases.push(Case::new(format!("3.{}", i + 1), description, expectation, move |s: &mut Session| {
            if after_valid {
                s.send(&OutFrame::text("Hello, world!"));
                s.expect_message(op::TEXT, b"Hello, world!")?;
            }
            let payload: &[u8] = if opcode == op::CLOSE { &[0x03, 0xe8] } else { b"Hello, world!" };
            let frame = OutFrame::new(opcode, payload.to_vec()).rsv(bits);
            if chopped {
                s.send_chopped(&frame, 1);
            } else {
                s.send(&frame);
            }
            s.send(&OutFrame::ping(b"after".to_vec()));
            s.expect_failure(&[1002])
        }));
    }
    cases
}
