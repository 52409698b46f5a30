//! Families 12 and 13: permessage-deflate (RFC 7692). 12: compressed echoes of many sizes
//! under the plain offer; 13: every parameter combination, and hostile compressed frames.
//!
//! Against a server every response is checked against the offer before the case runs (see
//! `pmd`), and every compressed message from the server is inflated with the agreed window.
//! Against a client (server mode) the case's parameters are agreed as far as the client's
//! offer allows (`pmd::Offer::answer`), and every compressed echo is inflated with the
//! agreed client window and context takeover.

use super::Case;
use ws_proto::Role;
use ws_proto::deflate::DeflateConfig;

use crate::pmd::Offer;
use crate::session::Session;
use crate::verdict::{Outcome, Step};
use crate::wire::{OutFrame, op, rsv};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let contexts = [
        (1, "with context takeover", plain()),
        (
            3,
            "with no context takeover on either side",
            with(|c| {
                c.server_no_context_takeover = true;
                c.client_no_context_takeover = true;
            }),
        ),
    ];
    for (group, how, offer) in contexts {
        for (kind, opcode) in [(0, op::TEXT), (1, op::BINARY)] {
            for (i, len) in SIZES.into_iter().enumerate() {
                let name = crate::wire::opcode_name(opcode).to_lowercase();
                cases.push(
                    Case::new(
                        format!("12.{}.{}", group + kind, i + 1),
                        format!("10 compressed {name} messages of {len} bytes, {how}"),
                        "permessage-deflate agreed; every message echoed (compressed or not) and inflating correctly",
                        move |s: &mut Session| echo_compressed(s, opcode, &[len; 10], None),
                    )
                    .offer(offer.clone())
                    .deadline(std::time::Duration::from_secs(30)),
                );
            }
        }
    }
    cases.push(
        Case::new(
            "12.5.1",
            "a 64 KiB compressed text message whose compressed data spans frames of 100 bytes",
            "echoed whole",
            |s: &mut Session| echo_compressed(s, op::TEXT, &[65536], Some(100)),
        )
        .offer(plain()),
    );
    for (i, offer) in offers().into_iter().enumerate() {
        let header = offer.header();
        cases.push(
            Case::new(
                format!("13.{}.{}", 1 + i / 8, 1 + i % 8),
                format!(
                    "offer `{header}` (a client's offer is answered with these parameters as far as it allows); \
                     compressed text of 16 B to 256 KiB, twice each"
                ),
                "a server's response valid for the offer (RFC 7692 §7.1); then every message echoed, inflating with the agreed window and context takeover",
                |s: &mut Session| echo_compressed(s, op::TEXT, &[16, 16, 1024, 1024, 65536, 65536, 262144, 262144], None),
            )
            .offer(offer)
            .deadline(std::time::Duration::from_secs(30)),
        );
    }
    cases.extend(hostile());
    cases
}

fn hostile() -> Vec<Case> {
    vec![
        Case::new(
            "13.7.1",
            "a compressed text message with RSV1 also set on its continuation frame",
            "fail with 1002 (RFC 7692 §6.1: RSV1 only on the first frame)",
            |s: &mut Session| {
                let Some(packed) = compress(s, b"Hello, Hello, Hello, compressed world") else {
                    return Ok(declined(s));
                };
                let (a, b) = packed.split_at(packed.len() / 2);
                s.send(&OutFrame::text(a.to_vec()).fin(false).rsv(rsv::RSV1));
                s.send(&OutFrame::new(op::CONTINUATION, b.to_vec()).rsv(rsv::RSV1));
                s.expect_failure(&[1002])
            },
        )
        .offer(plain()),
        Case::new(
            "13.7.2",
            "a text frame with RSV1 and valid DEFLATE data, with no extension agreed",
            "fail with 1002 (RFC 6455 §5.2)",
            |s: &mut Session| {
                // 'Hello' compressed, RFC 7692 §7.2.3.1.
                s.send(&OutFrame::text(vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).rsv(rsv::RSV1));
                s.expect_failure(&[1002])
            },
        ),
        Case::new(
            "13.7.3",
            "a compressed text message whose data is not DEFLATE",
            "fail with 1007 (or 1002)",
            |s: &mut Session| {
                if s.codec().is_none() {
                    return Ok(declined(s));
                }
                s.send(&OutFrame::text(vec![0xff; 16]).rsv(rsv::RSV1));
                s.expect_failure(&[1007, 1002])
            },
        )
        .offer(plain()),
        Case::new(
            "13.7.4",
            "a compressed text message that inflates to invalid UTF-8",
            "fail with 1007",
            |s: &mut Session| {
                let Some(packed) = compress(s, &[b'o', b'k', 0xed, 0xa0, 0x80]) else { return Ok(declined(s)) };
                s.send(&OutFrame::text(packed).rsv(rsv::RSV1));
                s.expect_failure(&[1007])
            },
        )
        .offer(plain()),
        Case::new(
            "13.7.5",
            "a ping with RSV1 set on a connection with permessage-deflate",
            "fail with 1002 (RFC 7692 §6.1: RSV1 is for data messages)",
            |s: &mut Session| {
                if s.codec().is_none() {
                    return Ok(declined(s));
                }
                s.send(&OutFrame::ping(b"ping".to_vec()).rsv(rsv::RSV1));
                s.expect_failure(&[1002])
            },
        )
        .offer(plain()),
        Case::new(
            "13.7.6",
            "an uncompressed message (RSV1 clear) on a connection with permessage-deflate",
            "echoed (RFC 7692 §6: compression is per message)",
            |s: &mut Session| {
                if s.codec().is_none() {
                    return Ok(declined(s));
                }
                s.send(&OutFrame::text("not compressed"));
                s.expect_message(op::TEXT, b"not compressed")?;
                s.close_normally()
            },
        )
        .offer(plain()),
    ]
}

