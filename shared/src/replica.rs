//! A client's copy of what it sees of a room: applies Snapshots and Deltas exactly as
//! `PROTOCOL.md` says, and refuses gaps and inconsistent messages instead of drifting.

use crate::delta::{Acks, Event, Segment};
use crate::ids::{EntityId, InputSeq, PlayerId, Tick};
use crate::protocol::ServerMsg;
use crate::schema::{KindSchema, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// One entity of the replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaEntity {
    /// Index into the kinds.
    pub kind: u16,
    /// Every field's wire value, in field order.
    pub values: Vec<Value>,
}

/// Why a message could not be applied.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ApplyError {
    /// The delta builds on a tick the replica is not at.
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
    /// An added entity of a kind the welcome did not declare.
    #[error("entity {id} has unknown kind {kind}")]
    UnknownKind {
        /// The entity.
        id: EntityId,
        /// Its kind index.
        kind: u16,
    },
    /// A value that does not fit its field.
    #[error("entity {id}: field {field} cannot take {value:?}")]
    BadValue {
        /// The entity.
        id: EntityId,
        /// The field index.
        field: u8,
        /// The offending value (after applying a difference).
        value: Value,
    },
}

/// A client's replica.
#[derive(Clone, Debug, Default)]
pub struct Replica {
    kinds: Vec<KindSchema>,
    entities: BTreeMap<EntityId, ReplicaEntity>,
    acks: BTreeMap<PlayerId, InputSeq>,
    tick: Option<Tick>,
}

impl Replica {
    /// An empty replica for a game with these kinds (from the welcome).
    pub fn new(kinds: Vec<KindSchema>) -> Replica {
        Replica {
            kinds,
            ..Replica::default()
        }
    }

    /// The kinds.
    pub fn kinds(&self) -> &[KindSchema] {
        &self.kinds
    }

    /// The tick the replica is at, `None` before the first snapshot (or after corruption).
    pub fn tick(&self) -> Option<Tick> {
        self.tick
    }

    /// Every entity, by id.
    pub fn entities(&self) -> &BTreeMap<EntityId, ReplicaEntity> {
        &self.entities
    }

    /// One entity.
    pub fn get(&self, id: EntityId) -> Option<&ReplicaEntity> {
        self.entities.get(&id)
    }

    /// Every non-zero ack.
    pub fn acks(&self) -> &BTreeMap<PlayerId, InputSeq> {
        &self.acks
    }

    /// One player's ack (0 when unknown).
    pub fn ack(&self, player: PlayerId) -> InputSeq {
        self.acks.get(&player).copied().unwrap_or_default()
    }

    /// The index of the kind named `name`.
    pub fn kind_index(&self, name: &str) -> Option<u16> {
        self.kinds
            .iter()
            .position(|k| k.name == name)
            .map(|i| i as u16)
    }

    /// Entities of one kind.
    pub fn of_kind<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = (EntityId, &'a ReplicaEntity)> + 'a {
        let kind = self.kind_index(name);
        self.entities
            .iter()
            .filter(move |(_, e)| Some(e.kind) == kind)
            .map(|(id, e)| (*id, e))
    }

    /// A field of an entity, by name.
    pub fn field(&self, id: EntityId, name: &str) -> Option<&Value> {
        let e = self.entities.get(&id)?;
        let i = self.kinds.get(usize::from(e.kind))?.field(name)?;
        e.values.get(i)
    }

    /// A numeric field of an entity, by name.
    pub fn int(&self, id: EntityId, name: &str) -> Option<i64> {
        self.field(id, name).and_then(Value::as_int)
    }

    /// Applies a Snapshot or Delta and returns its events; other messages are ignored. On a gap
    /// nothing changes; on any other error the replica is cleared (its tick becomes `None`) and
    /// needs a snapshot.
    pub fn apply(&mut self, msg: &ServerMsg) -> Result<Vec<Event>, ApplyError> {
        match msg {
            ServerMsg::Snapshot {
                tick,
                segments,
                events,
                acks,
            } => {
                self.entities.clear();
                self.acks.clear();
                self.tick = None;
                self.apply_segments(segments, acks)?;
                self.tick = Some(*tick);
                Ok(events.clone())
            }
            ServerMsg::Delta {
                tick,
                base,
                segments,
                events,
                acks,
            } => {
                if self.tick != Some(*base) {
                    return Err(ApplyError::Gap {
                        have: self.tick,
                        need: *base,
                    });
                }
                self.tick = None;
                self.apply_segments(segments, acks)?;
                self.tick = Some(*tick);
                Ok(events.clone())
            }
            _ => Ok(Vec::new()),
        }
    }

    fn apply_segments(&mut self, segments: &[Segment], acks: &Acks) -> Result<(), ApplyError> {
        for id in segments.iter().flat_map(|s| &s.removed) {
            self.entities
                .remove(id)
                .ok_or(ApplyError::UnknownEntity(*id))?;
        }
        for rec in segments.iter().flat_map(|s| &s.changed) {
            let e = self
                .entities
                .get_mut(&rec.id)
                .ok_or(ApplyError::UnknownEntity(rec.id))?;
            let kind = &self.kinds[usize::from(e.kind)];
            for (field, v) in &rec.values {
                let bad = || ApplyError::BadValue {
                    id: rec.id,
                    field: *field,
                    value: v.clone(),
                };
                let schema = kind.fields.get(usize::from(*field)).ok_or_else(bad)?;
                let slot = &mut e.values[usize::from(*field)];
                let next = match (&*slot, v) {
                    (Value::Int(old), Value::Int(d)) => {
                        Value::Int(old.checked_add(*d).ok_or_else(bad)?)
                    }
                    (Value::Text(_), Value::Text(t)) => Value::Text(t.clone()),
                    _ => return Err(bad()),
                };
                if !schema.ty.accepts(&next) {
                    return Err(ApplyError::BadValue {
                        id: rec.id,
                        field: *field,
                        value: next,
                    });
                }
                *slot = next;
            }
        }
        for rec in segments.iter().flat_map(|s| &s.added) {
            let kind = self
                .kinds
                .get(usize::from(rec.kind))
                .ok_or(ApplyError::UnknownKind {
                    id: rec.id,
                    kind: rec.kind,
                })?;
            let mut values = kind.defaults();
            for (field, v) in &rec.values {
                let ok = kind
                    .fields
                    .get(usize::from(*field))
                    .is_some_and(|f| f.ty.accepts(v));
                if !ok {
                    return Err(ApplyError::BadValue {
                        id: rec.id,
                        field: *field,
                        value: v.clone(),
                    });
                }
                values[usize::from(*field)] = v.clone();
            }
            if self.entities.contains_key(&rec.id) {
                return Err(ApplyError::DuplicateEntity(rec.id));
            }
            self.entities.insert(
                rec.id,
                ReplicaEntity {
                    kind: rec.kind,
                    values,
                },
            );
        }
        for p in &acks.stepped {
            let a = self.acks.entry(*p).or_default();
            a.0 = a.0.wrapping_add(1);
        }
        for (p, seq) in &acks.set {
            // An ack of 0 is the same as none (a player that left or restarted numbering).
            if seq.0 == 0 {
                self.acks.remove(p);
            } else {
                self.acks.insert(*p, *seq);
            }
        }
        Ok(())
    }
}
