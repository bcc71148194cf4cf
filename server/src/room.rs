//! The `Room` actor: one per room, on one of the room threads, with a fixed-rate tick loop.
//!
//! Each tick it runs the [`Simulation`], encodes the delta **once** and hands the same
//! reference-counted [`Bytes`] to every connected member with `try_send`, which respects the
//! member's bounded queue. A member whose queue is full is skipped (counted), marked for a keyframe,
//! and sent a full snapshot as soon as its queue takes one again; a member that stays full past
//! the slow-client timeout loses its seat and its socket is shut down from here, because a stuck
//! session actor is not polled at all and could not close itself (actix-web issue 2441).
//!
//! The tick schedule is a `tokio::time::Interval` in burst mode: tick *n* is due at
//! `start + n * period`, so the rate does not drift over minutes, and a late tick is measured
//! against its schedule and counted rather than hidden.

use crate::config::Config;
use crate::game::Game;
use crate::session::Closer;
use crate::sim::{InputRejected, Simulation};
use crate::stats::{RoomStats, Stats};
use actix::prelude::*;
use bytes::Bytes;
use rand::Rng;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tickroom_shared::{
    CloseCode, EntityId, ErrorCode, InputSeq, PlayerId, RoomId, RosterEntry, ServerMsg,
};
use tokio::time::{Instant, MissedTickBehavior};

// ----- Messages to sessions (handled by `Session`, sent by rooms and the lobby). -----

/// Already-encoded bytes for one connection; the same allocation is shared by every member.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Frame(pub Bytes);

/// Control events for a session.
#[derive(Message)]
#[rtype(result = "()")]
pub enum SessionEvent<G: Game> {
    /// The join succeeded; frames for the room follow.
    Joined {
        /// The room, for inputs and requests.
        room: Addr<Room<G>>,
        /// The seat.
        player: PlayerId,
    },
    /// The join failed; the session may try again.
    JoinFailed {
        /// Why.
        code: ErrorCode,
        /// Detail for humans.
        message: String,
    },
    /// Close the connection with this code and reason.
    Close {
        /// WebSocket close code.
        code: CloseCode,
        /// Reason for humans (at most 123 bytes).
        reason: String,
    },
}

/// What a room knows of a connected session. Rooms hold recipients, not `Addr<Session>`, so the
/// room does not depend on the session type.
pub struct Connection<G: Game> {
    /// Unique per connection; guards against messages from a replaced connection.
    pub id: u64,
    /// Bounded outbound queue (the session's mailbox).
    pub frames: Recipient<Frame>,
    /// Control events, through the same mailbox.
    pub events: Recipient<SessionEvent<G>>,
    /// Last resort for a session that stopped draining.
    pub closer: Closer,
}

impl<G: Game> Connection<G> {
    /// Asks the session to close with `code`, and shuts the socket down shortly after in any
    /// case: a session that stopped draining is not polled, so it would never act on the request
    /// (and its mailbox takes it regardless). Shutting down a socket that already closed is a
    /// no-op. Must run on an actix arbiter (the room's).
    pub fn close(&self, code: CloseCode, reason: impl Into<String>) {
        let event = SessionEvent::Close {
            code,
            reason: reason.into(),
        };
        if self.events.try_send(event).is_err() {
            return self.closer.close();
        }
        let closer = self.closer.clone();
        actix::spawn(async move {
            actix::clock::sleep(CLOSE_GRACE).await;
            closer.close();
        });
    }
}

/// How long a session asked to close may take before its socket is shut down anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Identifies the sender of a player message: the seat and the connection that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The seat.
    pub player: PlayerId,
    /// The connection id ([`Connection::id`]).
    pub conn: u64,
}

// ----- Messages to the room. -----

/// Seat a connection (routed here by the lobby, which already reserved a seat unless `token`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join<G: Game> {
    /// Cleaned display name.
    pub name: String,
    /// Resume the seat with this token instead of taking a new one.
    pub token: Option<String>,
    /// The connection.
    pub conn: Connection<G>,
}

/// An input for the next tick.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Input<G: Game> {
    /// Sender.
    pub from: Origin,
    /// Sequence number.
    pub seq: InputSeq,
    /// The game input.
    pub input: G::Input,
}

