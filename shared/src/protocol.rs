//! Client and server messages and their exact wire layout (protocol version 2).
//!
//! Every message is one MessagePack **array** whose first element is a small integer tag and whose
//! other elements are the variant's fields in declaration order. Arrays rather than maps because
//! deltas go to every client 30 times a second: field names would cost more than the data.
//! `PROTOCOL.md` documents every message; `shared/golden/messages.json` holds example bytes.
//!
//! Game-defined parts (inputs, commands, options, events, results) are type parameters or
//! [`rmpv::Value`]s, so this crate knows no game.

use crate::delta::{Acks, Event, Segment};
use crate::ids::{PlayerId, RoomId, Tick};
use crate::schema::KindSchema;
use serde::de::{self, DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// Version of the message layout. A client sends it in [`ClientMsg::Join`]; a mismatch is refused
/// with [`ErrorCode::VersionMismatch`] and close [`CloseCode::VersionMismatch`].
pub const PROTOCOL_VERSION: u16 = 2;

/// WebSocket subprotocol a client must offer in `Sec-WebSocket-Protocol`; the server echoes it.
pub const SUBPROTOCOL: &str = "tickroom.v2";

/// Longest player name kept, in bytes of UTF-8; longer names are cut at a char boundary.
pub const MAX_NAME_BYTES: usize = 32;

/// Longest chat line accepted, in bytes of UTF-8 after cleaning; longer lines are refused with
/// [`ErrorCode::BadRequest`].
pub const MAX_CHAT_BYTES: usize = 256;

/// Game options, events payloads and results: any MessagePack value the game defines.
pub type GameValue = rmpv::Value;

/// What a client sends. `I` is the game's input type, `C` its command type.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientMsg<I, C> {
    /// Take a seat; see `PROTOCOL.md` for how `token`, `room`, `create` and quick match combine.
    Join {
        /// Must equal [`PROTOCOL_VERSION`].
        version: u16,
        /// Display name (cleaned by the server, see [`clean_name`]).
        name: String,
        /// Game to play; `None` for the server's default game.
        game: Option<String>,
        /// Room to join; `None` for quick match.
        room: Option<RoomId>,
        /// Open a new room.
        create: bool,
        /// Options for a room this join creates (a map, game-defined).
        options: Option<GameValue>,
        /// Quick match only into rooms whose metadata holds every pair.
        filter: Option<BTreeMap<String, String>>,
        /// Reconnect token from an earlier welcome.
        token: Option<String>,
        /// Seat ticket from a [`ServerMsg::Redirect`] (cluster mode): the seat reserved for this
        /// client on the node it was sent to. On the wire an optional tenth element: a Join of
        /// nine elements has none.
        ticket: Option<String>,
    },
    /// One continuous input, applied at the next tick in arrival order.
    Input {
        /// Strictly increasing per connection, from 1.
        seq: crate::InputSeq,
        /// The game's input.
        input: I,
    },
    /// Round-trip probe; the server answers [`ServerMsg::Pong`] with the same `echo`.
    Ping {
        /// Any value; typically the client's clock in milliseconds.
        echo: u64,
    },
    /// A chat line to everyone in the room.
    Chat {
        /// At most [`MAX_CHAT_BYTES`].
        text: String,
    },
    /// Leave the room for good.
    Leave,
    /// Ask for a keyframe.
    Resync,
    /// A discrete, reliable action, answered by [`ServerMsg::CommandResult`].
    Command {
        /// Chosen by the client, echoed in the result.
        id: u32,
        /// The game's command.
        command: C,
    },
    /// Watch a room as a spectator: no seat, no inputs; answered by [`ServerMsg::Watching`].
    Watch {
        /// Must equal [`PROTOCOL_VERSION`].
        version: u16,
        /// The room to watch.
        room: RoomId,
    },
}

/// A player in [`ServerMsg::Roster`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// The player.
    pub player: PlayerId,
    /// Display name.
    pub name: String,
    /// False while the seat is held for a reconnect.
    pub connected: bool,
}

/// Why the game refused a command (or a joiner): a machine code and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Game-defined, stable (`not_your_turn`).
    pub code: String,
    /// For humans.
    pub message: String,
}

