//! Family 7: the closing handshake (RFC 6455 §5.5.1, §7): valid and invalid codes, payload
//! shapes, and what follows a close.

use std::time::Duration;

use super::{Case, text_payload};
use crate::session::Session;
use crate::wire::{OutFrame, op};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case::new(
            "7.1.1",
            "a text message, then a normal close",
            "the echo, then the close echoed and TCP closed by the server",
            |s: &mut Session| {
                s.send(&OutFrame::text("Hello World!"));
                s.expect_message(op::TEXT, b"Hello World!")?;
                s.close_normally()
            },
        ),
        Case::new("7.1.2", "two close frames in a row", "one close in reply; the second ignored", |s: &mut Session| {
            s.send(&OutFrame::close(1000, b""));
            s.close_normally()
        }),
        Case::new(
            "7.1.3",
            "a close frame, then a ping",
            "the close answered; no pong (RFC 6455 §5.5.1: no data after close)",
            |s: &mut Session| {
                let outcome = s.close_with(&OutFrame::close(1000, b""), Some(1000));
                s.send(&OutFrame::ping(b"after close".to_vec()));
                outcome
            },
        ),
        Case::new(
            "7.1.4",
            "a close frame immediately followed by a text message",
            "the close answered; the text not echoed",
            |s: &mut Session| {
                let close = s.encode(&OutFrame::close(1000, b""));
                let text = s.encode(&OutFrame::text("after close"));
                s.send_raw(&[close, text].concat(), "the close and the text in one write");
                s.close_with(&OutFrame::close(1000, b""), Some(1000))
            },
        ),
        Case::new(
            "7.1.5",
            "the start of a fragmented text message, a close, then its end",
            "the close answered; the message never echoed",
            |s: &mut Session| {
                s.send(&OutFrame::text("frag").fin(false));
                let close = s.encode(&OutFrame::close(1000, b""));
                let end = s.encode(&OutFrame::new(op::CONTINUATION, b"ment".to_vec()));
                s.send_raw(&[close, end].concat(), "the close and the last fragment in one write");
                s.close_with(&OutFrame::close(1000, b""), Some(1000))
            },
        ),
        Case::new(
            "7.1.6",
            "a 256 KiB text message, a small one and a close, in one go",
            "both echoed, then the close",
            |s: &mut Session| {
                let big = text_payload(256 * 1024);
                s.send(&OutFrame::text(big.clone()));
                s.send(&OutFrame::text("Hello World!"));
                s.expect_message(op::TEXT, &big)?;
                s.expect_message(op::TEXT, b"Hello World!")?;
                s.close_normally()
            },
        )
        .deadline(Duration::from_secs(20)),
        Case::new(
            "7.3.1",
            "a close frame with no payload",
            "a close in reply (empty or 1000), then TCP closed",
            |s: &mut Session| s.close_with(&OutFrame::new(op::CLOSE, Vec::new()), Some(1000)),
        ),
        Case::new(
            "7.3.2",
            "a close frame with a one-byte payload",
            "fail with 1002 (RFC 6455 §5.5.1: a body starts with a 2-byte code)",
            |s: &mut Session| {
                s.send(&OutFrame::new(op::CLOSE, vec![0x03]));
                s.expect_failure(&[1002])
            },
        ),
        Case::new("7.3.3", "a close frame with code 1000 and no reason", "1000 echoed", |s: &mut Session| {
            s.close_with(&OutFrame::close(1000, b""), Some(1000))
        }),
        Case::new("7.3.4", "a close frame with code 1000 and a short reason", "1000 echoed", |s: &mut Session| {
            s.close_with(&OutFrame::close(1000, b"Hello World!"), Some(1000))
        }),
        Case::new(
            "7.3.5",
            "a close frame with code 1000 and a 123-byte reason (a 125-byte payload)",
            "1000 echoed",
            |s: &mut Session| s.close_with(&OutFrame::close(1000, &text_payload(123)), Some(1000)),
        ),
        Case::new(
            "7.3.6",
            "a close frame with a 124-byte reason (a 126-byte payload)",
            "fail with 1002 (RFC 6455 §5.5: control payloads are at most 125 bytes)",
            |s: &mut Session| {
                s.send(&OutFrame::close(1000, &text_payload(124)));
                s.expect_failure(&[1002])
            },
        ),
        Case::new(
            "7.5.1",
            "a close frame whose reason is invalid UTF-8",
            "fail with 1007 (RFC 6455 §5.5.1: the reason is UTF-8)",
            |s: &mut Session| {
                s.send(&OutFrame::close(
                    1000,
                    &[
                        b'a', 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, b'e',
                        b'd', b'i', b't', b'e', b'd',
                    ],
                ));
                s.expect_failure(&[1007])
            },
        ),
    ];
    for (i, code) in VALID_CODES.into_iter().enumerate() {
        cases.push(Case::new(
            format!("7.7.{}", i + 1),
            format!("a close frame with the valid code {code}"),
            format!("{code} echoed (RFC 6455 §5.5.1); another valid code is NON-STRICT"),
            move |s: &mut Session| s.close_with(&OutFrame::close(code, b""), Some(code)),
        ));
    }
    for (i, code) in INVALID_CODES.into_iter().enumerate() {
        cases.push(Case::new(
            format!("7.9.{}", i + 1),
            format!("a close frame with the invalid code {code}"),
            "fail with 1002 (RFC 6455 §7.4: the code is reserved, unassigned or never sent)",
            move |s: &mut Session| {
                s.send(&OutFrame::close(code, b""));
                s.expect_failure(&[1002])
            },
        ));
    }
    cases
}

/// RFC 6455 §7.4.1 and the IANA registry (1012–1014 were registered after the RFC, and
/// Autobahn treats them as valid too), plus the private and registered ranges' ends.
const VALID_CODES: [u16; 16] =
    [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];

/// 1004–1006 and 1015 are reserved or local-only (§7.4.1), 1016–2999 reserved (§7.4.2),
/// 0–999 unused, 5000+ undefined.
const INVALID_CODES: [u16; 13] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, 1];
