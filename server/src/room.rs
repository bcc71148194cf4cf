//! The `Room` actor: one per room, on one of the room threads, with the game's tick loop.
//!
//! Each tick it steps the [`Simulation`], which encodes each scope's changes once; then every
//! member gets its message assembled from those shared segments (with only the everyone scope,
//! the same `Bytes` for all) through `try_send`, which respects the member's bounded queue. What
//! to send to whom, skips, snapshots, slow kicks and held seats are decided by
//! [`crate::membership`]; this actor adds the clock and the mailboxes. A member that stays full
//! past the slow-client timeout has its socket shut down from here (its seat held for a
//! reconnect), because a stuck session is not polled and could not close itself (actix-web
//! issue 2441).
//!
//! Spectators get the same per-tick treatment as connected seats (a `Seat` without token or
//! hold, keyed by connection), with the scopes the game shows spectators, computed once per tick.
//!
//! The tick schedule is a `tokio::time::Interval` in burst mode: tick *n* is due at
//! `start + n * period`, so the rate does not drift, and a late tick is counted, not hidden.

use crate::config::Config;
use crate::connection::Connection;
use crate::game::Game;
use crate::inbox::{Inbox, Letter};
use crate::membership::{deliver, Delivery, Seat, Verdict};
use crate::messages::{
    CloseRoom, FromPlayer, FromSpectator, Inspect, Join, JoinRequest, Kick, MemberReport, Origin,
    Outgoing, PlayerMsg, RoomDetail, RoomEvent, SessionEvent, SpectatorMsg, Target, Watch,
};
use crate::replication::ScopeKey;
use crate::sim::{Rejected, Simulation};
use crate::stats::{RoomStats, Stats};
use actix::prelude::*;
use bytes::Bytes;
use rand::Rng;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tickroom_shared::{
    CloseCode, DecodeLimits, ErrorCode, PlayerId, RoomId, RosterEntry, ServerMsg, Tick,
};
use tokio::time::{Instant, MissedTickBehavior};

/// A room: its simulation, its seats and its tick loop.
pub struct Room<G: Game> {
    id: RoomId,
    config: Arc<Config>,
    /// Boxed so the actor is `Unpin` whatever the game's types are.
    sim: Box<Simulation<G>>,
    seats: BTreeMap<PlayerId, Seat<Connection>>,
    /// Spectators by connection id: seats in all but name (no token, never held).
    spectators: BTreeMap<u64, Seat<Connection>>,
    /// Spectators taken at most (the game's and the server's limit).
    max_spectators: u32,
    capacity: u32,
    hz: u16,
    /// Ticks between keep-alives for on-change rooms; `None` sends every tick.
    keepalive: Option<u64>,
    last_sent: Tick,
    lobby: Recipient<RoomEvent>,
    stats: Arc<Stats>,
    room_stats: Arc<RoomStats>,
    roster_dirty: bool,
    empty_since: Option<Instant>,
    /// Someone was welcomed here once. A room nobody was ever seated in (its creator's join
    /// failed) is worth nothing to anyone, so it asks to close at once instead of after
    /// `--empty-room-grace`; that also stops failed joins from piling up empty rooms.
    ever_seated: bool,
    period: Duration,
    closed: bool,
    /// For decoding inputs and commands, as the session decodes everything else.
    limits: DecodeLimits,
    /// The current tick, read by the sessions to answer pings.
    clock: Arc<AtomicU64>,
    /// Chat lines of this tick, delivered with its messages.
    chat: Vec<Bytes>,
    /// Inputs and commands posted by the members for the next tick.
    inbox: Arc<Inbox>,
    /// The previous tick's emptied letters, handed back to the inbox to reuse its allocation.
    spare: Vec<Letter>,
    /// Payload bytes the members sent since the last tick (inputs, commands, chat), counted
    /// into the room's statistics once per tick.
    bytes_in: u64,
}