impl Refusal {
    /// A refusal with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Refusal {
        Refusal {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMsg {
    /// First reply to a successful join; roster and snapshot follow at the next tick.
    Welcome {
        /// You.
        player: PlayerId,
        /// The room you are in.
        room: RoomId,
        /// The game it runs.
        game: String,
        /// Ticks per second.
        tick_rate: u16,
        /// Deltas only on ticks where something changed (plus keep-alives).
        on_change: bool,
        /// The room's tick when the join was accepted.
        tick: Tick,
        /// Secret to resume this seat (single use).
        token: String,
        /// Every entity kind of the game.
        kinds: Vec<KindSchema>,
    },
    /// A keyframe: clear the replica, then apply.
    Snapshot {
        /// Tick of this state.
        tick: Tick,
        /// One segment per scope the client sees.
        segments: Vec<Segment>,
        /// Events the client has not received yet.
        events: Vec<Event>,
        /// Every non-zero ack.
        acks: Acks,
    },
    /// Changes from tick `base` to tick `tick`.
    Delta {
        /// The tick this delta produces.
        tick: Tick,
        /// The tick it builds on.
        base: Tick,
        /// One segment per scope that concerns the client.
        segments: Vec<Segment>,
        /// This tick's events for the client.
        events: Vec<Event>,
        /// Acks that moved.
        acks: Acks,
    },
    /// Answer to [`ClientMsg::Ping`].
    Pong {
        /// The client's `echo`.
        echo: u64,
        /// The room's current tick (0 outside a room).
        tick: Tick,
    },
    /// A chat line.
    Chat {
        /// Sender.
        player: PlayerId,
        /// Sender's name.
        name: String,
        /// The line.
        text: String,
    },
    /// Players in the room.
    Roster {
        /// Every seated player, by id.
        players: Vec<RosterEntry>,
    },
    /// A request failed; the connection stays open.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
    /// The outcome of a [`ClientMsg::Command`].
    CommandResult {
        /// The command's id.
        id: u32,
        /// `None` when applied.
        refusal: Option<Refusal>,
    },
    /// The game ended the room; a close 1000 follows.
    Ended {
        /// Game-defined result.
        result: GameValue,
    },
    /// First reply to an accepted [`ClientMsg::Watch`]: [`ServerMsg::Welcome`] without a seat.
    /// Roster and snapshot follow at the next tick.
    Watching {
        /// The room watched.
        room: RoomId,
        /// The game it runs.
        game: String,
        /// Ticks per second.
        tick_rate: u16,
        /// Deltas only on ticks where something changed (plus keep-alives).
        on_change: bool,
        /// The room's tick when the watch was accepted.
        tick: Tick,
        /// Every entity kind of the game.
        kinds: Vec<KindSchema>,
    },
    /// Cluster mode: the join is served by another node. Connect to `url` and send the same
    /// Join with `ticket` (or, for a reconnect, the same token); a close
    /// [`CloseCode::Redirected`] follows.
    Redirect {
        /// The node's WebSocket URL (`ws://` or `wss://`, path included).
        url: String,
        /// Single-use seat ticket, valid for a few seconds; `None` for a reconnect, which needs
        /// only its token.
        ticket: Option<String>,
    },
}

/// Why a request failed, in [`ServerMsg::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ErrorCode {
    /// The request is not acceptable (a chat line too long, unreadable options).
    BadRequest = 1,
    /// [`ClientMsg::Join::version`] differs from [`PROTOCOL_VERSION`].
    VersionMismatch = 2,
    /// No room with that id.
    RoomNotFound = 3,
    /// The room has no free seat.
    RoomFull = 4,
    /// The reconnect token is unknown, expired or already used.
    BadToken = 5,
    /// The server is at its room limit or shutting down.
    ServerFull = 6,
    /// The game refused the joiner.
    Refused = 7,
    /// The room is locked.
    RoomLocked = 8,
    /// No game of that name.
    UnknownGame = 9,
    /// The client's IP address is at one of its budgets: open rooms it created, room
    /// creations per minute, or seats held (held seats included). The connection stays open.
    IpLimit = 10,
    /// Cluster mode: the room directory cannot be reached; nothing was reserved. Try again in
    /// a moment. The connection stays open.
    Unavailable = 11,
    /// Cluster mode: the room (of this reconnect token, or joined by id) lived on a node that
    /// stopped; the room is gone.
    RoomLost = 12,
    /// The room takes no more spectators (the server's `--max-spectators`, or the game's own
    /// limit; a game that takes none is always full). The connection stays open.
    SpectatorsFull = 13,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::BadRequest,
        ErrorCode::VersionMismatch,
        ErrorCode::RoomNotFound,
        ErrorCode::RoomFull,
        ErrorCode::BadToken,
        ErrorCode::ServerFull,
        ErrorCode::Refused,
        ErrorCode::RoomLocked,
        ErrorCode::UnknownGame,
        ErrorCode::IpLimit,
        ErrorCode::Unavailable,
        ErrorCode::RoomLost,
        ErrorCode::SpectatorsFull,
    ];

