//! The replicated world a game changes through [`crate::Ctx`]: typed entities with engine-owned
//! ids and scopes, plus what a tick sends besides entities (events, views, room lifecycle).
//!
//! Pure data: no I/O, no clock. The engine reads it at the end of each tick to compute segments
//! (see [`crate::replication`]).

use crate::game::Scope;
use crate::replicate::{Replicate, Value};
use serde::Serialize;
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use tickroom_shared::{EntityId, KindSchema, PlayerId, Tick};

/// How many ticks a freed entity id waits before it is handed out again, so a client never mixes
/// up an old entity with a new one of the same id.
const ID_REUSE_DELAY: u64 = 60;

/// A declared kind: its schema and Rust type.
pub(crate) struct KindEntry {
    pub(crate) schema: KindSchema,
    type_id: TypeId,
}

impl KindEntry {
    pub(crate) fn of<T: Replicate>() -> Result<KindEntry, String> {
        let fields = T::fields()?;
        if fields.len() > tickroom_shared::MAX_FIELDS {
            return Err(format!("kind {} has more than 32 fields", T::KIND));
        }
        Ok(KindEntry {
            schema: KindSchema {
                name: T::KIND.to_owned(),
                fields,
            },
            type_id: TypeId::of::<T>(),
        })
    }
}