/// What one tick sends to every member alike.
struct TickSend {
    tick: Tick,
    /// Something changed (or a keep-alive or the end is due): every member gets the tick.
    emit: bool,
    /// The roster, when it changed this tick.
    roster: Option<Bytes>,
    /// The roster for members due a Snapshot (present when any is).
    snapshot_roster: Option<Bytes>,
    /// This tick's chat lines.
    chat: Vec<Bytes>,
    /// Bytes queued to members, counted into the room's traffic.
    bytes_out: u64,
}

/// A member a tick's verdict is about.
#[derive(Clone, Copy)]
enum Member {
    Player(PlayerId),
    /// By connection id.
    Spectator(u64),
}

fn encode(msg: &ServerMsg) -> Bytes {
    match tickroom_shared::encode(msg) {
        Ok(v) => Bytes::from(v),
        // Our own messages always encode; an error here is a bug worth shouting about.
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a server message");
            Bytes::new()
        }
    }
}

fn send_to(conn: &Connection, frames: Vec<Bytes>) -> Delivery {
    match conn.outgoing.try_send(Outgoing(frames)) {
        Ok(()) => Delivery::Sent,
        Err(SendError::Full(_)) => Delivery::Full,
        Err(SendError::Closed(_)) => Delivery::Closed,
    }
}

impl<G: Game> Room<G> {
    /// A room running `sim` (built by the lobby, which survives a panic in `Game::new`) that
    /// reports to `lobby`.
    pub fn new(
        id: RoomId,
        sim: Simulation<G>,
        config: Arc<Config>,
        lobby: Recipient<RoomEvent>,
        stats: Arc<Stats>,
    ) -> Self {
        // The registry built the simulation with the server's overrides applied.
        let info = sim.info();
        let hz = info.tick.hz();
        let keepalive = match info.tick {
            crate::game::TickPolicy::Fixed { .. } => None,
            crate::game::TickPolicy::OnChange { keepalive_secs, .. } => {
                Some(u64::from(keepalive_secs.max(1)) * u64::from(hz))
            }
        };
        let capacity = info.capacity;
        let max_spectators = info.spectators;
        let room_stats = stats.add_room(id);
        let limits = DecodeLimits {
            max_bytes: config.max_message_size,
            ..DecodeLimits::default()
        };
        Room {
            id,
            sim: Box::new(sim),
            config,
            seats: BTreeMap::new(),
            spectators: BTreeMap::new(),
            max_spectators,
            capacity,
            hz,
            keepalive,
            last_sent: Tick(0),
            lobby,
            stats,
            room_stats,
            roster_dirty: false,
            empty_since: Some(Instant::now()),
            ever_seated: false,
            period: Duration::from_secs_f64(1.0 / f64::from(hz)),
            closed: false,
            limits,
            clock: Arc::default(),
            chat: Vec::new(),
            // Inputs from every member: a generous burst per seat before one is dropped.
            inbox: Arc::new(Inbox::new((capacity as usize * 8).max(256))),
            spare: Vec::new(),
            bytes_in: 0,
        }
    }

    /// Seats in this room: the game's, the server's cap, and what the game chose for the room.
    fn capacity(&self) -> u32 {
        let chosen = self.sim.room_control().capacity.unwrap_or(u32::MAX);
        self.capacity.min(chosen)
    }

    /// Tells the lobby when the game locked, unlocked, resized or relabelled the room, so quick
    /// match and `/api/rooms` follow at once (not only at the next tick).
    fn report_control(&mut self) {
        if let Some(c) = self.sim.take_control_change() {
            let capacity = self.capacity();
            self.lobby.do_send(RoomEvent::Control {
                room: self.id,
                locked: c.locked,
                metadata: c.metadata,
                capacity,
            });
        }
    }

    fn seat(&mut self, from: Origin) -> Option<&mut Seat<Connection>> {
        self.seats
            .get_mut(&from.player)
            .filter(|s| s.conn.as_ref().is_some_and(|c| c.id == from.conn))
    }

    fn free_player_id(&self) -> PlayerId {
        // Smallest free id from 1: keeps ids one byte on the wire. Seats are sorted by id.
        let mut next = 1;
        for id in self.seats.keys() {
            if id.0 != next {
                break;
            }
            next += 1;
        }
        PlayerId(next)
    }

