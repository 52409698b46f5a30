//! The behaviour suite of `ws_proto::server`, on smol.

ws_testsuite::suite!(ws_smol::Smol);
