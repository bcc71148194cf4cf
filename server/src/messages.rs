//! The contract between the actors: every message sessions, the lobby and rooms exchange, in one
//! place, so the actor modules import this and never each other.
//!
//! ```text
//!  Session ──JoinRequest──▶ Lobby ──Join──▶ Room
//!  Session ──WatchRequest─▶ Lobby ──Watch─▶ Room (spectators)
//!  Session ──FromPlayer───────────────────▶ Room (chat, resync, leave, disconnect)
//!  Session ──FromSpectator────────────────▶ Room (resync, leave)
//!  Session ──Inbox (inputs, commands)─────▶ Room, taken at its next tick without a wake-up
//!  Session ◀──Outgoing / SessionEvent───── Room (and Lobby for failed joins)
//!  Lobby   ◀──RoomEvent─────────────────── Room
//!  Lobby   ──SeatRequest / RoomNote / …──▶ ClusterNode ──▶ Redis (cluster mode only)
//!  admin   ──OperatorRoom / OperatorClose─▶ Lobby; ──Inspect / Kick──▶ Room (the admin page)
//! ```

use crate::connection::Connection;
use crate::directory::{Denial, ListedRoom, Placement, RoomRecord};
use crate::inbox::Inbox;
use actix::prelude::*;
use bytes::Bytes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tickroom_shared::{CloseCode, ErrorCode, PlayerId, RoomId, Tick};

/// Already-encoded messages for one connection, written in order as separate WebSocket
/// messages; the same allocations may be shared by many connections. A room sends a member one
/// `Outgoing` per tick at most, so everything a tick carries takes one slot of the member's
/// bounded queue.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Outgoing(pub Vec<Bytes>);

/// A seated session's way into its room.
pub type RoomLink = Recipient<FromPlayer>;

/// A spectator session's way into the room it watches.
pub type WatchLink = Recipient<FromSpectator>;

/// Control events for a session.
#[derive(Message)]
#[rtype(result = "()")]
pub enum SessionEvent {
    /// The join succeeded; the welcome follows.
    Joined {
        /// Where the player's messages go.
        room: RoomLink,
        /// The seat.
        player: PlayerId,
        /// The room's current tick, so the session answers pings itself (a pong never waits
        /// in, or is dropped from, a queue).
        clock: Arc<AtomicU64>,
        /// Where the session posts inputs and commands for the room's next tick.
        inbox: Arc<Inbox>,
    },
    /// The watch succeeded; `Watching` follows.
    Watching {
        /// Where the spectator's messages go.
        room: WatchLink,
        /// The room's current tick, for pongs.
        clock: Arc<AtomicU64>,
    },
    /// The join (or watch) failed; the session may try again.
    JoinFailed {
        /// Why.
        code: ErrorCode,
        /// Detail for humans.
        message: String,
    },
    /// Close the connection with this code and reason (the room already let the seat go or
    /// holds it).
    Close {
        /// WebSocket close code.
        code: CloseCode,
        /// Reason for humans.
        reason: String,
        /// Messages to write before the close, that did not fit the full queue (e.g. `Ended`).
        last: Vec<Bytes>,
    },
}

/// Identifies the sender of a player message: the seat and the connection that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The seat.
    pub player: PlayerId,
    /// The connection id ([`Connection::id`]).
    pub conn: u64,
}

/// What a seated player sent, or that its connection ended.
#[derive(Debug)]
pub enum PlayerMsg {
    /// A chat line (already cleaned and checked).
    Chat {
        /// The line.
        text: String,
    },
    /// A keyframe is wanted.
    Resync,
    /// Leave for good.
    Leave,
    /// The connection ended without a leave: hold the seat.
    Disconnected,
}

/// A message from a seated session to its room.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct FromPlayer {
    /// Sender.
    pub from: Origin,
    /// What.
    pub msg: PlayerMsg,
}

/// What a spectator sent, or that its connection ended (a spectator holds nothing, so both end
/// it alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpectatorMsg {
    /// A keyframe is wanted.
    Resync,
    /// It left, or its connection ended.
    Gone,
}

/// A message from a spectator session to the room it watches.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct FromSpectator {
    /// The connection id ([`Connection::id`]).
    pub conn: u64,
    /// What.
    pub msg: SpectatorMsg,
}

/// A watch from a session, to be routed to its room by the lobby.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WatchRequest {
    /// The room.
    pub room: RoomId,
    /// The connection; failures are reported through its events.
    pub conn: Connection,
}

/// Add a spectator (routed by the lobby).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Watch {
    /// The connection.
    pub conn: Connection,
}

/// Where a join wants to go.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The fullest unlocked room of the game with a free seat matching the filter, else a new
    /// one.
    QuickMatch {
        /// Metadata pairs the room must have.
        filter: BTreeMap<String, String>,
    },
    /// This room.
    Room(RoomId),
    /// A new room.
    Create,
}

