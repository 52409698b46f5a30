//! The echo example on tokio; the program, shared by every adapter, is examples/echo.rs at
//! the repository root.
use ws_tokio as ws;
include!("../../examples/echo.rs");
