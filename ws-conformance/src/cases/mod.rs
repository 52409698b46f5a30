//! The cases, one file per family, numbered like the Autobahn test suite's.
//!
//! A case is a function of a [`Session`]: it sends frames and states what it expects with
//! the session's `expect_*` helpers. The same case judges a server (we are the client) or a
//! client (we are the server), unless [`Case::against`] restricts it.

use std::sync::Arc;
use std::time::Duration;

use crate::pmd::Offer;
use crate::session::Session;
use crate::verdict::{Outcome, Step};

mod autofragment;
mod close;
mod deflate;
mod fragmentation;
mod framing;
mod limits;
mod opcodes;
mod ping;
mod reserved_bits;
mod utf8;

/// Which peers a case can judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// Servers and clients alike.
    Both,
    /// Servers only.
    Servers,
}

/// The body of a case.
pub type CaseFn = Arc<dyn Fn(&mut Session) -> Step<Outcome> + Send + Sync>;

/// One conformance case.
#[derive(Clone)]
pub struct Case {
    /// The id, e.g. `6.4.2`.
    pub id: String,
    /// What the case does.
    pub description: String,
    /// What a strict peer does.
    pub expectation: String,
    /// How long the whole case may take.
    pub deadline: Duration,
    /// The permessage-deflate parameters the case is about: offered to a server; agreed
    /// with a client as far as its offer allows ([`Offer::answer`]).
    pub offer: Option<Offer>,
    /// Which peers it can judge.
    pub against: Against,
    /// The body.
    pub run: CaseFn,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("id", &self.id).field("description", &self.description).finish_non_exhaustive()
    }
}

impl Case {
    /// A case with the default deadline, against both servers and clients.
    pub fn new(
        id: impl Into<String>,
        description: impl Into<String>,
        expectation: impl Into<String>,
        run: impl Fn(&mut Session) -> Step<Outcome> + Send + Sync + 'static,
    ) -> Case {
        Case {
            id: id.into(),
            description: description.into(),
            expectation: expectation.into(),
            deadline: DEFAULT_DEADLINE,
            offer: None,
            against: Against::Both,
            run: Arc::new(run),
        }
    }

    /// The same case with another deadline.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Case {
        self.deadline = deadline;
        self
    }

    /// The same case, about permessage-deflate with these parameters: offered to servers,
    /// agreed with clients as far as their offer allows.
    #[must_use]
    pub fn offer(mut self, offer: Offer) -> Case {
        self.offer = Some(offer);
        self
    }

    /// The same case, restricted.
    #[must_use]
    pub fn against(mut self, against: Against) -> Case {
        self.against = against;
        self
    }

    /// Whether `selector` picks this case: `6` (a family), `6.4` (a group), `6.4.2` (one
    /// case), `6.*` or `*`.
    pub fn matches(&self, selector: &str) -> bool {
        let selector = selector.trim().trim_end_matches(".*").trim_end_matches('*');
        if selector.is_empty() {
            return true;
        }
        self.id == selector || self.id.starts_with(&format!("{selector}."))
    }
}

/// Every case, in order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(framing::cases());
    cases.extend(ping::cases());
    cases.extend(reserved_bits::cases());
    cases.extend(opcodes::cases());
    cases.extend(fragmentation::cases());
    cases.extend(utf8::cases());
    cases.extend(close::cases());
    cases.extend(limits::cases());
    cases.extend(autofragment::cases());
    cases.extend(deflate::cases());
    cases
}

/// The cases that `selectors` (comma-separated, see [`Case::matches`]) pick, in order.
pub fn select(selectors: &str) -> Vec<Case> {
    let selectors: Vec<&str> = selectors.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    all().into_iter().filter(|c| selectors.is_empty() || selectors.iter().any(|s| c.matches(s))).collect()
}

/// A text payload of `len` ASCII bytes.
pub fn text_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"*abcdefghijklmnopqrstuvwxyz0123456789"[i % 37]).collect()
}

/// A binary payload of `len` bytes, all values.
pub fn binary_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
}

/// A case body that sends `frames` (whole), expects the echo of each data message listed
/// in `echoes`, then closes normally.
pub(crate) fn echo_then_close(s: &mut Session, echoes: &[(u8, Vec<u8>)]) -> Step<Outcome> {
    for (opcode, payload) in echoes {
        s.expect_message(*opcode, payload)?;
    }
    s.close_normally()
}

/// The default deadline of a case.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// How long a fail-fast case waits for the failure before sending the rest of the message.
pub const FAIL_FAST_WAIT: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_selectable() {
        let cases = all();
        let mut ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate case ids");
        assert!(select("6.4.1").len() == 1);
        assert!(select("1,2.*").iter().all(|c| c.id.starts_with("1.") || c.id.starts_with("2.")));
        assert!(select("1").iter().all(|c| c.id.starts_with("1.")));
        assert!(!select("1").iter().any(|c| c.id.starts_with("12.")));
    }
}