    fn new_token(&self, player: PlayerId) -> String {
        // The room id prefix lets the lobby route a reconnect; the secret is 128 random bits
        // from the thread RNG, not the game's, so tokens do not perturb a seeded game.
        let secret: u128 = rand::rng().random();
        format!("{}.{}.{secret:032x}", self.id, player)
    }

    fn roster(&self) -> Bytes {
        let players = self
            .seats
            .iter()
            .map(|(id, s)| RosterEntry {
                player: *id,
                name: s.name.clone(),
                connected: s.conn.is_some(),
            })
            .collect();
        encode(&ServerMsg::Roster { players })
    }

    fn roster_changed(&mut self) {
        self.roster_dirty = true;
        self.room_stats.set_players(self.seats.keys().copied());
    }

    /// Removes a seat for good and tells the lobby it is free.
    fn remove(&mut self, player: PlayerId) -> Option<Seat<Connection>> {
        let seat = self.seats.remove(&player)?;
        self.guarded(|sim| sim.leave(player));
        self.report_control();
        self.lobby.do_send(RoomEvent::SeatFreed {
            room: self.id,
            ip: seat.ip,
        });
        self.roster_changed();
        if self.seats.is_empty() {
            self.empty_since = Some(Instant::now());
        }
        self.close_if_unused();
        Some(seat)
    }

    /// After a failed join: a room nobody was ever seated in asks the lobby to close it now
    /// (the lobby keeps it if another join is on its way).
    fn close_if_unused(&self) {
        if !self.ever_seated && self.seats.is_empty() {
            self.lobby.do_send(RoomEvent::Idle(self.id));
        }
    }

    /// The member's connection is gone: hold the seat, or free it when there is no grace.
    fn disconnected(&mut self, player: PlayerId) {
        if self.config.reconnect_grace.is_zero() {
            self.remove(player);
            return;
        }
        let grace = self.config.reconnect_grace;
        if let Some(seat) = self.seats.get_mut(&player) {
            seat.hold(std::time::Instant::now(), grace);
            self.guarded(|sim| sim.disconnected(player));
            self.roster_changed();
        }
    }

    /// Tells the session it is seated and sends the welcome; false if the connection is
    /// already unusable.
    fn welcome(&self, player: PlayerId, ctx: &mut Context<Self>) -> bool {
        let Some(seat) = self.seats.get(&player) else {
            return false;
        };
        let Some(conn) = &seat.conn else { return false };
        let welcome = ServerMsg::Welcome {
            player,
            room: self.id,
            game: G::NAME.to_owned(),
            tick_rate: self.hz,
            on_change: self.keepalive.is_some(),
            tick: self.sim.tick(),
            token: seat.token.clone(),
            kinds: self.sim.kinds(),
        };
        // The joined event goes first so the session knows its room before the client can
        // answer the welcome.
        let joined = SessionEvent::Joined {
            room: ctx.address().recipient(),
            player,
            clock: self.clock.clone(),
            inbox: self.inbox.clone(),
        };
        conn.events.try_send(joined).is_ok()
            && send_to(conn, vec![encode(&welcome)]) == Delivery::Sent
    }

