//! The tickroom wire schema, shared by the server, the bots and every test.
//!
//! Nothing here knows about actix, sockets, clocks or any game: it is pure data and pure
//! functions, so a client in any language can be checked against it byte for byte.
//!
//! # Layout
//! - [`ids`]: newtypes for every id on the wire ([`PlayerId`], [`RoomId`], [`EntityId`], [`Tick`],
//!   [`InputSeq`]).
//! - [`schema`]: entity kinds and typed fields ([`KindSchema`], [`FieldType`]) and wire
//!   [`Value`]s.
//! - [`delta`]: [`Segment`]s of entity records, [`Acks`] and [`Event`]s, and their flat wire form.
//! - [`protocol`]: [`ClientMsg`] / [`ServerMsg`], protocol version, subprotocol, error and close
//!   codes, and their exact MessagePack layout (see `PROTOCOL.md`).
//! - [`codec`]: encode / decode with typed errors, a size limit and a nesting-depth limit.
//! - [`replica`]: a client's [`Replica`], applying snapshots and deltas.

pub mod codec;
pub mod delta;
pub mod ids;
pub mod protocol;
pub mod replica;
pub mod schema;

pub use codec::{decode, encode, encode_into, CodecError, DecodeLimits};
pub use delta::{Acks, Event, Record, Segment};
pub use ids::{EntityId, InputSeq, PlayerId, RoomId, Tick};
pub use protocol::{
    ClientMsg, CloseCode, ErrorCode, GameValue, Refusal, RosterEntry, ServerMsg, PROTOCOL_VERSION,
    SUBPROTOCOL,
};
pub use replica::{ApplyError, Replica, ReplicaEntity};
pub use rmpv;
pub use schema::{FieldSchema, FieldType, KindSchema, Value, MAX_FIELDS};
