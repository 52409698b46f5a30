//! # ws-conformance: a strict RFC 6455/7692 conformance suite
//!
//! Cases in the spirit of the Autobahn test suite, written from the RFCs: framing (1), pings
//! and pongs (2), reserved bits (3) and opcodes (4), fragmentation (5), UTF-8 (6), the close
//! handshake (7), limits and speed (9), auto-fragmentation (10) and permessage-deflate (12,
//! 13). Each case runs on its own connection with a deadline and ends with a [`Verdict`]
//! and the trace of what was seen.
//!
//! The suite judges servers ([`runner::run_all`], the `ws-conformance ws://…` CLI) and
//! clients ([`serve`], `ws-conformance serve`), using blocking `std::net` sockets: simple and
//! deterministic, no runtime. A reference echo server with switchable faults ([`echo`])
//! proves the suite fails what it should.
//!
//! ```no_run
//! use ws_conformance::{cases, runner};
//! let target = runner::Target::parse("ws://127.0.0.1:9001/").unwrap();
//! let results = runner::run_all(&target, &cases::select("1,2"), |_, _| {});
//! println!("{}", runner::summary(&results));
//! ```
#![forbid(unsafe_code)]

pub mod cases;
pub mod echo;
pub mod pmd;
pub mod report;
pub mod runner;
pub mod serve;
pub mod session;
mod upgrade;
pub mod verdict;
pub mod wire;

pub use verdict::{CaseResult, Outcome, Verdict};
