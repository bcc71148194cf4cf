//! What a room knows of a connection: its mailbox (as recipients, so rooms do not depend on the
//! session type) and a last-resort way to shut its socket down.

use crate::messages::{Outgoing, SessionEvent};
use actix::prelude::*;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tickroom_shared::{CloseCode, ErrorCode};

/// How long a session asked to close may take before its socket is shut down anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Shuts a connection's socket down from any thread.
///
/// A session whose client stopped reading is not polled by actix-web at all (its response stream
/// waits for the socket), so it cannot close itself. The room then calls [`Closer::shutdown`],
/// which shuts the socket down under the dispatcher's feet. It holds a duplicate of the socket's
/// file descriptor, so the socket it shuts down is always this connection's, never a reused
/// number.
#[derive(Clone, Default)]
pub struct Closer(pub(crate) Option<Arc<std::net::TcpStream>>);

impl Closer {
    /// Bytes written to the socket that the kernel has not been able to send yet (Linux:
    /// `SIOCOUTQNSD`), i.e. held back by the client's receive window or the congestion window.
    /// Unlike the whole send queue it excludes bytes in flight, so a healthy connection on a
    /// long link reads 0 between ticks while one whose client stopped reading stays above 0.
    /// `None` without a socket or off Linux.
    pub fn unsent(&self) -> Option<usize> {
        #[cfg(target_os = "linux")]
        if let Some(socket) = &self.0 {
            use std::os::fd::AsRawFd;
            let mut unsent: libc::c_int = 0;
            // SAFETY: the descriptor is open for as long as `socket` lives, and SIOCOUTQNSD
            // writes one int through the pointer, which points at a live local.
            let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCOUTQNSD, &mut unsent) };
            return (rc == 0).then(|| usize::try_from(unsent).unwrap_or(0));
        }
        None
    }

    /// Shuts both directions down; the connection ends at once. A no-op without a socket.
    pub fn shutdown(&self) {
        if let Some(socket) = &self.0 {
            // Fails only if the socket is already shut down or closed: nothing left to do.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The round-trip time of a connection's last answered WebSocket ping, written by its session
/// and read by its room for the admin page.
#[derive(Clone, Debug, Default)]
pub struct Rtt(Arc<AtomicU64>);

impl Rtt {
    /// Records a measured round trip.
    pub fn set(&self, rtt: Duration) {
        // At least 1 µs, so a measurement is never mistaken for "none yet".
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX).max(1);
        self.0.store(us, Relaxed);
    }

    /// The last round trip, `None` before the first answer.
    pub fn get(&self) -> Option<Duration> {
        match self.0.load(Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }
}

/// A room's handle on one session.
pub struct Connection {
    /// Unique per connection; guards against messages from a replaced connection.
    pub id: u64,
    /// The bounded outbound queue (the session's mailbox).
    pub outgoing: Recipient<Outgoing>,
    /// Control events, through the same mailbox.
    pub events: Recipient<SessionEvent>,
    /// Last resort for a session that stopped draining.
    pub closer: Closer,
    /// The connection's round-trip time, as its session measures it.
    pub rtt: Rtt,
}

impl Connection {
    /// Tells the session its join failed (it may try again).
    pub fn join_failed(&self, code: ErrorCode, message: impl Into<String>) {
        let event = SessionEvent::JoinFailed {
            code,
            message: message.into(),
        };
        // A session that is already gone has nobody to tell.
        let _ = self.events.try_send(event);
    }

    /// Asks the session to close with `code`, and shuts the socket down after a grace in any
    /// case: a session that stopped draining is not polled, so it would never act on the
    /// request. Shutting down a socket that already closed is a no-op. Must run on an actix
    /// arbiter.
    pub fn close(&self, code: CloseCode, reason: impl Into<String>) {
        self.close_after(code, reason, Vec::new());
    }

    /// Like [`Connection::close`], writing `last` first: the close request travels outside the
    /// bounded queue, so messages that must not be lost (`Ended`) still reach a member whose
    /// queue is full, right after what it already holds.
    pub fn close_after(&self, code: CloseCode, reason: impl Into<String>, last: Vec<Bytes>) {
        let event = SessionEvent::Close {
            code,
            reason: reason.into(),
            last,
        };
        if self.events.try_send(event).is_err() {
            return self.closer.shutdown();
        }
        let closer = self.closer.clone();
        actix::spawn(async move {
            actix::clock::sleep(CLOSE_GRACE).await;
            closer.shutdown();
        });
    }
}