/// The plain offer: `permessage-deflate; client_max_window_bits`.
fn plain() -> Offer {
    Offer::new(DeflateConfig::default())
}

/// The offer for the default config changed by `f`.
fn with(f: impl FnOnce(&mut DeflateConfig)) -> Offer {
    let mut config = DeflateConfig::default();
    f(&mut config);
    Offer::new(config)
}

/// Every parameter combination worth an offer: each parameter alone, each window size on
/// each side, and mixes. (`server_max_window_bits=15` is the default, so
/// `DeflateParams::offer` leaves it out.)
fn offers() -> Vec<Offer> {
    let mut v = vec![
        plain().without_client_bits(),
        plain(),
        with(|c| c.server_no_context_takeover = true),
        with(|c| c.client_no_context_takeover = true),
        with(|c| {
            c.server_no_context_takeover = true;
            c.client_no_context_takeover = true;
        }),
        with(|c| c.server_no_context_takeover = true).without_client_bits(),
        with(|c| {
            c.server_max_window_bits = 9;
            c.client_max_window_bits = 9;
        }),
        with(|c| {
            c.server_max_window_bits = 9;
            c.client_max_window_bits = 9;
            c.server_no_context_takeover = true;
            c.client_no_context_takeover = true;
        }),
    ];
    v.extend((9..=14).map(|b| with(|c| c.server_max_window_bits = b)));
    v.push(with(|c| c.server_max_window_bits = 10).without_client_bits());
    v.push(with(|c| {
        c.server_max_window_bits = 12;
        c.client_max_window_bits = 12;
    }));
    v.extend((9..=15).map(|b| with(|c| c.client_max_window_bits = b)));
    v.push(with(|c| {
        c.client_max_window_bits = 10;
        c.client_no_context_takeover = true;
    }));
    v
}

/// Sends compressed messages of `sizes` (one at a time) and checks each echo.
fn echo_compressed(s: &mut Session, opcode: u8, sizes: &[usize], frame_size: Option<usize>) -> Step<Outcome> {
    if s.codec().is_none() {
        return Ok(declined(s));
    }
    let (mut compressed, mut plain) = (0, 0);
    for (i, &len) in sizes.iter().enumerate() {
        let data = if opcode == op::TEXT { prose(len, i as u64) } else { super::binary_payload(len) };
        s.send_compressed(opcode, &data, frame_size);
        let msg = s.expect_message(opcode, &data)?;
        if msg.compressed { compressed += 1 } else { plain += 1 }
    }
    let close = s.close_normally()?;
    let agreed = s.codec().map(|c| c.params().to_string()).unwrap_or_default();
    let note = format!("{compressed} echo(es) compressed, {plain} not; agreed {agreed}");
    s.note(note.clone());
    if close.verdict != crate::verdict::Verdict::Ok {
        return Ok(close);
    }
    Ok(Outcome { verdict: crate::verdict::Verdict::Ok, reason: note })
}

fn compress(s: &mut Session, data: &[u8]) -> Option<Vec<u8>> {
    let packed = s.codec_mut()?.compress(data);
    Some(packed)
}

/// UNIMPLEMENTED: permessage-deflate was not agreed. The connection is closed with 1000
/// without judging how (the case cannot run), as Autobahn's fuzzing server fails it.
fn declined(s: &mut Session) -> Outcome {
    s.close_quietly(1000, std::time::Duration::from_secs(1));
    match s.role() {
        Role::Client => Outcome::unimplemented("the server declined permessage-deflate"),
        Role::Server => Outcome::unimplemented(
            "permessage-deflate not agreed: the client offered none we could accept (see the trace)",
        ),
    }
}

/// Compressible text that is not one repeated byte: words picked by a small LCG.
fn prose(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 12] =
        ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog; ", "κόσμε ", "€ ", "\n"];
    let mut out = Vec::with_capacity(len + 8);
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    while out.len() < len {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.extend_from_slice(WORDS[((x >> 33) % WORDS.len() as u64) as usize].as_bytes());
    }
    // Cut back to a char boundary at or below len.
    let mut end = len.min(out.len());
    while end > 0 && std::str::from_utf8(&out[..end]).is_err() {
        end -= 1;
    }
    out.truncate(end);
    out.resize(len, b'.');
    out
}

const SIZES: [usize; 8] = [16, 64, 256, 1024, 4096, 16384, 65536, 262144];
