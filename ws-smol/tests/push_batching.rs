//! Pushes from another task reach a connection in one write although that task yields
//! between them (`Runtime::runs_woken_tasks_in_order`): smol's executor, one thread.

ws_testsuite::in_order_cases!(ws_smol::Smol);
