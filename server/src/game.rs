//! The one trait a game author implements, and the [`Ctx`] through which a game changes the
//! replicated world.
//!
//! The engine owns everything else: rooms, the tick, input ordering and acks, entity ids, change
//! tracking, visibility scopes, encoding, fan-out, reconnection and limits. A game is plain
//! single-threaded state: no I/O, no clock (it gets `dt` and the tick), randomness only from the
//! room's seeded RNG, so a room seeded the same way replays the same.

use crate::replicate::Replicate;
use crate::world::{Outbox, World};
use rand::rngs::StdRng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tickroom_shared::{EntityId, PlayerId, Tick};

pub use tickroom_shared::Refusal;

/// The random number generator handed to a game: seeded per room, reproducible across platforms.
pub type GameRng = StdRng;

/// Who sees an entity or an event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scope {
    /// Every member of the room.
    All,
    /// The members the game put in this group ([`Ctx::join_group`]), e.g. a team.
    Group(u32),
    /// One player only (a hand of cards).
    Player(PlayerId),
    /// Whoever's view is near this point, in world units (see [`Interest`]).
    At(f32, f32),
}

/// Spatial interest management: the world is cut in square cells; a player sees the cells within
/// `radius` cells (in both axes) of the cell its view is in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interest {
    /// Side of a cell, in world units.
    pub cell_size: f32,
    /// How many cells around the view's cell are seen (1 = a 3 x 3 block).
    pub radius: u32,
}

/// When a room ticks and when it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickPolicy {
    /// Step and send a delta every tick, at this many ticks per second.
    Fixed {
        /// Ticks per second.
        hz: u16,
    },
    /// Step at `hz` (for timers), but send a delta only on ticks where something changed, plus
    /// an empty keep-alive delta every `keepalive_secs` seconds.
    OnChange {
        /// Ticks per second.
        hz: u16,
        /// Seconds between keep-alives.
        keepalive_secs: u16,
    },
}

impl TickPolicy {
    /// Ticks per second.
    pub fn hz(self) -> u16 {
        match self {
            TickPolicy::Fixed { hz } | TickPolicy::OnChange { hz, .. } => hz.max(1),
        }
    }

    /// The same policy at another rate.
    pub fn with_hz(self, hz: u16) -> TickPolicy {
        match self {
            TickPolicy::Fixed { .. } => TickPolicy::Fixed { hz },
            TickPolicy::OnChange { keepalive_secs, .. } => {
                TickPolicy::OnChange { hz, keepalive_secs }
            }
        }
    }

    /// True for [`TickPolicy::OnChange`].
    pub fn is_on_change(self) -> bool {
        matches!(self, TickPolicy::OnChange { .. })
    }
}

/// What the engine needs to know about a game before any room exists.
#[derive(Clone, Copy, Debug)]
pub struct GameInfo {
    /// Seats per room (the server's `--room-capacity` may lower it).
    pub capacity: u32,
    /// When rooms tick and send.
    pub tick: TickPolicy,
    /// Spatial interest, for games that use [`Scope::At`].
    pub interest: Option<Interest>,
    /// Spectators a room takes at most (the server's `--max-spectators` may lower it); 0 for a
    /// game nobody may watch. What they see is the game's choice: [`Ctx::set_spectator_view`].
    pub spectators: u32,
    /// Who receives each player's input ack.
    pub acks: AckAudience,
}

/// Who receives a player's input ack (the `seq` of its last applied input) in the tick
/// messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AckAudience {
    /// Every member gets every player's ack (a client may show others' input lag). The acks of
    /// a tick cost every member about one bit per player: right for rooms of tens of players.
    #[default]
    Everyone,
    /// Each player gets only its own ack (all that prediction needs), spectators none: the
    /// cost per member stays flat however big the room grows.
    OwnPlayer,
}

impl Default for GameInfo {
    fn default() -> Self {
        GameInfo {
            capacity: 50,
            tick: TickPolicy::Fixed { hz: 30 },
            interest: None,
            spectators: u32::MAX,
            acks: AckAudience::Everyone,
        }
    }
}

/// Which spatial cells spectators see. Whatever it is, spectators also see [`Scope::All`] and the
/// groups the game shows them ([`Ctx::show_group_to_spectators`]), and never a
/// [`Scope::Player`]: a private scope stays private.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum SpectatorView {
    /// Every cell that holds an entity: the whole map (the default).
    #[default]
    Everywhere,
    /// The cells a player looking at this point would see (for maps too big to send whole).
    At(f32, f32),
    /// No cell.
    Nowhere,
}

