//! arena: players walk a 1000 x 1000 square and collect orbs. The benchmark workload.
//!
//! Movement follows `shared/WORKLOAD.md` exactly: each axis of the input is clamped to
//! {-1, 0, 1}, velocity is direction x [`SPEED`] (diagonals not normalised), positions are
//! clamped to the world. The world keeps full precision; the wire rounds to [`POSITION_STEP`].
//! Orbs give the walk a purpose; they are few and rarely move, so they barely change the
//! per-tick traffic the benchmark measures.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tickroom_server::{Ctx, Game, GameInfo, GameRng, Kinds, Refusal, Replicate, Scope, TickPolicy};
use tickroom_shared::{EntityId, PlayerId};

/// Positions are within `[0, WORLD_SIZE]` on both axes, in world units.
pub const WORLD_SIZE: f32 = 1000.0;

/// Speed along each axis, in world units per second (diagonals are not normalised).
pub const SPEED: f32 = 200.0;

/// Positions travel in steps of this many world units.
pub const POSITION_STEP: f64 = 0.25;

/// Orbs in every room.
pub const ORB_COUNT: usize = 12;

/// A player collects an orb within this distance, in world units.
pub const PICKUP_RADIUS: f32 = 16.0;

/// Hit points of every player (they never change in this game).
pub const START_HP: u8 = 100;

/// One input: a direction, each axis in {-1, 0, 1} (any other integer is clamped).
/// On the wire: `[dx, dy]`.
#[derive(Serialize, Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaInput {
    /// Horizontal direction.
    #[serde(deserialize_with = "crate::direction")]
    pub dx: i8,
    /// Vertical direction.
    #[serde(deserialize_with = "crate::direction")]
    pub dy: i8,
}

/// Arena has no options; any options map is accepted and ignored (a unit type would refuse
/// `{}`).
#[derive(Serialize, Deserialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaOptions {}

/// A player's avatar, seen by everyone.
#[derive(Replicate, Clone, Debug, PartialEq)]
#[replicate(kind = "player")]
pub struct Player {
    /// The player id.
    pub owner: u32,
    /// Position, world units.
    #[replicate(step = 0.25)]
    pub x: f32,
    /// Position, world units.
    #[replicate(step = 0.25)]
    pub y: f32,
    /// Velocity, world units per second.
    pub vx: i16,
    /// Velocity, world units per second.
    pub vy: i16,
    /// Hit points.
    pub hp: u8,
    /// Orbs collected.
    pub score: u16,
}

/// Something to collect, seen by everyone.
#[derive(Replicate, Clone, Debug, PartialEq)]
pub struct Orb {
    /// Position, world units.
    #[replicate(step = 0.25)]
    pub x: f32,
    /// Position, world units.
    #[replicate(step = 0.25)]
    pub y: f32,
}

/// Event `pickup`, to everyone.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pickup {
    /// Who collected the orb.
    pub player: u32,
    /// Their score after it.
    pub score: u16,
}

/// A seated player: its entity and the direction of its last input.
#[derive(Clone, Copy, Debug)]
struct Seat {
    entity: EntityId,
    input: ArenaInput,
}

/// The arena game state; positions live in the world's entities.
#[derive(Debug)]
pub struct Arena {
    seats: BTreeMap<PlayerId, Seat>,
    orbs: Vec<EntityId>,
}

fn random_point(rng: &mut GameRng) -> (f32, f32) {
    (
        rng.random_range(0.0..=WORLD_SIZE),
        rng.random_range(0.0..=WORLD_SIZE),
    )
}

impl Arena {
    /// The entity of `player`, if seated.
    pub fn entity(&self, player: PlayerId) -> Option<EntityId> {
        self.seats.get(&player).map(|s| s.entity)
    }

    /// The orb entities.
    pub fn orbs(&self) -> &[EntityId] {
        &self.orbs
    }
}

impl Game for Arena {
    type Input = ArenaInput;
    type Command = ();
    type Options = ArenaOptions;

    const NAME: &'static str = "arena";

    fn info() -> GameInfo {
        GameInfo {
            capacity: 50,
            tick: TickPolicy::Fixed { hz: 30 },
            interest: None,
            ..GameInfo::default()
        }
    }

    fn kinds(kinds: &mut Kinds) {
        kinds.add::<Player>().add::<Orb>();
    }

    fn new(_options: ArenaOptions, ctx: &mut Ctx) -> Result<Self, Refusal> {
        let orbs = (0..ORB_COUNT)
            .map(|_| {
                let (x, y) = random_point(ctx.rng());
                ctx.spawn(Scope::All, Orb { x, y })
            })
            .collect();
        Ok(Arena {
            seats: BTreeMap::new(),
            orbs,
        })
    }

    fn join(&mut self, player: PlayerId, _name: &str, ctx: &mut Ctx) {
        let (x, y) = random_point(ctx.rng());
        let entity = ctx.spawn(
            Scope::All,
            Player {
                owner: player.0,
                x,
                y,
                vx: 0,
                vy: 0,
                hp: START_HP,
                score: 0,
            },
        );
        let input = ArenaInput::default();
        self.seats.insert(player, Seat { entity, input });
    }

