//! Connections whose HTTP upgrade another stack did (hyper, axum): the server takes over
//! the upgraded byte stream, with compression negotiated as for its own handshakes.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use super::driver::Driver;
use super::runtime::{Runtime, Stream};
use super::{Policy, Server};
use crate::connection::{Connection, Event};
use crate::error::HandshakeError;
use crate::frame::Fd;
use crate::handshake::{Request, Response};

impl<R: Runtime> Server<R> {
    /// The `101 Switching Protocols` this server would send for `request`: validated
    /// (RFC 6455 §4.2.1), with the subprotocol and permessage-deflate parameters the
    /// settings agree to. Send these headers from the other HTTP stack, then hand the
    /// upgraded stream to [`serve_upgraded`](Server::serve_upgraded).
    ///
    /// # Errors
    /// The [`HandshakeError`] whose [`status`](HandshakeError::status) to answer with.
    pub fn upgrade_response(&self, request: &Request) -> Result<Response, HandshakeError> {
        let config = Arc::new(self.settings().to_config());
        Connection::server(config, self.inner.runtime.now()).accept_response(request)
    }

    /// Serves a connection that another HTTP stack already upgraded, after it sent the
    /// headers of [`upgrade_response`](Server::upgrade_response). The connection joins the
    /// table like any other: `on_open` gets `request`, then `on_message`, `on_close`.
    ///
    /// # Errors
    /// The handshake error when `request` is not a valid upgrade (nothing is spawned).
    pub fn serve_upgraded<S: Stream>(
        &self,
        stream: S,
        peer: SocketAddr,
        request: Request,
    ) -> Result<Fd, HandshakeError> {
        let config = lock_config(self);
        let mut conn = Box::new(Connection::server(config, self.inner.runtime.now()));
        let _ = conn.receive(&encode_head(&request), self.inner.runtime.now());
        let Some(Event::Request(parsed)) = conn.poll_event() else {
            return Err(HandshakeError::MissingUpgrade);
        };
        let response = conn.accept_response(&parsed)?;
        conn.respond(response).map_err(|_| HandshakeError::MissingUpgrade)?;
        // The other stack sent its own 101: drop ours.
        let written = conn.output_len();
        bytes::Buf::advance(conn.output(), written);
        let slot = self.register(peer);
        let fd = slot.fd;
        let mut request = Box::new(request);
        request.fd = fd;
        let policy = Policy::new(&self.settings());
        let driver = Driver::new(self.clone(), slot, self.callbacks(), conn, stream, policy).upgraded(request);
        self.inner.runtime.spawn(driver);
        Ok(fd)
    }
}

fn lock_config<R: Runtime>(server: &Server<R>) -> Arc<crate::connection::Config> {
    let config = super::table::lock(&server.inner.state).config.clone();
    config.unwrap_or_else(|| Arc::new(server.settings().to_config()))
}

/// The request head again, for the connection to parse as if it had read it.
fn encode_head(request: &Request) -> Vec<u8> {
    let mut head = String::with_capacity(256);
    let query = if request.query_string.is_empty() { String::new() } else { format!("?{}", request.query_string) };
    // Writing to a String cannot fail.
    let _ = write!(head, "GET {}{} HTTP/1.1\r\n", request.path, query);
    for (name, value) in request.headers() {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}
