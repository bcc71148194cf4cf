//! Client and server messages and their exact wire layout.
//!
//! Every message is one MessagePack **array** whose first element is a small integer tag and whose
//! other elements are the variant's fields in declaration order. Arrays rather than maps because
//! the delta goes to every client 30 times a second: field names would cost more than the data.
//! `PROTOCOL.md` documents every message with a hex example; [`crate::typescript`] generates the
//! browser client's mirror from [`ClientMsg::LAYOUT`] and [`ServerMsg::LAYOUT`].

use crate::ids::{EntityId, InputSeq, PlayerId, RoomId, Tick};
use crate::world::{Delta, Entity};
use serde::de::{self, DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// Version of the message layout. A client sends it in [`ClientMsg::Join`]; a mismatch is refused
/// with [`ErrorCode::VersionMismatch`].
pub const PROTOCOL_VERSION: u16 = 1;

/// WebSocket subprotocol a client must offer in `Sec-WebSocket-Protocol`; the server echoes it.
pub const SUBPROTOCOL: &str = "tickroom.v1";

/// Longest player name accepted, in bytes of UTF-8; longer names are truncated at a char boundary.
pub const MAX_NAME_BYTES: usize = 32;

/// Longest chat line accepted, in bytes of UTF-8; longer lines are refused with
/// [`ErrorCode::BadRequest`].
pub const MAX_CHAT_BYTES: usize = 256;

/// What a client sends. `I` is the game's input type (for the demo, [`crate::arena::ArenaInput`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientMsg<I> {
    /// Take a seat: in `room`, or by quick match when `room` is `None` (the fullest room with a
    /// free seat, else a new one), or in a brand-new room when `create` is set. With `token` from an
    /// earlier [`ServerMsg::Welcome`], resume that seat instead.
    Join {
        /// Must equal [`PROTOCOL_VERSION`].
        version: u16,
        /// Display name, at most [`MAX_NAME_BYTES`].
        name: String,
        /// Room to join; `None` for quick match.
        room: Option<RoomId>,
        /// Open a new room (ignores `room`).
        create: bool,
        /// Reconnect token from the previous session's welcome.
        token: Option<String>,
    },
    /// One input, applied at the next tick in arrival order.
    Input {
        /// Strictly increasing per connection, from 1.
        seq: InputSeq,
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
    /// Leave the room for good (the seat is released at once, no reconnect grace).
    Leave,
    /// Ask for a full snapshot: the client saw a gap in the delta chain.
    Resync,
}

/// A player in [`ServerMsg::Roster`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// The player.
    pub player: PlayerId,
    /// The player's entity in the world.
    pub entity: EntityId,
    /// Display name.
    pub name: String,
    /// False while the seat is held for a reconnect.
    pub connected: bool,
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMsg {
    /// First reply to a successful join; the full snapshot follows.
    Welcome {
        /// You.
        player: PlayerId,
        /// Your entity in the world.
        entity: EntityId,
        /// The room you are in.
        room: RoomId,
        /// Simulation ticks per second.
        tick_rate: u16,
        /// The room's tick when you joined.
        tick: Tick,
        /// Secret to resume this seat after a dropped connection (single use).
        token: String,
        /// Name of the game the room runs.
        game: String,
        /// Names of the entity fields, by index; field 0 is always `"ack"`.
        fields: Vec<String>,
    },
    /// The full world at `tick` (on join, and as a keyframe after a gap).
    Snapshot {
        /// Tick of this state.
        tick: Tick,
        /// Every entity, sorted by id.
        entities: Vec<Entity>,
    },
    /// Changes from one tick to the next.
    Delta(Delta),
    /// Answer to [`ClientMsg::Ping`].
    Pong {
        /// The client's `echo`, unchanged.
        echo: u64,
        /// The room's current tick.
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
    /// Players in the room; sent on join and whenever it changes.
    Roster {
        /// Every seated player, by id.
        players: Vec<RosterEntry>,
    },
    /// A request failed; the connection stays open (fatal problems close it instead).
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
}

/// Why a request failed, in [`ServerMsg::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ErrorCode {
    /// The request is not acceptable (e.g. a chat line over the length limit).
    BadRequest = 1,
    /// [`ClientMsg::Join::version`] differs from [`PROTOCOL_VERSION`].
    VersionMismatch = 2,
    /// No room with that id.
    RoomNotFound = 3,
    /// The room has no free seat.
    RoomFull = 4,
    /// The reconnect token is unknown, expired or already used.
    BadToken = 5,
    /// The server is at its room limit.
    ServerFull = 6,
}

impl ErrorCode {
    /// Every code, for documentation and generated bindings.
    pub const ALL: [ErrorCode; 6] = [
        ErrorCode::BadRequest,
        ErrorCode::VersionMismatch,
        ErrorCode::RoomNotFound,
        ErrorCode::RoomFull,
        ErrorCode::BadToken,
        ErrorCode::ServerFull,
    ];

    /// Parse a wire value.
    pub fn from_u16(v: u16) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|c| *c as u16 == v)
    }

    /// Stable name used in generated bindings.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::VersionMismatch => "VersionMismatch",
            ErrorCode::RoomNotFound => "RoomNotFound",
            ErrorCode::RoomFull => "RoomFull",
            ErrorCode::BadToken => "BadToken",
            ErrorCode::ServerFull => "ServerFull",
        }
    }
}

