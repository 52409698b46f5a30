//! Family 10: auto-fragmentation. A peer may fragment its echo (RFC 6455 §5.4); the suite
//! joins the fragments and reports how many there were.

use super::Case;
use super::limits::{deadline, payload, size, size_limit};
use crate::session::Session;
use crate::verdict::Outcome;
use crate::wire::{OutFrame, op};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, (opcode, len)) in [(op::TEXT, 65536), (op::BINARY, 1 << 20), (op::TEXT, 8 << 20)].into_iter().enumerate() {
        cases.push(
            Case::new(
                format!("10.1.{}", i + 1),
                format!("one {} message of {} in a single frame", crate::wire::opcode_name(opcode), size(len)),
                "echoed whole; the peer may fragment its echo (RFC 6455 §5.4)",
                move |s: &mut Session| {
                    let payload = payload(opcode, len);
                    s.send(&OutFrame::new(opcode, payload.clone()));
                    let msg = s.expect_message(opcode, &payload).map_err(|e| size_limit(s, e))?;
                    let close = s.close_normally()?;
                    Ok(close.worst(Outcome::informational(format!("echoed in {} frame(s)", msg.frames))))
                },
            )
            .deadline(deadline(len)),
        );
    }
    cases
}
