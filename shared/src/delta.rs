//! The delta model: segments of entity records, acks and events, and their exact wire form.
//!
//! The server keeps every entity in one scope and encodes one [`Segment`] per scope per tick; a
//! client's tick message is a list of segments (plus events and acks) that it applies as one:
//! every removal first, then every change, then every addition, so an entity that moved from one
//! scope to another within a tick is removed by one segment and added by the other.
//!
//! # Flat record lists
//! `added` is one flat array of records `id, kind, mask, v...`, `changed` one of `id, mask, v...`:
//! bit `i` of `mask` says field `i` is present and `popcount(mask)` values follow in field order.
//! Flat because it spares one array header per entity; in `changed`, numbers are differences so a
//! moving player's coordinates fit one MessagePack byte each.

use crate::ids::{EntityId, InputSeq, PlayerId};
use crate::schema::Value;
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One entity in a segment: in `added`, its kind and non-default fields; in `changed`, the
/// fields that changed (numbers as differences, texts whole).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// The entity.
    pub id: EntityId,
    /// Its kind (index into the welcome's kinds); only on the wire in `added`.
    pub kind: u16,
    /// `(field index, value)`, in increasing field order.
    pub values: Vec<(u8, Value)>,
}

impl Record {
    /// The presence mask of [`Record::values`].
    pub fn mask(&self) -> u32 {
        self.values.iter().fold(0, |m, (i, _)| m | (1u32 << i))
    }
}

/// The changes of one scope from one tick to the next (or, as a keyframe, all of its entities in
/// `added`; or, when a client stops seeing the scope, all of them in `removed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Entities that left the scope.
    pub removed: Vec<EntityId>,
    /// Entities whose fields changed.
    pub changed: Vec<Record>,
    /// Entities that entered the scope, with their full state.
    pub added: Vec<Record>,
}

impl Segment {
    /// True when the segment carries nothing.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.changed.is_empty() && self.added.is_empty()
    }
}

/// Input acknowledgements: which players' last applied input `seq` moved, and to what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acks {
    /// Players whose ack grew by exactly one (a bit each on the wire).
    pub stepped: Vec<PlayerId>,
    /// Players whose ack is given outright.
    pub set: Vec<(PlayerId, InputSeq)>,
}

impl Acks {
    /// True when no ack moved.
    pub fn is_empty(&self) -> bool {
        self.stepped.is_empty() && self.set.is_empty()
    }

    /// The bitset of [`Acks::stepped`]: bit `p % 8` of byte `p / 8`.
    pub fn bits(&self) -> Vec<u8> {
        let len = self
            .stepped
            .iter()
            .map(|p| p.0 as usize / 8 + 1)
            .max()
            .unwrap_or(0);
        let mut bits = vec![0u8; len];
        for p in &self.stepped {
            bits[p.0 as usize / 8] |= 1 << (p.0 % 8);
        }
        bits
    }
}

/// A one-shot message from the game: `[name, payload]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// What happened (`hit`, `your_turn`).
    pub name: String,
    /// Game-defined detail.
    pub payload: rmpv::Value,
}

// ----- Serialization -----

struct Flat<'a> {
    records: &'a [Record],
    with_kind: bool,
}

impl Serialize for Flat<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let per = if self.with_kind { 3 } else { 2 };
        let len: usize = self.records.iter().map(|r| per + r.values.len()).sum();
        let mut seq = s.serialize_seq(Some(len))?;
        for r in self.records {
            seq.serialize_element(&r.id)?;
            if self.with_kind {
                seq.serialize_element(&r.kind)?;
            }
            seq.serialize_element(&r.mask())?;
            for (_, v) in &r.values {
                seq.serialize_element(v)?;
            }
        }
        seq.end()
    }
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            &self.removed,
            Flat {
                records: &self.changed,
                with_kind: false,
            },
            Flat {
                records: &self.added,
                with_kind: true,
            },
        )
            .serialize(s)
    }
}

