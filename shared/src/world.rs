//! The replicated state model and its delta, as pure functions.
//!
//! A room's replicated state is a [`World`]: entities sorted by [`EntityId`], each with
//! [`FIELD_COUNT`] integer [`Fields`]. Integers, not floats, because the game quantises (the demo
//! sends positions in quarter units) and because an integer delta applied to an integer replica is
//! exact: a client that applies every delta ends with exactly the server's state, forever, with no
//! drift.
//!
//! # Wire form of an entity list
//! Snapshots and the `added` / `changed` lists of a delta are **flat** integer arrays, one record
//! after another: `id, mask, v...` where bit `i` of `mask` says field `i` is present and the
//! `popcount(mask)` values follow in field order. A field that is absent is zero in a snapshot or an
//! added entity, and unchanged in a changed entity, whose values are differences
//! (`new - old`, wrapping in 32 bits). Flat because it spares one array header per entity, and
//! differences because a moving player's coordinates then fit one MessagePack byte each.

use crate::ids::{EntityId, Tick};
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

/// Fields per entity; the presence mask is one byte.
pub const FIELD_COUNT: usize = 8;

/// Index of the field the engine fills with the owning player's last applied
/// [`crate::InputSeq`] (0 for entities no player owns).
pub const ACK_FIELD: usize = 0;

/// An entity's replicated values. Meaning is per game, named in [`crate::ServerMsg::Welcome`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fields(pub [i32; FIELD_COUNT]);

impl Fields {
    /// Bit `i` set where field `i` is non-zero.
    pub fn mask(&self) -> u8 {
        self.0
            .iter()
            .enumerate()
            .fold(0u8, |m, (i, v)| if *v != 0 { m | (1 << i) } else { m })
    }

    /// Per-field wrapping difference `self - base`.
    pub fn minus(&self, base: &Fields) -> Fields {
        Fields(std::array::from_fn(|i| self.0[i].wrapping_sub(base.0[i])))
    }

    /// Per-field wrapping sum, the inverse of [`Fields::minus`].
    pub fn plus(&self, diff: &Fields) -> Fields {
        Fields(std::array::from_fn(|i| self.0[i].wrapping_add(diff.0[i])))
    }
}

/// One replicated entity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Entity {
    /// Its id, unique within the world.
    pub id: EntityId,
    /// Its values (or, in [`Delta::changed`], the differences).
    pub fields: Fields,
}

/// A room's replicated state: entities sorted by id, ids unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    entities: Vec<Entity>,
}

/// Why a world could not be built from a list of entities.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WorldError {
    /// Two entities share an id.
    #[error("entity {0} appears twice")]
    DuplicateId(EntityId),
}

impl World {
    /// An empty world.
    pub fn new() -> World {
        World::default()
    }

    /// Builds a world from entities in any order.
    pub fn from_entities(mut entities: Vec<Entity>) -> Result<World, WorldError> {
        entities.sort_unstable_by_key(|e| e.id);
        if let Some(pair) = entities.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(WorldError::DuplicateId(pair[0].id));
        }
        Ok(World { entities })
    }

    /// Entities sorted by id.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// Gives back the entity list (to reuse its allocation).
    pub fn into_entities(self) -> Vec<Entity> {
        self.entities
    }

    /// The entity with this id.
    pub fn get(&self, id: EntityId) -> Option<&Entity> {
        self.entities
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &self.entities[i])
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// True when there are no entities.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The delta that turns `self` (at tick `base`) into `next` (at tick `tick`).
    ///
    /// One merge pass over both sorted lists: O(n), no allocation beyond the delta's own lists.
    pub fn diff(&self, next: &World, base: Tick, tick: Tick) -> Delta {
        let mut delta = Delta {
            tick,
            base,
            ..Delta::default()
        };
        let (mut a, mut b) = (
            self.entities.iter().peekable(),
            next.entities.iter().peekable(),
        );
        loop {
            match (a.peek(), b.peek()) {
                (Some(old), Some(new)) if old.id == new.id => {
                    if old.fields != new.fields {
                        let diff = new.fields.minus(&old.fields);
                        delta.changed.push(Entity {
                            id: new.id,
                            fields: diff,
                        });
                    }
                    a.next();
                    b.next();
                }
                (Some(old), Some(new)) if old.id < new.id => {
                    delta.removed.push(old.id);
                    a.next();
                }
                (Some(old), None) => {
                    delta.removed.push(old.id);
                    a.next();
                }
                (_, Some(new)) => {
                    delta.added.push(**new);
                    b.next();
                }
                (None, None) => break,
            }
        }
        delta
    }

    /// Applies a delta's entity changes (not its tick check: see [`Replica::apply_delta`]).
    pub fn apply(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        for id in &delta.removed {
            match self.entities.binary_search_by_key(id, |e| e.id) {
                Ok(i) => {
                    self.entities.remove(i);
                }
                Err(_) => return Err(ApplyError::UnknownEntity(*id)),
            }
        }
        for change in &delta.changed {
            match self.entities.binary_search_by_key(&change.id, |e| e.id) {
                Ok(i) => {
                    let e = &mut self.entities[i];
                    e.fields = e.fields.plus(&change.fields);
                }
                Err(_) => return Err(ApplyError::UnknownEntity(change.id)),
            }
        }
        for added in &delta.added {
            match self.entities.binary_search_by_key(&added.id, |e| e.id) {
                Ok(_) => return Err(ApplyError::DuplicateEntity(added.id)),
                Err(i) => self.entities.insert(i, *added),
            }
        }
        Ok(())
    }
}

