//! Fuzz target: decoding and validating arbitrary bytes as client and server messages.
//!
//! Whatever the input, decoding must return a value or an error (never panic, never allocate
//! without bound); a decoded message must survive a re-encode unchanged; a decoded server message
//! must be safe to apply to a replica; a join's name must be safe to clean.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickroom_shared::protocol::clean_name;
use tickroom_shared::rmpv::Value as Any;
use tickroom_shared::{
    decode, encode, Acks, ClientMsg, DecodeLimits, FieldSchema, FieldType, KindSchema, Replica,
    ServerMsg,
};

/// A schema with every field type, so applying exercises every check.
fn kinds() -> Vec<KindSchema> {
    let f = |name: &str, ty| FieldSchema { name: name.into(), ty };
    vec![KindSchema {
        name: "k".into(),
        fields: vec![
            f("a", FieldType::U8),
            f("b", FieldType::I32),
            f("c", FieldType::Bool),
            f("d", FieldType::Enum(vec!["x".into(), "y".into()])),
            f("e", FieldType::Float(0.25)),
            f("f", FieldType::Text(8)),
        ],
    }]
}

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits::default();
    // The server decodes the envelope and leaves the game's parts as values.
    if let Ok(msg) = decode::<ClientMsg<Any, Any>>(data, &limits) {
        let bytes = encode(&msg).expect("a decoded message encodes");
        let back: ClientMsg<Any, Any> = decode(&bytes, &limits).expect("re-encoded bytes decode");
        // Compared as bytes: a game value may hold a NaN, which is never equal to itself.
        assert_eq!(encode(&back).expect("encodes again"), bytes);
        if let ClientMsg::Join { name, .. } = &msg {
            assert!(clean_name(name).len() <= tickroom_shared::protocol::MAX_NAME_BYTES);
        }
    }
    if let Ok(msg) = decode::<ServerMsg>(data, &limits) {
        let mut replica = Replica::new(kinds());
        if let ServerMsg::Delta { base, .. } = &msg {
            let start = ServerMsg::Snapshot {
                tick: *base,
                segments: vec![],
                events: vec![],
                acks: Acks::default(),
            };
            replica.apply(&start).expect("an empty snapshot applies");
        }
        let _ = replica.apply(&msg);
    }
});