/// A chat line to broadcast.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Chat {
    /// Sender.
    pub from: Origin,
    /// The line (length already checked).
    pub text: String,
}

/// A ping to answer with the room's tick.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Ping {
    /// Sender.
    pub from: Origin,
    /// Echo value.
    pub echo: u64,
}

/// The client saw a gap and asks for a keyframe.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync {
    /// Sender.
    pub from: Origin,
}

/// The player leaves for good.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// Sender.
    pub from: Origin,
}

/// The player's connection ended without a leave: hold the seat for the reconnect grace.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnected {
    /// Sender.
    pub from: Origin,
}

/// Close the room: the lobby saw it empty and unreserved, or the server is shutting down.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Close {
    /// Close code for members still connected.
    pub code: CloseCode,
    /// Reason for them.
    pub reason: String,
}

/// Events from a room to the lobby.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub enum RoomEvent {
    /// A seat was released (leave, held seat expired, kick, failed join).
    SeatFreed(RoomId),
    /// The room has been empty for the grace period; the lobby may close it.
    Idle(RoomId),
    /// The room stopped on its own (its game failed).
    Closed(RoomId),
}

// ----- The actor. -----

struct Member<G: Game> {
    name: String,
    entity: EntityId,
    token: String,
    conn: Option<Connection<G>>,
    /// Next send must be a snapshot: a send was skipped or the client asked.
    needs_keyframe: bool,
    /// Since when sends to this member have been failing.
    stuck_since: Option<Instant>,
    /// Seat held for a reconnect until then.
    held_until: Option<Instant>,
}

/// A room: its simulation, its members and its tick loop.
pub struct Room<G: Game> {
    id: RoomId,
    config: Arc<Config>,
    sim: Simulation<G>,
    members: BTreeMap<PlayerId, Member<G>>,
    lobby: Recipient<RoomEvent>,
    stats: Arc<Stats>,
    room_stats: Arc<RoomStats>,
    /// Encoded roster, rebuilt only when membership changes.
    roster: Option<Bytes>,
    /// The roster changed since it was last broadcast.
    roster_dirty: bool,
    empty_since: Option<Instant>,
    period: Duration,
    closed: bool,
}

impl<G: Game> Room<G> {
    /// A room running `sim` (built by the lobby, which can survive a panic in `Game::new`) that
    /// will report to `lobby`.
    pub fn new(
        id: RoomId,
        sim: Simulation<G>,
        config: Arc<Config>,
        lobby: Recipient<RoomEvent>,
        stats: Arc<Stats>,
    ) -> Self {
        let period = config.tick_period();
        let room_stats = stats.add_room(id);
        Room {
            id,
            sim,
            config,
            members: BTreeMap::new(),
            lobby,
            stats,
            room_stats,
            roster: None,
            roster_dirty: false,
            empty_since: Some(Instant::now()),
            period,
            closed: false,
        }
    }

    fn member(&mut self, from: Origin) -> Option<&mut Member<G>> {
        self.members
            .get_mut(&from.player)
            .filter(|m| m.conn.as_ref().is_some_and(|c| c.id == from.conn))
    }

