//! From the world at the end of a tick to the bytes each member receives, without I/O or clocks.
//!
//! Every entity is in one scope. Each tick, [`Replication::step`] diffs the world against the
//! previous tick and encodes **one segment per scope**, once. A member's message is then
//! assembled from these shared, already-encoded segments: for each scope it still sees, that
//! scope's delta segment; for each scope it starts seeing, that scope's keyframe; for each scope it
//! stops seeing, a segment removing that scope's entities. Members that see the same scopes get
//! the very same `Bytes` (with only the everyone scope, one allocation for the whole room).

use crate::game::{AckAudience, Interest, Scope, SpectatorView};
use crate::world::{SpectatorLook, View, World};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use tickroom_shared::protocol::{write_array_len, write_delta_head, write_snapshot_head};
use tickroom_shared::{Acks, EntityId, InputSeq, PlayerId, Record, Segment, Tick, Value};

/// A scope as the engine keys it: spatial positions become cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKey {
    /// Every member.
    All,
    /// A group.
    Group(u32),
    /// One player.
    Player(PlayerId),
    /// A spatial cell.
    Cell(i32, i32),
}

impl ScopeKey {
    /// The key of a game's scope.
    pub fn of(scope: Scope, interest: Option<Interest>) -> ScopeKey {
        match scope {
            Scope::All => ScopeKey::All,
            Scope::Group(g) => ScopeKey::Group(g),
            Scope::Player(p) => ScopeKey::Player(p),
            Scope::At(x, y) => {
                let (cx, cy) = cell(x, y, interest);
                ScopeKey::Cell(cx, cy)
            }
        }
    }
}

fn cell(x: f32, y: f32, interest: Option<Interest>) -> (i32, i32) {
    let size = interest.map_or(1.0, |i| i.cell_size).max(f32::MIN_POSITIVE);
    // `as` saturates, and NaN becomes 0: a bad position lands in some cell, never a panic.
    ((x / size).floor() as i32, (y / size).floor() as i32)
}

