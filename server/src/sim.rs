//! One room's simulation, without I/O or clocks: the part of a room that can be tested alone.
//!
//! [`Simulation`] queues inputs, and on [`Simulation::step`] applies them in arrival order, steps the
//! game by the fixed `dt`, builds the replicated [`World`] (filling each player's ack field) and
//! returns the [`Delta`] from the previous tick. The room actor only adds timers and sockets.

use crate::game::{Game, GameRng};
use rand::SeedableRng;
use std::collections::BTreeMap;
use tickroom_shared::{Delta, Entity, EntityId, InputSeq, PlayerId, Tick, World, ACK_FIELD};

/// Per-player bookkeeping of the engine (the game keeps its own state).
#[derive(Clone, Copy, Debug)]
struct Seat {
    entity: EntityId,
    /// Last input sequence applied; echoed in the entity's ack field.
    acked: InputSeq,
    /// Last input sequence queued, to drop duplicates and reordering.
    queued: InputSeq,
}

/// Why an input was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputRejected {
    /// The player is not seated.
    UnknownPlayer,
    /// `seq` is not above the last queued sequence number.
    StaleSequence,
}

/// A room's game plus the engine state around it.
pub struct Simulation<G: Game> {
    game: G,
    rng: GameRng,
    dt: f32,
    tick: Tick,
    seats: BTreeMap<PlayerId, Seat>,
    pending: Vec<(PlayerId, InputSeq, G::Input)>,
    world: World,
    scratch: Vec<Entity>,
}

impl<G: Game> Simulation<G> {
    /// A new simulation stepping `dt` seconds per tick, seeded for reproducibility.
    pub fn new(seed: u64, dt: f32) -> Self {
        let mut rng = GameRng::seed_from_u64(seed);
        let game = G::new(&mut rng);
        let mut sim = Simulation {
            game,
            rng,
            dt,
            tick: Tick(0),
            seats: BTreeMap::new(),
            pending: Vec::new(),
            world: World::new(),
            scratch: Vec::new(),
        };
        sim.world = sim.build_world();
        sim
    }

    /// The current tick.
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// The replicated world at the current tick.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The game, for inspection.
    pub fn game(&self) -> &G {
        &self.game
    }

    /// Seats `player`; their entity appears in the next delta. Returns the entity id.
    pub fn join(&mut self, player: PlayerId) -> EntityId {
        let entity = self.game.join(player, &mut self.rng);
        self.seats.insert(
            player,
            Seat {
                entity,
                acked: InputSeq(0),
                queued: InputSeq(0),
            },
        );
        entity
    }

    /// Removes `player` and their queued inputs.
    pub fn leave(&mut self, player: PlayerId) {
        if self.seats.remove(&player).is_some() {
            self.pending.retain(|(p, _, _)| *p != player);
            self.game.leave(player);
        }
    }

    /// Queues an input for the next tick. Sequence numbers must increase per player.
    pub fn queue_input(
        &mut self,
        player: PlayerId,
        seq: InputSeq,
        input: G::Input,
    ) -> Result<(), InputRejected> {
        let seat = self
            .seats
            .get_mut(&player)
            .ok_or(InputRejected::UnknownPlayer)?;
        if seq <= seat.queued {
            return Err(InputRejected::StaleSequence);
        }
        seat.queued = seq;
        self.pending.push((player, seq, input));
        Ok(())
    }

    /// A new connection resumed `player`'s seat: its input numbering starts again at 1, so the
    /// ack restarts at 0 and queued inputs of the old connection are dropped.
    pub fn resume(&mut self, player: PlayerId) {
        if let Some(seat) = self.seats.get_mut(&player) {
            seat.queued = InputSeq(0);
            seat.acked = InputSeq(0);
            self.pending.retain(|(p, _, _)| *p != player);
        }
    }

    /// Applies the default input for `player` now (their connection dropped: stop acting), without
    /// touching their ack.
    pub fn reset_input(&mut self, player: PlayerId) {
        if self.seats.contains_key(&player) {
            self.pending.retain(|(p, _, _)| *p != player);
            self.game.input(player, &G::Input::default());
        }
    }

    /// Runs one tick: inputs in arrival order, the game step, then the diff against the last tick.
    pub fn step(&mut self) -> Delta {
        for (player, seq, input) in self.pending.drain(..) {
            self.game.input(player, &input);
            if let Some(seat) = self.seats.get_mut(&player) {
                seat.acked = seq;
            }
        }
        self.game.step(self.dt, &mut self.rng);
        let next = self.build_world();
        let base = self.tick;
        self.tick = base.next();
        let delta = self.world.diff(&next, base, self.tick);
        // Recycle the old world's allocation for the next tick's view.
        self.scratch = std::mem::replace(&mut self.world, next).into_entities();
        delta
    }

