//! The ws-conformance serve-mode echo client on tokio; the program, shared by every adapter,
//! is examples/conformance_client.rs at the repository root.
use ws_tokio as ws;
include!("../../examples/conformance_client.rs");
