//! The TypeScript client's generated protocol file matches the Rust schema.

use tickroom_shared::typescript::{generate, OUTPUT_PATH};

/// Fails when `client-web/src/generated/protocol.ts` is stale; `make bindings` rewrites it.
#[test]
fn generated_typescript_is_current() {
    tickroom_tests::assert_generated(OUTPUT_PATH, &generate());
}
