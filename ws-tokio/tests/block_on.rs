//! `Runtime::block_on`'s cases, alone in their process: async-std's global executor takes
//! its thread count from its first use.

ws_testsuite::block_on_cases!(ws_tokio::Tokio);