    fn free_player_id(&self) -> PlayerId {
        // Smallest free id from 1: keeps ids one byte on the wire. Members are sorted by id.
        let mut next = 1;
        for id in self.members.keys() {
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

    fn snapshot_bytes(&self) -> Bytes {
        let bytes = Self::encode(&ServerMsg::Snapshot {
            tick: self.sim.tick(),
            entities: self.sim.world().entities().to_vec(),
        });
        self.room_stats.record_sizes(None, Some(bytes.len()));
        bytes
    }

    fn roster_bytes(&mut self) -> Bytes {
        if let Some(b) = &self.roster {
            return b.clone();
        }
        let players = self
            .members
            .iter()
            .map(|(id, m)| RosterEntry {
                player: *id,
                entity: m.entity,
                name: m.name.clone(),
                connected: m.conn.is_some(),
            })
            .collect();
        let bytes = Self::encode(&ServerMsg::Roster { players });
        self.roster = Some(bytes.clone());
        bytes
    }

    /// Sends to one member, recording a skip when its queue is full.
    fn send_to(&self, player: PlayerId, bytes: Bytes) -> bool {
        let Some(conn) = self.members.get(&player).and_then(|m| m.conn.as_ref()) else {
            return false;
        };
        match conn.frames.try_send(Frame(bytes)) {
            Ok(()) => true,
            Err(SendError::Full(_)) => {
                self.room_stats.skipped();
                false
            }
            // The session is gone; its disconnect notice is on the way.
            Err(SendError::Closed(_)) => false,
        }
    }

    /// Sends the same bytes to every connected member. With `resync`, a member that cannot take
    /// them gets a keyframe (roster and snapshot) later; otherwise (chat) the message is lost
    /// for it, and counted.
    fn broadcast(&mut self, bytes: &Bytes, resync: bool) {
        for m in self.members.values_mut() {
            if let Some(conn) = &m.conn {
                if let Err(SendError::Full(_)) = conn.frames.try_send(Frame(bytes.clone())) {
                    self.room_stats.skipped();
                    m.needs_keyframe |= resync;
                }
            }
        }
    }

    /// Membership changed: the roster goes out once, at the next tick, however many changes
    /// happened before it (a room filling up would otherwise cost O(n²) roster messages).
    fn roster_changed(&mut self) {
        self.roster = None;
        self.roster_dirty = true;
        self.room_stats.set_players(self.members.len());
    }

    /// Removes a member for good and tells the lobby the seat is free.
    fn remove(&mut self, player: PlayerId) -> Option<Member<G>> {
        let member = self.members.remove(&player)?;
        self.guarded(|sim| sim.leave(player));
        self.lobby.do_send(RoomEvent::SeatFreed(self.id));
        self.roster_changed();
        if self.members.is_empty() {
            self.empty_since = Some(Instant::now());
        }
        Some(member)
    }

    /// Sends welcome, roster and snapshot to a member that just joined (`new_seat`) or resumed.
    fn greet(&mut self, player: PlayerId, new_seat: bool, ctx: &mut Context<Self>) {
        let Some(m) = self.members.get(&player) else {
            return;
        };
        let Some(conn) = &m.conn else { return };
        // The joined event goes first so the session knows its room before the client can answer
        // the welcome.
        let joined = SessionEvent::Joined {
            room: ctx.address(),
            player,
        };
        let welcome = ServerMsg::Welcome {
            player,
            entity: m.entity,
            room: self.id,
            tick_rate: self.config.tick_rate,
            tick: self.sim.tick(),
            token: m.token.clone(),
            game: G::NAME.to_owned(),
            fields: G::FIELDS.iter().map(|f| (*f).to_owned()).collect(),
        };
        let ok = conn.events.try_send(joined).is_ok()
            && conn.frames.try_send(Frame(Self::encode(&welcome))).is_ok();
        if !ok {
            // A fresh session's queue is empty; if it is already full or gone, the connection is
            // as good as dead. A brand-new seat was never announced (no token reached the
            // client): free it. A resumed one is held again for another try.
            if new_seat {
                self.remove(player);
            } else {
                self.disconnected(player);
            }
            return;
        }
        self.roster_changed();
        let roster = self.roster_bytes();
        let snapshot = self.snapshot_bytes();
        let sent = self.send_to(player, roster) && self.send_to(player, snapshot);
        if let Some(m) = self.members.get_mut(&player) {
            m.needs_keyframe = !sent;
        }
    }

    /// The member's connection is gone: hold the seat, or free it when there is no grace.
    fn disconnected(&mut self, player: PlayerId) {
        if self.config.reconnect_grace.is_zero() {
            self.remove(player);
            return;
        }
        let Some(m) = self.members.get_mut(&player) else {
            return;
        };
        m.conn = None;
        m.stuck_since = None;
        m.held_until = Some(Instant::now() + self.config.reconnect_grace);
        self.guarded(|sim| sim.reset_input(player));
        self.roster_changed();
    }

    fn tick(&mut self, scheduled: Instant, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.room_stats
            .record_tick(now.saturating_duration_since(scheduled), self.period);
        let work = std::time::Instant::now();
        let Some(delta) = self.guarded(Simulation::step) else {
            return ctx.stop();
        };
        let delta = Self::encode(&ServerMsg::Delta(delta));
        self.room_stats.record_sizes(Some(delta.len()), None);
        if std::mem::take(&mut self.roster_dirty) {
            let roster = self.roster_bytes();
            self.broadcast(&roster, true);
        }
        // Members due a keyframe get the roster first (it may have changed while they were
        // stuck), then the snapshot; both are encoded only when someone needs them.
        let resync = self
            .members
            .values()
            .any(|m| m.needs_keyframe && m.conn.is_some())
            .then(|| (self.roster_bytes(), self.snapshot_bytes()));
        let mut too_slow = Vec::new();
        let mut expired = Vec::new();
        let mut gone = Vec::new();
        for (player, m) in &mut self.members {
            let Some(conn) = &m.conn else {
                if m.held_until.is_some_and(|t| now >= t) {
                    expired.push(*player);
                }
                continue;
            };
            let sent = match (&resync, m.needs_keyframe) {
                // The roster first: a snapshot without it could name players the client does
                // not know. If the roster does not fit, neither is sent and both are retried.
                (Some((roster, snapshot)), true) => conn
                    .frames
                    .try_send(Frame(roster.clone()))
                    .and_then(|()| conn.frames.try_send(Frame(snapshot.clone()))),
                _ => conn.frames.try_send(Frame(delta.clone())),
            };
            match sent {
                Ok(()) => {
                    if m.needs_keyframe {
                        self.room_stats.resynced();
                        m.needs_keyframe = false;
                    }
                    m.stuck_since = None;
                }
                Err(SendError::Full(_)) => {
                    self.room_stats.skipped();
                    m.needs_keyframe = true;
                    let since = *m.stuck_since.get_or_insert(now);
                    if now.duration_since(since) >= self.config.slow_client_timeout {
                        too_slow.push(*player);
                    }
                }
                // The session ended; its own disconnect notice may still be on the way.
                Err(SendError::Closed(_)) => gone.push(*player),
            }
        }
        self.room_stats.record_work(work.elapsed());
        for player in too_slow {
            if let Some(conn) = self.remove(player).and_then(|m| m.conn) {
                tracing::info!(room = %self.id, %player, "dropping a connection that stopped reading");
                self.room_stats.slow_kick();
                conn.closer.close();
            }
        }
        for player in gone {
            self.disconnected(player);
        }
        for player in expired {
            self.remove(player);
        }
        self.check_idle(now);
    }

    fn check_idle(&mut self, now: Instant) {
        if let Some(since) = self.empty_since {
            if !self.members.is_empty() {
                self.empty_since = None;
            } else if now.duration_since(since) >= self.config.empty_room_grace {
                // Ask again after another grace if the lobby keeps the room (a seat is reserved).
                self.empty_since = Some(now);
                self.lobby.do_send(RoomEvent::Idle(self.id));
            }
        }
    }

    /// Runs game code, turning a panic into the room's orderly failure: every member gets 1011,
    /// the lobby forgets the room, and the room stops at its next tick. Other rooms, on this
    /// thread or others, never notice. (Relies on the default `panic = "unwind"`.)
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
        for m in self.members.values() {
            if let Some(conn) = &m.conn {
                conn.close(code, reason);
            }
        }
        self.members.clear();
    }
}

impl<G: Game> Actor for Room<G> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Inputs from every member arrive here; allow a generous burst per seat before a
        // session's try_send reports the room as full (the input is then dropped and counted).
        ctx.set_mailbox_capacity((self.config.room_capacity as usize * 8).max(256));
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

impl<G: Game> Handler<Join<G>> for Room<G> {
    type Result = ();

