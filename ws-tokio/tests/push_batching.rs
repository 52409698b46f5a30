//! Pushes from another task reach a connection in one write although that task yields
//! between them, on tokio's current-thread scheduler, which runs woken tasks in order
//! (`Runtime::runs_woken_tasks_in_order`); the multi-thread one, which `block_on` builds,
//! does not need it.

use ws_proto::server::Runtime;
use ws_testsuite::{cases, with_deadline};
use ws_tokio::Tokio;

#[test]
fn pushes_between_yields_go_out_in_one_write_on_the_current_thread_scheduler() {
    with_deadline("pushes_between_yields_go_out_in_one_write_on_the_current_thread_scheduler", || {
        cases::pushes_between_yields_go_out_in_one_write::<Tokio>(|server, listener| {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            format!("{:?}", runtime.block_on(server.serve(listener)))
        });
    });
}

#[test]
fn only_the_current_thread_scheduler_runs_woken_tasks_in_order() {
    let current = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    assert!(current.block_on(async { Tokio::default().runs_woken_tasks_in_order() }));
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().expect("runtime");
    assert!(!multi.block_on(async { Tokio::default().runs_woken_tasks_in_order() }));
}
