//! Running cases against a server: connect, upgrade, negotiate, run, record.

use std::net::{TcpStream, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use ws_proto::Role;

use crate::cases::Case;
use crate::pmd::Codec;
use crate::session::Session;
use crate::upgrade;
use crate::verdict::{CaseResult, Outcome, Step, Verdict};

/// A `ws://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host, as written.
    pub host: String,
    /// The port (80 when absent).
    pub port: u16,
    /// The path and query, at least `/`.
    pub path: String,
}

impl Target {
    /// Parses a `ws://` URL.
    ///
    /// # Errors
    /// A description when the URL is not `ws://host[:port][/path]` (`wss://` is not
    /// supported).
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("ws://").ok_or_else(|| format!("{url}: only ws:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h.to_string(), p.parse::<u16>().map_err(|_| format!("{url}: bad port {p:?}"))?)
            }
            _ => (authority.to_string(), 80),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Target { host, port, path: path.to_string() })
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        if self.port == 80 { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }
}

/// Runs one case against a server: one connection, the case's offer, its deadline.
///
/// Never panics on anything the server does: a broken server produces FAILED.
pub fn run_case(target: &Target, case: &Case) -> CaseResult {
    let start = Instant::now();
    let deadline = start + case.deadline;
    let mut session = match connect(target, case, start, deadline) {
        Ok(session) => session,
        Err(outcome) => return result(case, outcome, start, None),
    };
    let outcome = run_body(case, &mut session);
    result(case, outcome, start, Some(&mut session))
}

/// Runs `cases` in order, one connection each, calling `progress` after each.
pub fn run_all(target: &Target, cases: &[Case], mut progress: impl FnMut(usize, &CaseResult)) -> Vec<CaseResult> {
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let r = run_case(target, case);
        progress(i + 1, &r);
        results.push(r);
    }
    results
}

/// Runs a case's body on a session, turning a panic of the suite into FAILED.
pub(crate) fn run_body(case: &Case, session: &mut Session) -> Outcome {
    let run = case.run.clone();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| run(session)))
        .unwrap_or_else(|_| Err(Outcome::failed("the suite panicked (a bug in ws-conformance)")));
    session.join_writer();
    match outcome {
        Ok(o) | Err(o) => o,
    }
}

/// Builds the result record of a case.
pub(crate) fn result(case: &Case, outcome: Outcome, start: Instant, session: Option<&mut Session>) -> CaseResult {
    let (trace, code, closed) = match session {
        Some(s) => (s.take_trace(), s.peer_close_code(), s.peer_closed_tcp()),
        None => (Vec::new(), None, false),
    };
    CaseResult {
        id: case.id.clone(),
        description: case.description.clone(),
        expectation: case.expectation.clone(),
        verdict: outcome.verdict,
        reason: outcome.reason,
        duration_ms: start.elapsed().as_millis() as u64,
        peer_close_code: code,
        peer_closed_tcp: closed,
        trace,
    }
}

fn connect(target: &Target, case: &Case, start: Instant, deadline: Instant) -> Step<Session> {
    let addrs: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| Outcome::failed(format!("cannot resolve {}: {e}", target.host)))?
        .collect();
    let mut last = String::from("no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or_else(|| Outcome::failed(format!("cannot connect: {last}")))?;
    let offer = case.offer.as_ref().map(|o| o.header());
    let mut key = [0u8; 16];
    let seed = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), start);
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(&seed.rotate_left(29).to_be_bytes());
    let response = upgrade::client(&mut stream, &target.host_header(), &target.path, key, offer.as_deref(), deadline)
        .map_err(|e| Outcome::failed(format!("opening handshake: {e}")))?;
    let mut session = Session::new(stream, Role::Client, response.leftover, start, deadline);
    session.note(format!(
        "opening handshake done; offered {:?}, server answered extensions {:?}",
        offer.as_deref().unwrap_or("nothing"),
        response.extensions
    ));
    match &case.offer {
        Some(offer) => match offer.check_response(&response.extensions) {
            Ok(Some(params)) => {
                session.note(format!("agreed {params}"));
                session.set_codec(Some(Codec::client(params)));
            }
            Ok(None) => session.note("server declined permessage-deflate"),
            Err(e) => return Err(Outcome::failed(format!("permessage-deflate response: {e}"))),
        },
        None if !response.extensions.is_empty() => {
            return Err(Outcome::failed(format!(
                "server accepted extensions {:?} that we did not offer (RFC 6455 §9.1)",
                response.extensions
            )));
        }
        None => {}
    }
    Ok(session)
}

/// Counts of each verdict.
pub fn counts(results: &[CaseResult]) -> [(Verdict, usize); 5] {
    Verdict::ALL.map(|v| (v, results.iter().filter(|r| r.verdict == v).count()))
}

/// The summary table: one row per family with counts per verdict, then every case that is
/// not OK or INFORMATIONAL with its reason.
pub fn summary(results: &[CaseResult]) -> String {
    let mut families: Vec<String> = Vec::new();
    for r in results {
        let family = r.id.split('.').next().unwrap_or_default().to_string();
        if !families.contains(&family) {
            families.push(family);
        }
    }
    let mut out = format!(
        "{:<8} {:>6} {:>6} {:>11} {:>14} {:>14} {:>7}\n",
        "family", "cases", "OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"
    );
    let mut row = |name: &str, rs: &[&CaseResult]| {
        let n = |v: Verdict| rs.iter().filter(|r| r.verdict == v).count();
        out.push_str(&format!(
            "{:<8} {:>6} {:>6} {:>11} {:>14} {:>14} {:>7}\n",
            name,
            rs.len(),
            n(Verdict::Ok),
            n(Verdict::NonStrict),
            n(Verdict::Informational),
            n(Verdict::Unimplemented),
            n(Verdict::Failed)
        ));
    };
    for f in &families {
        let rs: Vec<&CaseResult> = results.iter().filter(|r| r.id.split('.').next() == Some(f.as_str())).collect();
        row(f, &rs);
    }
    let all: Vec<&CaseResult> = results.iter().collect();
    row("total", &all);
    for r in
        results.iter().filter(|r| matches!(r.verdict, Verdict::Failed | Verdict::NonStrict | Verdict::Unimplemented))
    {
        out.push_str(&format!("{:<8} {:<13} {}\n", r.id, r.verdict.as_str(), r.reason));
    }
    out
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("ws://127.0.0.1:9001/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("127.0.0.1", 9001, "/"));
        let t = Target::parse("ws://localhost").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        assert!(Target::parse("wss://x/").is_err());
        assert!(Target::parse("ws://x:notaport/").is_err());
    }
}
