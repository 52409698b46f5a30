//! The opening handshake (RFC 6455 §4) and plain HTTP/1.1 for `on_request`.
