//! Declaring replicated entity kinds: the [`Replicate`] trait (usually derived) and the
//! [`Field`] conversions behind it.
//!
//! ```ignore
//! #[derive(Replicate)]
//! struct Ship {
//!     owner: u32,
//!     #[replicate(step = 0.5)]
//!     x: f32,
//!     alive: bool,
//!     #[replicate(max_len = 16)]
//!     name: String,
//! }
//! ```
//! A game declares each kind once; the engine owns ids, change tracking, scopes and encoding,
//! so a game never packs integers by hand.

use std::any::Any;
pub use tickroom_shared::{FieldSchema, FieldType, Value};

/// Per-field options from `#[replicate(...)]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldOptions {
    /// Quantisation step of a float field (required for `f32`/`f64`).
    pub step: Option<f64>,
    /// Longest text of a `String` field, in bytes (required for `String`).
    pub max_len: Option<u16>,
}

/// A type a replicated field can have.
pub trait Field {
    /// The wire type, or why these options do not fit the type.
    fn field_type(options: &FieldOptions) -> Result<FieldType, String>;
    /// The wire value (clamped to the type's range; texts cut at a char boundary).
    fn to_value(&self, options: &FieldOptions) -> Value;
}

/// An entity kind. Derive it with `#[derive(Replicate)]`.
pub trait Replicate: Any + Send + 'static {
    /// The kind's name on the wire (the derive uses the type name in snake_case, or
    /// `#[replicate(kind = "...")]`).
    const KIND: &'static str;
    /// The fields, in wire order, or why a field's declaration is unusable.
    fn fields() -> Result<Vec<FieldSchema>, String>;
    /// Appends every field's wire value, in the same order.
    fn write(&self, out: &mut Vec<Value>);
}

macro_rules! int_field {
    ($($t:ty => $v:ident),*) => {$(
        impl Field for $t {
            fn field_type(_: &FieldOptions) -> Result<FieldType, String> {
                Ok(FieldType::$v)
            }
            fn to_value(&self, _: &FieldOptions) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}

int_field!(i8 => I8, i16 => I16, i32 => I32, u8 => U8, u16 => U16, u32 => U32);

impl Field for bool {
    fn field_type(_: &FieldOptions) -> Result<FieldType, String> {
        Ok(FieldType::Bool)
    }
    fn to_value(&self, _: &FieldOptions) -> Value {
        Value::Int(i64::from(*self))
    }
}

fn quantise(v: f64, options: &FieldOptions) -> Value {
    let step = options.step.unwrap_or(1.0);
    let q = (v / step).round();
    // NaN becomes 0; out-of-range values stick to the i32 range the wire promises.
    let q = if q.is_nan() {
        0
    } else {
        q.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64
    };
    Value::Int(q)
}

fn float_type(options: &FieldOptions) -> Result<FieldType, String> {
    match options.step {
        Some(step) if step > 0.0 && step.is_finite() => Ok(FieldType::Float(step)),
        Some(step) => Err(format!("float step {step} must be positive and finite")),
        None => Err("a float field needs #[replicate(step = ...)]".into()),
    }
}

impl Field for f32 {
    fn field_type(options: &FieldOptions) -> Result<FieldType, String> {
        float_type(options)
    }
    fn to_value(&self, options: &FieldOptions) -> Value {
        quantise(f64::from(*self), options)
    }
}

impl Field for f64 {
    fn field_type(options: &FieldOptions) -> Result<FieldType, String> {
        float_type(options)
    }
    fn to_value(&self, options: &FieldOptions) -> Value {
        quantise(*self, options)
    }
}

impl Field for String {
    fn field_type(options: &FieldOptions) -> Result<FieldType, String> {
        options
            .max_len
            .map(FieldType::Text)
            .ok_or_else(|| "a text field needs #[replicate(max_len = ...)]".into())
    }
    fn to_value(&self, options: &FieldOptions) -> Value {
        let max = usize::from(options.max_len.unwrap_or(0));
        let mut end = self.len().min(max);
        while !self.is_char_boundary(end) {
            end -= 1;
        }
        Value::Text(self[..end].to_owned())
    }
}

/// A fieldless enum replicated by variant index. Derive it with `#[derive(ReplicateEnum)]`.
pub trait ReplicateEnum: Copy {
    /// Variant names, in declaration order (snake_case).
    const VARIANTS: &'static [&'static str];
    /// This variant's index.
    fn index(self) -> u32;
}

impl<E: ReplicateEnum> Field for E {
    fn field_type(_: &FieldOptions) -> Result<FieldType, String> {
        Ok(FieldType::Enum(
            E::VARIANTS.iter().map(|v| (*v).to_owned()).collect(),
        ))
    }
    fn to_value(&self, _: &FieldOptions) -> Value {
        Value::Int(i64::from(self.index()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_to_their_step_and_clamp() {
        let o = FieldOptions {
            step: Some(0.25),
            max_len: None,
        };
        assert_eq!(1.13f32.to_value(&o), Value::Int(5));
        assert_eq!(f32::NAN.to_value(&o), Value::Int(0));
        assert_eq!(1e12f64.to_value(&o), Value::Int(i32::MAX.into()));
        assert!(f32::field_type(&FieldOptions::default()).is_err());
    }

    #[test]
    fn texts_are_cut_at_a_char_boundary() {
        let o = FieldOptions {
            step: None,
            max_len: Some(3),
        };
        assert_eq!("héllo".to_string().to_value(&o), Value::Text("hé".into()));
    }
}
