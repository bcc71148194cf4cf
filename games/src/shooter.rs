//! shooter: top-down ships on a large map, with spatial interest management.
//!
//! Ships and bullets live in [`Scope::At`] their position, updated every tick, and each player's
//! view follows its ship, so a client receives only what is within the 3 x 3 cells of
//! [`CELL_SIZE`] around it: the traffic per client stays flat as the map and the room grow.
//! The [`Map`] is in [`Scope::All`]; so are the scores of the best [`SCOREBOARD`] pilots, every
//! other score in its own player's scope. A `kill` goes to everyone in rooms of up to
//! [`KILL_FEED_SEATS`] seats, and only around the wreck (and to the killer) in bigger ones. So
//! nothing a client receives grows with the room: with a thousand ships, a client still gets about
//! what it gets in a room of fifty. Bullets are short-lived entities: spawned on fire, despawned
//! when they hit, leave the map or expire.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::f32::consts::TAU;
use tickroom_server::{
    AckAudience, Ctx, Game, GameInfo, Interest, Kinds, Refusal, Replicate, Scope, TickPolicy,
};
use tickroom_shared::{EntityId, PlayerId};

/// Side of the square map by default, in world units.
pub const DEFAULT_SIZE: f32 = 4000.0;

/// Smallest and largest map side accepted in the options, in world units.
pub const SIZE_RANGE: std::ops::RangeInclusive<f32> = 500.0..=100_000.0;

/// Seats per room by default.
pub const DEFAULT_CAPACITY: u32 = 64;

/// Most seats a room can be created with (the options' `capacity`).
pub const MAX_CAPACITY: u32 = 1024;

/// Side of an interest cell, in world units; a client sees the 3 x 3 cells around its ship.
pub const CELL_SIZE: f32 = 500.0;

/// Scores everyone sees: the best pilots' (most kills, then fewest deaths, then lowest id).
pub const SCOREBOARD: usize = 16;

/// Rooms of at most this many seats tell everyone of every kill; bigger rooms only the cells
/// around the wreck and the killer (a feed of every kill among a thousand ships is noise, and
/// would cost every client bytes for each).
pub const KILL_FEED_SEATS: u32 = 64;

/// Positions travel in steps of this many world units.
pub const POSITION_STEP: f64 = 0.5;

/// Ship speed along each axis, in world units per second.
pub const SPEED: f32 = 250.0;

/// Bullet speed, in world units per second.
pub const BULLET_SPEED: f32 = 600.0;

/// Seconds a bullet flies.
pub const BULLET_LIFE: f32 = 1.2;

/// Seconds between two shots of one ship, at least.
pub const FIRE_INTERVAL: f32 = 0.25;

/// A bullet hits a ship within this distance, in world units.
pub const HIT_RADIUS: f32 = 20.0;

/// Hit points of a fresh ship.
pub const MAX_HP: u8 = 100;

/// Hit points a bullet takes.
pub const DAMAGE: u8 = 25;

/// Seconds from a ship's death to its respawn.
pub const RESPAWN_SECS: f32 = 2.0;

/// One input: `[dx, dy, aim, fire]`.
#[derive(Serialize, Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShooterInput {
    /// Horizontal direction, in {-1, 0, 1} (any other integer is clamped).
    #[serde(deserialize_with = "crate::direction")]
    pub dx: i8,
    /// Vertical direction, in {-1, 0, 1} (any other integer is clamped).
    #[serde(deserialize_with = "crate::direction")]
    pub dy: i8,
    /// Where the guns point: 256 is a full turn, 0 is +x, 64 is +y.
    pub aim: u8,
    /// Hold to fire.
    pub fire: bool,
}

/// Room options: `{"size": 4000, "capacity": 64}`, both optional.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(default)]
pub struct ShooterOptions {
    /// Side of the square map, in world units (see [`SIZE_RANGE`]).
    pub size: f32,
    /// Seats, 1 to [`MAX_CAPACITY`].
    pub capacity: u32,
}

impl Default for ShooterOptions {
    fn default() -> Self {
        ShooterOptions {
            size: DEFAULT_SIZE,
            capacity: DEFAULT_CAPACITY,
        }
    }
}

