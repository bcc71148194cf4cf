//! Fuzz target: decoding and validating arbitrary bytes as client and server messages.
//!
//! Whatever the input, decoding must return a value or an error (never panic, never allocate
//! without bound); a decoded message must survive a re-encode unchanged; a decoded server message
//! must be safe to apply to a replica; a join's name must be safe to clean.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickroom_shared::arena::ArenaInput;
use tickroom_shared::protocol::clean_name;
use tickroom_shared::{decode, encode, ClientMsg, DecodeLimits, Replica, ServerMsg};

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits::default();
    if let Ok(msg) = decode::<ClientMsg<ArenaInput>>(data, &limits) {
        let bytes = encode(&msg).expect("a decoded message encodes");
        let back: ClientMsg<ArenaInput> = decode(&bytes, &limits).expect("re-encoded bytes decode");
        assert_eq!(back, msg);
        if let ClientMsg::Join { name, .. } = &msg {
            assert!(clean_name(name).len() <= tickroom_shared::protocol::MAX_NAME_BYTES);
        }
    }
    if let Ok(msg) = decode::<ServerMsg>(data, &limits) {
        let mut replica = Replica::new();
        match &msg {
            ServerMsg::Snapshot { tick, entities } => {
                let _ = replica.apply_snapshot(*tick, entities);
            }
            ServerMsg::Delta(delta) => {
                let _ = replica.apply_snapshot(delta.base, &[]);
                let _ = replica.apply_delta(delta);
            }
            _ => {}
        }
    }
});