/// The scopes `player` sees, sorted: everyone's, its own, its groups', and the cells around its
/// view.
pub fn visible(player: PlayerId, view: Option<&View>, interest: Option<Interest>) -> Vec<ScopeKey> {
    let mut keys = vec![ScopeKey::All, ScopeKey::Player(player)];
    if let Some(view) = view {
        keys.extend(view.groups.iter().map(|g| ScopeKey::Group(*g)));
        if let (Some((x, y)), Some(i)) = (view.at, interest) {
            let (cx, cy) = cell(x, y, Some(i));
            let r = i.radius as i32;
            for dx in -r..=r {
                for dy in -r..=r {
                    keys.push(ScopeKey::Cell(cx.saturating_add(dx), cy.saturating_add(dy)));
                }
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The scopes spectators see, sorted: everyone's, the groups the game shows them, and the cells
/// of their view (`occupied`: the scopes that hold an entity now, for
/// [`SpectatorView::Everywhere`]). Never a player's own scope.
pub fn spectator_visible(
    look: &SpectatorLook,
    interest: Option<Interest>,
    occupied: impl Iterator<Item = ScopeKey>,
) -> Vec<ScopeKey> {
    let mut keys = vec![ScopeKey::All];
    keys.extend(look.groups.iter().map(|g| ScopeKey::Group(*g)));
    match (look.view, interest) {
        (SpectatorView::Everywhere, _) => {
            keys.extend(occupied.filter(|k| matches!(k, ScopeKey::Cell(..))));
        }
        (SpectatorView::At(x, y), Some(i)) => {
            let (cx, cy) = cell(x, y, Some(i));
            let r = i.radius as i32;
            for dx in -r..=r {
                for dy in -r..=r {
                    keys.push(ScopeKey::Cell(cx.saturating_add(dx), cy.saturating_add(dy)));
                }
            }
        }
        (SpectatorView::At(..), None) | (SpectatorView::Nowhere, _) => {}
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The player whose own scope is among `scopes` (a player sees exactly one; a spectator none).
fn own_player(scopes: &[ScopeKey]) -> Option<PlayerId> {
    scopes.iter().find_map(|k| match k {
        ScopeKey::Player(p) => Some(*p),
        _ => None,
    })
}

#[derive(Clone, Debug, PartialEq)]
struct EntityState {
    kind: u16,
    key: ScopeKey,
    values: Vec<Value>,
    /// The last tick the world held it: an entity not seen at a step was despawned.
    seen: Tick,
}

/// One room's replication state.
pub struct Replication {
    interest: Option<Interest>,
    tick: Tick,
    /// The world at `tick`.
    now: BTreeMap<EntityId, EntityState>,
    now_by_scope: BTreeMap<ScopeKey, Vec<EntityId>>,
    /// Scope membership at the tick before, for the segments of members who stop seeing a scope.
    before_by_scope: BTreeMap<ScopeKey, Vec<EntityId>>,
    /// This tick's delta segments, non-empty ones only.
    segments: BTreeMap<ScopeKey, Bytes>,
    keyframes: HashMap<ScopeKey, Bytes>,
    leaves: HashMap<ScopeKey, Bytes>,
    /// Events of recent ticks, in emission order, for snapshots after a skipped delta.
    events: VecDeque<(Tick, ScopeKey, Bytes)>,
    /// How many ticks of events to keep.
    event_ticks: u64,
    acks: BTreeMap<PlayerId, InputSeq>,
    acks_delta: Bytes,
    acks_full: Bytes,
    /// Each member gets only its own player's ack ([`AckAudience::OwnPlayer`]).
    own_acks: bool,
    /// With `own_acks`: the acks of each player whose ack moved this tick, as that player's
    /// Deltas carry them (encoded once per tick, not per message).
    own_acks_delta: HashMap<PlayerId, Bytes>,
    /// Acks naming nobody, for members whose own ack did not move (and spectators).
    no_acks: Bytes,
    /// This tick's assembled Deltas by `back`, scopes before and scopes now: members that see
    /// the same get the same `Bytes`. Nested so that a lookup borrows slices (no allocation for
    /// the common case, a hit).
    messages: HashMap<u64, Cached>,
}

type Cached = HashMap<Vec<ScopeKey>, HashMap<Vec<ScopeKey>, Bytes>>;

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Our own segments and acks always encode; an empty buffer would be caught by every test.
    tickroom_shared::encode(value).unwrap_or_default()
}

/// Encodes one record of added fields (defaults left out).
fn full_record(id: EntityId, e: &EntityState) -> Record {
    Record {
        id,
        kind: e.kind,
        values: e
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_default())
            .map(|(i, v)| (i as u8, v.clone()))
            .collect(),
    }
}

fn changed_record(id: EntityId, kind: u16, old: &[Value], new: &[Value]) -> Option<Record> {
    if old == new {
        return None;
    }
    let values: Vec<(u8, Value)> = old
        .iter()
        .zip(new)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| {
            let v = match (a, b) {
                (Value::Int(a), Value::Int(b)) => Value::Int(b - a),
                (_, b) => b.clone(),
            };
            (i as u8, v)
        })
        .collect();
    (!values.is_empty()).then_some(Record { id, kind, values })
}

impl Replication {
    /// Replication for a room; events are kept `event_ticks` ticks for members that fall behind;
    /// each player's ack goes to `acks`.
    pub fn new(interest: Option<Interest>, event_ticks: u64, acks: AckAudience) -> Replication {
        Replication {
            interest,
            tick: Tick(0),
            now: BTreeMap::new(),
            now_by_scope: BTreeMap::new(),
            before_by_scope: BTreeMap::new(),
            segments: BTreeMap::new(),
            keyframes: HashMap::new(),
            leaves: HashMap::new(),
            events: VecDeque::new(),
            event_ticks: event_ticks.max(1),
            acks: BTreeMap::new(),
            acks_delta: Bytes::new(),
            acks_full: Bytes::new(),
            own_acks: acks == AckAudience::OwnPlayer,
            own_acks_delta: HashMap::new(),
            no_acks: Bytes::from(encode(&Acks::default())),
            messages: HashMap::new(),
        }
    }

    /// The tick last stepped.
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// The spatial interest in use.
    pub fn interest(&self) -> Option<Interest> {
        self.interest
    }

    /// Diffs `world` against the previous tick, encodes each scope's segment once, and records
    /// this tick's events and acks. Returns true when anything changed (entities, events, acks).
    pub fn step(
        &mut self,
        tick: Tick,
        world: &World,
        events: Vec<(Scope, Vec<u8>)>,
        acks: &BTreeMap<PlayerId, InputSeq>,
    ) -> bool {
        let mut next_by_scope: BTreeMap<ScopeKey, Vec<EntityId>> = BTreeMap::new();
        let mut segs: BTreeMap<ScopeKey, Segment> = BTreeMap::new();
        let interest = self.interest;
        let now = &mut self.now;
        // The previous tick's state is updated in place: an entity's values are copied only
        // when they changed, so a still world allocates nothing here.
        world.visit(|id, kind, scope, values| {
            let key = ScopeKey::of(scope, interest);
            next_by_scope.entry(key).or_default().push(id);
            match now.entry(id) {
                std::collections::btree_map::Entry::Occupied(mut entry) => {
                    let old = entry.get_mut();
                    old.seen = tick;
                    if old.key == key && old.kind == kind {
                        if let Some(rec) = changed_record(id, kind, &old.values, values) {
                            segs.entry(key).or_default().changed.push(rec);
                            old.values.clear();
                            old.values.extend_from_slice(values);
                        }
                    } else {
                        segs.entry(old.key).or_default().removed.push(id);
                        old.key = key;
                        old.kind = kind;
                        old.values.clear();
                        old.values.extend_from_slice(values);
                        segs.entry(key)
                            .or_default()
                            .added
                            .push(full_record(id, old));
                    }
                }
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let new = entry.insert(EntityState {
                        kind,
                        key,
                        values: values.to_vec(),
                        seen: tick,
                    });
                    segs.entry(key)
                        .or_default()
                        .added
                        .push(full_record(id, new));
                }
            }
        });
        now.retain(|id, e| {
            if e.seen != tick {
                segs.entry(e.key).or_default().removed.push(*id);
            }
            e.seen == tick
        });
        self.segments = segs
            .into_iter()
            .map(|(k, s)| (k, Bytes::from(encode(&s))))
            .collect();
        self.before_by_scope = std::mem::replace(&mut self.now_by_scope, next_by_scope);
        self.keyframes.clear();
        self.leaves.clear();
        self.messages.clear();
        self.tick = tick;
        let had_events = !events.is_empty();
        for (scope, bytes) in events {
            let key = ScopeKey::of(scope, self.interest);
            self.events.push_back((tick, key, Bytes::from(bytes)));
        }
        while self
            .events
            .front()
            .is_some_and(|(t, _, _)| t.0 + self.event_ticks <= tick.0)
        {
            self.events.pop_front();
        }
        let mut delta = Acks::default();
        for (p, seq) in acks {
            let old = self.acks.get(p).copied().unwrap_or_default();
            if *seq == old {
                continue;
            }
            if seq.0 == old.0.wrapping_add(1) {
                delta.stepped.push(*p);
            } else {
                delta.set.push((*p, *seq));
            }
        }
        for p in self.acks.keys() {
            if !acks.contains_key(p) {
                delta.set.push((*p, InputSeq(0)));
            }
        }
        let acks_changed = !delta.is_empty();
        if self.own_acks {
            self.own_acks_delta.clear();
            for p in &delta.stepped {
                // A bit of the bitmap costs p / 8 + 1 bytes: beyond 64 players a pair is shorter.
                let own = if p.0 < 64 {
                    Acks {
                        stepped: vec![*p],
                        set: Vec::new(),
                    }
                } else {
                    let seq = acks.get(p).copied().unwrap_or_default();
                    Acks {
                        stepped: Vec::new(),
                        set: vec![(*p, seq)],
                    }
                };
                self.own_acks_delta.insert(*p, Bytes::from(encode(&own)));
            }
            for (p, seq) in &delta.set {
                let own = Acks {
                    stepped: Vec::new(),
                    set: vec![(*p, *seq)],
                };
                self.own_acks_delta.insert(*p, Bytes::from(encode(&own)));
            }
        }
        self.acks_delta = Bytes::from(encode(&delta));
        self.acks = acks
            .iter()
            .filter(|(_, s)| s.0 != 0)
            .map(|(p, s)| (*p, *s))
            .collect();
        let full = Acks {
            stepped: Vec::new(),
            set: self.acks.iter().map(|(p, s)| (*p, *s)).collect(),
        };
        self.acks_full = Bytes::from(encode(&full));
        !self.segments.is_empty() || had_events || acks_changed
    }

    fn keyframe(&mut self, key: ScopeKey) -> Option<Bytes> {
        let ids = self.now_by_scope.get(&key)?;
        if let Some(b) = self.keyframes.get(&key) {
            return Some(b.clone());
        }
        let seg = Segment {
            added: ids
                .iter()
                .filter_map(|id| Some(full_record(*id, self.now.get(id)?)))
                .collect(),
            ..Segment::default()
        };
        let bytes = Bytes::from(encode(&seg));
        self.keyframes.insert(key, bytes.clone());
        Some(bytes)
    }

    fn leave(&mut self, key: ScopeKey) -> Option<Bytes> {
        let ids = self.before_by_scope.get(&key)?;
        if let Some(b) = self.leaves.get(&key) {
            return Some(b.clone());
        }
        let seg = Segment {
            removed: ids.clone(),
            ..Segment::default()
        };
        let bytes = Bytes::from(encode(&seg));
        self.leaves.insert(key, bytes.clone());
        Some(bytes)
    }

    /// The events after tick `since` for a member that sees `now`, in emission order. The log
    /// is in tick order, so only its tail is read (this runs for every member every tick).
    fn events_after(&self, since: Tick, now: &[ScopeKey]) -> Vec<&Bytes> {
        let start = self.events.partition_point(|(t, _, _)| *t <= since);
        self.events
            .range(start..)
            .filter(|(_, k, _)| now.contains(k))
            .map(|(_, _, b)| b)
            .collect()
    }

    /// The Delta for a member that saw `before` at the previous delivered tick (`back` ticks
    /// ago, with nothing changed in between) and sees `now`.
    pub fn delta(&mut self, back: u64, before: &[ScopeKey], now: &[ScopeKey]) -> Bytes {
        // A player's scopes include its own, so no other member sees the same: caching its
        // message would cost two hashed lookups and two copies of the lists for nothing. Members
        // without a player scope (spectators) share theirs.
        let own = own_player(now);
        let shared = own.is_none();
        let hit = shared
            .then(|| {
                self.messages
                    .get(&back)
                    .and_then(|m| m.get(before))
                    .and_then(|m| m.get(now))
            })
            .flatten();
        if let Some(b) = hit {
            return b.clone();
        }
        let mut parts: Vec<Bytes> = Vec::new();
        for k in before.iter().filter(|k| !now.contains(k)) {
            parts.extend(self.leave(*k));
        }
        for k in now {
            if before.contains(k) {
                parts.extend(self.segments.get(k).cloned());
            } else {
                parts.extend(self.keyframe(*k));
            }
        }
        let tick = self.tick;
        let events = self.events_after(Tick(tick.0.saturating_sub(1)), now);
        let mut out = Vec::with_capacity(
            16 + parts.iter().map(Bytes::len).sum::<usize>()
                + events.iter().map(|b| b.len()).sum::<usize>()
                + self.acks_delta.len(),
        );
        write_delta_head(&mut out, tick, back, parts.len() as u32);
        for p in &parts {
            out.extend_from_slice(p);
        }
        write_array_len(&mut out, events.len() as u32);
        for e in events {
            out.extend_from_slice(e);
        }
        let acks = if self.own_acks {
            // Only the member's own player (the one player scope it sees): nothing for a
            // spectator, nothing for a player whose ack did not move.
            own.and_then(|p| self.own_acks_delta.get(&p))
                .unwrap_or(&self.no_acks)
        } else {
            &self.acks_delta
        };
        out.extend_from_slice(acks);
        let bytes = Bytes::from(out);
        if shared {
            self.messages
                .entry(back)
                .or_default()
                .entry(before.to_vec())
                .or_default()
                .insert(now.to_vec(), bytes.clone());
        }
        bytes
    }

    /// A Snapshot of what a member sees, with the events after `since` (this tick's only when
    /// `None`).
    pub fn snapshot(&mut self, now: &[ScopeKey], since: Option<Tick>) -> Bytes {
        let parts: Vec<Bytes> = now.iter().filter_map(|k| self.keyframe(*k)).collect();
        let since = since.unwrap_or(Tick(self.tick.0.saturating_sub(1)));
        let events = self.events_after(since, now);
        let mut out = Vec::new();
        write_snapshot_head(&mut out, self.tick, parts.len() as u32);
        for p in &parts {
            out.extend_from_slice(p);
        }
        write_array_len(&mut out, events.len() as u32);
        for e in events {
            out.extend_from_slice(e);
        }
        if self.own_acks {
            let set = own_player(now)
                .and_then(|p| Some((p, *self.acks.get(&p)?)))
                .into_iter()
                .collect();
            out.extend_from_slice(&encode(&Acks {
                stepped: Vec::new(),
                set,
            }));
        } else {
            out.extend_from_slice(&self.acks_full);
        }
        Bytes::from(out)
    }

    /// Every scope that holds an entity now or got an event this tick (unsorted, may repeat):
    /// what a spectator who sees everywhere must see.
    pub fn occupied(&self) -> impl Iterator<Item = ScopeKey> + '_ {
        let entities = self
            .now_by_scope
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(k, _)| *k);
        let events = self
            .events
            .iter()
            .rev()
            .take_while(|(tick, ..)| *tick == self.tick)
            .map(|(_, k, _)| *k);
        entities.chain(events)
    }

    /// Entities per scope at the current tick (for metrics and tests).
    pub fn scope_sizes(&self) -> BTreeMap<ScopeKey, usize> {
        self.now_by_scope
            .iter()
            .map(|(k, v)| (*k, v.len()))
            .collect()
    }
}
