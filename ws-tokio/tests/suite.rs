//! The behaviour suite of `ws_proto::server`, on tokio.

ws_testsuite::suite!(ws_tokio::Tokio);
