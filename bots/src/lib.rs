//! A Rust client for tickroom, and the load-testing bots built on it.
//!
//! # Layout
//! - [`connection`]: one WebSocket to a server: subprotocol, encode / decode, close codes.
//! - [`player`]: what a client knows (welcome, roster, replica) and how it follows the delta
//!   chain, detecting gaps and asking for resyncs.
//!
//! The integration tests use this same library, so the bots and the tests speak one protocol.

pub mod connection;
pub mod player;

pub use connection::{Connection, ConnectionError, Incoming};
pub use player::{Player, PlayerEvent};