    /// Parse a wire value.
    pub fn from_u16(v: u16) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|c| *c as u16 == v)
    }
}

/// WebSocket close codes the server uses (RFC 6455 section 7.4 plus application codes >= 4000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// The client left, the room closed, or the game ended it.
    Normal = 1000,
    /// The server is shutting down.
    GoingAway = 1001,
    /// A WebSocket protocol violation.
    ProtocolError = 1002,
    /// A text frame: the protocol is binary only.
    Unsupported = 1003,
    /// A binary frame that is not a valid message.
    InvalidPayload = 1007,
    /// A rule was broken (the message rate limit).
    Policy = 1008,
    /// A message larger than the limit.
    TooBig = 1009,
    /// The room failed (its game panicked).
    InternalError = 1011,
    /// No join within the join timeout.
    JoinTimeout = 4000,
    /// The seat was resumed from another connection with the reconnect token.
    Replaced = 4002,
    /// No frame from the client within the idle timeout.
    IdleTimeout = 4003,
    /// The join's protocol version is not the server's.
    VersionMismatch = 4004,
    /// A message not allowed in the connection's state.
    NotAllowed = 4005,
    /// After a [`ServerMsg::Redirect`]: the join continues on another node.
    Redirected = 4006,
    /// The operator removed the player from the room (the admin page's kick): the seat is
    /// freed, not held, so a reconnect with the token is refused. Do not reconnect.
    Kicked = 4007,
}

impl CloseCode {
    /// Every code.
    pub const ALL: [CloseCode; 15] = [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::ProtocolError,
        CloseCode::Unsupported,
        CloseCode::InvalidPayload,
        CloseCode::Policy,
        CloseCode::TooBig,
        CloseCode::InternalError,
        CloseCode::JoinTimeout,
        CloseCode::Replaced,
        CloseCode::IdleTimeout,
        CloseCode::VersionMismatch,
        CloseCode::NotAllowed,
        CloseCode::Redirected,
        CloseCode::Kicked,
    ];
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(*self as u16)
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u16::deserialize(d)?;
        ErrorCode::from_u16(v).ok_or_else(|| de::Error::custom(format!("unknown error code {v}")))
    }
}

/// Client message tags.
pub mod client_tag {
    /// [`super::ClientMsg::Join`]
    pub const JOIN: u8 = 0;
    /// [`super::ClientMsg::Input`]
    pub const INPUT: u8 = 1;
    /// [`super::ClientMsg::Ping`]
    pub const PING: u8 = 2;
    /// [`super::ClientMsg::Chat`]
    pub const CHAT: u8 = 3;
    /// [`super::ClientMsg::Leave`]
    pub const LEAVE: u8 = 4;
    /// [`super::ClientMsg::Resync`]
    pub const RESYNC: u8 = 5;
    /// [`super::ClientMsg::Command`]
    pub const COMMAND: u8 = 6;
    /// [`super::ClientMsg::Watch`]
    pub const WATCH: u8 = 7;
}

