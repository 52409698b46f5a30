//! The ws-conformance serve-mode echo client on smol; the program, shared by every adapter,
//! is examples/conformance_client.rs at the repository root.
use ws_smol as ws;
include!("../../examples/conformance_client.rs");