    fn tick(&mut self, scheduled: Instant, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let wall = std::time::Instant::now();
        self.room_stats
            .record_tick(now.saturating_duration_since(scheduled), self.period);
        self.open_inbox();
        let Some(outcome) = self.guarded(|sim| sim.step()) else {
            return ctx.stop();
        };
        let tick = self.sim.tick();
        self.clock.store(tick.0, Relaxed);
        self.report_control();
        for (player, id, refusal) in outcome.results {
            if let Some(seat) = self.seats.get_mut(&player) {
                if seat.conn.is_some() {
                    seat.pending
                        .push_back(encode(&ServerMsg::CommandResult { id, refusal }));
                }
            }
        }
        let roster = std::mem::take(&mut self.roster_dirty).then(|| self.roster());
        let keepalive_due = self
            .keepalive
            .is_none_or(|k| tick.0 >= self.last_sent.0 + k);
        // Fixed-rate rooms send every tick; on-change rooms when something changed (or a
        // keep-alive is due). A member whose view changed gets a Delta either way, and one due a
        // Snapshot gets it either way: neither costs the others a message. Each member's Delta
        // builds on the last tick it received, which is valid because no tick in between changed
        // anything (those would have been sent to it, or it would be due a Snapshot).
        let emit = outcome.changed || keepalive_due || outcome.ended.is_some();
        let snapshot_due = self
            .seats
            .values()
            .chain(self.spectators.values())
            .any(|s| s.needs_snapshot && s.conn.is_some());
        let snapshot_roster = snapshot_due.then(|| roster.clone().unwrap_or_else(|| self.roster()));
        let mut send = TickSend {
            tick,
            emit,
            roster,
            snapshot_roster,
            chat: std::mem::take(&mut self.chat),
            bytes_out: 0,
        };
        let mut verdicts = Vec::new();
        // Taken out while the members are served, so each can borrow the simulation.
        let mut seats = std::mem::take(&mut self.seats);
        for (player, seat) in seats.iter_mut() {
            if seat.conn.is_none() {
                if seat.expired(std::time::Instant::now()) {
                    verdicts.push((Member::Player(*player), Verdict::Gone, true));
                }
                continue;
            }
            let scopes = self.sim.visible(*player);
            let verdict = self.send_tick(seat, scopes, &mut send);
            if verdict != Verdict::Fine {
                verdicts.push((Member::Player(*player), verdict, false));
            }
        }
        self.seats = seats;
        if !self.spectators.is_empty() {
            let scopes = self.sim.spectator_visible();
            let mut spectators = std::mem::take(&mut self.spectators);
            for (conn, seat) in spectators.iter_mut() {
                let verdict = self.send_tick(seat, scopes.clone(), &mut send);
                if verdict != Verdict::Fine {
                    verdicts.push((Member::Spectator(*conn), verdict, false));
                }
            }
            self.spectators = spectators;
        }
        if emit {
            self.last_sent = tick;
        }
        self.room_stats.record_work(wall.elapsed());
        self.room_stats
            .record_traffic(std::mem::take(&mut self.bytes_in), send.bytes_out);
        for (member, verdict, expired) in verdicts {
            let player = match member {
                Member::Player(player) => player,
                Member::Spectator(conn) => {
                    // Too slow or gone alike: a spectator holds nothing to keep.
                    if let Some(conn) = self.spectators.remove(&conn).and_then(|s| s.conn) {
                        if verdict == Verdict::TooSlow {
                            tracing::info!(room = %self.id, "dropping a spectator that stopped reading");
                            self.room_stats.slow_kick();
                            conn.closer.shutdown();
                        }
                    }
                    self.spectators_changed();
                    continue;
                }
            };
            match verdict {
                Verdict::TooSlow => {
                    // Dropped like any lost connection: the seat is held for a reconnect (a
                    // client that froze for a few seconds can resume), then freed.
                    let conn = self.seats.get_mut(&player).and_then(|s| s.conn.take());
                    if let Some(conn) = conn {
                        tracing::info!(room = %self.id, %player, "dropping a connection that stopped reading");
                        self.room_stats.slow_kick();
                        conn.closer.shutdown();
                    }
                    self.disconnected(player);
                }
                Verdict::Gone if expired => {
                    self.remove(player);
                }
                Verdict::Gone => self.disconnected(player),
                Verdict::Fine => {}
            }
        }
        if let Some(result) = outcome.ended {
            self.end(result, ctx);
            return;
        }
        self.check_idle(now);
    }

