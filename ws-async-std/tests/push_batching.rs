//! Pushes from another task reach a connection in one write although that task yields
//! between them (`Runtime::runs_woken_tasks_in_order`): async-std's global executor with
//! one thread, which the first `block_on` of this process sets (hence a test binary of its
//! own; `ASYNC_STD_THREAD_COUNT`, when set, would win).

ws_testsuite::in_order_cases!(ws_async_std::AsyncStd);