/// The entity kinds of a game, declared once in [`Game::kinds`].
#[derive(Default)]
pub struct Kinds {
    pub(crate) list: Vec<crate::world::KindEntry>,
    pub(crate) error: Option<String>,
}

impl Kinds {
    /// Declares kind `T` (kinds are numbered in declaration order).
    pub fn add<T: Replicate>(&mut self) -> &mut Self {
        match crate::world::KindEntry::of::<T>() {
            Ok(entry) => {
                if self.list.iter().any(|k| k.schema.name == entry.schema.name) {
                    self.error
                        .get_or_insert(format!("kind {} is declared twice", T::KIND));
                } else {
                    self.list.push(entry);
                }
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }
}

/// A game the engine can run in rooms.
///
/// Called from the room's actor only, one call at a time. Per tick: [`Game::input`] and
/// [`Game::command`] for everything received since the last tick (in arrival order), then
/// [`Game::step`]. [`Game::admit`], [`Game::join`], [`Game::leave`] and [`Game::disconnected`]
/// happen between ticks. A panic in any of them closes this room only (its members get 1011).
pub trait Game: Sized + Send + 'static {
    /// Continuous input (movement, aim), decoded from `Input`'s payload. `Default` is applied
    /// when a player's connection drops, so an absent player stops acting.
    type Input: DeserializeOwned + Default + Send + 'static;
    /// Discrete, reliable actions, decoded from `Command`'s payload; each gets a result.
    type Command: DeserializeOwned + Send + 'static;
    /// Options chosen by a room's creator, decoded from `Join`'s `options` map.
    type Options: DeserializeOwned + Default + Send + 'static;

    /// Name in joins, room lists and the welcome.
    const NAME: &'static str;

    /// Capacity, tick policy and interest.
    fn info() -> GameInfo {
        GameInfo::default()
    }

    /// Declares every entity kind the game spawns.
    fn kinds(kinds: &mut Kinds);

    /// A new game for a new room, or why these options are refused.
    fn new(options: Self::Options, ctx: &mut Ctx) -> Result<Self, Refusal>;

    /// May this player take a seat now? (Called before [`Game::join`].)
    fn admit(&mut self, _player: PlayerId, _name: &str, _ctx: &Ctx) -> Result<(), Refusal> {
        Ok(())
    }

    /// A player takes a seat.
    fn join(&mut self, player: PlayerId, name: &str, ctx: &mut Ctx);

    /// A player leaves for good (left, or its held seat expired).
    fn leave(&mut self, player: PlayerId, ctx: &mut Ctx);

    /// A player's connection dropped; the seat is held for a reconnect. By default the player's
    /// input is reset to `Default`.
    fn disconnected(&mut self, player: PlayerId, ctx: &mut Ctx) {
        self.input(player, Self::Input::default(), ctx);
    }

    /// Applies one input of `player`.
    fn input(&mut self, _player: PlayerId, _input: Self::Input, _ctx: &mut Ctx) {}

    /// Applies one command of `player`, or refuses it (the sender gets the refusal).
    fn command(
        &mut self,
        _player: PlayerId,
        _command: Self::Command,
        _ctx: &mut Ctx,
    ) -> Result<(), Refusal> {
        Err(Refusal::new("unsupported", "this game takes no commands"))
    }

    /// Advances the game by one tick of [`Ctx::dt`] seconds.
    fn step(&mut self, ctx: &mut Ctx);
}

/// The game's handle on its room during a call: the replicated world, events, views, room
/// lifecycle, the tick, `dt` and the RNG.
pub struct Ctx<'a> {
    pub(crate) world: &'a mut World,
    pub(crate) out: &'a mut Outbox,
    pub(crate) rng: &'a mut GameRng,
    pub(crate) tick: Tick,
    pub(crate) dt: f32,
}