    /// Queues a connected member's messages of this tick: roster, chat, and its Delta (or the
    /// Snapshot it is due) for `scopes`; says what to do with the member.
    fn send_tick(
        &mut self,
        seat: &mut Seat<Connection>,
        scopes: Vec<ScopeKey>,
        send: &mut TickSend,
    ) -> Verdict {
        let was_snapshot = seat.needs_snapshot;
        let carries_tick = was_snapshot || send.emit || seat.scopes != scopes;
        let mut parts = Vec::with_capacity(2);
        if was_snapshot {
            if let Some(r) = &send.snapshot_roster {
                parts.push(r.clone());
            }
            parts.push(self.sim.snapshot(&scopes, seat.delivered));
            self.room_stats
                .record_sizes(None, parts.last().map(Bytes::len));
        } else {
            if let Some(r) = &send.roster {
                parts.push(r.clone());
            }
            if carries_tick {
                let base = seat.delivered.unwrap_or(self.last_sent);
                let delta = self.sim.delta(send.tick.0 - base.0, &seat.scopes, &scopes);
                self.room_stats.record_sizes(Some(delta.len()), None);
                parts.push(delta);
            }
        }
        let dropped = seat.queue_chat(&send.chat);
        if dropped > 0 {
            // Not touched on the usual tick: a process-wide counter per member per tick
            // would be shared-cache-line traffic for nothing.
            self.stats.chat_dropped.inc_by(dropped as u64);
        }
        let mut bytes_out = 0;
        let outcome = deliver(seat, parts, |conn, frames| {
            let size: usize = frames.iter().map(Bytes::len).sum();
            let delivery = send_to(conn, frames);
            if delivery == Delivery::Sent {
                bytes_out += size as u64;
            }
            delivery
        });
        send.bytes_out += bytes_out;
        if outcome == Delivery::Full {
            self.room_stats.skipped();
        }
        if outcome == Delivery::Sent && was_snapshot && seat.delivered.is_some() {
            self.room_stats.resynced();
        }
        // A member that only got a roster or command results has not received this tick.
        if carries_tick || outcome != Delivery::Sent {
            seat.after_send(
                outcome,
                send.tick,
                scopes,
                std::time::Instant::now(),
                self.config.slow_client_timeout,
            )
        } else {
            Verdict::Fine
        }
    }

    /// Tells the lobby how many watch now (for `/api/rooms`).
    fn spectators_changed(&self) {
        self.lobby.do_send(RoomEvent::Spectators {
            room: self.id,
            count: self.spectators.len() as u32,
        });
    }

    /// The game ended the room: `Ended` to everyone, close 1000, and stop.
    fn end(&mut self, result: rmpv::Value, ctx: &mut Context<Self>) {
        let ended = encode(&ServerMsg::Ended { result });
        tracing::info!(room = %self.id, game = G::NAME, "the game ended the room");
        self.closed = true;
        let chat = std::mem::take(&mut self.chat);
        let members = std::mem::take(&mut self.seats)
            .into_values()
            .chain(std::mem::take(&mut self.spectators).into_values());
        for mut seat in members {
            seat.queue_chat(&chat);
            let delivery = deliver(&mut seat, vec![ended.clone()], send_to);
            let Some(conn) = &seat.conn else { continue };
            // What the full queue does not take goes with the close request, which the session
            // handles right after the messages it already holds.
            if delivery == Delivery::Sent {
                conn.close(CloseCode::Normal, "room ended");
            } else {
                let last = seat.outstanding(vec![ended.clone()]);
                conn.close_after(CloseCode::Normal, "room ended", last);
            }
        }
        self.lobby.do_send(RoomEvent::Closed(self.id));
        ctx.stop();
    }

    fn check_idle(&mut self, now: Instant) {
        if let Some(since) = self.empty_since {
            if !self.seats.is_empty() {
                self.empty_since = None;
            } else if now.duration_since(since) >= self.config.empty_room_grace {
                // Ask again after another grace if the lobby keeps the room (a seat is reserved).
                self.empty_since = Some(now);
                self.lobby.do_send(RoomEvent::Idle(self.id));
            }
        }
    }

