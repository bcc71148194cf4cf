//! Makes Cargo rebuild the `tickroom-server` binary when the built web client changes, including
//! files added or removed (rust-embed's `include_bytes!` alone tracks only the files it saw).
//!
//! `client-web/dist` is created empty when missing: Cargo reruns a build script on every build
//! while a path it watches is missing, which would recompile this crate every time until the
//! client is built. An empty folder embeds nothing, and the server then serves a placeholder
//! page at `/` that says the client is not built.

use std::path::Path;

fn main() {
    let dist = Path::new("../client-web/dist");
    if let Err(e) = std::fs::create_dir_all(dist) {
        // rust-embed's `allow_missing` still builds an empty client; only the rebuilds above
        // are lost.
        println!(
            "cargo:warning=cannot create {}: {e}; the binary embeds no web client",
            dist.display()
        );
    }
    // A folder is scanned recursively: any file added, changed or removed reruns this script,
    // which rebuilds the crate and so re-embeds the client.
    println!("cargo:rerun-if-changed=../client-web/dist");
}