/// The changes from tick `base` to tick `tick`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// The tick this delta produces.
    pub tick: Tick,
    /// The tick it builds on; a client whose replica is not at `base` has a gap.
    pub base: Tick,
    /// New entities with their full fields.
    pub added: Vec<Entity>,
    /// Entities whose fields changed; `fields` holds wrapping differences, zero = unchanged.
    pub changed: Vec<Entity>,
    /// Entities that left.
    pub removed: Vec<EntityId>,
}

impl Delta {
    /// True when nothing changed (the delta still goes out: it carries the tick).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// Writes `tick, back, added, changed, removed` into an already opened message tuple.
    pub(crate) fn serialize_fields<T: SerializeTuple>(&self, t: &mut T) -> Result<(), T::Error> {
        t.serialize_element(&self.tick)?;
        t.serialize_element(&(self.tick.0.wrapping_sub(self.base.0)))?;
        t.serialize_element(&SparseList(&self.added))?;
        t.serialize_element(&SparseList(&self.changed))?;
        t.serialize_element(&self.removed)
    }
}

/// Why a client could not apply a server message to its replica.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ApplyError {
    /// The delta builds on a tick the replica is not at: deltas were missed (or no snapshot yet).
    #[error("gap: replica at {have:?}, delta needs {need}")]
    Gap {
        /// The replica's tick, `None` before the first snapshot.
        have: Option<Tick>,
        /// The delta's base tick.
        need: Tick,
    },
    /// A changed or removed entity is not in the replica.
    #[error("entity {0} is not in the replica")]
    UnknownEntity(EntityId),
    /// An added entity is already in the replica.
    #[error("entity {0} is already in the replica")]
    DuplicateEntity(EntityId),
}

/// A client's copy of a room's world: a snapshot plus every delta since.
///
/// The server never lets a gap pass silently, and neither does this type: a delta whose base is
/// not the replica's tick is refused with [`ApplyError::Gap`], and the client asks for a keyframe
/// with [`crate::ClientMsg::Resync`].
#[derive(Clone, Debug, Default)]
pub struct Replica {
    world: World,
    tick: Option<Tick>,
}

impl Replica {
    /// A replica that has seen nothing yet.
    pub fn new() -> Replica {
        Replica::default()
    }

    /// The tick the replica is at, `None` before the first snapshot.
    pub fn tick(&self) -> Option<Tick> {
        self.tick
    }

    /// The replicated world.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Replaces the replica with a snapshot.
    pub fn apply_snapshot(&mut self, tick: Tick, entities: &[Entity]) -> Result<(), ApplyError> {
        self.world = World::from_entities(entities.to_vec()).map_err(|e| match e {
            WorldError::DuplicateId(id) => ApplyError::DuplicateEntity(id),
        })?;
        self.tick = Some(tick);
        Ok(())
    }

    /// Applies a delta that must build on the replica's tick. On error the replica is unchanged
    /// for a gap; for an inconsistent delta it may be partly applied and needs a resync.
    pub fn apply_delta(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        if self.tick != Some(delta.base) {
            return Err(ApplyError::Gap {
                have: self.tick,
                need: delta.base,
            });
        }
        if let Err(e) = self.world.apply(delta) {
            // The replica can no longer be trusted; force a resync.
            self.tick = None;
            return Err(e);
        }
        self.tick = Some(delta.tick);
        Ok(())
    }
}

// ----- The flat sparse wire form of entity lists. -----

/// Serializes entities as the flat `id, mask, values...` array.
pub(crate) struct SparseList<'a>(pub &'a [Entity]);

impl Serialize for SparseList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len: usize = self
            .0
            .iter()
            .map(|e| 2 + e.fields.mask().count_ones() as usize)
            .sum();
        let mut seq = s.serialize_seq(Some(len))?;
        for e in self.0 {
            let mask = e.fields.mask();
            seq.serialize_element(&e.id)?;
            seq.serialize_element(&mask)?;
            for v in e.fields.0.iter().filter(|v| **v != 0) {
                seq.serialize_element(v)?;
            }
        }
        seq.end()
    }
}

/// Deserializes the flat form back into entities.
pub(crate) struct SparseVec(pub Vec<Entity>);

struct SparseVisitor;