    /// Runs game code, turning a panic into the room's orderly failure: every member gets 1011,
    /// the lobby forgets the room, and the room stops at its next tick. Other rooms never notice.
    /// (Relies on the default `panic = "unwind"`.)
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Simulation<G>) -> T) -> Option<T> {
        if self.closed {
            return None;
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(&mut self.sim))) {
            Ok(value) => Some(value),
            Err(panic) => {
                self.fail(panic);
                None
            }
        }
    }

    fn fail(&mut self, panic: Box<dyn std::any::Any + Send>) {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        tracing::error!(room = %self.id, game = G::NAME, panic = %what, "game panicked; closing the room");
        self.close_all(
            CloseCode::InternalError,
            "the room's game failed; the room is closed",
        );
        self.stats.room_failures.inc();
        self.lobby.do_send(RoomEvent::Closed(self.id));
    }

    fn close_all(&mut self, code: CloseCode, reason: &str) {
        self.closed = true;
        for seat in self.seats.values().chain(self.spectators.values()) {
            if let Some(conn) = &seat.conn {
                conn.close(code, reason);
            }
        }
        self.seats.clear();
        self.spectators.clear();
    }

    /// Takes the inputs and commands posted since the last tick and queues them for this
    /// tick's step, in arrival order; letters from connections that no longer hold their seat
    /// are ignored.
    fn open_inbox(&mut self) {
        let letters = self.inbox.take(std::mem::take(&mut self.spare));
        for letter in &letters {
            let from = Origin {
                player: letter.player,
                conn: letter.conn,
            };
            if self.seat(from).is_none() {
                continue;
            }
            self.bytes_in += letter.bytes.len() as u64;
            let player = letter.player;
            let limits = self.limits;
            let queued =
                self.guarded(|sim| sim.queue_message(player, letter.kind, &letter.bytes, &limits));
            self.rejected(player, queued);
        }
        self.spare = letters;
    }

    fn on_player(&mut self, from: Origin, msg: PlayerMsg) {
        if self.seat(from).is_none() {
            return;
        }
        let player = from.player;
        match msg {
            PlayerMsg::Chat { text } => {
                self.bytes_in += text.len() as u64;
                let name = self
                    .seats
                    .get(&player)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                // Sent with the next tick's messages, in the same queue slot as its delta.
                self.chat
                    .push(encode(&ServerMsg::Chat { player, name, text }));
            }
            PlayerMsg::Resync => {
                if let Some(seat) = self.seats.get_mut(&player) {
                    seat.needs_snapshot = true;
                }
            }
            PlayerMsg::Leave => {
                self.remove(player);
            }
            PlayerMsg::Disconnected => self.disconnected(player),
        }
    }

    fn rejected(&mut self, player: PlayerId, queued: Option<Result<(), Rejected>>) {
        if let Some(Err(Rejected::Undecodable(why))) = queued {
            let conn = self.seats.get_mut(&player).and_then(|s| {
                let grace = self.config.reconnect_grace;
                s.hold(std::time::Instant::now(), grace)
            });
            if let Some(conn) = conn {
                self.guarded(|sim| sim.disconnected(player));
                self.roster_changed();
                conn.close(CloseCode::InvalidPayload, why);
            }
        }
    }
}

impl<G: Game> Actor for Room<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Inputs and commands go through the inbox; the mailbox carries the rarer rest (chat,
        // resyncs, leaves), and joins.
        ctx.set_mailbox_capacity((self.capacity() as usize * 8).max(256));
        let mut interval = tokio::time::interval_at(Instant::now() + self.period, self.period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let ticks = futures_util::stream::unfold(interval, |mut interval| async move {
            let scheduled = interval.tick().await;
            Some((scheduled, interval))
        });
        ctx.add_stream(ticks);
        tracing::debug!(room = %self.id, game = G::NAME, "room open");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.sim.finish_recording();
        self.stats.remove_room(self.id);
        tracing::debug!(room = %self.id, "room closed");
    }
}

impl<G: Game> StreamHandler<Instant> for Room<G> {
    fn handle(&mut self, scheduled: Instant, ctx: &mut Context<Self>) {
        if self.closed {
            // A game panic in a handler closed the room; stop here, where the context is at hand.
            return ctx.stop();
        }
        self.tick(scheduled, ctx);
    }
}

impl<G: Game> Handler<Join> for Room<G> {
    type Result = ();