    /// Seats a new player or resumes a held seat with its token.
    fn handle(&mut self, msg: Join<G>, ctx: &mut Context<Self>) {
        let fail = |conn: &Connection<G>, code, message: &str| {
            let _ = conn.events.try_send(SessionEvent::JoinFailed {
                code,
                message: message.into(),
            });
        };
        if let Some(token) = msg.token {
            let found = self
                .members
                .iter()
                .find(|(_, m)| m.token == token)
                .map(|(id, _)| *id);
            let Some(player) = found else {
                return fail(
                    &msg.conn,
                    ErrorCode::BadToken,
                    "unknown, expired or used token",
                );
            };
            let new_token = self.new_token(player);
            if self.guarded(|sim| sim.resume(player)).is_none() {
                return msg
                    .conn
                    .close(CloseCode::InternalError, "the room's game failed");
            }
            let Some(m) = self.members.get_mut(&player) else {
                return;
            };
            if let Some(old) = m.conn.take() {
                old.close(
                    CloseCode::Replaced,
                    "the seat was resumed from another connection",
                );
            }
            m.conn = Some(msg.conn);
            m.token = new_token;
            m.held_until = None;
            m.stuck_since = None;
            m.needs_keyframe = false;
            self.greet(player, false, ctx);
            return;
        }
        if self.closed {
            self.lobby.do_send(RoomEvent::SeatFreed(self.id));
            return fail(&msg.conn, ErrorCode::RoomNotFound, "the room is closing");
        }
        if self.members.len() >= self.config.room_capacity as usize {
            self.lobby.do_send(RoomEvent::SeatFreed(self.id));
            return fail(&msg.conn, ErrorCode::RoomFull, "the room is full");
        }
        let player = self.free_player_id();
        let Some(entity) = self.guarded(|sim| sim.join(player)) else {
            return msg.conn.close(
                CloseCode::InternalError,
                "the room's game failed; the room is closed",
            );
        };
        let token = self.new_token(player);
        let member = Member {
            name: msg.name,
            entity,
            token,
            conn: Some(msg.conn),
            needs_keyframe: false,
            stuck_since: None,
            held_until: None,
        };
        self.members.insert(player, member);
        self.empty_since = None;
        self.greet(player, true, ctx);
    }
}

impl<G: Game> Handler<Input<G>> for Room<G> {
    type Result = ();

