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
/// a member further behind than this is too slow and is disconnected.
pub const MAX_PENDING: usize = 256;

/// Most chat lines kept for a member that cannot take them; when more arrive, the oldest are
/// dropped (and counted). Chat is not worth a seat: unlike reliable messages, a long backlog
/// does not make a member too slow.
pub const MAX_CHAT_BACKLOG: usize = 64;

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
    /// Chat lines not yet queued, oldest first (at most [`MAX_CHAT_BACKLOG`]).
    pub chat: VecDeque<Bytes>,
    /// Ticks skipped for a full queue since the seat was taken (for the operator).
    pub skipped: u64,
    /// Snapshots that caught the member up after it had received ticks (a skip or its own
    /// `Resync`), since the seat was taken (for the operator).
    pub resyncs: u64,
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
            chat: VecDeque::new(),
            skipped: 0,
            resyncs: 0,
            stuck_since: None,
            held_until: None,
        }
    }

    /// Since when the member's queue has been full, if it is.
    pub fn stuck_since(&self) -> Option<Instant> {
        self.stuck_since
    }

    /// Until when a held seat waits for its reconnect, if it is held.
    pub fn held_until(&self) -> Option<Instant> {
        self.held_until.filter(|_| self.conn.is_none())
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
        self.chat.clear();
        self.conn.replace(conn)
    }

    /// The connection dropped: hold the seat until `now + grace`.
    pub fn hold(&mut self, now: Instant, grace: Duration) -> Option<C> {
        self.stuck_since = None;
        self.held_until = Some(now + grace);
        self.pending.clear();
        self.chat.clear();
        self.conn.take()
    }

    /// Adds this tick's chat lines to the member's backlog; returns how many old lines were
    /// dropped to keep it within [`MAX_CHAT_BACKLOG`].
    pub fn queue_chat(&mut self, lines: &[Bytes]) -> usize {
        if self.conn.is_none() {
            return 0;
        }
        self.chat.extend(lines.iter().cloned());
        let excess = self.chat.len().saturating_sub(MAX_CHAT_BACKLOG);
        self.chat.drain(..excess);
        excess
    }

    /// Everything the member is due, in order: its pending reliable messages, the chat lines it
    /// has not received, then `parts`. On the usual tick (nothing pending) that is `parts`
    /// itself, without another allocation.
    pub fn outstanding(&self, parts: Vec<Bytes>) -> Vec<Bytes> {
        if self.pending.is_empty() && self.chat.is_empty() {
            return parts;
        }
        let mut frames = Vec::with_capacity(self.pending.len() + self.chat.len() + parts.len());
        frames.extend(self.pending.iter().cloned());
        frames.extend(self.chat.iter().cloned());
        frames.extend(parts);
        frames
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
                if self.needs_snapshot && self.delivered.is_some() {
                    self.resyncs += 1;
                }
                self.needs_snapshot = false;
                self.stuck_since = None;
                self.delivered = Some(tick);
                self.scopes = scopes;
                Verdict::Fine
            }
            Delivery::Full => {
                self.skipped += 1;
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

/// Sends a member everything it is due as one queued message (one slot of its bounded queue):
/// its pending reliable messages, the chat lines it has not received, then `parts` (roster,
/// snapshot or delta). Nothing is sent when there is nothing to send. Only a `Sent` clears the
/// pending messages and the chat backlog; otherwise they wait for the next try. Because chat
/// rides in the same slot as the tick's delta, chatter never takes a slot a delta needs.
pub fn deliver<C>(
    seat: &mut Seat<C>,
    parts: Vec<Bytes>,
    send: impl FnOnce(&C, Vec<Bytes>) -> Delivery,
) -> Delivery {
    let Some(conn) = &seat.conn else {
        return Delivery::Closed;
    };
    let frames = seat.outstanding(parts);
    if frames.is_empty() {
        return Delivery::Sent;
    }
    let outcome = send(conn, frames);
    if outcome == Delivery::Sent {
        seat.pending.clear();
        seat.chat.clear();
    }
    outcome
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
        assert_eq!(seat.skipped, 4, "every full queue is a skipped tick");
        assert_eq!(
            seat.resyncs, 1,
            "the snapshot after the first skip caught it up"
        );
        assert_eq!(seat.stuck_since(), Some(much_later));
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
    fn one_message_carries_reliable_messages_chat_and_the_tick_until_one_is_taken() {
        let b = Bytes::from_static;
        let mut seat = Seat::new("a".into(), "t".into(), None, ());
        seat.pending.push_back(b(b"result"));
        seat.queue_chat(&[b(b"chat")]);
        let mut sent = Vec::new();
        let full = deliver(&mut seat, vec![b(b"delta 1")], |_, _| Delivery::Full);
        assert_eq!(full, Delivery::Full);
        assert_eq!(
            (seat.pending.len(), seat.chat.len()),
            (1, 1),
            "kept for later"
        );
        let out = deliver(&mut seat, vec![b(b"snapshot")], |_, frames| {
            sent.push(frames);
            Delivery::Sent
        });
        assert_eq!(out, Delivery::Sent);
        assert_eq!(
            sent,
            vec![vec![b(b"result"), b(b"chat"), b(b"snapshot")]],
            "one queue slot, reliable messages first"
        );
        assert!(seat.pending.is_empty() && seat.chat.is_empty());
        let nothing = deliver(&mut seat, Vec::new(), |_, _| {
            unreachable!("nothing to send")
        });
        assert_eq!(nothing, Delivery::Sent);
    }

    #[test]
    fn a_chat_backlog_keeps_the_newest_lines() {
        let mut seat = Seat::new("a".into(), "t".into(), None, ());
        let lines: Vec<Bytes> = (0..MAX_CHAT_BACKLOG + 3)
            .map(|i| Bytes::from(i.to_string()))
            .collect();
        assert_eq!(seat.queue_chat(&lines), 3);
        assert_eq!(seat.chat.len(), MAX_CHAT_BACKLOG);
        assert_eq!(seat.chat.front(), Some(&Bytes::from("3")));
        seat.hold(Instant::now(), TIMEOUT);
        assert!(seat.chat.is_empty(), "a held seat keeps no chat");
        assert_eq!(seat.queue_chat(&lines), 0);
    }
}
