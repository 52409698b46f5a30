//! The behaviour suite of `ws_proto::server`, on async-std.

ws_testsuite::suite!(ws_async_std::AsyncStd);