/// Parses a flat record list (values already read as [`Value`]s).
fn parse_flat<E: de::Error>(items: Vec<Value>, with_kind: bool) -> Result<Vec<Record>, E> {
    let mut out = Vec::new();
    let mut it = items.into_iter();
    let int = |v: Option<Value>, what: &'static str| -> Result<i64, E> {
        match v {
            Some(Value::Int(i)) => Ok(i),
            Some(Value::Text(_)) => Err(E::custom(format!("record {what} is a string"))),
            None => Err(E::custom(format!("record cut short before its {what}"))),
        }
    };
    while let Some(first) = it.next() {
        let id = int(Some(first), "id")?;
        let id = u32::try_from(id).map_err(|_| E::custom("record id out of range"))?;
        let kind = if with_kind {
            u16::try_from(int(it.next(), "kind")?).map_err(|_| E::custom("kind out of range"))?
        } else {
            0
        };
        let mask =
            u32::try_from(int(it.next(), "mask")?).map_err(|_| E::custom("mask out of range"))?;
        let mut values = Vec::with_capacity(mask.count_ones() as usize);
        for bit in 0..32u8 {
            if mask & (1 << bit) != 0 {
                let v = it
                    .next()
                    .ok_or_else(|| E::custom("record cut short in its values"))?;
                values.push((bit, v));
            }
        }
        out.push(Record {
            id: EntityId(id),
            kind,
            values,
        });
    }
    Ok(out)
}

impl<'de> Deserialize<'de> for Segment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Segment;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a segment [removed, changed, added]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Segment, A::Error> {
                const W: &str = "a segment [removed, changed, added]";
                let removed: Vec<EntityId> = crate::protocol::next_field(&mut seq, W, 0)?;
                let changed: Vec<Value> = crate::protocol::next_field(&mut seq, W, 1)?;
                let added: Vec<Value> = crate::protocol::next_field(&mut seq, W, 2)?;
                crate::protocol::end_of_array(seq, W, 3)?;
                Ok(Segment {
                    removed,
                    changed: parse_flat(changed, false)?,
                    added: parse_flat(added, true)?,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

struct Bits<'a>(&'a [u8]);

impl Serialize for Bits<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

struct PairList<'a>(&'a [(PlayerId, InputSeq)]);

impl Serialize for PairList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len() * 2))?;
        for (p, q) in self.0 {
            seq.serialize_element(p)?;
            seq.serialize_element(q)?;
        }
        seq.end()
    }
}

impl Serialize for Acks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Bits(&self.bits()), PairList(&self.set)).serialize(s)
    }
}

/// A MessagePack `bin` (a `str` or an array is refused).
struct BinBuf(Vec<u8>);

impl<'de> Deserialize<'de> for BinBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = BinBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a bin")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<BinBuf, E> {
                Ok(BinBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<BinBuf, E> {
                Ok(BinBuf(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (bits, pairs): (BinBuf, Vec<u32>) = Deserialize::deserialize(d)?;
        if pairs.len() % 2 != 0 {
            return Err(de::Error::custom("acks: odd number of elements in set"));
        }
        let mut stepped = Vec::new();
        for (byte, b) in bits.0.iter().enumerate() {
            for bit in 0..8 {
                if b & (1 << bit) != 0 {
                    stepped.push(PlayerId(byte as u32 * 8 + bit));
                }
            }
        }
        let set = pairs
            .chunks(2)
            .map(|c| (PlayerId(c[0]), InputSeq(c[1])))
            .collect();
        Ok(Acks { stepped, set })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.name, &self.payload).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (name, payload): (crate::protocol::Str, rmpv::Value) = Deserialize::deserialize(d)?;
        Ok(Event {
            name: name.0,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_round_trips_with_text_and_negative_values() {
        let seg = Segment {
            removed: vec![EntityId(9)],
            changed: vec![Record {
                id: EntityId(3),
                kind: 0,
                values: vec![(0, Value::Int(-27)), (4, Value::Text("bo".into()))],
            }],
            added: vec![Record {
                id: EntityId(5),
                kind: 1,
                values: vec![(1, Value::Int(4000))],
            }],
        };
        let bytes = rmp_serde::to_vec(&seg).unwrap();
        let back: Segment = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, seg);
    }

    #[test]
    fn acks_use_a_bitset() {
        let acks = Acks {
            stepped: vec![PlayerId(1), PlayerId(9)],
            set: vec![(PlayerId(2), InputSeq(300))],
        };
        assert_eq!(acks.bits(), vec![0b10, 0b10]);
        let bytes = rmp_serde::to_vec(&acks).unwrap();
        let back: Acks = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, acks);
    }

    #[test]
    fn truncated_records_are_refused() {
        // changed = [3, 0b101, 1]: mask says two values, one follows.
        let bytes =
            rmp_serde::to_vec(&(Vec::<u32>::new(), vec![3, 5, 1], Vec::<u32>::new())).unwrap();
        assert!(rmp_serde::from_slice::<Segment>(&bytes).is_err());
    }
}
