//! The per-connection methods of `Server`: push, broadcast, disconnect, send, close, and
//! the queries (`exist`, `is_established`, `get_client_info`, `connections`).
//!
//! Each tries the fast path first: when called from a callback of the connection it
//! targets, the connection is parked in the thread and the frame goes straight into it.
//! Otherwise the command goes through the connection's mailbox.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::current::{Parked, is_checked_text, is_utf8, parked_fd, with_current};
use super::table::{Command, Slot};
use super::{ClientInfo, DisconnectError, PushError, Runtime, Server};
use crate::close::{CloseCode, MAX_CLOSE_REASON};
use crate::connection::{Message, PreparedMessage, Status};
use crate::error::SendError;
use crate::frame::{Fd, Flags, Frame, Opcode};

impl<R: Runtime> Server<R> {
    /// Sends `data` as one text message (the reference's `push($fd, $data)`).
    ///
    /// # Errors
    /// See [`push_with`](Server::push_with).
    ///
    /// # Example
    /// ```no_run
    /// # fn demo<R: ws_proto::server::Runtime>(server: &ws_proto::server::Server<R>) {
    /// server.on_message(|server, frame| {
    ///     let _ = server.push(frame.fd, "this is server");
    /// });
    /// # }
    /// ```
    pub fn push(&self, fd: Fd, data: impl Into<Bytes>) -> Result<(), PushError> {
        self.push_with(fd, data, Opcode::Text, Flags::FIN)
    }

    /// Sends one frame with `opcode` and `flags` (the reference's
    /// `push($fd, $data, $opcode, $flags)`): [`Flags::FIN`] ends the message (leave it out to
    /// fragment by hand, then send [`Opcode::Continuation`] frames), [`Flags::COMPRESS`]
    /// compresses it when the connection negotiated permessage-deflate (else it goes plain).
    /// Ping, pong and close frames are sent as given.
    ///
    /// # Errors
    /// [`PushError::NotFound`], [`PushError::NotEstablished`], [`PushError::BufferFull`]
    /// (with the payload back) when the connection's queue already holds
    /// `buffer_output_size` bytes, [`PushError::InvalidFrame`] for text that is not UTF-8,
    /// a control payload over 125 bytes or a fragment out of sequence.
    pub fn push_with(&self, fd: Fd, data: impl Into<Bytes>, opcode: Opcode, flags: Flags) -> Result<(), PushError> {
        let data = data.into();
        let limit = self.inner.buffer_output_size.load(Ordering::Relaxed);
        let mut data = Some(data);
        let fast = with_current(self.key(), Some(fd), |parked| {
            let data = data.take().unwrap_or_default();
            push_parked(parked, data, opcode, flags, limit)
        });
        if let Some(result) = fast {
            return result;
        }
        let data = data.unwrap_or_default();
        let slot = self.inner.table.get(fd).ok_or(PushError::NotFound(fd))?;
        if !matches!(slot.status(), Some(Status::Active | Status::Closing)) {
            return Err(PushError::NotEstablished(fd));
        }
        check_frame(&data, opcode, flags)?;
        slot.post(Command::Frame { opcode, data, flags }, limit).map_err(|command| match command {
            Command::Frame { data, .. } => PushError::BufferFull { fd, data },
            _ => PushError::BufferFull { fd, data: Bytes::new() },
        })
    }

    /// Sends a [`Frame`] (its opcode, payload, `finish` and flags), e.g. a received frame
    /// back as it came, compressed again if it arrived compressed.
    ///
    /// # Errors
    /// See [`push_with`](Server::push_with).
    pub fn push_frame(&self, fd: Fd, frame: Frame) -> Result<(), PushError> {
        let flags = frame.flags.with(Flags::FIN, frame.finish);
        self.push_with(fd, frame.data, frame.opcode, flags)
    }

    /// Sends one text or binary message to every open WebSocket, framed (and, with
    /// [`Flags::COMPRESS`] and `websocket_compression`, compressed) once for all of them.
    /// A compressed form is used for connections whose agreed parameters allow a shared
    /// one (no server context takeover); the others get the plain frame. Returns the
    /// number of connections it was queued for; full or closing ones are skipped.
    ///
    /// # Example
    /// ```no_run
    /// # fn demo<R: ws_proto::server::Runtime>(server: &ws_proto::server::Server<R>) {
    /// use ws_proto::{Flags, Opcode};
    /// let sent = server.broadcast("news for everyone", Opcode::Text, Flags::FIN);
    /// # }
    /// ```
    pub fn broadcast(&self, data: impl Into<Bytes>, opcode: Opcode, flags: Flags) -> usize {
        match self.prepare(data.into(), opcode, flags, false) {
            Some((prepared, len, _)) => {
                let slots = self.inner.table.slots();
                self.send_prepared_each(slots.iter().map(|slot| (slot.fd, Some(&**slot))), &prepared, len)
            }
            None => 0,
        }
    }

