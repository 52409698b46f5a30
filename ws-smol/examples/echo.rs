//! The echo example on smol; the program, shared by every adapter, is examples/echo.rs at
//! the repository root.
use ws_smol as ws;
include!("../../examples/echo.rs");
