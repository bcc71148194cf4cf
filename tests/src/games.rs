//! Small test games, written only against the public `tickroom_server` game API.
//!
//! - [`Lab`]: deterministic and driven by commands, so a test decides exactly what changes and
//!   when: an avatar per player (everyone), a secret per player (that player only), markers in
//!   spatial cells, badges in groups, events in any order, refusals, locks, metadata, the end of
//!   the room, panics and a stuck room thread.
//! - [`Bulky`]: every entity changes every tick (a large Delta on purpose, to fill socket buffers
//!   quickly in slow-consumer tests) and every tick emits an event naming it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use tickroom_server::{
    Ctx, Game, GameInfo, Interest, Kinds, Refusal, Replicate, ReplicateEnum, Scope, SpectatorView,
    TickPolicy,
};
use tickroom_shared::{EntityId, PlayerId};

/// Side of a [`Lab`] cell, in world units.
pub const LAB_CELL: i32 = 100;

/// An input `dx` that makes [`Lab`] panic inside `Game::input`.
pub const PANIC_DX: i8 = i8::MIN;

/// Names a [`Lab`] refuses at the door (`admit`) start with this.
pub const BANNED_PREFIX: &str = "banned";

/// While set, a [`LabCommand::Stall`] keeps its room's thread blocked, as a game in an endless
/// loop would. Process-wide: only one test (the Agones health test) may use it.
pub static STALL: AtomicBool = AtomicBool::new(false);

/// A player's avatar, seen by everyone; walks by [`LabInput`].
#[derive(Replicate, Clone, Debug)]
pub struct Avatar {
    /// The player id.
    pub owner: u32,
    /// Position, world units.
    pub x: i32,
    /// Position, world units.
    pub y: i32,
}

/// One value only its player sees.
#[derive(Replicate, Clone, Debug)]
pub struct Secret {
    /// The player id.
    pub owner: u32,
    /// Set by [`LabCommand::Secret`].
    pub value: i32,
}

/// A colour, to replicate an enum.
#[derive(ReplicateEnum, Clone, Copy, Debug, Default)]
pub enum Colour {
    /// The default.
    #[default]
    Grey,
    /// Set once a marker has moved.
    Red,
    /// Set once a marker has moved twice.
    Blue,
}

/// A marker in the spatial cell of its position; seen by whoever looks near it.
#[derive(Replicate, Clone, Debug)]
pub struct Marker {
    /// Chosen by the test.
    pub label: u16,
    /// Position, world units.
    pub x: i32,
    /// Position, world units.
    pub y: i32,
    /// Half a degree per move, to replicate a float.
    #[replicate(step = 0.5)]
    pub heading: f32,
    /// Moved at least once.
    pub moved: bool,
    /// Changes with the moves.
    pub colour: Colour,
}

/// A badge seen by the members of its group.
#[derive(Replicate, Clone, Debug)]
pub struct Badge {
    /// The group.
    pub group: u32,
    /// Set by [`LabCommand::Badge`].
    pub value: i32,
    /// Set by [`LabCommand::Badge`].
    #[replicate(max_len = 16)]
    pub note: String,
}

/// Walking direction, each axis in {-1, 0, 1}; on the wire `[dx, dy]`. A `dx` of
/// [`PANIC_DX`] panics inside `Game::input`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabInput {
    /// Units per tick along x.
    pub dx: i8,
    /// Units per tick along y.
    pub dy: i8,
}

/// Room options: `{"mode": str}` becomes the room's metadata `mode`.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default)]
pub struct LabOptions {
    /// Shown in `/api/rooms` and matched by quick match filters.
    pub mode: Option<String>,
}