    /// Like [`broadcast`](Server::broadcast), to the given connections only.
    pub fn broadcast_to(
        &self,
        fds: impl IntoIterator<Item = Fd>,
        data: impl Into<Bytes>,
        opcode: Opcode,
        flags: Flags,
    ) -> usize {
        match self.prepare(data.into(), opcode, flags, false) {
            Some((prepared, len, _)) => self.send_prepared_to(fds, &prepared, len),
            None => 0,
        }
    }

    /// Whether a connection with this fd is open (any kind, any state).
    pub fn exist(&self, fd: Fd) -> bool {
        with_current(self.key(), Some(fd), |_| true).unwrap_or_else(|| self.inner.table.get(fd).is_some())
    }

    /// Whether `fd` is an open WebSocket (handshake done, no close yet).
    pub fn is_established(&self, fd: Fd) -> bool {
        with_current(self.key(), Some(fd), |parked| parked.conn.is_established())
            .unwrap_or_else(|| self.inner.table.get(fd).is_some_and(|slot| slot.status() == Some(Status::Active)))
    }

    /// Closes a WebSocket with a close frame (the reference's `disconnect`): `code` 1000 or
    /// 4000–4999, `reason` at most 123 bytes of UTF-8. The reference says 125, but RFC
    /// 6455 §5.5 caps the whole control payload, the 2-byte code included, at 125; the
    /// RFC wins. `on_close` follows when the client answers (or the close times out).
    ///
    /// # Errors
    /// [`DisconnectError::InvalidCode`], [`DisconnectError::ReasonTooLong`],
    /// [`DisconnectError::NotEstablished`]. Nothing is sent then.
    pub fn disconnect(&self, fd: Fd, code: u16, reason: &str) -> Result<(), DisconnectError> {
        let close_code = CloseCode::try_from(code)
            .ok()
            .filter(|c| c.is_application_code())
            .ok_or(DisconnectError::InvalidCode(code))?;
        if reason.len() > MAX_CLOSE_REASON {
            return Err(DisconnectError::ReasonTooLong(reason.len()));
        }
        let fast = with_current(self.key(), Some(fd), |parked| parked.conn.close(close_code, reason));
        match fast {
            Some(result) => result.map_err(|_| DisconnectError::NotEstablished(fd)),
            None => {
                let slot = self.inner.table.get(fd).ok_or(DisconnectError::NotEstablished(fd))?;
                if !matches!(slot.status(), Some(Status::Active | Status::Closing)) {
                    return Err(DisconnectError::NotEstablished(fd));
                }
                slot.post_control(Command::Disconnect(close_code, reason.to_owned()));
                Ok(())
            }
        }
    }

    /// What the server knows about a connection (the reference's `getClientInfo`).
    pub fn get_client_info(&self, fd: Fd) -> Option<ClientInfo> {
        let slot = self.inner.table.get(fd)?;
        let status =
            with_current(self.key(), Some(fd), |parked| Some(parked.conn.status())).unwrap_or_else(|| slot.status());
        let websocket_status = status.filter(|_| slot.status().is_some());
        Some(ClientInfo {
            fd,
            remote_addr: slot.peer,
            server_port: self.local_addr().map_or(0, |addr| addr.port()),
            connect_time: slot.connect_time,
            websocket_status,
        })
    }

    /// The fds of every open connection, in order (the reference's `$server->connections`).
    pub fn connections(&self) -> Vec<Fd> {
        let mut fds: Vec<Fd> = self.inner.table.slots().iter().map(|slot| slot.fd).collect();
        fds.sort_unstable();
        fds
    }

    /// Writes raw bytes to the connection, outside any framing (the reference's `send`):
    /// e.g. a response built by hand and frames made with [`Frame::pack`].
    ///
    /// # Errors
    /// [`PushError::NotFound`], or [`PushError::BufferFull`] with the bytes back.
    pub fn send(&self, fd: Fd, data: impl Into<Bytes>) -> Result<(), PushError> {
        let data = data.into();
        let limit = self.inner.buffer_output_size.load(Ordering::Relaxed);
        let mut data = Some(data);
        let fast = with_current(self.key(), Some(fd), |parked| {
            let data = data.take().unwrap_or_default();
            if !room(parked, data.len(), limit) {
                return Err(PushError::BufferFull { fd, data });
            }
            parked.conn.output().push_raw(data);
            Ok(())
        });
        if let Some(result) = fast {
            return result;
        }
        let data = data.unwrap_or_default();
        let slot = self.inner.table.get(fd).ok_or(PushError::NotFound(fd))?;
        slot.post(Command::Raw(data), limit).map_err(|command| match command {
            Command::Raw(data) => PushError::BufferFull { fd, data },
            _ => PushError::BufferFull { fd, data: Bytes::new() },
        })
    }

