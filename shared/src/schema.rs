//! Entity kinds and their typed fields: what a game declares and the welcome sends.
//!
//! A game declares each entity kind once (field names, types, quantisation); the engine turns
//! every field into a wire [`Value`]: an integer for numbers, bools, enums and quantised floats,
//! a string for text. Integers because an integer difference applied to an integer replica is
//! exact: a client that applies every delta holds exactly the server's state, with no drift.
//!
//! Wire form of a kind (in the welcome): `[name, [[field, type, param], ...]]`, see `PROTOCOL.md`.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Most fields one kind may have: the presence mask is a `u32`.
pub const MAX_FIELDS: usize = 32;

/// One field value as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Integers, bools (0/1), enum indices and quantised floats.
    Int(i64),
    /// Text fields.
    Text(String),
}

impl Default for Value {
    fn default() -> Self {
        Value::Int(0)
    }
}

impl Value {
    /// The integer, or `None` for text.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::Text(_) => None,
        }
    }

    /// The text, or `None` for an integer.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            Value::Int(_) => None,
        }
    }

    /// True for the default of either form (0 or the empty text): such fields are left out of
    /// added records.
    pub fn is_default(&self) -> bool {
        match self {
            Value::Int(v) => *v == 0,
            Value::Text(s) => s.is_empty(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(v) => s.serialize_i64(*v),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                i64::try_from(v)
                    .map(Value::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The type of a field, with its parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// A boolean, 0 or 1 on the wire.
    Bool,
    /// One of these variants, by index.
    Enum(Vec<String>),
    /// A number quantised to this step: the wire integer `q` means `q * step`.
    Float(f64),
    /// A text of at most this many bytes of UTF-8.
    Text(u16),
}

impl FieldType {
    /// Name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::I8 => "i8",
            FieldType::I16 => "i16",
            FieldType::I32 => "i32",
            FieldType::U8 => "u8",
            FieldType::U16 => "u16",
            FieldType::U32 => "u32",
            FieldType::Bool => "bool",
            FieldType::Enum(_) => "enum",
            FieldType::Float(_) => "float",
            FieldType::Text(_) => "text",
        }
    }

    /// The value every field starts with: 0, false, the first variant, 0.0 or "".
    pub fn default_value(&self) -> Value {
        match self {
            FieldType::Text(_) => Value::Text(String::new()),
            _ => Value::Int(0),
        }
    }

    /// The integer range a value of this type keeps on the wire (`None` for text).
    pub fn range(&self) -> Option<(i64, i64)> {
        Some(match self {
            FieldType::I8 => (i8::MIN.into(), i8::MAX.into()),
            FieldType::I16 => (i16::MIN.into(), i16::MAX.into()),
            FieldType::I32 | FieldType::Float(_) => (i32::MIN.into(), i32::MAX.into()),
            FieldType::U8 => (0, u8::MAX.into()),
            FieldType::U16 => (0, u16::MAX.into()),
            FieldType::U32 => (0, u32::MAX.into()),
            FieldType::Bool => (0, 1),
            FieldType::Enum(v) => (0, v.len().saturating_sub(1) as i64),
            FieldType::Text(_) => return None,
        })
    }

    /// True when `value` is of this type and within its range.
    pub fn accepts(&self, value: &Value) -> bool {
        match (self, value) {
            (FieldType::Text(max), Value::Text(t)) => t.len() <= usize::from(*max),
            (FieldType::Text(_), Value::Int(_)) | (_, Value::Text(_)) => false,
            (ty, Value::Int(v)) => ty.range().is_some_and(|(lo, hi)| (lo..=hi).contains(v)),
        }
    }
}

/// One declared field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSchema {
    /// Its name, unique within the kind.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
}

/// One entity kind: a name and its fields, in wire order.
#[derive(Clone, Debug, PartialEq)]
pub struct KindSchema {
    /// Its name, unique within the game.
    pub name: String,
    /// Its fields (at most [`MAX_FIELDS`]).
    pub fields: Vec<FieldSchema>,
}