/// Server message tags.
pub mod server_tag {
    /// [`super::ServerMsg::Welcome`]
    pub const WELCOME: u8 = 0;
    /// [`super::ServerMsg::Snapshot`]
    pub const SNAPSHOT: u8 = 1;
    /// [`super::ServerMsg::Delta`]
    pub const DELTA: u8 = 2;
    /// [`super::ServerMsg::Pong`]
    pub const PONG: u8 = 3;
    /// [`super::ServerMsg::Chat`]
    pub const CHAT: u8 = 4;
    /// [`super::ServerMsg::Roster`]
    pub const ROSTER: u8 = 5;
    /// [`super::ServerMsg::Error`]
    pub const ERROR: u8 = 6;
    /// [`super::ServerMsg::CommandResult`]
    pub const COMMAND_RESULT: u8 = 7;
    /// [`super::ServerMsg::Ended`]
    pub const ENDED: u8 = 8;
    /// [`super::ServerMsg::Redirect`]
    pub const REDIRECT: u8 = 9;
    /// [`super::ServerMsg::Watching`]
    pub const WATCHING: u8 = 10;
}

// ----- Serialization: one array per message, tag first. -----

impl<I: Serialize, C: Serialize> Serialize for ClientMsg<I, C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use client_tag::*;
        match self {
            ClientMsg::Join {
                version,
                name,
                game,
                room,
                create,
                options,
                filter,
                token,
                ticket,
            } => match ticket {
                // Without a ticket the Join keeps its nine elements, as before tickets existed.
                None => (
                    JOIN, version, name, game, room, create, options, filter, token,
                )
                    .serialize(s),
                Some(ticket) => (
                    JOIN, version, name, game, room, create, options, filter, token, ticket,
                )
                    .serialize(s),
            },
            ClientMsg::Input { seq, input } => (INPUT, seq, input).serialize(s),
            ClientMsg::Ping { echo } => (PING, echo).serialize(s),
            ClientMsg::Chat { text } => (CHAT, text).serialize(s),
            ClientMsg::Leave => (LEAVE,).serialize(s),
            ClientMsg::Resync => (RESYNC,).serialize(s),
            ClientMsg::Command { id, command } => (COMMAND, id, command).serialize(s),
            ClientMsg::Watch { version, room } => (WATCH, version, room).serialize(s),
        }
    }
}

impl Serialize for RosterEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.player, &self.name, self.connected).serialize(s)
    }
}

impl<'de> Deserialize<'de> for RosterEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (player, name, connected): (PlayerId, Str, bool) = Deserialize::deserialize(d)?;
        Ok(RosterEntry {
            player,
            name: name.0,
            connected,
        })
    }
}

impl Serialize for Refusal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.code, &self.message).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Refusal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (code, message): (Str, Str) = Deserialize::deserialize(d)?;
        Ok(Refusal {
            code: code.0,
            message: message.0,
        })
    }
}

impl Serialize for ServerMsg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use server_tag::*;
        match self {
            ServerMsg::Welcome {
                player,
                room,
                game,
                tick_rate,
                on_change,
                tick,
                token,
                kinds,
            } => (
                WELCOME, player, room, game, tick_rate, on_change, tick, token, kinds,
            )
                .serialize(s),
            ServerMsg::Snapshot {
                tick,
                segments,
                events,
                acks,
            } => (SNAPSHOT, tick, segments, events, acks).serialize(s),
            ServerMsg::Delta {
                tick,
                base,
                segments,
                events,
                acks,
            } => (DELTA, tick, tick.0 - base.0, segments, events, acks).serialize(s),
            ServerMsg::Pong { echo, tick } => (PONG, echo, tick).serialize(s),
            ServerMsg::Chat { player, name, text } => (CHAT, player, name, text).serialize(s),
            ServerMsg::Roster { players } => (ROSTER, players).serialize(s),
            ServerMsg::Error { code, message } => (ERROR, code, message).serialize(s),
            ServerMsg::CommandResult { id, refusal } => (COMMAND_RESULT, id, refusal).serialize(s),
            ServerMsg::Ended { result } => (ENDED, result).serialize(s),
            ServerMsg::Redirect { url, ticket } => (REDIRECT, url, ticket).serialize(s),
            ServerMsg::Watching {
                room,
                game,
                tick_rate,
                on_change,
                tick,
                kinds,
            } => (WATCHING, room, game, tick_rate, on_change, tick, kinds).serialize(s),
        }
    }
}

// ----- Deserialization: a strict visitor per message type. -----

