//! The hello example on smol; the program, shared by every adapter, is examples/hello.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/hello.rs");