    fn build_world(&mut self) -> World {
        let mut entities = std::mem::take(&mut self.scratch);
        entities.clear();
        self.game.view(&mut entities);
        entities.sort_unstable_by_key(|e| e.id);
        for e in &mut entities {
            e.fields.0[ACK_FIELD] = 0;
        }
        for seat in self.seats.values() {
            if let Ok(i) = entities.binary_search_by_key(&seat.entity, |e| e.id) {
                // Sequence numbers are u32 on the wire; the field stores the same 32 bits.
                entities[i].fields.0[ACK_FIELD] = seat.acked.0 as i32;
            }
        }
        match World::from_entities(entities) {
            Ok(world) => world,
            Err(e) => {
                // A game bug: keep the room alive with the previous state rather than send garbage.
                tracing::error!(error = %e, game = G::NAME, "game produced duplicate entity ids");
                self.world.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arena::Arena;
    use tickroom_shared::arena::{field, ArenaInput};
    use tickroom_shared::Replica;

    const DT: f32 = 1.0 / 30.0;

    #[test]
    fn inputs_apply_in_order_and_ack_the_last() {
        let mut sim = Simulation::<Arena>::new(1, DT);
        let p = PlayerId(1);
        let e = sim.join(p);
        sim.queue_input(p, InputSeq(1), ArenaInput { dx: 1, dy: 0 })
            .unwrap();
        sim.queue_input(p, InputSeq(2), ArenaInput { dx: -1, dy: 1 })
            .unwrap();
        assert_eq!(
            sim.queue_input(p, InputSeq(2), ArenaInput::default()),
            Err(InputRejected::StaleSequence)
        );
        sim.step();
        let fields = sim.world().get(e).unwrap().fields;
        assert_eq!(fields.0[ACK_FIELD], 2);
        assert_eq!(fields.0[field::VX], -200);
        assert_eq!(fields.0[field::VY], 200);
    }

    #[test]
    fn same_seed_replays_the_same() {
        let run = || {
            let mut sim = Simulation::<Arena>::new(42, DT);
            sim.join(PlayerId(1));
            sim.join(PlayerId(2));
            for i in 1..100u32 {
                let dx = (i % 3) as i8 - 1;
                sim.queue_input(PlayerId(1), InputSeq(i), ArenaInput { dx, dy: 1 })
                    .unwrap();
                sim.step();
            }
            sim.world().clone()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn replica_tracks_joins_moves_and_leaves() {
        let mut sim = Simulation::<Arena>::new(3, DT);
        let mut replica = Replica::new();
        replica
            .apply_snapshot(sim.tick(), sim.world().entities())
            .unwrap();
        for t in 1..200u32 {
            if t % 40 == 1 {
                sim.join(PlayerId(t / 40 + 1));
            }
            if t == 150 {
                sim.leave(PlayerId(1));
            }
            let _ = sim.queue_input(PlayerId(2), InputSeq(t), ArenaInput { dx: 1, dy: -1 });
            let delta = sim.step();
            replica.apply_delta(&delta).unwrap();
            assert_eq!(replica.world(), sim.world());
        }
        assert!(sim.world().get(EntityId(1)).is_none());
    }

    #[test]
    fn resume_restarts_the_sequence() {
        let mut sim = Simulation::<Arena>::new(1, DT);
        let p = PlayerId(1);
        let e = sim.join(p);
        sim.queue_input(p, InputSeq(50), ArenaInput::default())
            .unwrap();
        sim.step();
        assert_eq!(sim.world().get(e).unwrap().fields.0[ACK_FIELD], 50);
        sim.resume(p);
        sim.queue_input(p, InputSeq(1), ArenaInput { dx: 1, dy: 0 })
            .unwrap();
        sim.step();
        assert_eq!(sim.world().get(e).unwrap().fields.0[ACK_FIELD], 1);
    }

    #[test]
    fn unknown_player_input_is_rejected() {
        let mut sim = Simulation::<Arena>::new(1, DT);
        assert_eq!(
            sim.queue_input(PlayerId(9), InputSeq(1), ArenaInput::default()),
            Err(InputRejected::UnknownPlayer)
        );
    }
}
