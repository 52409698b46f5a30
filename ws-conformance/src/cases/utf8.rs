//! Family 6: UTF-8 in text messages (RFC 6455 §8.1, RFC 3629): valid text split at every
//! byte, invalid sequences (overlong, surrogates, above U+10FFFF), and fail-fast.

use std::time::Instant;

use super::fragmentation::send_fragments;
use super::{Case, FAIL_FAST_WAIT, echo_then_close};
use crate::session::Session;
use crate::verdict::{Outcome, Step};
use crate::wire::{OutFrame, op, preview};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, text) in VALID.iter().enumerate() {
        let bytes = text.as_bytes().to_vec();
        let shown = preview(&bytes);
        let whole = bytes.clone();
        cases.push(Case::new(
            format!("6.1.{}", i + 1),
            format!("valid text {shown} in one frame"),
            "echoed",
            move |s: &mut Session| {
                s.send(&OutFrame::text(whole.clone()));
                echo_then_close(s, &[(op::TEXT, whole.clone())])
            },
        ));
        cases.push(Case::new(
            format!("6.2.{}", i + 1),
            format!("valid text {shown} split into two fragments at every byte boundary, one message per split"),
            "every message echoed",
            move |s: &mut Session| {
                for k in 1..bytes.len() {
                    let (a, b) = bytes.split_at(k);
                    send_fragments(s, op::TEXT, &[a, b], None, None);
                    s.expect_message(op::TEXT, &bytes)?;
                }
                s.close_normally()
            },
        ));
    }
    for (i, (what, seq)) in INVALID.iter().enumerate() {
        let mut text = b"ok ".to_vec();
        text.extend_from_slice(seq);
        text.extend_from_slice(b" end");
        cases.push(Case::new(
            format!("6.3.{}", i + 1),
            format!("text with {what} {} in one frame", preview(seq)),
            "fail with 1007 (RFC 6455 §8.1), echoing nothing",
            move |s: &mut Session| {
                s.send(&OutFrame::text(text.clone()));
                s.expect_failure(&[1007])
            },
        ));
    }
    cases.push(Case::new(
        "6.3.100",
        "text ending inside a code point: κ then a lone 0xe1 at the end",
        "fail with 1007",
        |s: &mut Session| {
            s.send(&OutFrame::text(vec![0xce, 0xba, 0xe1]));
            s.expect_failure(&[1007])
        },
    ));
    for (i, (what, seq)) in INVALID.iter().enumerate().filter(|(_, (_, seq))| seq.len() > 1) {
        let seq = seq.to_vec();
        cases.push(Case::new(
            format!("6.5.{}", i + 1),
            format!("text with {what} split across two fragments after its first byte"),
            "fail with 1007",
            move |s: &mut Session| {
                let (a, b) = seq.split_at(1);
                let first = [b"ok ".as_slice(), a].concat();
                send_fragments(s, op::TEXT, &[&first, b], None, None);
                s.expect_failure(&[1007])
            },
        ));
    }
    cases.extend(fail_fast_cases());
    cases
}

fn fail_fast_cases() -> Vec<Case> {
    let expectation = "fail with 1007 as soon as the invalid byte arrives, without waiting for the \
                       rest of the message; failing only at its end is NON-STRICT";
    vec![
        Case::new(
            "6.4.1",
            "a valid fragment, then a fragment holding U+110000 (f4 90 80 80), then nothing",
            expectation,
            |s: &mut Session| {
                s.send(&OutFrame::text("κόσμε").fin(false));
                s.send(&OutFrame::new(op::CONTINUATION, vec![0xf4, 0x90, 0x80, 0x80]).fin(false));
                fail_fast(s, |s| s.send(&OutFrame::new(op::CONTINUATION, b"edited".to_vec())))
            },
        ),
        Case::new(
            "6.4.2",
            "a fragment ending with f4, a fragment starting with 90 80 80, then nothing",
            expectation,
            |s: &mut Session| {
                s.send(&OutFrame::text(["κόσμε".as_bytes(), &[0xf4][..]].concat()).fin(false));
                s.send(&OutFrame::new(op::CONTINUATION, vec![0x90, 0x80, 0x80, b'x']).fin(false));
                fail_fast(s, |s| s.send(&OutFrame::new(op::CONTINUATION, b"edited".to_vec())))
            },
        ),
        Case::new(
            "6.4.3",
            "a first text fragment with 0xff in its middle, then nothing",
            expectation,
            |s: &mut Session| {
                s.send(&OutFrame::text(["κόσμε".as_bytes(), &[0xff][..], b"edited"].concat()).fin(false));
                fail_fast(s, |s| s.send(&OutFrame::new(op::CONTINUATION, b"end".to_vec())))
            },
        ),
        Case::new(
            "6.4.4",
            "a final 4 KiB text frame with a surrogate (ed a0 80) at byte 10, of which only the first 64 bytes are written",
            expectation,
            |s: &mut Session| {
                let mut text = super::text_payload(4096);
                text.splice(10..13, [0xed, 0xa0, 0x80]);
                let wire = s.encode(&OutFrame::text(text));
                let (head, tail) = wire.split_at(64.min(wire.len()));
                s.send_raw(head, "the first 64 bytes of that frame");
                let tail = tail.to_vec();
                fail_fast(s, move |s| s.send_raw(&tail, "the rest of the frame"))
            },
        ),
    ]
}

