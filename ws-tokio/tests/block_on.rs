//! `Runtime::block_on` runs `main` beside the tasks it spawns; alone in its process (see
//! the case's docs).

#[test]
fn block_on_runs_main_beside_its_tasks() {
    ws_testsuite::with_deadline(
        "block_on_runs_main_beside_its_tasks",
        ws_testsuite::cases::block_on_runs_main_beside_its_tasks::<ws_tokio::Tokio>,
    );
}

#[test]
fn block_on_passes_a_panic_of_main_to_the_caller() {
    ws_testsuite::with_deadline(
        "block_on_passes_a_panic_of_main_to_the_caller",
        ws_testsuite::cases::block_on_passes_a_panic_of_main_to_the_caller::<ws_tokio::Tokio>,
    );
}