    /// Seats a new player (if the game admits it) or resumes a held seat with its token.
    fn handle(&mut self, msg: Join, ctx: &mut Context<Self>) {
        let fail = |conn: &Connection, code, message: String| conn.join_failed(code, message);
        if let Some(token) = msg.token {
            let found = self
                .seats
                .iter()
                .find(|(_, s)| s.token == token)
                .map(|(id, _)| *id);
            let Some(player) = found else {
                return fail(
                    &msg.conn,
                    ErrorCode::BadToken,
                    "unknown, expired or used token".into(),
                );
            };
            if self.guarded(|sim| sim.resume(player)).is_none() {
                return msg
                    .conn
                    .close(CloseCode::InternalError, "the room's game failed");
            }
            let token = self.new_token(player);
            let Some(seat) = self.seats.get_mut(&player) else {
                return;
            };
            if let Some(old) = seat.reconnect(msg.conn, token) {
                old.close(
                    CloseCode::Replaced,
                    "the seat was resumed from another connection",
                );
            }
            self.roster_changed();
            if !self.welcome(player, ctx) {
                self.disconnected(player);
            }
            return;
        }
        let refuse = |room: &mut Self, code, message: String| {
            room.lobby.do_send(RoomEvent::SeatFreed {
                room: room.id,
                ip: msg.ip,
            });
            fail(&msg.conn, code, message);
            room.close_if_unused();
        };
        let full = self.seats.len() >= self.capacity() as usize;
        let locked = self.sim.room_control().locked;
        if self.closed || full || locked {
            if let (Some(requeue), false) = (&msg.requeue, self.closed) {
                // A quick match the lobby routed here before it heard of the lock: the lobby
                // frees the seat and picks another room.
                let request = JoinRequest {
                    target: Target::QuickMatch {
                        filter: requeue.filter.clone(),
                    },
                    game: requeue.game.clone(),
                    options: requeue.options.clone(),
                    name: msg.name,
                    token: None,
                    ticket: None,
                    conn: msg.conn,
                    bounces: requeue.bounces + 1,
                    ip: msg.ip,
                };
                self.lobby.do_send(RoomEvent::Bounced {
                    room: self.id,
                    request: Box::new(request),
                });
                self.close_if_unused();
                return;
            }
        }
        if self.closed {
            return refuse(self, ErrorCode::RoomNotFound, "the room is closing".into());
        }
        if full {
            return refuse(self, ErrorCode::RoomFull, "the room is full".into());
        }
        if locked {
            return refuse(self, ErrorCode::RoomLocked, "the room is locked".into());
        }
        let player = self.free_player_id();
        match self.guarded(|sim| sim.admit(player, &msg.name)) {
            None => {
                return msg.conn.close(
                    CloseCode::InternalError,
                    "the room's game failed; the room is closed",
                )
            }
            Some(Err(refusal)) => return refuse(self, ErrorCode::Refused, refusal.message),
            Some(Ok(())) => {}
        }
        let token = self.new_token(player);
        self.seats
            .insert(player, Seat::new(msg.name.clone(), token, msg.ip, msg.conn));
        if self.guarded(|sim| sim.join(player, &msg.name)).is_none() {
            return;
        }
        self.report_control();
        self.empty_since = None;
        self.roster_changed();
        if self.welcome(player, ctx) {
            self.ever_seated = true;
        } else {
            // Never announced (no token reached the client): free it.
            self.remove(player);
        }
    }
}

impl<G: Game> Handler<FromPlayer> for Room<G> {
    type Result = ();

    /// Chat, resyncs, leaves and disconnects, handled at once (inputs and commands come through
    /// the inbox).
    fn handle(&mut self, msg: FromPlayer, _: &mut Context<Self>) {
        self.on_player(msg.from, msg.msg);
    }
}

impl<G: Game> Handler<Inspect> for Room<G> {
    type Result = MessageResult<Inspect>;