/// WebSocket close codes the server uses (RFC 6455 section 7.4 plus application codes >= 4000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// The client left, or the room closed normally.
    Normal = 1000,
    /// The server is shutting down.
    GoingAway = 1001,
    /// A WebSocket protocol violation (e.g. a bad fragment sequence).
    ProtocolError = 1002,
    /// A text frame: the protocol is binary only.
    Unsupported = 1003,
    /// A binary frame that is not a valid message.
    InvalidPayload = 1007,
    /// A rule was broken (e.g. input rate limit).
    Policy = 1008,
    /// A message larger than the limit.
    TooBig = 1009,
    /// The room failed (its game panicked).
    InternalError = 1011,
    /// No join within the handshake timeout.
    JoinTimeout = 4000,
    /// Reserved, not sent today: a connection that cannot keep up is shut down without a close
    /// frame, since none could reach it.
    TooSlow = 4001,
    /// The seat was resumed from another connection with the reconnect token.
    Replaced = 4002,
    /// No frame from the client within the idle timeout.
    IdleTimeout = 4003,
    /// The join's protocol version is not the server's.
    VersionMismatch = 4004,
    /// A message not allowed in the connection's state (input before the welcome, a second join).
    NotAllowed = 4005,
}

impl CloseCode {
    /// Every code, for documentation and generated bindings.
    pub const ALL: [CloseCode; 14] = [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::ProtocolError,
        CloseCode::Unsupported,
        CloseCode::InvalidPayload,
        CloseCode::Policy,
        CloseCode::TooBig,
        CloseCode::InternalError,
        CloseCode::JoinTimeout,
        CloseCode::TooSlow,
        CloseCode::Replaced,
        CloseCode::IdleTimeout,
        CloseCode::VersionMismatch,
        CloseCode::NotAllowed,
    ];

    /// Stable name used in generated bindings.
    pub fn name(self) -> &'static str {
        match self {
            CloseCode::Normal => "Normal",
            CloseCode::GoingAway => "GoingAway",
            CloseCode::ProtocolError => "ProtocolError",
            CloseCode::Unsupported => "Unsupported",
            CloseCode::InvalidPayload => "InvalidPayload",
            CloseCode::Policy => "Policy",
            CloseCode::TooBig => "TooBig",
            CloseCode::InternalError => "InternalError",
            CloseCode::JoinTimeout => "JoinTimeout",
            CloseCode::TooSlow => "TooSlow",
            CloseCode::Replaced => "Replaced",
            CloseCode::IdleTimeout => "IdleTimeout",
            CloseCode::VersionMismatch => "VersionMismatch",
            CloseCode::NotAllowed => "NotAllowed",
        }
    }
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

