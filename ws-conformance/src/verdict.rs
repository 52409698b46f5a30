//! Verdicts, outcomes and the per-case result with its trace.

use serde::Serialize;

/// How a peer fared on one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Verdict {
    /// The peer behaved exactly as RFC 6455/7692 require.
    Ok,
    /// The peer's behaviour is allowed or harmless but not the strict one (a reason says how).
    NonStrict,
    /// Nothing to judge: the case only measures (timings, sizes).
    Informational,
    /// The peer declined an optional feature the case needs (e.g. permessage-deflate).
    Unimplemented,
    /// The peer broke the RFC.
    Failed,
}

impl Verdict {
    /// The name used in reports: `OK`, `NON-STRICT`, `INFORMATIONAL`, `UNIMPLEMENTED`,
    /// `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::Failed => "FAILED",
        }
    }

    /// Every verdict, best first.
    pub const ALL: [Verdict; 5] =
        [Verdict::Ok, Verdict::NonStrict, Verdict::Informational, Verdict::Unimplemented, Verdict::Failed];
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict with its reason: what a case returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one line (empty for a plain OK).
    pub reason: String,
}

impl Outcome {
    /// An OK outcome.
    pub fn ok() -> Outcome {
        Outcome { verdict: Verdict::Ok, reason: String::new() }
    }

    /// A NON-STRICT outcome with its reason.
    pub fn non_strict(reason: impl Into<String>) -> Outcome {
        Outcome { verdict: Verdict::NonStrict, reason: reason.into() }
    }

    /// An INFORMATIONAL outcome with what was measured.
    pub fn informational(reason: impl Into<String>) -> Outcome {
        Outcome { verdict: Verdict::Informational, reason: reason.into() }
    }

    /// An UNIMPLEMENTED outcome with what the peer declined.
    pub fn unimplemented(reason: impl Into<String>) -> Outcome {
        Outcome { verdict: Verdict::Unimplemented, reason: reason.into() }
    }

    /// A FAILED outcome with what the peer did wrong.
    pub fn failed(reason: impl Into<String>) -> Outcome {
        Outcome { verdict: Verdict::Failed, reason: reason.into() }
    }

    /// The worse of two outcomes (the first one wins a tie).
    #[must_use]
    pub fn worst(self, other: Outcome) -> Outcome {
        if other.verdict > self.verdict { other } else { self }
    }
}

/// A case step: `Err` carries the outcome that ends the case early (usually FAILED).
pub type Step<T> = Result<T, Outcome>;

/// Which way a trace line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// We sent it.
    Out,
    /// The peer sent it.
    In,
    /// A note: TCP events, timeouts, judgements.
    Note,
}

/// One line of a case's observed trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceLine {
    /// Milliseconds since the case started.
    pub at_ms: u64,
    /// Which way.
    pub dir: Direction,
    /// What, e.g. `TEXT fin rsv=0 len=5 "Hello"`.
    pub text: String,
}

/// The result of one case against one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case id, e.g. `6.4.2`.
    pub id: String,
    /// What the case does.
    pub description: String,
    /// What a strict peer does.
    pub expectation: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
    /// Wall time of the case in milliseconds.
    pub duration_ms: u64,
    /// The close code the peer sent, if any.
    pub peer_close_code: Option<u16>,
    /// Whether the peer closed the TCP connection.
    pub peer_closed_tcp: bool,
    /// Frames in and out, TCP events and notes.
    pub trace: Vec<TraceLine>,
}
