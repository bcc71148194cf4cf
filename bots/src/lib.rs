//! A Rust client for tickroom, and the load-testing bots built on it.
//!
//! # Layout
//! - [`connection`]: one WebSocket to a server: subprotocol, encode / decode, close codes.
//! - [`player`]: what a client knows (welcome, roster, replica) and how it follows the delta
//!   chain, detecting gaps and asking for resyncs.
//! - [`behavior`]: what a bot sends: the workload's random walk (`arena`), nothing (`idle`), or
//!   the walk plus chat (`chatty`).
//! - [`swarm`]: thousands of bots on a few threads, with the phases of a measured run (ramp,
//!   warm-up, window, replica check, leave) and their metrics.
//! - [`report`]: the run report, as a table and as JSON.
//! - [`cpu`]: a process's CPU time and RSS from `/proc`, for the bots' own health and the
//!   benchmark's server samples.
//!
//! Binaries: `tickroom-bots` (the load generator), `tickroom-raw-floor` (the raw fan-out
//! reference server) and `tickroom-bench` (the benchmark behind `make bench`).
//!
//! The integration tests use this same library, so the bots and the tests speak one protocol.

pub mod behavior;
pub mod connection;
pub mod cpu;
pub mod player;
pub mod report;
pub mod swarm;

pub use behavior::Behavior;
pub use connection::{ConnectOptions, Connection, ConnectionError, Incoming};
pub use player::{Player, PlayerEvent};
pub use report::Report;
pub use swarm::{Placement, Swarm, SwarmConfig};