    /// The operator's look at the room: every seat with its connection's figures.
    fn handle(&mut self, _: Inspect, _: &mut Context<Self>) -> MessageResult<Inspect> {
        let now = std::time::Instant::now();
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let players = self
            .seats
            .iter()
            .map(|(player, seat)| MemberReport {
                player: *player,
                name: seat.name.clone(),
                connected: seat.conn.is_some(),
                rtt_ms: seat
                    .conn
                    .as_ref()
                    .and_then(|c| c.rtt.get())
                    .map(|rtt| rtt.as_secs_f64() * 1000.0),
                pending: seat.pending.len(),
                chat_backlog: seat.chat.len(),
                snapshot_due: seat.needs_snapshot,
                stuck_ms: seat
                    .stuck_since()
                    .map(|since| millis(now.saturating_duration_since(since))),
                unsent_bytes: seat.conn.as_ref().and_then(|c| c.closer.unsent()),
                skipped: seat.skipped,
                resyncs: seat.resyncs,
                held_ms: seat
                    .held_until()
                    .map(|until| millis(until.saturating_duration_since(now))),
            })
            .collect();
        MessageResult(RoomDetail {
            id: self.id,
            game: G::NAME,
            tick: self.sim.tick(),
            tick_rate: self.hz,
            capacity: self.capacity(),
            locked: self.sim.room_control().locked,
            players,
            spectators: self.spectators.len() as u32,
            max_spectators: self.max_spectators,
        })
    }
}

impl<G: Game> Handler<Kick> for Room<G> {
    type Result = bool;

    /// The operator removes a member: its connection closes with 4007 and the seat is freed at
    /// once, so its token can no longer resume it.
    fn handle(&mut self, msg: Kick, _: &mut Context<Self>) -> bool {
        let Some(seat) = self.seats.get_mut(&msg.player) else {
            return false;
        };
        // Taken first, so the session's close is not reported back as a disconnect.
        if let Some(conn) = seat.conn.take() {
            conn.close(CloseCode::Kicked, "kicked by the operator");
        }
        tracing::info!(room = %self.id, player = %msg.player, "kicked by the operator");
        self.remove(msg.player);
        true
    }
}

impl<G: Game> Handler<CloseRoom> for Room<G> {
    type Result = ();

    /// Closes every member's connection and stops the room.
    fn handle(&mut self, msg: CloseRoom, ctx: &mut Context<Self>) {
        self.close_all(msg.code, &msg.reason);
        ctx.stop();
    }
}

impl<G: Game> Handler<Watch> for Room<G> {
    type Result = ();

    /// Adds a spectator, within the room's spectator limit.
    fn handle(&mut self, msg: Watch, ctx: &mut Context<Self>) {
        if self.closed {
            return msg
                .conn
                .join_failed(ErrorCode::RoomNotFound, "the room is closing");
        }
        if self.spectators.len() >= self.max_spectators as usize {
            let message = if self.max_spectators == 0 {
                "this room takes no spectators".to_owned()
            } else {
                format!(
                    "the room has {} spectators, the most it takes",
                    self.max_spectators
                )
            };
            return msg.conn.join_failed(ErrorCode::SpectatorsFull, message);
        }
        let watching = ServerMsg::Watching {
            room: self.id,
            game: G::NAME.to_owned(),
            tick_rate: self.hz,
            on_change: self.keepalive.is_some(),
            tick: self.sim.tick(),
            kinds: self.sim.kinds(),
        };
        // The event goes first so the session knows its room before the client can answer.
        let event = SessionEvent::Watching {
            room: ctx.address().recipient(),
            clock: self.clock.clone(),
        };
        let conn = msg.conn;
        if conn.events.try_send(event).is_ok()
            && send_to(&conn, vec![encode(&watching)]) == Delivery::Sent
        {
            let id = conn.id;
            self.spectators
                .insert(id, Seat::new(String::new(), String::new(), None, conn));
            self.spectators_changed();
        }
    }
}

impl<G: Game> Handler<FromSpectator> for Room<G> {
    type Result = ();

    /// A spectator's resync, or its end.
    fn handle(&mut self, msg: FromSpectator, _: &mut Context<Self>) {
        match msg.msg {
            SpectatorMsg::Resync => {
                if let Some(seat) = self.spectators.get_mut(&msg.conn) {
                    seat.needs_snapshot = true;
                }
            }
            SpectatorMsg::Gone => {
                if self.spectators.remove(&msg.conn).is_some() {
                    self.spectators_changed();
                }
            }
        }
    }
}