/// What a test asks of the game; on the wire a map with a `type` key.
#[derive(Deserialize, Clone, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LabCommand {
    /// Sets the sender's secret.
    Secret {
        /// New value.
        value: i32,
    },
    /// Looks at a point: the sender sees the cells around it.
    View {
        /// World units.
        x: i32,
        /// World units.
        y: i32,
    },
    /// Looks nowhere: the sender sees no cell.
    Blind,
    /// Puts a new marker at a point (refused with `exists` if the label is taken).
    Mark {
        /// Its label.
        label: u16,
        /// World units.
        x: i32,
        /// World units.
        y: i32,
    },
    /// Moves a marker (refused with `no_marker` if there is none with that label).
    Move {
        /// Its label.
        label: u16,
        /// World units.
        x: i32,
        /// World units.
        y: i32,
    },
    /// Removes a marker.
    Unmark {
        /// Its label.
        label: u16,
    },
    /// Enters or leaves a group.
    Group {
        /// The group.
        group: u32,
        /// Enter (true) or leave.
        member: bool,
    },
    /// Creates or updates the badge of a group.
    Badge {
        /// The group.
        group: u32,
        /// New value.
        value: i32,
        /// New note.
        note: String,
    },
    /// Emits events in this order: names starting with `me:` to the sender only, the others to
    /// everyone; the payload is [`Emitted`].
    Emit {
        /// Event names.
        names: Vec<String>,
    },
    /// Refused with code `refused`.
    Refuse,
    /// Locks the room.
    Lock,
    /// Unlocks the room.
    Unlock,
    /// Sets a metadata pair.
    Meta {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// Ends the room with [`LabResult`].
    End,
    /// Panics inside `Game::command`.
    Panic,
    /// Panics inside the next `Game::step`.
    Explode,
    /// Blocks the room's thread inside `Game::command` while [`STALL`] is set.
    Stall,
    /// Sets which cells spectators see: around `at`, none when `blind`, else every cell.
    SpectatorView {
        /// World units.
        at: Option<(i32, i32)>,
        /// No cell at all.
        #[serde(default)]
        blind: bool,
    },
    /// Shows a group to spectators, or hides it again.
    ShowGroup {
        /// The group.
        group: u32,
        /// Show (true) or hide.
        shown: bool,
    },
}

/// Payload of every event [`LabCommand::Emit`] sends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Emitted {
    /// Position in the command's list.
    pub index: u32,
    /// The tick it was emitted at.
    pub tick: u64,
}

/// Result of a room ended by [`LabCommand::End`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LabResult {
    /// Who asked.
    pub winner: u32,
    /// Always `asked`.
    pub reason: String,
}

/// The game: everything changes only on commands and inputs, so between them it is still.
#[derive(Default)]
pub struct Lab {
    avatars: BTreeMap<PlayerId, (EntityId, LabInput)>,
    secrets: BTreeMap<PlayerId, EntityId>,
    markers: BTreeMap<u16, EntityId>,
    badges: BTreeMap<u32, EntityId>,
    explode: bool,
}

impl Lab {
    /// Cells seen around a view: 1 = the 3 x 3 block of cells around the view's cell.
    pub const RADIUS: u32 = 1;
}

fn at(x: i32, y: i32) -> Scope {
    Scope::At(x as f32, y as f32)
}

impl Game for Lab {
    type Input = LabInput;
    type Command = LabCommand;
    type Options = LabOptions;

    const NAME: &'static str = "lab";

    fn info() -> GameInfo {
        GameInfo {
            capacity: 8,
            tick: TickPolicy::Fixed { hz: 30 },
            interest: Some(Interest {
                cell_size: LAB_CELL as f32,
                radius: Self::RADIUS,
            }),
            ..GameInfo::default()
        }
    }

    fn kinds(kinds: &mut Kinds) {
        kinds
            .add::<Avatar>()
            .add::<Secret>()
            .add::<Marker>()
            .add::<Badge>();
    }

    fn new(options: LabOptions, ctx: &mut Ctx) -> Result<Self, Refusal> {
        if let Some(mode) = &options.mode {
            ctx.set_metadata("mode", mode);
        }
        Ok(Lab::default())
    }

    fn admit(&mut self, _player: PlayerId, name: &str, _ctx: &Ctx) -> Result<(), Refusal> {
        if name.starts_with(BANNED_PREFIX) {
            return Err(Refusal::new("banned", "this lab does not admit you"));
        }
        Ok(())
    }

    fn join(&mut self, player: PlayerId, _name: &str, ctx: &mut Ctx) {
        let avatar = Avatar {
            owner: player.0,
            x: 10 * player.0 as i32,
            y: 0,
        };
        let id = ctx.spawn(Scope::All, avatar);
        self.avatars.insert(player, (id, LabInput::default()));
        let secret = Secret {
            owner: player.0,
            value: 0,
        };
        let id = ctx.spawn(Scope::Player(player), secret);
        self.secrets.insert(player, id);
    }

    fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
        if let Some((id, _)) = self.avatars.remove(&player) {
            ctx.despawn(id);
        }
        if let Some(id) = self.secrets.remove(&player) {
            ctx.despawn(id);
        }
    }

    fn input(&mut self, player: PlayerId, input: LabInput, _ctx: &mut Ctx) {
        assert_ne!(input.dx, PANIC_DX, "lab: asked to panic in an input");
        if let Some((_, walking)) = self.avatars.get_mut(&player) {
            *walking = LabInput {
                dx: input.dx.clamp(-1, 1),
                dy: input.dy.clamp(-1, 1),
            };
        }
    }

    fn command(
        &mut self,
        player: PlayerId,
        command: LabCommand,
        ctx: &mut Ctx,
    ) -> Result<(), Refusal> {
        match command {
            LabCommand::Secret { value } => {
                let id = self.secrets.get(&player).copied();
                if let Some(secret) = id.and_then(|id| ctx.get_mut::<Secret>(id)) {
                    secret.value = value;
                }
            }
            LabCommand::View { x, y } => ctx.set_view(player, Some((x as f32, y as f32))),
            LabCommand::Blind => ctx.set_view(player, None),
            LabCommand::Mark { label, x, y } => {
                if self.markers.contains_key(&label) {
                    return Err(Refusal::new("exists", "a marker with that label exists"));
                }
                let marker = Marker {
                    label,
                    x,
                    y,
                    heading: 0.0,
                    moved: false,
                    colour: Colour::Grey,
                };
                let id = ctx.spawn(at(x, y), marker);
                self.markers.insert(label, id);
            }
            LabCommand::Move { label, x, y } => {
                let id = self.markers.get(&label).copied();
                let Some(m) = id.and_then(|id| ctx.get_mut::<Marker>(id)) else {
                    return Err(Refusal::new("no_marker", "no marker with that label"));
                };
                m.x = x;
                m.y = y;
                m.heading += 0.5;
                m.colour = if m.moved { Colour::Blue } else { Colour::Red };
                m.moved = true;
                if let Some(id) = id {
                    ctx.set_scope(id, at(x, y));
                }
            }
            LabCommand::Unmark { label } => {
                if let Some(id) = self.markers.remove(&label) {
                    ctx.despawn(id);
                }
            }
            LabCommand::Group { group, member } => {
                if member {
                    ctx.join_group(player, group);
                } else {
                    ctx.leave_group(player, group);
                }
            }
            LabCommand::Badge { group, value, note } => {
                let existing = self.badges.get(&group).copied();
                match existing.and_then(|id| ctx.get_mut::<Badge>(id)) {
                    Some(badge) => {
                        badge.value = value;
                        badge.note = note;
                    }
                    None => {
                        let badge = Badge { group, value, note };
                        let id = ctx.spawn(Scope::Group(group), badge);
                        self.badges.insert(group, id);
                    }
                }
            }
            LabCommand::Emit { names } => {
                let tick = ctx.tick().0;
                for (index, name) in names.iter().enumerate() {
                    let to = if name.starts_with("me:") {
                        Scope::Player(player)
                    } else {
                        Scope::All
                    };
                    let index = index as u32;
                    ctx.emit(to, name, &Emitted { index, tick });
                }
            }
            LabCommand::Refuse => return Err(Refusal::new("refused", "asked to refuse")),
            LabCommand::Lock => ctx.lock(),
            LabCommand::Unlock => ctx.unlock(),
            LabCommand::Meta { key, value } => ctx.set_metadata(&key, &value),
            LabCommand::End => ctx.end(&LabResult {
                winner: player.0,
                reason: "asked".into(),
            }),
            LabCommand::Panic => panic!("lab: asked to panic in a command"),
            LabCommand::Explode => self.explode = true,
            LabCommand::SpectatorView { at, blind } => ctx.set_spectator_view(match (at, blind) {
                (_, true) => SpectatorView::Nowhere,
                (Some((x, y)), false) => SpectatorView::At(x as f32, y as f32),
                (None, false) => SpectatorView::Everywhere,
            }),
            LabCommand::ShowGroup { group, shown } => {
                if shown {
                    ctx.show_group_to_spectators(group);
                } else {
                    ctx.hide_group_from_spectators(group);
                }
            }
            LabCommand::Stall => {
                while STALL.load(Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, ctx: &mut Ctx) {
        assert!(!self.explode, "lab: asked to panic in a step");
        for (id, walking) in self.avatars.values() {
            if *walking == LabInput::default() {
                continue;
            }
            if let Some(a) = ctx.get_mut::<Avatar>(*id) {
                a.x += i32::from(walking.dx);
                a.y += i32::from(walking.dy);
            }
        }
    }
}

/// Entities of a [`Bulky`] room unless its options say otherwise.
pub const BULKY_ENTITIES: u32 = 4000;

/// Room options: `{"entities": u32}`.
#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(default)]
pub struct BulkyOptions {
    /// How many entities the room has.
    pub entities: u32,
}

impl Default for BulkyOptions {
    fn default() -> Self {
        BulkyOptions {
            entities: BULKY_ENTITIES,
        }
    }
}

/// One of [`Bulky`]'s entities: large values that all change every tick.
#[derive(Replicate, Clone, Debug)]
pub struct Noise {
    /// Changes by a large step every tick.
    pub a: i32,
    /// Changes by another large step every tick.
    pub b: i32,
    /// Changes by a third step every tick.
    pub c: i32,
    /// Changes by a fourth step every tick.
    pub d: i32,
}

/// Payload of [`Bulky`]'s `tick` event.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickEvent {
    /// The tick that emitted it.
    pub tick: u64,
}

/// What a test asks of a [`Bulky`] room; on the wire a map with a `type` key.
#[derive(Deserialize, Clone, Copy, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BulkyCommand {
    /// Accepted, changes nothing.
    Echo,
    /// Ends the room with [`TickEvent`] (the tick it ended at).
    End,
}