/// Wire layout of one message variant, for documentation and generated bindings.
#[derive(Debug)]
pub struct VariantLayout {
    /// The tag, the array's first element.
    pub tag: u8,
    /// Variant name.
    pub name: &'static str,
    /// The fields after the tag: name and TypeScript type.
    pub fields: &'static [(&'static str, &'static str)],
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
}

impl<I> ClientMsg<I> {
    /// The wire layout of every variant (the `input` field's type is the game's).
    pub const LAYOUT: &'static [VariantLayout] = &[
        VariantLayout {
            tag: client_tag::JOIN,
            name: "Join",
            fields: &[
                ("version", "number"),
                ("name", "string"),
                ("room", "number | null"),
                ("create", "boolean"),
                ("token", "string | null"),
            ],
        },
        VariantLayout {
            tag: client_tag::INPUT,
            name: "Input",
            fields: &[("seq", "number"), ("input", "unknown")],
        },
        VariantLayout {
            tag: client_tag::PING,
            name: "Ping",
            fields: &[("echo", "number")],
        },
        VariantLayout {
            tag: client_tag::CHAT,
            name: "Chat",
            fields: &[("text", "string")],
        },
        VariantLayout {
            tag: client_tag::LEAVE,
            name: "Leave",
            fields: &[],
        },
        VariantLayout {
            tag: client_tag::RESYNC,
            name: "Resync",
            fields: &[],
        },
    ];
}

impl ServerMsg {
    /// The wire layout of every variant. `entities`, `added` and `changed` are flat integer arrays
    /// (see [`crate::world`]); a roster entry is `[player, entity, name, connected]`.
    pub const LAYOUT: &'static [VariantLayout] = &[
        VariantLayout {
            tag: server_tag::WELCOME,
            name: "Welcome",
            fields: &[
                ("player", "number"),
                ("entity", "number"),
                ("room", "number"),
                ("tickRate", "number"),
                ("tick", "number"),
                ("token", "string"),
                ("game", "string"),
                ("fields", "string[]"),
            ],
        },
        VariantLayout {
            tag: server_tag::SNAPSHOT,
            name: "Snapshot",
            fields: &[("tick", "number"), ("entities", "number[]")],
        },
        VariantLayout {
            tag: server_tag::DELTA,
            name: "Delta",
            fields: &[
                ("tick", "number"),
                ("back", "number"),
                ("added", "number[]"),
                ("changed", "number[]"),
                ("removed", "number[]"),
            ],
        },
        VariantLayout {
            tag: server_tag::PONG,
            name: "Pong",
            fields: &[("echo", "number"), ("tick", "number")],
        },
        VariantLayout {
            tag: server_tag::CHAT,
            name: "Chat",
            fields: &[("player", "number"), ("name", "string"), ("text", "string")],
        },
        VariantLayout {
            tag: server_tag::ROSTER,
            name: "Roster",
            fields: &[("players", "[number, number, string, boolean][]")],
        },
        VariantLayout {
            tag: server_tag::ERROR,
            name: "Error",
            fields: &[("code", "number"), ("message", "string")],
        },
    ];
}

// ----- Serialization: one array per message, tag first. -----

impl<I: Serialize> Serialize for ClientMsg<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use client_tag::*;
        match self {
            ClientMsg::Join {
                version,
                name,
                room,
                create,
                token,
            } => (JOIN, version, name, room, create, token).serialize(s),
            ClientMsg::Input { seq, input } => (INPUT, seq, input).serialize(s),
            ClientMsg::Ping { echo } => (PING, echo).serialize(s),
            ClientMsg::Chat { text } => (CHAT, text).serialize(s),
            ClientMsg::Leave => (LEAVE,).serialize(s),
            ClientMsg::Resync => (RESYNC,).serialize(s),
        }
    }
}

