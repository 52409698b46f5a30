//! Pushes from another task reach a connection in one write although that task yields
//! between them (`Runtime::runs_woken_tasks_in_order`): smol's executor, one thread.

use ws_smol::Smol;
use ws_testsuite::{cases, with_deadline};

#[test]
fn pushes_between_yields_go_out_in_one_write() {
    with_deadline("pushes_between_yields_go_out_in_one_write", || {
        cases::pushes_between_yields_go_out_in_one_write::<Smol>(|server, listener| {
            use ws_proto::server::Runtime;
            let runtime = server.runtime().clone();
            format!("{:?}", runtime.block_on(1, async move { server.serve(listener).await }))
        });
    });
}