/// A ship, seen near its position.
#[derive(Replicate, Clone, Debug, PartialEq)]
pub struct Ship {
    /// The player flying it.
    pub owner: u32,
    /// Position, world units.
    #[replicate(step = 0.5)]
    pub x: f32,
    /// Position, world units.
    #[replicate(step = 0.5)]
    pub y: f32,
    /// Where its guns point (256 = a full turn, 0 = +x, 64 = +y).
    pub aim: u8,
    /// Hit points, 0 to 100.
    pub hp: u8,
    /// False from its death to its respawn.
    pub alive: bool,
}

/// A bullet in flight, seen near its position.
#[derive(Replicate, Clone, Debug, PartialEq)]
pub struct Bullet {
    /// Position, world units.
    #[replicate(step = 0.5)]
    pub x: f32,
    /// Position, world units.
    #[replicate(step = 0.5)]
    pub y: f32,
    /// Velocity, world units per second (exact: the bullet moves by it).
    pub vx: i16,
    /// Velocity, world units per second.
    pub vy: i16,
    /// The player who fired it.
    pub owner: u32,
}

/// A player's score, seen by everyone.
#[derive(Replicate, Clone, Debug, PartialEq)]
pub struct Score {
    /// The player.
    pub player: u32,
    /// Ships it destroyed.
    pub kills: u16,
    /// Times it was destroyed.
    pub deaths: u16,
}

/// The map, seen by everyone: one entity per room, spawned with it, so that clients learn the
/// size the room was created with (its options) and clamp and draw as the server does.
#[derive(Replicate, Clone, Debug, PartialEq)]
#[replicate(kind = "map")]
pub struct Map {
    /// Side of the square map, in world units (the options' `size`, rounded).
    pub size: u32,
}

/// Event `hit`, to the cell of the hit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The player hit.
    pub target: u32,
    /// The player who fired.
    pub by: u32,
    /// The target's hit points after the hit.
    pub hp: u8,
}

/// Event `kill`: to everyone, or in rooms of more than [`KILL_FEED_SEATS`] seats to the cells
/// around the wreck and the killer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kill {
    /// The player destroyed.
    pub victim: u32,
    /// The player who fired the last hit.
    pub killer: u32,
}

/// Event `respawn`, to the respawned player: where its ship is now.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Respawn {
    /// Position, world units.
    pub x: f32,
    /// Position, world units.
    pub y: f32,
}

/// A seated player.
#[derive(Clone, Copy, Debug)]
struct Pilot {
    ship: EntityId,
    score: EntityId,
    /// Its score is on the scoreboard ([`Scope::All`]), else in its own scope.
    on_board: bool,
    input: ShooterInput,
    /// Seconds until it may fire again.
    reload: f32,
    /// Seconds until it respawns, while dead.
    respawn_in: Option<f32>,
}

/// A bullet's bookkeeping; its position is in its entity.
#[derive(Clone, Copy, Debug)]
struct Shot {
    entity: EntityId,
    owner: PlayerId,
    /// Seconds in flight.
    age: f32,
}

/// The shooter game state; positions live in the world's entities.
#[derive(Debug)]
pub struct Shooter {
    size: f32,
    /// Seats of the room, for the kill feed.
    capacity: u32,
    pilots: BTreeMap<PlayerId, Pilot>,
    shots: Vec<Shot>,
    /// A score changed or a pilot came or went since the scoreboard was last ranked.
    ranks_stale: bool,
}

fn at(x: f32, y: f32) -> Scope {
    Scope::At(x, y)
}

/// Ships filed by cell of side [`HIT_RADIUS`], so a bullet's possible targets are the ships in
/// the 3 x 3 cells around it (any ship within `HIT_RADIUS` of it is there).
struct HitGrid {
    cells: std::collections::HashMap<(i32, i32), Vec<usize>>,
}

impl HitGrid {
    fn cell(x: f32, y: f32) -> (i32, i32) {
        // Saturating float-to-int casts: positions are clamped to the map anyway.
        (
            (x / HIT_RADIUS).floor() as i32,
            (y / HIT_RADIUS).floor() as i32,
        )
    }