/// A string that must be a MessagePack `str` (a `bin` is refused, unlike serde's `String`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Str(pub String);

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a str")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str, E> {
                Ok(Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str, E> {
                Ok(Str(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads the next field of a message array, naming the message in the error.
pub(crate) fn next_field<'de, A, T>(
    seq: &mut A,
    what: &'static str,
    index: usize,
) -> Result<T, A::Error>
where
    A: SeqAccess<'de>,
    T: Deserialize<'de>,
{
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(index, &what))
}

/// Refuses trailing elements: a longer array is a different (unknown) layout.
pub(crate) fn end_of_array<'de, A: SeqAccess<'de>>(
    mut seq: A,
    what: &'static str,
    len: usize,
) -> Result<(), A::Error> {
    if seq.next_element::<IgnoredAny>()?.is_some() {
        return Err(de::Error::invalid_length(len + 1, &what));
    }
    Ok(())
}

/// Options must be a map (or nil).
fn check_options<E: de::Error>(options: &Option<GameValue>) -> Result<(), E> {
    match options {
        None | Some(rmpv::Value::Map(_)) => Ok(()),
        Some(_) => Err(E::custom("Join options must be a map or nil")),
    }
}

/// A map of `str` to `str`.
struct Filter(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map: BTreeMap<Str, Str> = Deserialize::deserialize(d)?;
        Ok(Filter(map.into_iter().map(|(k, v)| (k.0, v.0)).collect()))
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

struct ClientVisitor<I, C>(PhantomData<(I, C)>);

impl<'de, I: DeserializeOwned, C: DeserializeOwned> Visitor<'de> for ClientVisitor<I, C> {
    type Value = ClientMsg<I, C>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a client message array [tag, ...fields]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use client_tag::*;
        let tag: u8 = next_field(&mut seq, "a message tag", 0)?;
        let (msg, len, what) = match tag {
            JOIN => {
                const W: &str =
                    "Join [0, version, name, game, room, create, options, filter, token, ticket?]";
                let version = next_field(&mut seq, W, 1)?;
                let name: Str = next_field(&mut seq, W, 2)?;
                let game: Option<Str> = next_field(&mut seq, W, 3)?;
                let room = next_field(&mut seq, W, 4)?;
                let create = next_field(&mut seq, W, 5)?;
                let options: Option<GameValue> = next_field(&mut seq, W, 6)?;
                check_options(&options)?;
                let filter: Option<Filter> = next_field(&mut seq, W, 7)?;
                let token: Option<Str> = next_field(&mut seq, W, 8)?;
                // The optional tenth element: absent, nil or a ticket.
                let (ticket, len) = match seq.next_element::<Option<Str>>()? {
                    None => (None, 9),
                    Some(ticket) => (ticket, 10),
                };
                let msg = ClientMsg::Join {
                    version,
                    name: name.0,
                    game: game.map(|g| g.0),
                    room,
                    create,
                    options,
                    filter: filter.map(|f| f.0),
                    token: token.map(|t| t.0),
                    ticket: ticket.map(|t| t.0),
                };
                (msg, len, W)
            }
            INPUT => {
                const W: &str = "Input [1, seq, input]";
                let msg = ClientMsg::Input {
                    seq: next_field(&mut seq, W, 1)?,
                    input: next_field(&mut seq, W, 2)?,
                };
                (msg, 3, W)
            }
            PING => {
                const W: &str = "Ping [2, echo]";
                let echo = next_field(&mut seq, W, 1)?;
                (ClientMsg::Ping { echo }, 2, W)
            }
            CHAT => {
                const W: &str = "Chat [3, text]";
                let text: Str = next_field(&mut seq, W, 1)?;
                (ClientMsg::Chat { text: text.0 }, 2, W)
            }
            LEAVE => (ClientMsg::Leave, 1, "Leave [4]"),
            RESYNC => (ClientMsg::Resync, 1, "Resync [5]"),
            COMMAND => {
                const W: &str = "Command [6, id, command]";
                let msg = ClientMsg::Command {
                    id: next_field(&mut seq, W, 1)?,
                    command: next_field(&mut seq, W, 2)?,
                };
                (msg, 3, W)
            }
            WATCH => {
                const W: &str = "Watch [7, version, room]";
                let msg = ClientMsg::Watch {
                    version: next_field(&mut seq, W, 1)?,
                    room: next_field(&mut seq, W, 2)?,
                };
                (msg, 3, W)
            }
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(other.into()),
                    &"a client message tag 0..=7",
                ))
            }
        };
        end_of_array(seq, what, len)?;
        Ok(msg)
    }
}

