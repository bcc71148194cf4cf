//! The games bundled with tickroom, each written against the v2 game API
//! ([`tickroom_server::Game`]), and the `tickroom-server` binary that runs them all.
//!
//! `PROTOCOL.md` ("The bundled games") is the wire contract of each game: its kinds, input,
//! commands, events, options, metadata and result. A browser client is written against it.
//!
//! # Layout
//! - [`arena`]: players walk a square and collect orbs; the benchmark workload
//!   (`shared/WORKLOAD.md`). Everyone sees everything, 30 Hz, the default game.
//! - [`cards`]: Crazy Eights; turn-based with private hands (each card is seen only by its
//!   owner), commands with typed refusals, a turn timer, a locked room and a result.
//! - [`shooter`]: ships and bullets on a large map with spatial interest management: each
//!   client receives only what is near its ship.
//! - `main.rs`: the `tickroom-server` binary: configuration, logging, signals, [`all`].
//!
//! - `testing` (tests only): a client that decodes a simulation's bytes into a replica.
//!
//! Each game's tests (inline in `arena.rs`, in `cards/tests.rs` and `shooter/tests.rs`) drive a
//! [`tickroom_server::sim::Simulation`] (no sockets, no clock) and check what a client would see
//! by decoding the engine's bytes into a replica.

pub mod arena;
pub mod cards;
pub mod shooter;

#[cfg(test)]
mod testing;

pub use arena::Arena;
pub use cards::Cards;
pub use shooter::Shooter;

/// Reads one axis of a direction input: any integer, clamped to {-1, 0, 1}, so an input such
/// as `[5, -300]` is clamped as PROTOCOL.md says rather than refused for not fitting an `i8`.
fn direction<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i8, D::Error> {
    let v = <i64 as serde::Deserialize>::deserialize(d)?;
    // Clamped to -1..=1 first, so the cast cannot truncate.
    Ok(v.clamp(-1, 1) as i8)
}

/// Every bundled game: arena (the default), cards and shooter.
pub fn all() -> tickroom_server::Games {
    tickroom_server::Games::new()
        .with::<Arena>()
        .with::<Cards>()
        .with::<Shooter>()
}