impl Serialize for RosterEntryWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        (e.player, e.entity, &e.name, e.connected).serialize(s)
    }
}

/// Roster entries travel as 4-element arrays.
struct RosterEntryWire<'a>(&'a RosterEntry);

struct RosterWire<'a>(&'a [RosterEntry]);

impl Serialize for RosterWire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(RosterEntryWire))
    }
}

impl Serialize for ServerMsg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use server_tag::*;
        match self {
            ServerMsg::Welcome {
                player,
                entity,
                room,
                tick_rate,
                tick,
                token,
                game,
                fields,
            } => (
                WELCOME, player, entity, room, tick_rate, tick, token, game, fields,
            )
                .serialize(s),
            ServerMsg::Snapshot { tick, entities } => {
                (SNAPSHOT, tick, crate::world::SparseList(entities)).serialize(s)
            }
            ServerMsg::Delta(delta) => {
                let mut t = s.serialize_tuple(6)?;
                t.serialize_element(&DELTA)?;
                delta.serialize_fields(&mut t)?;
                t.end()
            }
            ServerMsg::Pong { echo, tick } => (PONG, echo, tick).serialize(s),
            ServerMsg::Chat { player, name, text } => (CHAT, player, name, text).serialize(s),
            ServerMsg::Roster { players } => (ROSTER, RosterWire(players)).serialize(s),
            ServerMsg::Error { code, message } => (ERROR, code, message).serialize(s),
        }
    }
}

// ----- Deserialization: a strict visitor per message type. -----

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

struct ClientVisitor<I>(PhantomData<I>);

impl<'de, I: DeserializeOwned> Visitor<'de> for ClientVisitor<I> {
    type Value = ClientMsg<I>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a client message array [tag, ...fields]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use client_tag::*;
        let tag: u8 = next_field(&mut seq, "a message tag", 0)?;
        let (msg, len, what) = match tag {
            JOIN => {
                const W: &str = "Join [0, version, name, room, create, token]";
                let msg = ClientMsg::Join {
                    version: next_field(&mut seq, W, 1)?,
                    name: next_field(&mut seq, W, 2)?,
                    room: next_field(&mut seq, W, 3)?,
                    create: next_field(&mut seq, W, 4)?,
                    token: next_field(&mut seq, W, 5)?,
                };
                (msg, 6, W)
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
                (
                    ClientMsg::Ping {
                        echo: next_field(&mut seq, W, 1)?,
                    },
                    2,
                    W,
                )
            }
            CHAT => {
                const W: &str = "Chat [3, text]";
                (
                    ClientMsg::Chat {
                        text: next_field(&mut seq, W, 1)?,
                    },
                    2,
                    W,
                )
            }
            LEAVE => (ClientMsg::Leave, 1, "Leave [4]"),
            RESYNC => (ClientMsg::Resync, 1, "Resync [5]"),
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(other.into()),
                    &"a client message tag 0..=5",
                ))
            }
        };
        end_of_array(seq, what, len)?;
        Ok(msg)
    }
}

impl<'de, I: DeserializeOwned> Deserialize<'de> for ClientMsg<I> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ClientVisitor(PhantomData))
    }
}

struct RosterEntryVisitor;

impl<'de> Visitor<'de> for RosterEntryVisitor {
    type Value = RosterEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a roster entry [player, entity, name, connected]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RosterEntry, A::Error> {
        const W: &str = "a roster entry [player, entity, name, connected]";
        let entry = RosterEntry {
            player: next_field(&mut seq, W, 0)?,
            entity: next_field(&mut seq, W, 1)?,
            name: next_field(&mut seq, W, 2)?,
            connected: next_field(&mut seq, W, 3)?,
        };
        end_of_array(seq, W, 4)?;
        Ok(entry)
    }
}

struct RosterEntryOwned(RosterEntry);