/// The game: entities that all change every tick ([`BULKY_ENTITIES`] by default), and an
/// event per tick.
pub struct Bulky {
    noise: Vec<EntityId>,
}

impl Game for Bulky {
    type Input = ();
    type Command = BulkyCommand;
    type Options = BulkyOptions;

    const NAME: &'static str = "bulky";

    fn info() -> GameInfo {
        GameInfo {
            capacity: 8,
            tick: TickPolicy::Fixed { hz: 30 },
            interest: None,
            ..GameInfo::default()
        }
    }

    fn kinds(kinds: &mut Kinds) {
        kinds.add::<Noise>();
    }

    fn new(options: BulkyOptions, ctx: &mut Ctx) -> Result<Self, Refusal> {
        let noise = (0..options.entities as i32)
            .map(|i| {
                let v = i.wrapping_mul(104_729);
                let noise = Noise {
                    a: v,
                    b: v ^ 0x5555,
                    c: -v,
                    d: v / 3,
                };
                ctx.spawn(Scope::All, noise)
            })
            .collect();
        Ok(Bulky { noise })
    }

    fn join(&mut self, _player: PlayerId, _name: &str, _ctx: &mut Ctx) {}

    fn leave(&mut self, _player: PlayerId, _ctx: &mut Ctx) {}

    fn command(
        &mut self,
        _player: PlayerId,
        command: BulkyCommand,
        ctx: &mut Ctx,
    ) -> Result<(), Refusal> {
        if let BulkyCommand::End = command {
            let tick = ctx.tick().0;
            ctx.end(&TickEvent { tick });
        }
        Ok(())
    }

    fn step(&mut self, ctx: &mut Ctx) {
        for id in &self.noise {
            if let Some(n) = ctx.get_mut::<Noise>(*id) {
                // Steps of several thousand: three bytes per field per tick on the wire.
                n.a = n.a.wrapping_add(7919);
                n.b = n.b.wrapping_sub(6_007);
                n.c = n.c.wrapping_add(104_729);
                n.d = n.d.wrapping_sub(15_485);
            }
        }
        let tick = ctx.tick().0;
        ctx.emit(Scope::All, "tick", &TickEvent { tick });
    }
}