    /// Files `targets` (player, x, y) by cell, each cell's indices in ascending order.
    fn new(targets: &[(PlayerId, f32, f32)]) -> HitGrid {
        let mut cells: std::collections::HashMap<(i32, i32), Vec<usize>> =
            std::collections::HashMap::with_capacity(targets.len());
        for (i, (_, x, y)) in targets.iter().enumerate() {
            cells.entry(Self::cell(*x, *y)).or_default().push(i);
        }
        HitGrid { cells }
    }

    /// The first target (lowest index, as a scan of `targets` in order would find) within
    /// [`HIT_RADIUS`] of (x, y) that is not `owner`'s ship.
    fn first_hit(
        &self,
        targets: &[(PlayerId, f32, f32)],
        owner: PlayerId,
        x: f32,
        y: f32,
    ) -> Option<usize> {
        let (cx, cy) = Self::cell(x, y);
        let mut first: Option<usize> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                let Some(list) = self
                    .cells
                    .get(&(cx.saturating_add(dx), cy.saturating_add(dy)))
                else {
                    continue;
                };
                let hit = list.iter().copied().find(|&i| {
                    let (p, tx, ty) = targets[i];
                    p != owner && (tx - x).powi(2) + (ty - y).powi(2) <= HIT_RADIUS * HIT_RADIUS
                });
                if let Some(i) = hit {
                    first = Some(first.map_or(i, |f| f.min(i)));
                }
            }
        }
        first
    }
}

/// A uniformly random point of a map of side `size`.
fn random_point(size: f32, ctx: &mut Ctx) -> (f32, f32) {
    let rng = ctx.rng();
    (rng.random_range(0.0..=size), rng.random_range(0.0..=size))
}

impl Shooter {
    /// Side of the map, in world units.
    pub fn size(&self) -> f32 {
        self.size
    }

    /// `player`'s ship entity.
    pub fn ship(&self, player: PlayerId) -> Option<EntityId> {
        self.pilots.get(&player).map(|p| p.ship)
    }

    /// `player`'s score entity.
    pub fn score(&self, player: PlayerId) -> Option<EntityId> {
        self.pilots.get(&player).map(|p| p.score)
    }

    /// Respawns, moves, aims and fires every ship; points each player's view at its ship.
    fn fly(&mut self, ctx: &mut Ctx) {
        let dt = ctx.dt();
        for (&player, pilot) in &mut self.pilots {
            match pilot.respawn_in {
                Some(t) if t > dt => pilot.respawn_in = Some(t - dt),
                Some(_) => {
                    let (x, y) = random_point(self.size, ctx);
                    if let Some(ship) = ctx.get_mut::<Ship>(pilot.ship) {
                        (ship.x, ship.y, ship.hp, ship.alive) = (x, y, MAX_HP, true);
                    }
                    (pilot.respawn_in, pilot.reload) = (None, 0.0);
                    ctx.emit(Scope::Player(player), "respawn", &Respawn { x, y });
                }
                None => {
                    let input = pilot.input;
                    let Some(ship) = ctx.get_mut::<Ship>(pilot.ship) else {
                        continue;
                    };
                    ship.x = (ship.x + f32::from(input.dx) * SPEED * dt).clamp(0.0, self.size);
                    ship.y = (ship.y + f32::from(input.dy) * SPEED * dt).clamp(0.0, self.size);
                    ship.aim = input.aim;
                    pilot.reload = (pilot.reload - dt).max(0.0);
                    if input.fire && pilot.reload <= 0.0 {
                        pilot.reload = FIRE_INTERVAL;
                        let angle = f32::from(input.aim) / 256.0 * TAU;
                        let bullet = Bullet {
                            x: ship.x,
                            y: ship.y,
                            // At most 600 in size: fits an i16.
                            vx: (angle.cos() * BULLET_SPEED).round() as i16,
                            vy: (angle.sin() * BULLET_SPEED).round() as i16,
                            owner: player.0,
                        };
                        let entity = ctx.spawn(at(bullet.x, bullet.y), bullet);
                        let owner = player;
                        self.shots.push(Shot {
                            entity,
                            owner,
                            age: 0.0,
                        });
                    }
                }
            }
            if let Some(ship) = ctx.get::<Ship>(pilot.ship) {
                let (x, y) = (ship.x, ship.y);
                ctx.set_scope(pilot.ship, at(x, y));
                ctx.set_view(player, Some((x, y)));
            }
        }
    }

