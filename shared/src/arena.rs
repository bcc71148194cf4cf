//! The demo game's wire contract: its input and the meaning of its entity fields.
//!
//! The rules live in the server (`tickroom_server::arena`); this module is what a client must know
//! to play: what to send and how to read the world.

use serde::{Deserialize, Serialize};

/// World size: positions are within `[0, WORLD_SIZE]` on both axes, in world units.
pub const WORLD_SIZE: f32 = 1000.0;

/// Positions travel in quarter units: a field value of 4 is one world unit.
pub const POSITION_SCALE: f32 = 4.0;

/// Player speed along each axis, in world units per second (diagonals are not normalised).
pub const SPEED: f32 = 200.0;

/// Field names, by index, as sent in the welcome.
pub const FIELDS: [&str; 8] = ["ack", "kind", "x", "y", "vx", "vy", "hp", "score"];

/// Field indices.
pub mod field {
    /// Last applied input sequence of the owning player.
    pub const ACK: usize = 0;
    /// [`super::KIND_PLAYER`] or [`super::KIND_ORB`].
    pub const KIND: usize = 1;
    /// x in quarter units.
    pub const X: usize = 2;
    /// y in quarter units.
    pub const Y: usize = 3;
    /// x velocity, world units per second.
    pub const VX: usize = 4;
    /// y velocity, world units per second.
    pub const VY: usize = 5;
    /// Hit points.
    pub const HP: usize = 6;
    /// Orbs collected.
    pub const SCORE: usize = 7;
}

/// `kind` of a player entity.
pub const KIND_PLAYER: i32 = 1;
/// `kind` of an orb entity.
pub const KIND_ORB: i32 = 2;

/// One input: a direction, each axis in {-1, 0, 1} (other values are clamped by the server).
/// On the wire: `[dx, dy]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArenaInput {
    /// Horizontal direction.
    pub dx: i8,
    /// Vertical direction.
    pub dy: i8,
}
