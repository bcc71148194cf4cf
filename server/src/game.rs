//! The one trait a game author implements.
//!
//! The engine owns everything else: rooms, the fixed-rate tick, input ordering and acks, the
//! replicated [`World`](tickroom_shared::World), deltas, fan-out, reconnection and limits. A game
//! is plain single-threaded state: no I/O, no clock (it gets `dt`), and randomness only from the
//! injected RNG, so a room seeded the same way replays the same.

use rand::rngs::StdRng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use tickroom_shared::{Entity, EntityId, PlayerId};

/// The random number generator handed to a game: seeded per room, reproducible across platforms.
pub type GameRng = StdRng;

/// A game the engine can run in rooms.
///
/// Called from the room's actor only, one call at a time, in this order per tick: [`Game::input`]
/// for every input received since the last tick (in arrival order), then [`Game::step`], then
/// [`Game::view`]. [`Game::join`] and [`Game::leave`] happen between ticks.
pub trait Game: Sized + Send + Unpin + 'static {
    /// One input from a player, decoded from the third element of a `ClientMsg::Input` array.
    /// `Default` is applied when a player's connection drops, so an absent player stops acting.
    type Input: Serialize + DeserializeOwned + Default + Clone + Debug + Send + Unpin + 'static;

    /// Name shown in the room list and the welcome.
    const NAME: &'static str;

    /// Field names for the welcome, by index; index 0 must be `"ack"` (the engine fills it).
    const FIELDS: [&'static str; tickroom_shared::FIELD_COUNT];

    /// A new game for a new room.
    fn new(rng: &mut GameRng) -> Self;

    /// A player takes a seat; returns the id of the entity that represents them.
    fn join(&mut self, player: PlayerId, rng: &mut GameRng) -> EntityId;

    /// A player leaves for good; their entities should go.
    fn leave(&mut self, player: PlayerId);

    /// Applies one input of `player`.
    fn input(&mut self, player: PlayerId, input: &Self::Input);

    /// Advances the game by `dt` seconds (always the tick period: the step is fixed).
    fn step(&mut self, dt: f32, rng: &mut GameRng);

    /// Appends every replicated entity to `out`, in any order, with field 0 left at zero.
    fn view(&self, out: &mut Vec<Entity>);
}