/// A join from a session, to be routed to a room by the lobby.
#[derive(Message)]
#[rtype(result = "()")]
pub struct JoinRequest {
    /// Where to.
    pub target: Target,
    /// The game (`None`: the default game).
    pub game: Option<String>,
    /// Options for a room this join creates.
    pub options: Option<rmpv::Value>,
    /// Cleaned display name.
    pub name: String,
    /// Reconnect token (overrides everything else).
    pub token: Option<String>,
    /// Seat ticket from a redirect (cluster mode; overrides everything but the token).
    pub ticket: Option<String>,
    /// The connection; failures are reported through its events.
    pub conn: Connection,
    /// How many rooms already sent this quick match back (locked or filled meanwhile).
    pub bounces: u8,
    /// The client's address, which the seat (and a room the join creates) counts against
    /// (`None`: unknown, not counted).
    pub ip: Option<IpAddr>,
}

/// Seat a connection (routed by the lobby, which already counted a seat unless `token`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// Cleaned display name.
    pub name: String,
    /// Resume the seat with this token instead of taking a new one.
    pub token: Option<String>,
    /// The connection.
    pub conn: Connection,
    /// For a quick match: the request to send back to the lobby if the room locked or filled
    /// after the lobby chose it (the lobby then picks another room).
    pub requeue: Option<Requeue>,
    /// The address the seat counts against; the room hands it back in
    /// [`RoomEvent::SeatFreed`].
    pub ip: Option<IpAddr>,
}

/// What the lobby needs to route a quick match again.
#[derive(Clone, Debug)]
pub struct Requeue {
    /// The game.
    pub game: Option<String>,
    /// Options for a room it creates.
    pub options: Option<rmpv::Value>,
    /// Metadata filter.
    pub filter: BTreeMap<String, String>,
    /// Bounces so far.
    pub bounces: u8,
}

/// Close a room: the lobby saw it empty and unreserved, or the server is shutting down.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseRoom {
    /// Close code for members still connected.
    pub code: CloseCode,
    /// Reason for them.
    pub reason: String,
}

/// Events from a room to the lobby.
#[derive(Message)]
#[rtype(result = "()")]
pub enum RoomEvent {
    /// A seat was released (leave, held seat expired, kick, failed or refused join).
    SeatFreed {
        /// The room.
        room: RoomId,
        /// The address the seat counted against ([`Join::ip`]).
        ip: Option<IpAddr>,
    },
    /// The room is empty and the lobby may close it unless a join is on its way: it has been
    /// empty for the grace period, or a join just failed in a room nobody was ever seated in
    /// (such a room closes at once rather than after `--empty-room-grace`).
    Idle(RoomId),
    /// The room stopped on its own (its game failed or ended).
    Closed(RoomId),
    /// The game locked or unlocked the room, changed its metadata or its capacity.
    Control {
        /// The room.
        room: RoomId,
        /// Locked.
        locked: bool,
        /// Metadata.
        metadata: BTreeMap<String, String>,
        /// Seats in the room.
        capacity: u32,
    },
    /// The number of spectators changed.
    Spectators {
        /// The room.
        room: RoomId,
        /// Spectators now.
        count: u32,
    },
    /// A quick match the room could not seat (it locked or filled after the lobby chose it):
    /// its seat is free again and the request goes back to the lobby.
    Bounced {
        /// The room that sent it back.
        room: RoomId,
        /// The request, to route again.
        request: Box<JoinRequest>,
    },
}

/// A room in `GET /api/rooms`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RoomSummary {
    /// Room id.
    pub id: RoomId,
    /// Game name.
    pub game: &'static str,
    /// Seats taken (including seats held for reconnects and joins in flight).
    pub players: u32,
    /// Seats in all.
    pub capacity: u32,
    /// Spectators watching; `None` in cluster mode for rooms of other nodes (spectator counts
    /// are not kept in the directory).
    pub spectators: Option<u32>,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Sends only on change.
    pub on_change: bool,
    /// Joins refused while locked.
    pub locked: bool,
    /// The game's metadata.
    pub metadata: BTreeMap<String, String>,
}

/// List the open rooms.
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

/// Close every room with 1001 (server shutdown); resolves when all rooms were told.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// The directory could not be reached (cluster mode): nothing was reserved; try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

/// Cluster mode: a seat the lobby asks the directory for, before it routes a join.
#[derive(Message, Debug)]
#[rtype(result = "Result<Result<Placement, Denial>, Unavailable>")]
pub enum SeatRequest {
    /// Quick match (`create` false) or a new room (`create` true) of `game`.
    Place {
        /// The game.
        game: String,
        /// Metadata the room must hold (quick match).
        filter: BTreeMap<String, String>,
        /// Seats of a new room until its owner publishes the real number.
        capacity: u32,
        /// Options for a new room.
        options: Option<rmpv::Value>,
        /// Always a new room.
        create: bool,
    },
    /// A seat in this room.
    Reserve(RoomId),
    /// A ticket a redirected client presents here.
    Redeem(String),
}