trait AnyEntity: Any + Send {
    fn write(&self, out: &mut Vec<Value>);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Replicate> AnyEntity for T {
    fn write(&self, out: &mut Vec<Value>) {
        Replicate::write(self, out);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

struct Slot {
    kind: u16,
    scope: Scope,
    value: Box<dyn AnyEntity>,
}

/// The entities of one room.
pub struct World {
    kinds: Vec<KindEntry>,
    entities: BTreeMap<EntityId, Slot>,
    next_id: u32,
    /// Freed ids and the tick they were freed at.
    free: VecDeque<(EntityId, Tick)>,
}

impl World {
    pub(crate) fn new(kinds: Vec<KindEntry>) -> World {
        World {
            kinds,
            entities: BTreeMap::new(),
            next_id: 1,
            free: VecDeque::new(),
        }
    }

    /// The declared kinds, in wire order.
    pub fn schemas(&self) -> Vec<KindSchema> {
        self.kinds.iter().map(|k| k.schema.clone()).collect()
    }

    fn kind_of<T: Replicate>(&self) -> Option<u16> {
        let id = TypeId::of::<T>();
        self.kinds
            .iter()
            .position(|k| k.type_id == id)
            .map(|i| i as u16)
    }

    pub(crate) fn spawn<T: Replicate>(&mut self, scope: Scope, value: T, now: Tick) -> EntityId {
        let Some(kind) = self.kind_of::<T>() else {
            panic!(
                "spawn of kind {} which Game::kinds did not declare",
                T::KIND
            );
        };
        let id = match self.free.front() {
            Some((id, at)) if now.0 >= at.0 + ID_REUSE_DELAY => {
                let id = *id;
                self.free.pop_front();
                id
            }
            _ => {
                let id = EntityId(self.next_id);
                self.next_id = self
                    .next_id
                    .checked_add(1)
                    .expect("a room spawned 4 billion entities at once");
                id
            }
        };
        self.entities.insert(
            id,
            Slot {
                kind,
                scope,
                value: Box::new(value),
            },
        );
        id
    }

    pub(crate) fn despawn(&mut self, id: EntityId, now: Tick) -> bool {
        let gone = self.entities.remove(&id).is_some();
        if gone {
            self.free.push_back((id, now));
        }
        gone
    }

    pub(crate) fn get<T: Replicate>(&self, id: EntityId) -> Option<&T> {
        self.entities.get(&id)?.value.as_any().downcast_ref()
    }

    pub(crate) fn get_mut<T: Replicate>(&mut self, id: EntityId) -> Option<&mut T> {
        self.entities
            .get_mut(&id)?
            .value
            .as_any_mut()
            .downcast_mut()
    }

    pub(crate) fn iter<T: Replicate>(&self) -> impl Iterator<Item = (EntityId, &T)> {
        let kind = self.kind_of::<T>();
        self.entities
            .iter()
            .filter(move |(_, s)| Some(s.kind) == kind)
            .filter_map(|(id, s)| Some((*id, s.value.as_any().downcast_ref::<T>()?)))
    }

    pub(crate) fn iter_mut<T: Replicate>(&mut self) -> impl Iterator<Item = (EntityId, &mut T)> {
        let kind = self.kind_of::<T>();
        self.entities
            .iter_mut()
            .filter(move |(_, s)| Some(s.kind) == kind)
            .filter_map(|(id, s)| Some((*id, s.value.as_any_mut().downcast_mut::<T>()?)))
    }

    pub(crate) fn scope(&self, id: EntityId) -> Option<Scope> {
        self.entities.get(&id).map(|s| s.scope)
    }

    pub(crate) fn set_scope(&mut self, id: EntityId, scope: Scope) {
        if let Some(s) = self.entities.get_mut(&id) {
            s.scope = scope;
        }
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// True when there are no entities.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Visits every entity: id, kind, scope and wire values (written into a reused buffer).
    pub(crate) fn visit(&self, mut f: impl FnMut(EntityId, u16, Scope, &[Value])) {
        let mut buf = Vec::new();
        for (id, slot) in &self.entities {
            buf.clear();
            slot.value.write(&mut buf);
            f(*id, slot.kind, slot.scope, &buf);
        }
    }
}

/// Room lifecycle set by the game.
#[derive(Clone, Debug, Default)]
pub struct RoomControl {
    /// No joins.
    pub locked: bool,
    /// Pairs for `/api/rooms` and quick match filters.
    pub metadata: BTreeMap<String, String>,
    /// Seats in this room, when the game chose fewer than its [`crate::GameInfo::capacity`].
    pub capacity: Option<u32>,
    /// Set when the game ended the room, with its result.
    pub ended: Option<rmpv::Value>,
    /// Lock, metadata or capacity changed since the lobby was last told.
    pub changed: bool,
}

/// What a player sees besides everyone's scope and its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    /// Groups the player is in.
    pub groups: BTreeSet<u32>,
    /// Where it looks, for spatial scopes.
    pub at: Option<(f32, f32)>,
}

/// What the game shows spectators besides everyone's scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpectatorLook {
    /// Which cells.
    pub view: crate::game::SpectatorView,
    /// Which groups.
    pub groups: BTreeSet<u32>,
}

/// What a game produced besides entities: events, views, room control.
#[derive(Default)]
pub struct Outbox {
    /// Events of the tick being computed, in emission order: scope and encoded `[name, payload]`.
    pub(crate) events: Vec<(Scope, Vec<u8>)>,
    pub(crate) views: BTreeMap<PlayerId, View>,
    pub(crate) spectators: SpectatorLook,
    pub(crate) room: RoomControl,
}

/// Encodes a value with field names (structs become maps) and reads it back as a value.
pub(crate) fn named_value<T: Serialize + ?Sized>(value: &T) -> rmpv::Value {
    rmp_serde::to_vec_named(value)
        .ok()
        .and_then(|bytes| rmpv::decode::read_value(&mut bytes.as_slice()).ok())
        .unwrap_or(rmpv::Value::Nil)
}

impl Outbox {
    pub(crate) fn emit<E: Serialize>(&mut self, to: Scope, name: &str, payload: &E) {
        let mut bytes = Vec::with_capacity(32);
        // Writing to a Vec cannot fail.
        let _ = rmp::encode::write_array_len(&mut bytes, 2);
        let _ = rmp::encode::write_str(&mut bytes, name);
        let head = bytes.len();
        if rmp_serde::encode::write_named(&mut bytes, payload).is_err() {
            // A payload serde cannot encode becomes nil (whatever it wrote is dropped).
            bytes.truncate(head);
            let _ = rmp::encode::write_nil(&mut bytes);
        }
        self.events.push((to, bytes));
    }

    pub(crate) fn set_view(&mut self, player: PlayerId, at: Option<(f32, f32)>) {
        self.views.entry(player).or_default().at = at;
    }

    pub(crate) fn join_group(&mut self, player: PlayerId, group: u32) {
        self.views.entry(player).or_default().groups.insert(group);
    }

    pub(crate) fn leave_group(&mut self, player: PlayerId, group: u32) {
        if let Some(v) = self.views.get_mut(&player) {
            v.groups.remove(&group);
        }
    }

    pub(crate) fn view(&self, player: PlayerId) -> Option<&View> {
        self.views.get(&player)
    }

    pub(crate) fn forget(&mut self, player: PlayerId) {
        self.views.remove(&player);
    }
}
