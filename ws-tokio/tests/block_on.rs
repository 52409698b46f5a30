//! `Runtime::block_on` runs `main` beside the tasks it spawns; alone in its process (see
//! the case's docs).

#[test]
fn block_on_runs_main_beside_its_tasks() {
    ws_testsuite::with_deadline(
        "block_on_runs_main_beside_its_tasks",
        ws_testsuite::cases::block_on_runs_main_beside_its_tasks::<ws_tokio::Tokio>,
    );
}
