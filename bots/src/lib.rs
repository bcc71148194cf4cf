//! A Rust client for tickroom, and the load-testing bots built on it.
//!
//! # Layout
//! - [`connection`]: one WebSocket to a server: subprotocol `tickroom.v2`, encode / decode, close
//!   codes.
//! - [`player`]: what a client knows (welcome, roster, [`Replica`](tickroom_shared::Replica) with
//!   entities and acks) and how it follows the delta chain, detecting gaps and asking for resyncs.
//! - [`game`]: which bundled game the bots play (`arena`, `cards`, `shooter`) and the inputs they
//!   put on the wire.
//! - [`behavior`]: what a bot does: play (the workload's random walk in arena, plus aim and
//!   trigger in the shooter), nothing (`idle`), or play plus chat (`chatty`).
//! - [`cards`]: how a bot plays cards: start, legal cards, draws, one command in flight.
//! - [`scan`]: a snapshot's or delta's tick, base and one player's ack, read without decoding
//!   the rest (for bots that keep no replica).
//! - [`swarm`]: thousands of bots on a few threads, with the phases of a measured run (ramp,
//!   warm-up, window, replica check, leave) and their metrics.
//! - [`series`]: the run second by second (latency percentiles, rates, joins and drops), merged
//!   from the bot threads' periods.
//! - [`report`]: the run report, as a table and as JSON (with the series).
//! - [`html`]: the report as one self-contained HTML page: the table and charts of the series.
//! - [`compare`]: two JSON reports (or bench results) side by side: what got better or worse.
//! - [`cpu`]: a process's CPU time and RSS from `/proc`, for the bots' own health and the
//!   benchmark's server samples.
//!
//! Binaries: `tickroom-bots` (the load generator), `tickroom-raw-floor` (the raw fan-out
//! reference server) and `tickroom-bench` (the benchmark behind `make bench`).

pub mod behavior;
pub mod cards;
pub mod compare;
pub mod connection;
pub mod cpu;
pub mod game;
pub mod html;
pub mod player;
pub mod report;
pub mod scan;
pub mod series;
pub mod swarm;

pub use behavior::Behavior;
pub use connection::{ConnectOptions, Connection, ConnectionError, Incoming};
pub use game::Game;
pub use player::{Player, PlayerEvent};
pub use report::Report;
pub use swarm::{Placement, Swarm, SwarmConfig};
