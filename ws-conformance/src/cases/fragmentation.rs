//! Family 5: fragmentation (RFC 6455 §5.4): fragmented messages echoed whole, control
//! frames between fragments, and fragments that break the rules.

use super::{Case, binary_payload, echo_then_close, text_payload};
use crate::session::Session;
use crate::verdict::{Outcome, Step};
use crate::wire::{OutFrame, op};

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "5.1",
            "a ping in two fragments",
            "fail with 1002 (RFC 6455 §5.5: control frames are not fragmented)",
            |s: &mut Session| {
                s.send(&OutFrame::ping("frag".as_bytes().to_vec()).fin(false));
                s.send(&OutFrame::new(op::CONTINUATION, b"ment".to_vec()));
                s.expect_failure(&[1002])
            },
        ),
        Case::new("5.2", "a pong in two fragments", "fail with 1002 (RFC 6455 §5.5)", |s: &mut Session| {
            s.send(&OutFrame::pong(b"frag".to_vec()).fin(false));
            s.send(&OutFrame::new(op::CONTINUATION, b"ment".to_vec()));
            s.expect_failure(&[1002])
        }),
        Case::new("5.3", "a text message in two fragments", "echoed whole", |s: &mut Session| {
            send_fragments(s, op::TEXT, &[b"frag", b"ment"], None, None);
            echo_then_close(s, &[(op::TEXT, b"fragment".to_vec())])
        }),
        Case::new(
            "5.4",
            "a text message in two fragments, written one byte at a time",
            "echoed whole",
            |s: &mut Session| {
                send_fragments(s, op::TEXT, &[b"frag", b"ment"], None, Some(1));
                echo_then_close(s, &[(op::TEXT, b"fragment".to_vec())])
            },
        ),
        Case::new("5.5", "a 64-byte text message in 1-byte fragments", "echoed whole", |s: &mut Session| {
            let text = text_payload(64);
            let pieces: Vec<&[u8]> = text.chunks(1).collect();
            send_fragments(s, op::TEXT, &pieces, None, None);
            echo_then_close(s, &[(op::TEXT, text.clone())])
        }),
        Case::new(
            "5.6",
            "a text message in two fragments with a ping between them",
            "the pong first, then the message echoed whole (RFC 6455 §5.4: control frames may be interjected)",
            |s: &mut Session| {
                send_fragments(s, op::TEXT, &[b"frag", b"ment"], Some(b"ping!"), None);
                s.expect_pong(b"ping!")?;
                echo_then_close(s, &[(op::TEXT, b"fragment".to_vec())])
            },
        ),
        Case::new(
            "5.7",
            "5.6 written one byte at a time",
            "the pong, then the message echoed whole",
            |s: &mut Session| {
                send_fragments(s, op::TEXT, &[b"frag", b"ment"], Some(b"ping!"), Some(1));
                s.expect_pong(b"ping!")?;
                echo_then_close(s, &[(op::TEXT, b"fragment".to_vec())])
            },
        ),
        Case::new(
            "5.8",
            "a binary message in three fragments with pings between them",
            "two pongs, then the message echoed whole",
            |s: &mut Session| {
                let data = binary_payload(300);
                let pieces: Vec<&[u8]> = data.chunks(100).collect();
                send_fragments(s, op::BINARY, &pieces, Some(b"p"), None);
                s.expect_pong(b"p")?;
                s.expect_pong(b"p")?;
                echo_then_close(s, &[(op::BINARY, data.clone())])
            },
        ),
        Case::new("5.9", "a final continuation frame with no message started", "fail with 1002", |s: &mut Session| {
            s.send(&OutFrame::new(op::CONTINUATION, b"orphan".to_vec()));
            s.send(&OutFrame::text("Hello"));
            s.expect_failure(&[1002])
        }),
        Case::new(
            "5.10",
            "a non-final continuation frame with no message started, then its end",
            "fail with 1002",
            |s: &mut Session| {
                s.send(&OutFrame::new(op::CONTINUATION, b"orphan".to_vec()).fin(false));
                s.send(&OutFrame::new(op::CONTINUATION, b"end".to_vec()));
                s.expect_failure(&[1002])
            },
        ),
        Case::new(
            "5.11",
            "a complete text message, then a final continuation frame",
            "the message echoed, then fail with 1002",
            |s: &mut Session| {
                s.send(&OutFrame::text("Hello"));
                s.expect_message(op::TEXT, b"Hello")?;
                s.send(&OutFrame::new(op::CONTINUATION, b"orphan".to_vec()));
                s.expect_failure(&[1002])
            },
        ),
        Case::new(
            "5.12",
            "a new text frame inside a fragmented text message",
            "fail with 1002 (RFC 6455 §5.4)",
            |s: &mut Session| {
                s.send(&OutFrame::text("frag").fin(false));
                s.send(&OutFrame::text("new"));
                s.send(&OutFrame::new(op::CONTINUATION, b"ment".to_vec()));
                s.expect_failure(&[1002])
            },
        ),
        Case::new(
            "5.13",
            "a new binary frame inside a fragmented text message",
            "fail with 1002 (RFC 6455 §5.4)",
            |s: &mut Session| {
                s.send(&OutFrame::text("frag").fin(false));
                s.send(&OutFrame::binary(vec![1, 2, 3]).fin(false));
                s.send(&OutFrame::new(op::CONTINUATION, b"ment".to_vec()));
                s.expect_failure(&[1002])
            },
        ),
        Case::new(
            "5.14",
            "a text message whose first and last fragments are empty",
            "echoed whole",
            |s: &mut Session| {
                send_fragments(s, op::TEXT, &[b"", b"middle", b""], None, None);
                echo_then_close(s, &[(op::TEXT, b"middle".to_vec())])
            },
        ),
        Case::new(
            "5.15",
            "an empty binary message in three empty fragments",
            "an empty binary message echoed",
            |s: &mut Session| {
                send_fragments(s, op::BINARY, &[b"", b"", b""], None, None);
                echo_then_close(s, &[(op::BINARY, Vec::new())])
            },
        ),
        Case::new(
            "5.16",
            "two fragmented text messages back to back, the second's first frame a text frame",
            "both echoed",
            |s: &mut Session| {
                send_fragments(s, op::TEXT, &[b"one-", b"a"], None, None);
                send_fragments(s, op::TEXT, &[b"two-", b"b"], None, None);
                echo_then_close(s, &[(op::TEXT, b"one-a".to_vec()), (op::TEXT, b"two-b".to_vec())])
            },
        ),
        Case::new(
            "5.17",
            "a fragmented text message interrupted by a close frame",
            "the close answered; the message never echoed",
            |s: &mut Session| {
                s.send(&OutFrame::text("frag").fin(false));
                let outcome = s.close_normally()?;
                s.send(&OutFrame::new(op::CONTINUATION, b"ment".to_vec()));
                Ok(outcome)
            },
        ),
        Case::new(
            "5.18",
            "a fragmented text message then a new continuation-less message start",
            "fail with 1002",
            |s: &mut Session| -> Step<Outcome> {
                s.send(&OutFrame::text("frag").fin(false));
                s.send(&OutFrame::text("ment").fin(false));
                s.expect_failure(&[1002])
            },
        ),
    ]
}

/// Sends `pieces` as one message, `ping` between fragments, each frame written in pieces
/// of `chunk` bytes when given.
pub(super) fn send_fragments(s: &mut Session, opcode: u8, pieces: &[&[u8]], ping: Option<&[u8]>, chunk: Option<usize>) {
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = if i == 0 { opcode } else { op::CONTINUATION };
        let frame = OutFrame::new(opcode, piece.to_vec()).fin(i == last);
        match chunk {
            Some(c) => s.send_chopped(&frame, c),
            None => s.send(&frame),
        }
        if let Some(ping) = ping
            && i < last
        {
            s.send(&OutFrame::ping(ping.to_vec()));
        }
    }
}