impl<'de> Visitor<'de> for SparseVisitor {
    type Value = SparseVec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flat entity list [id, mask, values...]*")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SparseVec, A::Error> {
        // Never trust a claimed length for preallocation: each record takes at least 2 elements.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096) / 2);
        let mut index = 0usize;
        while let Some(id) = seq.next_element::<EntityId>()? {
            let mask: u8 = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(index + 1, &"a mask after the id"))?;
            index += 2;
            let mut fields = Fields::default();
            for (i, slot) in fields.0.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    *slot = seq.next_element()?.ok_or_else(|| {
                        de::Error::invalid_length(index, &"a value for each mask bit")
                    })?;
                    if *slot == 0 {
                        return Err(de::Error::invalid_value(
                            de::Unexpected::Signed(0),
                            &"a non-zero value (zero fields are left out)",
                        ));
                    }
                    index += 1;
                }
            }
            out.push(Entity { id, fields });
        }
        Ok(SparseVec(out))
    }
}

impl<'de> Deserialize<'de> for SparseVec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SparseVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entity(id: u32, f: [i32; FIELD_COUNT]) -> Entity {
        Entity {
            id: EntityId(id),
            fields: Fields(f),
        }
    }

    fn world_strategy() -> impl Strategy<Value = World> {
        // Few distinct ids so that diffs see adds, removes and changes of the same ids.
        prop::collection::btree_map(0u32..40, prop::array::uniform8(-3i32..4), 0..20).prop_map(
            |m| {
                let entities = m.into_iter().map(|(id, f)| entity(id, f)).collect();
                World::from_entities(entities).expect("btree keys are unique")
            },
        )
    }

    fn wide_world_strategy() -> impl Strategy<Value = World> {
        prop::collection::btree_map(any::<u32>(), prop::array::uniform8(any::<i32>()), 0..10)
            .prop_map(|m| {
                let entities = m.into_iter().map(|(id, f)| entity(id, f)).collect();
                World::from_entities(entities).expect("btree keys are unique")
            })
    }

    proptest! {
        /// The core property of state sync: applying diff(a, b) to a gives exactly b.
        #[test]
        fn apply_diff_gives_target(a in world_strategy(), b in world_strategy()) {
            let delta = a.diff(&b, Tick(7), Tick(8));
            let mut c = a.clone();
            c.apply(&delta).unwrap();
            prop_assert_eq!(c, b);
        }

        /// The same holds at the extremes of the integer range (wrapping differences).
        #[test]
        fn apply_diff_wraps(a in wide_world_strategy(), b in wide_world_strategy()) {
            let delta = a.diff(&b, Tick(0), Tick(1));
            let mut c = a.clone();
            c.apply(&delta).unwrap();
            prop_assert_eq!(c, b);
        }

        /// A chain of deltas through a replica reproduces every world of the chain.
        #[test]
        fn replica_follows_chain(worlds in prop::collection::vec(world_strategy(), 1..8)) {
            let mut replica = Replica::new();
            replica.apply_snapshot(Tick(0), worlds[0].entities()).unwrap();
            for (i, pair) in worlds.windows(2).enumerate() {
                let delta = pair[0].diff(&pair[1], Tick(i as u64), Tick(i as u64 + 1));
                replica.apply_delta(&delta).unwrap();
                prop_assert_eq!(replica.world(), &pair[1]);
            }
        }
    }

    #[test]
    fn diff_of_equal_worlds_is_empty() {
        let w = World::from_entities(vec![entity(1, [1, 2, 3, 4, 5, 6, 7, 8])]).unwrap();
        assert!(w.diff(&w, Tick(1), Tick(2)).is_empty());
    }

    #[test]
    fn replica_refuses_gap() {
        let mut r = Replica::new();
        let d = Delta {
            tick: Tick(2),
            base: Tick(1),
            ..Delta::default()
        };
        assert_eq!(
            r.apply_delta(&d),
            Err(ApplyError::Gap {
                have: None,
                need: Tick(1)
            })
        );
        r.apply_snapshot(Tick(5), &[]).unwrap();
        assert_eq!(
            r.apply_delta(&d),
            Err(ApplyError::Gap {
                have: Some(Tick(5)),
                need: Tick(1)
            })
        );
        assert_eq!(r.tick(), Some(Tick(5)));
    }

    #[test]
    fn replica_rejects_inconsistent_delta_and_forgets_tick() {
        let mut r = Replica::new();
        r.apply_snapshot(Tick(1), &[]).unwrap();
        let d = Delta {
            tick: Tick(2),
            base: Tick(1),
            removed: vec![EntityId(9)],
            ..Delta::default()
        };
        assert_eq!(
            r.apply_delta(&d),
            Err(ApplyError::UnknownEntity(EntityId(9)))
        );
        assert_eq!(r.tick(), None);
    }

    #[test]
    fn from_entities_rejects_duplicates() {
        let e = entity(3, [0; FIELD_COUNT]);
        assert_eq!(
            World::from_entities(vec![e, e]),
            Err(WorldError::DuplicateId(EntityId(3)))
        );
    }

    #[test]
    fn mask_marks_non_zero_fields() {
        assert_eq!(Fields([0, 1, 0, 0, 0, 0, 0, -1]).mask(), 0b1000_0010);
    }
}
