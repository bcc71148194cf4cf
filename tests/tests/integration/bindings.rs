//! The TypeScript client's generated protocol file matches the Rust schema.

use std::path::PathBuf;
use tickroom_shared::typescript::{generate, OUTPUT_PATH};

/// Fails when `client-web/src/generated/protocol.ts` is stale; `make bindings` rewrites it.
#[test]
fn generated_typescript_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(OUTPUT_PATH);
    let expected = generate();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dir");
        std::fs::write(&path, &expected).expect("write bindings");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is stale: run `make bindings` and commit the result",
        path.display()
    );
}
