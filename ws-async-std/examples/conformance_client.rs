//! The ws-conformance serve-mode echo client on async-std; the program, shared by every adapter,
//! is examples/conformance_client.rs at the repository root.
use ws_async_std as ws;
include!("../../examples/conformance_client.rs");
