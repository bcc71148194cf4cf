//! A room's seat policy as plain code: who is sent what, who is skipped and resynced, who is
//! kicked for not reading, whose held seat expires. Time is passed in (`now`), so every rule is
//! tested without sockets or sleeps; the room actor only calls these methods.

use crate::replication::ScopeKey;
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tickroom_shared::Tick;

/// Most reliable messages (command results, `Ended`) kept for a member that cannot take them;
/// a member further behind than this is too slow and loses its seat.
pub const MAX_PENDING: usize = 256;

/// What became of one try to queue a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Queued.
    Sent,
    /// The member's queue is full.
    Full,
    /// The session is gone.
    Closed,
}

/// What the room should do with a member after a tick's sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing.
    Fine,
    /// Its queue has been full for too long: free the seat and shut the socket down.
    TooSlow,
    /// Its session ended: hold the seat.
    Gone,
}

/// One seat and its connection `C` (absent while the seat is held for a reconnect).
#[derive(Debug)]
pub struct Seat<C> {
    /// Display name.
    pub name: String,
    /// Secret to resume the seat.
    pub token: String,
    /// The address whose join took the seat: it counts against that address's seat budget
    /// until freed, whoever resumes it.
    pub ip: Option<IpAddr>,
    /// The connection, when connected.
    pub conn: Option<C>,
    /// The next tick message must be a Snapshot (just seated, resumed, skipped, or asked).
    pub needs_snapshot: bool,
    /// Scopes seen at the last delivered tick.
    pub scopes: Vec<ScopeKey>,
    /// Last tick delivered (a Delta or Snapshot), for the events a Snapshot must replay.
    pub delivered: Option<Tick>,
    /// Reliable messages not yet queued, oldest first.
    pub pending: VecDeque<Bytes>,
    stuck_since: Option<Instant>,
    held_until: Option<Instant>,
}

impl<C> Seat<C> {
    /// A newly seated connection from `ip`: its first tick message is a Snapshot.
    pub fn new(name: String, token: String, ip: Option<IpAddr>, conn: C) -> Seat<C> {
        Seat {
            name,
            token,
            ip,
            conn: Some(conn),
            needs_snapshot: true,
            scopes: Vec::new(),
            delivered: None,
            pending: VecDeque::new(),
            stuck_since: None,
            held_until: None,
        }
    }

    /// A new connection takes the seat (resume): Snapshot next, no replay of older events.
    pub fn reconnect(&mut self, conn: C, token: String) -> Option<C> {
        self.token = token;
        self.needs_snapshot = true;
        self.delivered = None;
        self.scopes.clear();
        self.stuck_since = None;
        self.held_until = None;
        self.pending.clear();
        self.conn.replace(conn)
    }

    /// The connection dropped: hold the seat until `now + grace`.
    pub fn hold(&mut self, now: Instant, grace: Duration) -> Option<C> {
        self.stuck_since = None;
        self.held_until = Some(now + grace);
        self.pending.clear();
        self.conn.take()
    }

    /// A held seat whose grace ran out.
    pub fn expired(&self, now: Instant) -> bool {
        self.conn.is_none() && self.held_until.is_some_and(|t| now >= t)
    }

    /// Records the outcome of this tick's sends: a full queue skips the tick (a Snapshot comes
    /// when the queue takes messages again) and, past `timeout` of full queues, the member is
    /// too slow.
    pub fn after_send(
        &mut self,
        outcome: Delivery,
        tick: Tick,
        scopes: Vec<ScopeKey>,
        now: Instant,
        timeout: Duration,
    ) -> Verdict {
        match outcome {
            Delivery::Sent => {
                self.needs_snapshot = false;
                self.stuck_since = None;
                self.delivered = Some(tick);
                self.scopes = scopes;
                Verdict::Fine
            }
            Delivery::Full => {
                self.needs_snapshot = true;
                let since = *self.stuck_since.get_or_insert(now);
                if now.duration_since(since) >= timeout || self.pending.len() > MAX_PENDING {
                    Verdict::TooSlow
                } else {
                    Verdict::Fine
                }
            }
            Delivery::Closed => Verdict::Gone,
        }
    }
}