    /// Closes the TCP connection once what is queued is written, without a close frame (the
    /// reference's `close`). `on_close` (or `on_disconnect`) follows.
    ///
    /// # Errors
    /// [`PushError::NotFound`].
    pub fn close(&self, fd: Fd) -> Result<(), PushError> {
        if with_current(self.key(), Some(fd), |parked| parked.close_now = true).is_some() {
            return Ok(());
        }
        let slot = self.inner.table.get(fd).ok_or(PushError::NotFound(fd))?;
        slot.post_control(Command::Close);
        Ok(())
    }

    // ---- crate-private ----

    /// Frames a broadcast (or a topic's message) once: the message, its plain length, and
    /// whether it was compressed. `None` for a control opcode or text that is not UTF-8
    /// (checked here unless `utf8_checked`: the caller checked it already).
    pub(crate) fn prepare(
        &self,
        data: Bytes,
        opcode: Opcode,
        flags: Flags,
        utf8_checked: bool,
    ) -> Option<(Arc<PreparedMessage>, usize, bool)> {
        let len = data.len();
        let message = match opcode {
            Opcode::Text if utf8_checked || is_utf8(&data) => Message::text_checked(data),
            Opcode::Text => return None,
            Opcode::Binary => Message::binary(data),
            _ => return None,
        };
        let settings = self.settings();
        let compress = flags.contains(Flags::COMPRESS) && settings.websocket_compression;
        // The server's largest window: every connection that agreed compression agreed at
        // most this, and one whose window is smaller gets the message plain.
        let deflate = &settings.websocket_deflate;
        let prepared = Arc::new(match compress {
            true => PreparedMessage::compressed(message, deflate.server_max_window_bits, deflate.level),
            false => PreparedMessage::new(message),
        });
        Some((prepared, len, compress))
    }

    /// Queues a prepared message on each of `fds` (straight in for the connection whose
    /// callback is running); returns how many took it.
    pub(crate) fn send_prepared_to(
        &self,
        fds: impl IntoIterator<Item = Fd>,
        prepared: &Arc<PreparedMessage>,
        len: usize,
    ) -> usize {
        let table = &self.inner.table;
        self.send_prepared_each(fds.into_iter().map(|fd| (fd, table.get(fd))), prepared, len)
    }

    /// Queues a prepared message on each target (an fd and its slot, if it has one): straight
    /// in for the connection whose callback is running on this thread, through the mailbox
    /// for the others. Returns how many took it.
    fn send_prepared_each<S: std::borrow::Borrow<Slot>>(
        &self,
        targets: impl Iterator<Item = (Fd, Option<S>)>,
        prepared: &Arc<PreparedMessage>,
        len: usize,
    ) -> usize {
        let limit = self.inner.buffer_output_size.load(Ordering::Relaxed);
        // Looked up once: which of the targets, if any, is parked here.
        let parked_fd = parked_fd(self.key());
        let mut sent = 0;
        for (fd, slot) in targets {
            let queued = if parked_fd == Some(fd) {
                with_current(self.key(), Some(fd), |parked| {
                    room(parked, len, limit) && parked.conn.send_prepared(prepared).is_ok()
                })
                .unwrap_or(false)
            } else {
                slot.is_some_and(|slot| {
                    let slot = slot.borrow();
                    slot.status() == Some(Status::Active)
                        && slot.post(Command::Prepared(prepared.clone(), len), limit).is_ok()
                })
            };
            sent += usize::from(queued);
        }
        sent
    }
}

/// The fast path of a push: straight into the parked connection.
fn push_parked(parked: &mut Parked, data: Bytes, opcode: Opcode, flags: Flags, limit: usize) -> Result<(), PushError> {
    let fd = parked.fd;
    if !matches!(parked.conn.status(), Status::Active | Status::Closing) {
        return Err(PushError::NotEstablished(fd));
    }
    if !room(parked, data.len(), limit) {
        return Err(PushError::BufferFull { fd, data });
    }
    parked.conn.send_frame_with(opcode, data, flags, is_checked_text).map_err(|error| match error {
        SendError::NotOpen => PushError::NotEstablished(fd),
        other => PushError::InvalidFrame(other),
    })
}

/// Whether `len` more bytes fit the connection's queue (an empty queue takes anything).
fn room(parked: &Parked, len: usize, limit: usize) -> bool {
    let queued = parked.conn.output_len();
    queued == 0 || queued + len <= limit
}

/// The checks a push to another task can make before queueing, so that most invalid frames
/// fail at the call rather than silently in the driver.
pub(super) fn check_frame(data: &[u8], opcode: Opcode, flags: Flags) -> Result<(), PushError> {
    let invalid = PushError::InvalidFrame;
    if opcode.is_control() && data.len() > 125 {
        return Err(invalid(SendError::ControlTooLong(data.len())));
    }
    if opcode == Opcode::Text && flags.contains(Flags::FIN) && !is_utf8(data) {
        return Err(invalid(SendError::InvalidUtf8));
    }
    Ok(())
}