impl<'de> Deserialize<'de> for RosterEntryOwned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(RosterEntryVisitor).map(RosterEntryOwned)
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
                    "Welcome [0, player, entity, room, tickRate, tick, token, game, fields]";
                let msg = ServerMsg::Welcome {
                    player: next_field(&mut seq, W, 1)?,
                    entity: next_field(&mut seq, W, 2)?,
                    room: next_field(&mut seq, W, 3)?,
                    tick_rate: next_field(&mut seq, W, 4)?,
                    tick: next_field(&mut seq, W, 5)?,
                    token: next_field(&mut seq, W, 6)?,
                    game: next_field(&mut seq, W, 7)?,
                    fields: next_field(&mut seq, W, 8)?,
                };
                (msg, 9, W)
            }
            SNAPSHOT => {
                const W: &str = "Snapshot [1, tick, entities]";
                let tick = next_field(&mut seq, W, 1)?;
                let entities: crate::world::SparseVec = next_field(&mut seq, W, 2)?;
                (
                    ServerMsg::Snapshot {
                        tick,
                        entities: entities.0,
                    },
                    3,
                    W,
                )
            }
            DELTA => {
                const W: &str = "Delta [2, tick, back, added, changed, removed]";
                let tick: Tick = next_field(&mut seq, W, 1)?;
                let back: u64 = next_field(&mut seq, W, 2)?;
                let base = tick.0.checked_sub(back).ok_or_else(|| {
                    de::Error::invalid_value(de::Unexpected::Unsigned(back), &"back <= tick")
                })?;
                let added: crate::world::SparseVec = next_field(&mut seq, W, 3)?;
                let changed: crate::world::SparseVec = next_field(&mut seq, W, 4)?;
                let removed: Vec<EntityId> = next_field(&mut seq, W, 5)?;
                let delta = Delta {
                    tick,
                    base: Tick(base),
                    added: added.0,
                    changed: changed.0,
                    removed,
                };
                (ServerMsg::Delta(delta), 6, W)
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
                let msg = ServerMsg::Chat {
                    player: next_field(&mut seq, W, 1)?,
                    name: next_field(&mut seq, W, 2)?,
                    text: next_field(&mut seq, W, 3)?,
                };
                (msg, 4, W)
            }
            ROSTER => {
                const W: &str = "Roster [5, players]";
                let players: Vec<RosterEntryOwned> = next_field(&mut seq, W, 1)?;
                let players = players.into_iter().map(|p| p.0).collect();
                (ServerMsg::Roster { players }, 2, W)
            }
            ERROR => {
                const W: &str = "Error [6, code, message]";
                let msg = ServerMsg::Error {
                    code: next_field(&mut seq, W, 1)?,
                    message: next_field(&mut seq, W, 2)?,
                };
                (msg, 3, W)
            }
            other => {
                return Err(de::Error::invalid_value(
                    de::Unexpected::Unsigned(other.into()),
                    &"a server message tag 0..=6",
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

/// Truncates a display name to [`MAX_NAME_BYTES`] at a char boundary and trims whitespace; an
/// empty result becomes `"player"`.
pub fn clean_name(name: &str) -> String {
    let trimmed = name.trim();
    let mut end = trimmed.len().min(MAX_NAME_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let cut = trimmed[..end].trim_end();
    if cut.is_empty() {
        "player".to_owned()
    } else {
        cut.chars().filter(|c| !c.is_control()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_name_truncates_on_char_boundary() {
        let long = "é".repeat(40);
        let cleaned = clean_name(&long);
        assert!(cleaned.len() <= MAX_NAME_BYTES);
        assert_eq!(cleaned, "é".repeat(16));
        assert_eq!(clean_name("   "), "player");
        assert_eq!(clean_name(" ann\u{7} "), "ann");
    }

    #[test]
    fn error_codes_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_u16(code as u16), Some(code));
        }
        assert_eq!(ErrorCode::from_u16(999), None);
    }
}