impl<'de, I: DeserializeOwned, C: DeserializeOwned> Deserialize<'de> for ClientMsg<I, C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ClientVisitor(PhantomData))
    }
}

struct ServerVisitor;

impl<'de> Visitor<'de> for ServerVisitor {
    type Value = ServerMsg;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a server message array [tag, ...fields]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ServerMsg, A::Error> {
        use server_tag::*;
        let tag: u8 = next_field(&mut seq, "a message tag", 0)?;
        let (msg, len, what) = match tag {
            WELCOME => {
                const W: &str =
                    "Welcome [0, player, room, game, tickRate, onChange, tick, token, kinds]";
                let player = next_field(&mut seq, W, 1)?;
                let room = next_field(&mut seq, W, 2)?;
                let game: Str = next_field(&mut seq, W, 3)?;
                let tick_rate = next_field(&mut seq, W, 4)?;
                let on_change = next_field(&mut seq, W, 5)?;
                let tick = next_field(&mut seq, W, 6)?;
                let token: Str = next_field(&mut seq, W, 7)?;
                let kinds = next_field(&mut seq, W, 8)?;
                let msg = ServerMsg::Welcome {
                    player,
                    room,
                    game: game.0,
                    tick_rate,
                    on_change,
                    tick,
                    token: token.0,
                    kinds,
                };
                (msg, 9, W)
            }
            SNAPSHOT => {
                const W: &str = "Snapshot [1, tick, segments, events, acks]";
                let msg = ServerMsg::Snapshot {
                    tick: next_field(&mut seq, W, 1)?,
                    segments: next_field(&mut seq, W, 2)?,
                    events: next_field(&mut seq, W, 3)?,
                    acks: next_field(&mut seq, W, 4)?,
                };
                (msg, 5, W)
            }
            DELTA => {
                const W: &str = "Delta [2, tick, back, segments, events, acks]";
                let tick: Tick = next_field(&mut seq, W, 1)?;
                let back: u64 = next_field(&mut seq, W, 2)?;
                let base = tick.0.checked_sub(back).ok_or_else(|| {
                    de::Error::invalid_value(de::Unexpected::Unsigned(back), &"back <= tick")
                })?;
                let msg = ServerMsg::Delta {
                    tick,
                    base: Tick(base),
                    segments: next_field(&mut seq, W, 3)?,
                    events: next_field(&mut seq, W, 4)?,
                    acks: next_field(&mut seq, W, 5)?,
                };
                (msg, 6, W)
            }
            PONG => {
                const W: &str = "Pong [3, echo, tick]";
                let msg = ServerMsg::Pong {
                    echo: next_field(&mut seq, W, 1)?,
                    tick: next_field(&mut seq, W, 2)?,
                };
                (msg, 3, W)
            }
            CHAT => {
                const W: &str = "Chat [4, player, name, text]";
                let player = next_field(&mut seq, W, 1)?;
                let name: Str = next_field(&mut seq, W, 2)?;
                let text: Str = next_field(&mut seq, W, 3)?;
                (
                    ServerMsg::Chat {
                        player,
                        name: name.0,
                        text: text.0,
                    },
                    4,
                    W,
                )
            }
            ROSTER => {
                const W: &str = "Roster [5, players]";
                let players = next_field(&mut seq, W, 1)?;
                (ServerMsg::Roster { players }, 2, W)
            }
            ERROR => {
                const W: &str = "Error [6, code, message]";
                let code = next_field(&mut seq, W, 1)?;
                let message: Str = next_field(&mut seq, W, 2)?;
                (
                    ServerMsg::Error {
                        code,
                        message: message.0,
                    },
                    3,
                    W,
                )
            }
            COMMAND_RESULT => {
                const W: &str = "CommandResult [7, id, refusal]";
                let msg = ServerMsg::CommandResult {
                    id: next_field(&mut seq, W, 1)?,
                    refusal: next_field(&mut seq, W, 2)?,
                };
                (msg, 3, W)
            }
            ENDED => {
                const W: &str = "Ended [8, result]";
                let result = next_field(&mut seq, W, 1)?;
                (ServerMsg::Ended { result }, 2, W)
            }
            REDIRECT => {
                const W: &str = "Redirect [9, url, ticket]";
                let url: Str = next_field(&mut seq, W, 1)?;
                let ticket: Option<Str> = next_field(&mut seq, W, 2)?;
                let msg = ServerMsg::Redirect {
                    url: url.0,
                    ticket: ticket.map(|t| t.0),
                };
                (msg, 3, W)
            }
            WATCHING => {
                const W: &str = "Watching [10, room, game, tickRate, onChange, tick, kinds]";
                let room = next_field(&mut seq, W, 1)?;
                let game: Str = next_field(&mut seq, W, 2)?;
                let msg = ServerMsg::Watching {
                    room,
                    game: game.0,
                    tick_rate: next_field(&mut seq, W, 3)?,
                    on_change: next_field(&mut seq, W, 4)?,
                    tick: next_field(&mut seq, W, 5)?,
                    kinds: next_field(&mut seq, W, 6)?,
                };
                (msg, 7, W)
            }
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(other.into()),
                    &"a server message tag 0..=10",
                ))
            }
        };
        end_of_array(seq, what, len)?;
        Ok(msg)
    }
}

