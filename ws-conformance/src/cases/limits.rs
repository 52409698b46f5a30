//! Family 9: limits and speed. Big messages (up to 16 MiB), many small ones, fragmented and
//! chopped: each echo is checked, and the time is reported as INFORMATIONAL.

use std::time::{Duration, Instant};

use super::{Case, binary_payload, text_payload};
use crate::session::Session;
use crate::verdict::{Outcome, Step};
use crate::wire::{OutFrame, op};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (group, opcode) in [(1, op::TEXT), (2, op::BINARY)] {
        for (i, len) in BIG.into_iter().enumerate() {
            cases.push(
                timed(format!("9.{group}.{}", i + 1), opcode, format!("one message of {}", size(len)), move |s| {
                    let payload = payload(opcode, len);
                    let start = Instant::now();
                    s.send(&OutFrame::new(opcode, payload.clone()));
                    s.expect_message(opcode, &payload)?;
                    Ok(start.elapsed())
                })
                .deadline(deadline(len)),
            );
        }
    }
    for (group, opcode) in [(3, op::TEXT), (4, op::BINARY)] {
        for (i, frame) in FRAGMENTS.into_iter().enumerate() {
            let len = 4 << 20;
            cases.push(
                timed(
                    format!("9.{group}.{}", i + 1),
                    opcode,
                    format!("one 4 MiB message in fragments of {}", size(frame)),
                    move |s| {
                        let payload = payload(opcode, len);
                        let chunks: Vec<&[u8]> = payload.chunks(frame).collect();
                        let last = chunks.len().saturating_sub(1);
                        let frames: Vec<OutFrame> = chunks
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                OutFrame::new(if i == 0 { opcode } else { op::CONTINUATION }, c.to_vec()).fin(i == last)
                            })
                            .collect();
                        let start = Instant::now();
                        s.send_batch(&frames);
                        s.expect_message(opcode, &payload)?;
                        Ok(start.elapsed())
                    },
                )
                .deadline(Duration::from_secs(60)),
            );
        }
    }
    for (i, chunk) in CHOPS.into_iter().enumerate() {
        cases.push(
            timed(
                format!("9.5.{}", i + 1),
                op::TEXT,
                format!("one 1 MiB text message written in pieces of {}", size(chunk)),
                move |s| {
                    let payload = text_payload(1 << 20);
                    let start = Instant::now();
                    s.send_chopped(&OutFrame::text(payload.clone()), chunk);
                    s.expect_message(op::TEXT, &payload)?;
                    Ok(start.elapsed())
                },
            )
            .deadline(Duration::from_secs(60)),
        );
    }
    for (group, opcode) in [(7, op::TEXT), (8, op::BINARY)] {
        for (i, len) in SMALL.into_iter().enumerate() {
            cases.push(
                timed(
                    format!("9.{group}.{}", i + 1),
                    opcode,
                    format!("1000 messages of {} each, sent back to back", size(len)),
                    move |s| {
                        let payload = payload(opcode, len);
                        let frames = vec![OutFrame::new(opcode, payload.clone()); 1000];
                        let start = Instant::now();
                        s.send_batch(&frames);
                        for _ in 0..1000 {
                            s.expect_message(opcode, &payload)?;
                        }
                        Ok(start.elapsed())
                    },
                )
                .deadline(Duration::from_secs(60)),
            );
        }
    }
    cases
}

/// A timed echo case: INFORMATIONAL with the time and rate when every echo matched.
fn timed(
    id: String,
    opcode: u8,
    what: String,
    body: impl Fn(&mut Session) -> Step<Duration> + Send + Sync + 'static,
) -> Case {
    let name = crate::wire::opcode_name(opcode).to_lowercase();
    Case::new(id, format!("{name}: {what}"), "every echo correct; the time is reported", move |s: &mut Session| {
        let took = body(s).map_err(|e| size_limit(s, e))?;
        let close = s.close_normally()?;
        Ok(close.worst(Outcome::informational(format!("echoed in {} ms", took.as_millis()))))
    })
}

/// A peer that refuses a big or many-fragment message with 1009 (too big) or 1008 (policy)
/// applies a resource limit, which RFC 6455 §10.4 asks for: NON-STRICT, not FAILED.
pub(super) fn size_limit(s: &Session, failure: Outcome) -> Outcome {
    match s.peer_close_code() {
        Some(code @ (1008 | 1009)) => {
            Outcome::non_strict(format!("peer refused the message with {code} (a resource limit): {}", failure.reason))
        }
        _ => failure,
    }
}

pub(super) fn payload(opcode: u8, len: usize) -> Vec<u8> {
    if opcode == op::TEXT { text_payload(len) } else { binary_payload(len) }
}

pub(super) fn size(len: usize) -> String {
    match len {
        l if l >= 1 << 20 && l % (1 << 20) == 0 => format!("{} MiB", l >> 20),
        l if l >= 1 << 10 && l % (1 << 10) == 0 => format!("{} KiB", l >> 10),
        l => format!("{l} B"),
    }
}

pub(super) fn deadline(len: usize) -> Duration {
    Duration::from_secs(10 + (len >> 20) as u64 * 4)
}

const BIG: [usize; 6] = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20];
const FRAGMENTS: [usize; 6] = [64, 256, 4 << 10, 64 << 10, 1 << 20, 4 << 20];
const CHOPS: [usize; 4] = [64, 256, 1024, 4096];
const SMALL: [usize; 4] = [0, 16, 256, 4096];