    /// Moves every bullet; despawns those that expire, leave the map or hit a ship.
    fn shoot(&mut self, ctx: &mut Ctx) {
        let dt = ctx.dt();
        // Living ships, read once per tick, and filed in a grid of HIT_RADIUS cells: a bullet is
        // tested only against the ships of its cell and the eight around it (testing every ship
        // took a fifth of a 1,000-player room's tick).
        let targets: Vec<(PlayerId, f32, f32)> = self
            .pilots
            .iter()
            .filter(|(_, p)| p.respawn_in.is_none())
            .filter_map(|(id, p)| ctx.get::<Ship>(p.ship).map(|s| (*id, s.x, s.y)))
            .collect();
        let grid = HitGrid::new(&targets);
        let size = self.size;
        let mut hits = Vec::new();
        self.shots.retain_mut(|shot| {
            shot.age += dt;
            let Some(b) = ctx.get_mut::<Bullet>(shot.entity) else {
                return false;
            };
            b.x += f32::from(b.vx) * dt;
            b.y += f32::from(b.vy) * dt;
            let (x, y) = (b.x, b.y);
            let on_map = (0.0..=size).contains(&x) && (0.0..=size).contains(&y);
            let gone = shot.age >= BULLET_LIFE || !on_map;
            let target = grid.first_hit(&targets, shot.owner, x, y);
            if let Some(t) = target.filter(|_| !gone) {
                hits.push((targets[t].0, shot.owner));
            }
            if gone || target.is_some() {
                ctx.despawn(shot.entity);
                return false;
            }
            ctx.set_scope(shot.entity, at(x, y));
            true
        });
        for (target, by) in hits {
            self.hit(target, by, ctx);
        }
    }

    /// Applies one hit; at 0 hit points the ship is destroyed.
    fn hit(&mut self, target: PlayerId, by: PlayerId, ctx: &mut Ctx) {
        let Some(pilot) = self.pilots.get_mut(&target) else {
            return;
        };
        let Some(ship) = ctx.get_mut::<Ship>(pilot.ship).filter(|s| s.alive) else {
            return; // Destroyed earlier this tick by another bullet.
        };
        ship.hp = ship.hp.saturating_sub(DAMAGE);
        let (hp, x, y) = (ship.hp, ship.x, ship.y);
        if hp == 0 {
            ship.alive = false;
            pilot.respawn_in = Some(RESPAWN_SECS);
        }
        let score = pilot.score;
        let hit = Hit {
            target: target.0,
            by: by.0,
            hp,
        };
        ctx.emit(at(x, y), "hit", &hit);
        if hp > 0 {
            return;
        }
        if let Some(s) = ctx.get_mut::<Score>(score) {
            s.deaths = s.deaths.saturating_add(1);
        }
        // The shooter may have left while its bullet flew: then nobody gets the kill.
        if let Some(s) = self.score(by).and_then(|id| ctx.get_mut::<Score>(id)) {
            s.kills = s.kills.saturating_add(1);
        }
        self.ranks_stale = true;
        let kill = Kill {
            victim: target.0,
            killer: by.0,
        };
        if self.capacity <= KILL_FEED_SEATS {
            return ctx.emit(Scope::All, "kill", &kill);
        }
        ctx.emit(at(x, y), "kill", &kill);
        // The killer sees the wreck's cells unless it fired from farther than one cell away.
        let killer = self.pilots.get(&by).and_then(|p| ctx.get::<Ship>(p.ship));
        if let Some(k) = killer {
            let cell = |v: f32| (v / CELL_SIZE).floor();
            if (cell(k.x) - cell(x)).abs() > 1.0 || (cell(k.y) - cell(y)).abs() > 1.0 {
                ctx.emit(Scope::Player(by), "kill", &kill);
            }
        }
    }

