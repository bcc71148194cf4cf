//! The tickroom wire schema, shared by the server, the bots and every test.
//!
//! Nothing here knows about actix, sockets or clocks: it is pure data and pure functions, so a
//! client in any language can be checked against it byte for byte.
//!
//! # Layout
//! - [`ids`]: newtypes for every id on the wire ([`PlayerId`], [`RoomId`], [`EntityId`], [`Tick`],
//!   [`InputSeq`]).
//! - [`protocol`]: [`ClientMsg`] / [`ServerMsg`], protocol version, subprotocol name, error and
//!   close codes, and their exact MessagePack layout (see `PROTOCOL.md`).
//! - [`codec`]: encode / decode with typed errors, a size limit and a nesting-depth limit.
//! - [`world`]: the replicated state model: [`Fields`], [`Entity`], [`World`], [`Delta`], the diff the
//!   server computes and the apply every client runs ([`Replica`]).
//! - [`arena`]: the demo game's input and field layout, shared so bots and clients can speak it.
//! - [`typescript`]: generates the TypeScript mirror of this schema for the browser client.

pub mod arena;
pub mod codec;
pub mod ids;
pub mod protocol;
pub mod typescript;
pub mod world;

pub use codec::{decode, encode, encode_into, CodecError, DecodeLimits};
pub use ids::{EntityId, InputSeq, PlayerId, RoomId, Tick};
pub use protocol::{
    ClientMsg, CloseCode, ErrorCode, RosterEntry, ServerMsg, PROTOCOL_VERSION, SUBPROTOCOL,
};
pub use world::{ApplyError, Delta, Entity, Fields, Replica, World, ACK_FIELD, FIELD_COUNT};