/// Cluster mode: where the room of a reconnect token lives (its node's URL).
#[derive(Message, Debug)]
#[rtype(result = "Result<Result<String, Denial>, Unavailable>")]
pub struct Locate(pub RoomId);

/// Cluster mode: what the lobby tells the directory about this node's rooms.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum RoomNote {
    /// A room was created here (after its seat was placed, for a join that created it).
    Opened {
        /// The room.
        room: RoomId,
        /// Its game, capacity, lock and metadata (its taken seats are counted by the node).
        record: RoomRecord,
    },
    /// A seat in a room of this node was freed (or a placed seat was never used).
    Freed(RoomId),
    /// The game changed lock, metadata or capacity.
    Control {
        /// The room.
        room: RoomId,
        /// The new state (its `taken` is ignored).
        record: RoomRecord,
    },
    /// The room closed.
    Removed(RoomId),
}

/// Cluster mode: may this empty room close? Marks it closing in the directory unless a seat was
/// placed in it meanwhile (then `false`).
#[derive(Message, Debug)]
#[rtype(result = "bool")]
pub struct MayClose(pub RoomId);

/// Cluster mode: every room of the cluster.
#[derive(Message, Debug)]
#[rtype(result = "Result<Vec<ListedRoom>, Unavailable>")]
pub struct ListCluster;

/// Cluster mode: stop taking seats (draining) or leave the directory.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub enum Departure {
    /// The node drains: no seat is placed on it any more; its rooms are closing.
    Drain,
    /// The node is gone: its lease and rooms leave the directory.
    Leave,
}

/// Operator: the handles of one room of this node, to inspect it or kick a member (`None`: no
/// such room here).
#[derive(Message, Debug)]
#[rtype(result = "Option<OperatorHandles>")]
pub struct OperatorRoom(pub RoomId);

/// What the admin endpoints may ask a room directly.
#[derive(Clone)]
pub struct OperatorHandles {
    /// Its members' figures.
    pub inspect: Recipient<Inspect>,
    /// Kicks a member.
    pub kick: Recipient<Kick>,
}

impl std::fmt::Debug for OperatorHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorHandles")
    }
}

/// Operator: close this room now, whoever is in it (members get 1000, "closed by the
/// operator"); `false` if there is no such room here. The lobby forgets it first, as for an
/// idle room, so the addresses' budgets and (in cluster mode) the directory are given back.
#[derive(Message, Debug)]
#[rtype(result = "bool")]
pub struct OperatorClose(pub RoomId);

/// Operator: the room's members and their connections, now.
#[derive(Message, Debug)]
#[rtype(result = "RoomDetail")]
pub struct Inspect;

/// Operator: close a member's connection with [`CloseCode::Kicked`] and free its seat at once
/// (not held for a reconnect); `false` if the room has no such seat.
#[derive(Message, Debug)]
#[rtype(result = "bool")]
pub struct Kick {
    /// The seat.
    pub player: PlayerId,
}

/// One room as the admin page's room view shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RoomDetail {
    /// Room id.
    pub id: RoomId,
    /// Game name.
    pub game: &'static str,
    /// The room's current tick.
    pub tick: Tick,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Seats in the room.
    pub capacity: u32,
    /// Joins refused while locked.
    pub locked: bool,
    /// Every seat, connected or held, by player id.
    pub players: Vec<MemberReport>,
    /// Spectators watching.
    pub spectators: u32,
    /// Spectators it takes at most.
    pub max_spectators: u32,
}

/// One seat of a room, for the operator.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MemberReport {
    /// The seat.
    pub player: PlayerId,
    /// Display name.
    pub name: String,
    /// A connection holds the seat (else it is held for a reconnect).
    pub connected: bool,
    /// Round trip of the connection's last answered WebSocket ping, milliseconds; `None` before
    /// the first answer (pings go out every `--heartbeat-interval`) or while held.
    pub rtt_ms: Option<f64>,
    /// Reliable messages (command results, `Ended`) waiting for room in its queue.
    pub pending: usize,
    /// Chat lines waiting for room in its queue.
    pub chat_backlog: usize,
    /// Its next tick message is a Snapshot (just seated, resumed, skipped or asked).
    pub snapshot_due: bool,
    /// How long its queue has been full, milliseconds; `None` when it takes messages.
    pub stuck_ms: Option<u64>,
    /// Bytes its socket has not been able to send yet (Linux; `None` elsewhere or while held).
    pub unsent_bytes: Option<usize>,
    /// Ticks skipped for a full queue since it was seated.
    pub skipped: u64,
    /// Snapshots sent to catch it up after skips or its own `Resync`, since it was seated.
    pub resyncs: u64,
    /// A held seat: milliseconds left of its reconnect grace.
    pub held_ms: Option<u64>,
}