    /// Queues the input for the next tick; stale sequence numbers are dropped.
    fn handle(&mut self, msg: Input<G>, _: &mut Context<Self>) {
        if self.member(msg.from).is_some() {
            if let Err(InputRejected::StaleSequence) =
                self.sim.queue_input(msg.from.player, msg.seq, msg.input)
            {
                tracing::trace!(room = %self.id, player = %msg.from.player, "stale input dropped");
            }
        }
    }
}

impl<G: Game> Handler<Chat> for Room<G> {
    type Result = ();

    /// Broadcasts the line with the sender's name.
    fn handle(&mut self, msg: Chat, _: &mut Context<Self>) {
        let Some(m) = self.member(msg.from) else {
            return;
        };
        let line = ServerMsg::Chat {
            player: msg.from.player,
            name: m.name.clone(),
            text: msg.text,
        };
        self.broadcast(&Self::encode(&line), false);
    }
}

impl<G: Game> Handler<Ping> for Room<G> {
    type Result = ();

    /// Answers with the current tick, through the same queue as the deltas.
    fn handle(&mut self, msg: Ping, _: &mut Context<Self>) {
        if self.member(msg.from).is_some() {
            let pong = Self::encode(&ServerMsg::Pong {
                echo: msg.echo,
                tick: self.sim.tick(),
            });
            self.send_to(msg.from.player, pong);
        }
    }
}

impl<G: Game> Handler<Resync> for Room<G> {
    type Result = ();

    /// Marks the member for a keyframe at the next tick.
    fn handle(&mut self, msg: Resync, _: &mut Context<Self>) {
        if let Some(m) = self.member(msg.from) {
            m.needs_keyframe = true;
        }
    }
}

impl<G: Game> Handler<Leave> for Room<G> {
    type Result = ();

    /// Frees the seat at once.
    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        if self.member(msg.from).is_some() {
            self.remove(msg.from.player);
        }
    }
}

impl<G: Game> Handler<Disconnected> for Room<G> {
    type Result = ();

    /// Holds the seat for the reconnect grace (unless a newer connection already holds it).
    fn handle(&mut self, msg: Disconnected, _: &mut Context<Self>) {
        if self.member(msg.from).is_some() {
            self.disconnected(msg.from.player);
        }
    }
}

impl<G: Game> Handler<Close> for Room<G> {
    type Result = ();

    /// Closes every member's connection and stops the room.
    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        self.close_all(msg.code, &msg.reason);
        ctx.stop();
    }
}