/// Waits [`FAIL_FAST_WAIT`] for a 1007; if none comes, sends the rest of the message and
/// judges NON-STRICT when the peer fails then.
fn fail_fast(s: &mut Session, rest: impl FnOnce(&mut Session)) -> Step<Outcome> {
    let until = Instant::now() + FAIL_FAST_WAIT;
    if let Some(outcome) = s.expect_failure_until(&[1007], until)? {
        return Ok(outcome);
    }
    s.note(format!("no failure within {} ms; sending the rest of the message", FAIL_FAST_WAIT.as_millis()));
    rest(s);
    let outcome = s.expect_failure(&[1007])?;
    Ok(outcome.worst(Outcome::non_strict(format!(
        "failed only after the whole message arrived, not within {} ms of the invalid byte",
        FAIL_FAST_WAIT.as_millis()
    ))))
}

const VALID: [&str; 8] = [
    "Hello-µ@ßöäüàá-UTF-8!!",
    "κόσμε",
    "\u{0}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
    "𝄞 music 😀 emoji",
    "\u{d7ff}\u{e000}\u{fffd}",
    "\u{fffe}\u{ffff}\u{fdd0}\u{1fffe}",
    "a\u{f4}\u{10fff0}",
    "日本語のテキスト",
];

const INVALID: [(&str, &[u8]); 24] = [
    ("a lone continuation byte", &[0x80]),
    ("a lone continuation byte", &[0xbf]),
    ("three continuation bytes", &[0x80, 0xbf, 0x80]),
    ("a 2-byte start followed by a space", &[0xc0, 0x20]),
    ("an incomplete 3-byte sequence followed by a space", &[0xe1, 0x80, 0x20]),
    ("an incomplete 4-byte sequence followed by a space", &[0xf1, 0x80, 0x80, 0x20]),
    ("overlong '/' in 2 bytes", &[0xc0, 0xaf]),
    ("overlong '/' in 3 bytes", &[0xe0, 0x80, 0xaf]),
    ("overlong '/' in 4 bytes", &[0xf0, 0x80, 0x80, 0xaf]),
    ("overlong NUL", &[0xc0, 0x80]),
    ("the largest overlong 2-byte sequence", &[0xc1, 0xbf]),
    ("the largest overlong 3-byte sequence", &[0xe0, 0x9f, 0xbf]),
    ("the largest overlong 4-byte sequence", &[0xf0, 0x8f, 0xbf, 0xbf]),
    ("the surrogate U+D800", &[0xed, 0xa0, 0x80]),
    ("the surrogate U+DFFF", &[0xed, 0xbf, 0xbf]),
    ("a surrogate pair U+D800 U+DC00", &[0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80]),
    ("U+110000, above U+10FFFF", &[0xf4, 0x90, 0x80, 0x80]),
    ("a 4-byte sequence starting 0xf5", &[0xf5, 0x80, 0x80, 0x80]),
    ("a 4-byte sequence starting 0xf7", &[0xf7, 0xbf, 0xbf, 0xbf]),
    ("a 5-byte sequence", &[0xf8, 0x88, 0x80, 0x80, 0x80]),
    ("a 6-byte sequence", &[0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]),
    ("the byte 0xfe", &[0xfe]),
    ("the byte 0xff", &[0xff]),
    ("bytes fe fe ff ff", &[0xfe, 0xfe, 0xff, 0xff]),
];