impl Ctx<'_> {
    /// The tick being computed (the first step computes tick 1).
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// Seconds per tick.
    pub fn dt(&self) -> f32 {
        self.dt
    }

    /// The room's seeded RNG.
    pub fn rng(&mut self) -> &mut GameRng {
        self.rng
    }

    /// Creates an entity seen by `scope`; the engine picks its id. Panics if `T` was not
    /// declared in [`Game::kinds`] (a game bug: the room closes with 1011).
    pub fn spawn<T: Replicate>(&mut self, scope: Scope, value: T) -> EntityId {
        self.world.spawn(scope, value, self.tick)
    }

    /// Removes an entity; false if there was none.
    pub fn despawn(&mut self, id: EntityId) -> bool {
        self.world.despawn(id, self.tick)
    }

    /// An entity of kind `T`.
    pub fn get<T: Replicate>(&self, id: EntityId) -> Option<&T> {
        self.world.get(id)
    }

    /// An entity of kind `T`, to change it (changes are sent at the end of the tick).
    pub fn get_mut<T: Replicate>(&mut self, id: EntityId) -> Option<&mut T> {
        self.world.get_mut(id)
    }

    /// Every entity of kind `T`, by id.
    pub fn iter<T: Replicate>(&self) -> impl Iterator<Item = (EntityId, &T)> {
        self.world.iter()
    }

    /// Every entity of kind `T`, by id, to change them.
    pub fn iter_mut<T: Replicate>(&mut self) -> impl Iterator<Item = (EntityId, &mut T)> {
        self.world.iter_mut()
    }

    /// Who sees an entity.
    pub fn scope(&self, id: EntityId) -> Option<Scope> {
        self.world.scope(id)
    }

    /// Changes who sees an entity (a moving entity in a spatial game updates its `At`).
    pub fn set_scope(&mut self, id: EntityId, scope: Scope) {
        self.world.set_scope(id, scope);
    }

    /// Sends a one-shot event to `to`: `[name, payload]`, the payload a MessagePack map (for
    /// structs) in the tick message. Delivered in emission order, never lost while the receiver
    /// stays connected.
    pub fn emit<E: Serialize>(&mut self, to: Scope, name: &str, payload: &E) {
        self.out.emit(to, name, payload);
    }

    /// Where `player` looks, for [`Scope::At`] entities and events (`None`: sees no cell).
    pub fn set_view(&mut self, player: PlayerId, at: Option<(f32, f32)>) {
        self.out.set_view(player, at);
    }

    /// Puts `player` in a group: it then sees [`Scope::Group`] `group`.
    pub fn join_group(&mut self, player: PlayerId, group: u32) {
        self.out.join_group(player, group);
    }

    /// Takes `player` out of a group.
    pub fn leave_group(&mut self, player: PlayerId, group: u32) {
        self.out.leave_group(player, group);
    }

    /// Which cells spectators see (default [`SpectatorView::Everywhere`]).
    pub fn set_spectator_view(&mut self, view: SpectatorView) {
        self.out.spectators.view = view;
    }

    /// Spectators see [`Scope::Group`] `group` too (e.g. both teams' shared state, once a match
    /// is over).
    pub fn show_group_to_spectators(&mut self, group: u32) {
        self.out.spectators.groups.insert(group);
    }

    /// Spectators stop seeing `group`.
    pub fn hide_group_from_spectators(&mut self, group: u32) {
        self.out.spectators.groups.remove(&group);
    }

    /// No one may join (quick match skips the room; joins by id get `RoomLocked`).
    pub fn lock(&mut self) {
        self.out.room.locked = true;
        self.out.room.changed = true;
    }

    /// Joins are welcome again.
    pub fn unlock(&mut self) {
        self.out.room.locked = false;
        self.out.room.changed = true;
    }

    /// Limits this room to `seats` players (at most the game's [`GameInfo::capacity`]); e.g. from
    /// the creator's options in [`Game::new`].
    pub fn set_capacity(&mut self, seats: u32) {
        self.out.room.capacity = Some(seats.max(1));
        self.out.room.changed = true;
    }

    /// Sets a metadata pair shown in `/api/rooms` and matched by quick match filters.
    pub fn set_metadata(&mut self, key: &str, value: &str) {
        self.out
            .room
            .metadata
            .insert(key.to_owned(), value.to_owned());
        self.out.room.changed = true;
    }

    /// Ends the room after this tick: every member gets `Ended` with `result` (a MessagePack
    /// map for structs), then the room closes with 1000.
    pub fn end<R: Serialize>(&mut self, result: &R) {
        self.out.room.ended = Some(crate::world::named_value(result));
    }
}