impl<'de> Deserialize<'de> for ServerMsg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ServerVisitor)
    }
}

/// Writes the start of a Delta, `[2, tick, back, [` + `segments` array header; the caller
/// appends the already-encoded segments, then [`write_array_len`] and the events, then the acks.
/// The bytes equal [`ServerMsg::Delta`]'s serde encoding; the server assembles per-client
/// messages from shared, pre-encoded segments this way.
pub fn write_delta_head(out: &mut Vec<u8>, tick: Tick, back: u64, segments: u32) {
    write_array_len(out, 6);
    write_uint(out, server_tag::DELTA.into());
    write_uint(out, tick.0);
    write_uint(out, back);
    write_array_len(out, segments);
}

/// Writes the start of a Snapshot, `[1, tick, [` + `segments` array header (see
/// [`write_delta_head`]).
pub fn write_snapshot_head(out: &mut Vec<u8>, tick: Tick, segments: u32) {
    write_array_len(out, 5);
    write_uint(out, server_tag::SNAPSHOT.into());
    write_uint(out, tick.0);
    write_array_len(out, segments);
}

/// Writes a MessagePack array header.
pub fn write_array_len(out: &mut Vec<u8>, len: u32) {
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_array_len(out, len);
}

fn write_uint(out: &mut Vec<u8>, v: u64) {
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_uint(out, v);
}

/// Cleans a display name: trims, drops control and format characters (bidi overrides,
/// zero-width characters), cuts to [`MAX_NAME_BYTES`] at a char boundary; empty becomes `player`.
pub fn clean_name(name: &str) -> String {
    let kept = clean_text(name);
    let trimmed = kept.trim();
    let mut end = trimmed.len().min(MAX_NAME_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let cut = trimmed[..end].trim_end();
    if cut.is_empty() {
        "player".to_owned()
    } else {
        cut.to_owned()
    }
}

/// Drops control and format characters from a chat line or name.
pub fn clean_text(text: &str) -> String {
    text.chars().filter(|c| !is_control_or_format(*c)).collect()
}

/// Control characters (Cc) and the format characters (Cf) that can reorder or hide text.
fn is_control_or_format(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_name_truncates_on_char_boundary_and_drops_format_chars() {
        let long = "é".repeat(40);
        let cleaned = clean_name(&long);
        assert!(cleaned.len() <= MAX_NAME_BYTES);
        assert_eq!(cleaned, "é".repeat(16));
        assert_eq!(clean_name("   "), "player");
        assert_eq!(clean_name(" ann\u{7} "), "ann");
        assert_eq!(clean_name("a\u{202E}b\u{200B}c"), "abc");
    }

    #[test]
    fn error_codes_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_u16(code as u16), Some(code));
        }
        assert_eq!(ErrorCode::from_u16(999), None);
    }
}
