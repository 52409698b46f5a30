//! The echo example on async-std; the program, shared by every adapter, is examples/echo.rs at
//! the repository root.
use ws_async_std as ws;
include!("../../examples/echo.rs");