/// Queues `bytes` through `send`, pending reliable messages first; stops at the first refusal.
pub fn deliver(
    pending: &mut VecDeque<Bytes>,
    parts: &[Bytes],
    mut send: impl FnMut(Bytes) -> Delivery,
) -> Delivery {
    while let Some(b) = pending.front() {
        match send(b.clone()) {
            Delivery::Sent => {
                pending.pop_front();
            }
            other => return other,
        }
    }
    for p in parts {
        match send(p.clone()) {
            Delivery::Sent => {}
            other => return other,
        }
    }
    Delivery::Sent
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    #[test]
    fn a_new_seat_wants_a_snapshot_and_a_delivery_clears_it() {
        let now = Instant::now();
        let mut seat = Seat::new("a".into(), "t".into(), None, ());
        assert!(seat.needs_snapshot);
        let v = seat.after_send(Delivery::Sent, Tick(3), vec![ScopeKey::All], now, TIMEOUT);
        assert_eq!(v, Verdict::Fine);
        assert!(!seat.needs_snapshot);
        assert_eq!(seat.delivered, Some(Tick(3)));
    }

    #[test]
    fn a_full_queue_skips_then_kicks_after_the_timeout() {
        let t0 = Instant::now();
        let mut seat = Seat::new("a".into(), "t".into(), None, ());
        seat.after_send(Delivery::Sent, Tick(1), vec![], t0, TIMEOUT);
        assert_eq!(
            seat.after_send(Delivery::Full, Tick(2), vec![], t0, TIMEOUT),
            Verdict::Fine
        );
        assert!(seat.needs_snapshot);
        assert_eq!(
            seat.delivered,
            Some(Tick(1)),
            "events after tick 1 are replayed"
        );
        let later = t0 + Duration::from_secs(4);
        assert_eq!(
            seat.after_send(Delivery::Full, Tick(3), vec![], later, TIMEOUT),
            Verdict::Fine
        );
        // Draining again resets the clock.
        seat.after_send(Delivery::Sent, Tick(4), vec![], later, TIMEOUT);
        let much_later = t0 + Duration::from_secs(9);
        assert_eq!(
            seat.after_send(Delivery::Full, Tick(5), vec![], much_later, TIMEOUT),
            Verdict::Fine
        );
        let end = much_later + TIMEOUT;
        assert_eq!(
            seat.after_send(Delivery::Full, Tick(6), vec![], end, TIMEOUT),
            Verdict::TooSlow
        );
    }

    #[test]
    fn held_seats_expire_after_the_grace_and_resume_resets() {
        let t0 = Instant::now();
        let mut seat = Seat::new("a".into(), "t".into(), None, 1u8);
        assert_eq!(seat.hold(t0, Duration::from_secs(15)), Some(1));
        assert!(!seat.expired(t0 + Duration::from_secs(14)));
        assert!(seat.expired(t0 + Duration::from_secs(15)));
        seat.reconnect(2, "t2".into());
        assert!(!seat.expired(t0 + Duration::from_secs(100)));
        assert!(seat.needs_snapshot);
        assert_eq!(seat.delivered, None);
    }

    #[test]
    fn reliable_messages_wait_in_order_until_the_queue_takes_them() {
        let mut pending: VecDeque<Bytes> =
            [Bytes::from_static(b"r1"), Bytes::from_static(b"r2")].into();
        let mut room_left = 1;
        let mut sent = Vec::new();
        let out = deliver(&mut pending, &[Bytes::from_static(b"delta")], |b| {
            if room_left == 0 {
                return Delivery::Full;
            }
            room_left -= 1;
            sent.push(b);
            Delivery::Sent
        });
        assert_eq!(out, Delivery::Full);
        assert_eq!(sent, vec![Bytes::from_static(b"r1")]);
        assert_eq!(pending.len(), 1);
        let out = deliver(&mut pending, &[Bytes::from_static(b"delta")], |b| {
            sent.push(b);
            Delivery::Sent
        });
        assert_eq!(out, Delivery::Sent);
        assert_eq!(sent.len(), 3);
        assert!(pending.is_empty());
    }
}
