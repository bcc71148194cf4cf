//! The demo game "arena": players walk a 1000 x 1000 square and collect orbs.
//!
//! Movement follows `shared/WORKLOAD.md` exactly (the benchmark workload): each axis of the input is
//! clamped to {-1, 0, 1}, velocity is direction x 200 units/s (diagonals not normalised), positions
//! are clamped to the world. Orbs are the objective: touch one to score a point; it reappears
//! elsewhere. They are few and static, so they barely change the per-tick traffic.

use crate::game::{Game, GameRng};
use rand::Rng;
use std::collections::BTreeMap;
use tickroom_shared::arena::{
    field, ArenaInput, FIELDS, KIND_ORB, KIND_PLAYER, POSITION_SCALE, SPEED, WORLD_SIZE,
};
use tickroom_shared::{Entity, EntityId, Fields, PlayerId};

/// Orbs in every room.
pub const ORB_COUNT: u32 = 12;

/// A player collects an orb within this distance, in world units.
pub const PICKUP_RADIUS: f32 = 16.0;

/// Orb entity ids start here, above any player id a room hands out.
const ORB_ID_BASE: u32 = 1000;

/// Starting hit points (they never change in this demo).
const START_HP: i32 = 100;

#[derive(Clone, Debug)]
struct Player {
    x: f32,
    y: f32,
    dx: i8,
    dy: i8,
    score: i32,
}

/// The arena game state.
#[derive(Clone, Debug)]
pub struct Arena {
    players: BTreeMap<PlayerId, Player>,
    orbs: Vec<(f32, f32)>,
}

fn random_point(rng: &mut GameRng) -> (f32, f32) {
    (
        rng.random_range(0.0..=WORLD_SIZE),
        rng.random_range(0.0..=WORLD_SIZE),
    )
}

/// World units to the quarter units of the wire.
fn quantise(v: f32) -> i32 {
    (v * POSITION_SCALE).round() as i32
}

impl Game for Arena {
    type Input = ArenaInput;
    const NAME: &'static str = "arena";
    const FIELDS: [&'static str; tickroom_shared::FIELD_COUNT] = FIELDS;

    fn new(rng: &mut GameRng) -> Self {
        let orbs = (0..ORB_COUNT).map(|_| random_point(rng)).collect();
        Arena {
            players: BTreeMap::new(),
            orbs,
        }
    }

    fn join(&mut self, player: PlayerId, rng: &mut GameRng) -> EntityId {
        let (x, y) = random_point(rng);
        self.players.insert(
            player,
            Player {
                x,
                y,
                dx: 0,
                dy: 0,
                score: 0,
            },
        );
        EntityId(player.0)
    }

    fn leave(&mut self, player: PlayerId) {
        self.players.remove(&player);
    }

    fn input(&mut self, player: PlayerId, input: &ArenaInput) {
        if let Some(p) = self.players.get_mut(&player) {
            p.dx = input.dx.clamp(-1, 1);
            p.dy = input.dy.clamp(-1, 1);
        }
    }

    fn step(&mut self, dt: f32, rng: &mut GameRng) {
        for p in self.players.values_mut() {
            p.x = (p.x + f32::from(p.dx) * SPEED * dt).clamp(0.0, WORLD_SIZE);
            p.y = (p.y + f32::from(p.dy) * SPEED * dt).clamp(0.0, WORLD_SIZE);
            for orb in &mut self.orbs {
                let (ox, oy) = *orb;
                if (p.x - ox).powi(2) + (p.y - oy).powi(2) <= PICKUP_RADIUS * PICKUP_RADIUS {
                    p.score += 1;
                    *orb = random_point(rng);
                }
            }
        }
    }

    fn view(&self, out: &mut Vec<Entity>) {
        for (id, p) in &self.players {
            let mut f = Fields::default();
            f.0[field::KIND] = KIND_PLAYER;
            f.0[field::X] = quantise(p.x);
            f.0[field::Y] = quantise(p.y);
            f.0[field::VX] = i32::from(p.dx) * SPEED as i32;
            f.0[field::VY] = i32::from(p.dy) * SPEED as i32;
            f.0[field::HP] = START_HP;
            f.0[field::SCORE] = p.score;
            out.push(Entity {
                id: EntityId(id.0),
                fields: f,
            });
        }
        for (i, (x, y)) in self.orbs.iter().enumerate() {
            let mut f = Fields::default();
            f.0[field::KIND] = KIND_ORB;
            f.0[field::X] = quantise(*x);
            f.0[field::Y] = quantise(*y);
            out.push(Entity {
                id: EntityId(ORB_ID_BASE + i as u32),
                fields: f,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> GameRng {
        GameRng::seed_from_u64(7)
    }

    #[test]
    fn movement_follows_the_workload_rules() {
        let mut rng = rng();
        let mut game = Arena::new(&mut rng);
        let id = PlayerId(1);
        game.join(id, &mut rng);
        game.players.get_mut(&id).unwrap().x = 500.0;
        game.players.get_mut(&id).unwrap().y = 500.0;
        game.orbs.clear();
        game.input(id, &ArenaInput { dx: 5, dy: -1 });
        game.step(0.5, &mut rng);
        let p = &game.players[&id];
        assert_eq!((p.x, p.y), (600.0, 400.0));
        // Clamped at the world edge.
        game.step(10.0, &mut rng);
        let p = &game.players[&id];
        assert_eq!((p.x, p.y), (1000.0, 0.0));
    }

    #[test]
    fn touching_an_orb_scores_and_moves_it() {
        let mut rng = rng();
        let mut game = Arena::new(&mut rng);
        let id = PlayerId(1);
        game.join(id, &mut rng);
        let (ox, oy) = game.orbs[0];
        let p = game.players.get_mut(&id).unwrap();
        (p.x, p.y) = (ox, oy);
        game.step(1.0 / 30.0, &mut rng);
        assert_eq!(game.players[&id].score, 1);
        assert_ne!(game.orbs[0], (ox, oy));
    }

    #[test]
    fn view_lists_players_and_orbs() {
        let mut rng = rng();
        let mut game = Arena::new(&mut rng);
        game.join(PlayerId(3), &mut rng);
        let mut out = Vec::new();
        game.view(&mut out);
        assert_eq!(out.len(), 1 + ORB_COUNT as usize);
        assert_eq!(out[0].id, EntityId(3));
        assert_eq!(out[0].fields.0[field::HP], START_HP);
        assert_eq!(out[0].fields.0[field::ACK], 0);
    }
}
