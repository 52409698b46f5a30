//! The hello example on tokio; the program, shared by every adapter, is examples/hello.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/hello.rs");