    /// Puts the best [`SCOREBOARD`] scores in everyone's scope and the others in their
    /// players' own, moving only those whose place changed.
    fn rank(&mut self, ctx: &mut Ctx) {
        if !std::mem::take(&mut self.ranks_stale) {
            return;
        }
        let mut ranked: Vec<(u16, u16, PlayerId)> = self
            .pilots
            .iter()
            .filter_map(|(p, pilot)| {
                let s = ctx.get::<Score>(pilot.score)?;
                Some((s.kills, s.deaths, *p))
            })
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for (place, (_, _, player)) in ranked.into_iter().enumerate() {
            let Some(pilot) = self.pilots.get_mut(&player) else {
                continue;
            };
            let on_board = place < SCOREBOARD;
            if pilot.on_board != on_board {
                pilot.on_board = on_board;
                let scope = if on_board {
                    Scope::All
                } else {
                    Scope::Player(player)
                };
                ctx.set_scope(pilot.score, scope);
            }
        }
    }
}

impl Game for Shooter {
    type Input = ShooterInput;
    type Command = ();
    type Options = ShooterOptions;

    const NAME: &'static str = "shooter";

    fn info() -> GameInfo {
        GameInfo {
            // The most any room may have; each room's own comes from its options (64 by
            // default) through `Ctx::set_capacity`.
            capacity: MAX_CAPACITY,
            tick: TickPolicy::Fixed { hz: 30 },
            interest: Some(Interest {
                cell_size: CELL_SIZE,
                radius: 1,
            }),
            // A room may hold a thousand ships: everyone's acks would cost each client about
            // 125 bytes a tick. Prediction needs only one's own.
            acks: AckAudience::OwnPlayer,
            ..GameInfo::default()
        }
    }

    fn kinds(kinds: &mut Kinds) {
        // New kinds go last: a kind's index is its place here, and clients may rely on it.
        kinds
            .add::<Ship>()
            .add::<Bullet>()
            .add::<Score>()
            .add::<Map>();
    }

    fn new(options: ShooterOptions, ctx: &mut Ctx) -> Result<Self, Refusal> {
        if !SIZE_RANGE.contains(&options.size) {
            return Err(Refusal::new(
                "bad_options",
                format!("size must be within {SIZE_RANGE:?}"),
            ));
        }
        if !(1..=MAX_CAPACITY).contains(&options.capacity) {
            return Err(Refusal::new(
                "bad_options",
                format!("capacity must be within 1..={MAX_CAPACITY}"),
            ));
        }
        ctx.set_capacity(options.capacity);
        // Within SIZE_RANGE, so it fits a u32. The size never changes: neither does the entity.
        let size = options.size.round() as u32;
        ctx.spawn(Scope::All, Map { size });
        Ok(Shooter {
            size: options.size,
            capacity: options.capacity,
            pilots: BTreeMap::new(),
            shots: Vec::new(),
            ranks_stale: false,
        })
    }

    fn join(&mut self, player: PlayerId, _name: &str, ctx: &mut Ctx) {
        let (x, y) = random_point(self.size, ctx);
        let ship = Ship {
            owner: player.0,
            x,
            y,
            aim: 0,
            hp: MAX_HP,
            alive: true,
        };
        let ship = ctx.spawn(at(x, y), ship);
        let score = Score {
            player: player.0,
            kills: 0,
            deaths: 0,
        };
        // Ranked at the end of the tick: on the board if it makes the top.
        let score = ctx.spawn(Scope::Player(player), score);
        self.ranks_stale = true;
        ctx.set_view(player, Some((x, y)));
        let pilot = Pilot {
            ship,
            score,
            on_board: false,
            input: ShooterInput::default(),
            reload: 0.0,
            respawn_in: None,
        };
        self.pilots.insert(player, pilot);
    }

    fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
        if let Some(pilot) = self.pilots.remove(&player) {
            ctx.despawn(pilot.ship);
            ctx.despawn(pilot.score);
            self.ranks_stale = true;
        }
    }

    fn input(&mut self, player: PlayerId, input: ShooterInput, _ctx: &mut Ctx) {
        if let Some(pilot) = self.pilots.get_mut(&player) {
            // Decoding clamps already; an input built in Rust may not be.
            pilot.input = ShooterInput {
                dx: input.dx.clamp(-1, 1),
                dy: input.dy.clamp(-1, 1),
                ..input
            };
        }
    }

    fn step(&mut self, ctx: &mut Ctx) {
        self.fly(ctx);
        self.shoot(ctx);
        self.rank(ctx);
    }
}

#[cfg(test)]
mod tests;