    fn leave(&mut self, player: PlayerId, ctx: &mut Ctx) {
        if let Some(seat) = self.seats.remove(&player) {
            ctx.despawn(seat.entity);
        }
    }

    fn input(&mut self, player: PlayerId, input: ArenaInput, _ctx: &mut Ctx) {
        if let Some(seat) = self.seats.get_mut(&player) {
            // Decoding clamps already; an input built in Rust may not be.
            seat.input = ArenaInput {
                dx: input.dx.clamp(-1, 1),
                dy: input.dy.clamp(-1, 1),
            };
        }
    }

    fn step(&mut self, ctx: &mut Ctx) {
        let dt = ctx.dt();
        // Orb positions, read once per tick rather than once per player.
        let mut orbs: Vec<(EntityId, f32, f32)> = self
            .orbs
            .iter()
            .filter_map(|&id| ctx.get::<Orb>(id).map(|o| (id, o.x, o.y)))
            .collect();
        for seat in self.seats.values() {
            let Some(p) = ctx.get_mut::<Player>(seat.entity) else {
                continue;
            };
            // SPEED is 200, so a direction times SPEED fits an i16.
            p.vx = i16::from(seat.input.dx) * SPEED as i16;
            p.vy = i16::from(seat.input.dy) * SPEED as i16;
            p.x = (p.x + f32::from(p.vx) * dt).clamp(0.0, WORLD_SIZE);
            p.y = (p.y + f32::from(p.vy) * dt).clamp(0.0, WORLD_SIZE);
            let (px, py) = (p.x, p.y);
            for orb in &mut orbs {
                if (px - orb.1).powi(2) + (py - orb.2).powi(2) > PICKUP_RADIUS * PICKUP_RADIUS {
                    continue;
                }
                let (x, y) = random_point(ctx.rng());
                (orb.1, orb.2) = (x, y);
                if let Some(o) = ctx.get_mut::<Orb>(orb.0) {
                    (o.x, o.y) = (x, y);
                }
                if let Some(p) = ctx.get_mut::<Player>(seat.entity) {
                    p.score = p.score.saturating_add(1);
                    let pickup = Pickup {
                        player: p.owner,
                        score: p.score,
                    };
                    ctx.emit(Scope::All, "pickup", &pickup);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{events, input, Client};
    use tickroom_server::sim::Simulation;
    use tickroom_shared::{rmpv, InputSeq};

    /// Quarter units per world unit on the wire.
    const Q: i64 = 4;

    fn sim(seed: u64) -> Simulation<Arena> {
        Simulation::new(None, seed, Arena::info(), 100).expect("arena takes no options")
    }

    /// Steps the simulation `ticks` times, keeping `client` in sync; returns the events it got.
    fn run(
        sim: &mut Simulation<Arena>,
        client: &mut Client,
        ticks: usize,
    ) -> Vec<tickroom_shared::Event> {
        let mut got = Vec::new();
        for _ in 0..ticks {
            sim.step();
            got.extend(client.sync(sim));
        }
        got
    }

    /// The kinds are PROTOCOL.md's.
    #[test]
    fn kinds_match_the_protocol() {
        let kinds = crate::testing::describe(&sim(0).kinds());
        assert_eq!(
            kinds,
            [
                "player = owner: u32, x: float 0.25, y: float 0.25, vx: i16, vy: i16, hp: u8, score: u16",
                "orb = x: float 0.25, y: float 0.25",
            ]
        );
    }

    /// Options maps are accepted and ignored.
    #[test]
    fn options_are_ignored() {
        let options = rmpv::Value::Map(vec![("mode".into(), "ranked".into())]);
        assert!(Simulation::<Arena>::new(Some(options), 0, Arena::info(), 100).is_ok());
    }

    /// Movement, velocity and clamping follow WORKLOAD.md, seen through a client's replica.
    #[test]
    fn movement_and_clamping_match_the_workload() {
        let mut sim = sim(1);
        let me = PlayerId(1);
        sim.join(me, "me");
        let mut client = Client::new(&sim, me);
        let id = sim.game().entity(me).expect("seated");
        // Any integer is a direction, clamped: walk into the right and top walls.
        let clamped = rmpv::Value::Array(vec![300.into(), (-7).into()]);
        sim.queue_input(me, InputSeq(1), clamped)
            .expect("a valid input");
        run(&mut sim, &mut client, 160);
        assert_eq!(client.replica.int(id, "x"), Some(1000 * Q));
        assert_eq!(client.replica.int(id, "y"), Some(0));
        assert_eq!(client.replica.int(id, "vx"), Some(200));
        assert_eq!(client.replica.int(id, "vy"), Some(-200));
        assert_eq!(client.replica.int(id, "hp"), Some(100));
        assert_eq!(client.replica.ack(me), InputSeq(1));
        // From the corner, one tick of 1/30 s at 200 units/s is 6.67 units, 15 ticks 100 units.
        sim.queue_input(me, InputSeq(2), input(&ArenaInput { dx: -1, dy: 1 }))
            .expect("a valid input");
        run(&mut sim, &mut client, 1);
        assert_eq!(client.replica.int(id, "x"), Some(3973));
        assert_eq!(client.replica.int(id, "y"), Some(27));
        run(&mut sim, &mut client, 14);
        assert_eq!(client.replica.int(id, "x"), Some(900 * Q));
        assert_eq!(client.replica.int(id, "y"), Some(100 * Q));
        assert_eq!(client.replica.ack(me), InputSeq(2));
        // Standing still: velocity 0, position unchanged.
        sim.queue_input(me, InputSeq(3), input(&ArenaInput::default()))
            .expect("a valid input");
        run(&mut sim, &mut client, 5);
        assert_eq!(client.replica.int(id, "vx"), Some(0));
        assert_eq!(client.replica.int(id, "x"), Some(900 * Q));
    }

    /// Walking onto an orb scores, moves the orb and tells everyone with `pickup`.
    #[test]
    fn touching_an_orb_scores_and_moves_it() {
        let mut sim = sim(2);
        let (me, other) = (PlayerId(1), PlayerId(2));
        sim.join(me, "me");
        sim.join(other, "other");
        let mut client = Client::new(&sim, me);
        let mut watcher = Client::new(&sim, other);
        let id = sim.game().entity(me).expect("seated");
        let orb = sim.game().orbs()[0];
        let mut seen = Vec::new();
        sim.step();
        client.sync(&mut sim);
        watcher.sync(&mut sim);
        let pos = |c: &Client, e| {
            (
                c.replica.int(e, "x").expect("x"),
                c.replica.int(e, "y").expect("y"),
            )
        };
        let start = pos(&client, orb);
        for seq in 1..=400 {
            // Steer towards the orb, stopping within 4 units on each axis.
            let (px, py) = pos(&client, id);
            let dir = |d: i64| (d / (4 * Q)).clamp(-1, 1) as i8;
            let towards = ArenaInput {
                dx: dir(start.0 - px),
                dy: dir(start.1 - py),
            };
            sim.queue_input(me, InputSeq(seq), input(&towards))
                .expect("a valid input");
            sim.step();
            client.sync(&mut sim);
            seen.extend(events::<Pickup>(&watcher.sync(&mut sim), "pickup"));
            if pos(&client, orb) != start {
                break;
            }
        }
        assert_ne!(pos(&client, orb), start, "the orb was never collected");
        let score = client.replica.int(id, "score").expect("score");
        assert!(score >= 1);
        assert_eq!(seen.len() as i64, score, "one pickup event per point");
        let last = Pickup {
            player: 1,
            score: score as u16,
        };
        assert_eq!(seen.last(), Some(&last));
        assert_eq!(watcher.replica.int(id, "score"), Some(score));
    }

    /// A leaving player's entity is removed; orbs stay.
    #[test]
    fn leaving_removes_the_player() {
        let mut sim = sim(3);
        let (me, other) = (PlayerId(1), PlayerId(2));
        sim.join(me, "me");
        sim.join(other, "other");
        let mut watcher = Client::new(&sim, other);
        run(&mut sim, &mut watcher, 1);
        assert_eq!(watcher.replica.of_kind("player").count(), 2);
        assert_eq!(watcher.replica.of_kind("orb").count(), ORB_COUNT);
        sim.leave(me);
        run(&mut sim, &mut watcher, 1);
        assert_eq!(watcher.replica.of_kind("player").count(), 1);
        assert_eq!(watcher.replica.of_kind("orb").count(), ORB_COUNT);
    }

    /// A dropped connection stops the player (its input becomes the default).
    #[test]
    fn a_dropped_player_stops() {
        let mut sim = sim(4);
        let me = PlayerId(1);
        sim.join(me, "me");
        let mut client = Client::new(&sim, me);
        let id = sim.game().entity(me).expect("seated");
        sim.queue_input(me, InputSeq(1), input(&ArenaInput { dx: 1, dy: 0 }))
            .expect("a valid input");
        run(&mut sim, &mut client, 1);
        assert_eq!(client.replica.int(id, "vx"), Some(200));
        sim.disconnected(me);
        run(&mut sim, &mut client, 1);
        assert_eq!(client.replica.int(id, "vx"), Some(0));
    }

    /// The same seed and inputs give the same replica.
    #[test]
    fn same_seed_same_replica() {
        let play = || {
            let mut sim = sim(42);
            for p in 1..=3 {
                sim.join(PlayerId(p), "p");
            }
            let mut client = Client::new(&sim, PlayerId(1));
            for t in 1..=90u32 {
                for p in 1..=3 {
                    let dx = ((t / 10 + p) % 3) as i8 - 1;
                    let i = ArenaInput {
                        dx,
                        dy: 1 - dx.abs(),
                    };
                    sim.queue_input(PlayerId(p), InputSeq(t), input(&i))
                        .expect("a valid input");
                }
                run(&mut sim, &mut client, 1);
            }
            client.replica.entities().clone()
        };
        assert_eq!(play(), play());
    }
}