impl KindSchema {
    /// The index of the field named `name`.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Every field at its default.
    pub fn defaults(&self) -> Vec<Value> {
        self.fields.iter().map(|f| f.ty.default_value()).collect()
    }
}

impl Serialize for FieldSchema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.name)?;
        t.serialize_element(self.ty.name())?;
        match &self.ty {
            FieldType::Enum(variants) => t.serialize_element(variants)?,
            FieldType::Float(step) => t.serialize_element(step)?,
            FieldType::Text(max) => t.serialize_element(max)?,
            _ => t.serialize_element(&())?,
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for FieldSchema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldSchema;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field [name, type, param]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldSchema, A::Error> {
                const W: &str = "a field [name, type, param]";
                let name: String = crate::protocol::next_field(&mut seq, W, 0)?;
                let ty: String = crate::protocol::next_field(&mut seq, W, 1)?;
                let ty = match ty.as_str() {
                    "i8" | "i16" | "i32" | "u8" | "u16" | "u32" | "bool" => {
                        let () = crate::protocol::next_field(&mut seq, W, 2)?;
                        match ty.as_str() {
                            "i8" => FieldType::I8,
                            "i16" => FieldType::I16,
                            "i32" => FieldType::I32,
                            "u8" => FieldType::U8,
                            "u16" => FieldType::U16,
                            "u32" => FieldType::U32,
                            _ => FieldType::Bool,
                        }
                    }
                    "enum" => FieldType::Enum(crate::protocol::next_field(&mut seq, W, 2)?),
                    "float" => FieldType::Float(crate::protocol::next_field(&mut seq, W, 2)?),
                    "text" => FieldType::Text(crate::protocol::next_field(&mut seq, W, 2)?),
                    other => {
                        return Err(de::Error::invalid_value(
                            de::Unexpected::Str(other),
                            &"a field type",
                        ))
                    }
                };
                crate::protocol::end_of_array(seq, W, 3)?;
                Ok(FieldSchema { name, ty })
            }
        }
        d.deserialize_seq(V)
    }
}

impl Serialize for KindSchema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.name, &self.fields).serialize(s)
    }
}

impl<'de> Deserialize<'de> for KindSchema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (name, fields): (String, Vec<FieldSchema>) = Deserialize::deserialize(d)?;
        if fields.len() > MAX_FIELDS {
            return Err(de::Error::invalid_length(
                fields.len(),
                &"at most 32 fields",
            ));
        }
        Ok(KindSchema { name, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_acceptance() {
        assert!(FieldType::U8.accepts(&Value::Int(255)));
        assert!(!FieldType::U8.accepts(&Value::Int(256)));
        assert!(!FieldType::U8.accepts(&Value::Text("x".into())));
        assert!(FieldType::Text(3).accepts(&Value::Text("abc".into())));
        assert!(!FieldType::Text(3).accepts(&Value::Text("abcd".into())));
        assert!(FieldType::Enum(vec!["a".into(), "b".into()]).accepts(&Value::Int(1)));
        assert!(!FieldType::Enum(vec!["a".into(), "b".into()]).accepts(&Value::Int(2)));
        assert!(FieldType::Bool.accepts(&Value::Int(1)));
    }

    #[test]
    fn kinds_round_trip() {
        let kind = KindSchema {
            name: "ship".into(),
            fields: vec![
                FieldSchema {
                    name: "x".into(),
                    ty: FieldType::Float(0.5),
                },
                FieldSchema {
                    name: "hp".into(),
                    ty: FieldType::U8,
                },
                FieldSchema {
                    name: "alive".into(),
                    ty: FieldType::Bool,
                },
                FieldSchema {
                    name: "team".into(),
                    ty: FieldType::Enum(vec!["red".into(), "blue".into()]),
                },
                FieldSchema {
                    name: "name".into(),
                    ty: FieldType::Text(16),
                },
            ],
        };
        let bytes = rmp_serde::to_vec(&kind).unwrap();
        let back: KindSchema = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, kind);
    }
}
